// DataIdentity: which data a model was trained on (the env if the dataset says, the dims, the dataset file and its
// SHA-256), written into every model file and read back, and the checks every consumer that combines models runs:
// require_same_data (one error naming both files when they come from different data) and require_env.
// It lives in data/ because it describes a dataset and is built from one (data/dataset.hpp, data/sha256.hpp), and
// because every model folder (dydiff/diffusion, dydiff/models, the learners) sits above data/: none of them has to
// include another. Layering: data/ (data/npz, data/sha256, autograd/error.hpp). Keys: docs/checkpoints.md.
#pragma once

#include "data/dataset.hpp"
#include "data/npz.hpp"

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace dydiff::data {

/// The env of data whose file does not name one (D4RL and Minari files, datasets built in memory).
inline constexpr const char* kUnknownEnv = "unknown";

/// Looks a key up in a store of typed arrays (an nn::Checkpoint's array(), an NpzFile's require()); throws an
/// error naming the store and the key when it is absent.
using NpyLookup = std::function<const NpyArray&(const std::string& key)>;

struct DataIdentity {
    std::string env = kUnknownEnv;  // the built-in env the data was made for (Dataset::env), or kUnknownEnv
    std::size_t obs_dim = 0;        // S
    std::size_t action_dim = 0;     // A
    std::string path;               // the dataset file, as it was given to the training command
    std::string sha256;             // SHA-256 of that file, 64 lowercase hex digits

    /// "env maze2d-umaze, obs/action dims 4/2, dataset umaze.npz (sha256 <64 hex digits>)", for messages.
    std::string describe() const;

    /// Entries "<prefix>/env", "<prefix>/path", "<prefix>/sha256" (uint8 UTF-8 text) and "<prefix>/obs_dim",
    /// "<prefix>/action_dim" (0-d int64).
    std::vector<NpzEntry> entries(const std::string& prefix) const;
    /// Reads what entries() wrote; `source` names the store in errors (a key of the wrong dtype or shape, dims
    /// that are not positive, a digest that is not 64 hex digits).
    static DataIdentity load(const NpyLookup& get, const std::string& prefix, const std::string& source);
};

bool operator==(const DataIdentity& a, const DataIdentity& b);
inline bool operator!=(const DataIdentity& a, const DataIdentity& b) { return !(a == b); }

/// The identity of a loaded dataset: its env (kUnknownEnv when Dataset::env is empty), dims, and the SHA-256 of the
/// file it was read from (Dataset::source; a Minari directory's data/main_data.hdf5). A dataset built in memory
/// (empty source) has no file to hash: an error.
DataIdentity identify_dataset(const Dataset& dataset);

/// A file (a model checkpoint, a dataset) and the data it was made from.
struct TrainedOn {
    std::string file;
    DataIdentity data;
};

/// Fails unless all entries come from the same data: the same dataset SHA-256, obs/action dims and env (the path
/// may differ: a copied or moved dataset is the same data). The one error names the first entry and the first one
/// that differs, with both identities and what differs. Fewer than two entries pass.
void require_same_data(const std::vector<TrainedOn>& models);

/// Fails when the data's env is known and is not `env` (the error names the file, its identity and `env`).
/// Returns false when the data's env is unknown (nothing to compare: the caller says so), true when it matches.
bool require_env(const TrainedOn& model, const std::string& env);

}  // namespace dydiff::data
