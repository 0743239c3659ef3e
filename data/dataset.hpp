// Dataset: an offline RL dataset in D4RL layout, float32 inside, whatever the file stored (docs/algorithm.md §7.1,
// docs/data_format.md). Row i is one environment step: observations[i], actions[i], rewards[i], and the flags that
// end an episode at i: terminals (true termination, do not bootstrap) and timeouts (truncation, or in maze2d a goal
// switch). Loading reads NPZ always and D4RL/Minari HDF5 when built with the `hdf5` feature (DYDIFF_HAVE_HDF5);
// every file goes through one validating constructor, dataset_from_arrays, so both formats give identical datasets.
// summarize() gives the numbers of `dydiff dataset info`.
// The accepted layouts and rules are in docs/data_format.md.
// Layering: data/ (xtensor, autograd/error.hpp, data/npz; libhdf5 only inside data/hdf5_reader.cpp).
#pragma once

#include "autograd/xt.hpp"
#include "data/npy.hpp"

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dydiff::data {

class NpzFile;

struct Dataset {
    xt::xtensor<float, 2> observations;                      // (N, S)
    xt::xtensor<float, 2> actions;                           // (N, A)
    xt::xtensor<float, 1> rewards;                           // (N)
    xt::xtensor<float, 1> terminals;                         // (N), 0 or 1
    xt::xtensor<float, 1> timeouts;                          // (N), 0 or 1
    std::optional<xt::xtensor<float, 2>> next_observations;  // (N, S), when the file has them
    std::map<std::string, xt::xarray<float>> infos;          // "infos/goal" (N, 2), ...: first axis N
    std::string source;                                      // the file it was read from, for error messages
    std::string dataset_id;  // Minari's dataset_id (metadata.json) when loaded from a Minari directory, else empty
    /// The built-in env the data was made for ("maze2d-umaze"), from the NPZ key "metadata/env" (uint8 text) that
    /// `dataset generate` writes; empty when the file does not say (D4RL and Minari files never do: their ids are
    /// not our env names, and dydiff does not guess one).
    std::string env;
    /// How a generated dataset was made (recipe, seed, the behaviour policy file and its SHA-256, ...): NPZ keys
    /// "metadata/provenance/<key>" (uint8 text), written by save_dataset_npz and read back by the loaders.
    std::map<std::string, std::string> provenance;
    /// Key -> dtype as stored in the file ("float64", "bool", "float32 (HDF5)"...), filled by the loaders; empty for
    /// a dataset built in memory. `dataset info` prints it.
    std::map<std::string, std::string> stored_dtypes;
    /// Keys the loader saw but did not keep (metadata/*, non-numeric or wrongly sized infos), for `dataset info`.
    std::vector<std::string> ignored_keys;

    /// n rows of the given widths, all zero (no next_observations, infos or metadata).
    static Dataset zeros(std::size_t n, std::size_t obs_dim, std::size_t action_dim);
    std::size_t size() const { return observations.shape()[0]; }
    std::size_t obs_dim() const { return observations.shape()[1]; }
    std::size_t action_dim() const { return actions.shape()[1]; }
};

/// Writes the dataset as an np.savez archive with D4RL key names (float32 arrays; terminals/timeouts as bool), plus
/// "metadata/env" (uint8 text) when `env` is set, atomically. numpy's np.load(path) gives back the same keys.
void save_dataset_npz(const Dataset& dataset, const std::string& path);

/// One named array as a reader found it. `stored` is the file's own dtype spelling (numpy's names for NPZ; for HDF5
/// the class and size, "float64", "bool (enum int8)"...), kept for `dataset info`.
struct RawArray {
    NpyArray array;
    std::string stored;
};

/// The validating constructor behind every loader: arrays by key (D4RL names), `source` names the file in errors.
/// Requires observations (N, S), actions (N, A), rewards (N) or (N, 1), terminals and timeouts (N) as bool or 0/1
/// numbers (other values are an error naming the first bad index); optional next_observations (N, S); keeps numeric
/// infos/* whose first axis is N; reads "metadata/env" (uint8 text, else an error) into `env`; ignores other
/// metadata/* and anything else (listed in ignored_keys). Float64 and integer
/// arrays are converted to float32 once; a non-finite value in observations, actions, rewards or next_observations
/// (including a float64 too large for float32) is an error naming the key and the first bad index.
Dataset dataset_from_arrays(const std::map<std::string, RawArray>& arrays, const std::string& source,
                            const std::vector<std::string>& ignored = {});

/// Reads an np.savez archive in D4RL layout (numeric members only, see data/npz.hpp) into a Dataset.
Dataset load_dataset_npz(const std::string& path);
/// The same from an archive already read (load_dataset_npz is dataset_from_npz(read_npz(path))).
Dataset dataset_from_npz(const NpzFile& file);

/// True when this build reads HDF5 files (the Meson feature `hdf5` found libhdf5).
bool hdf5_supported() noexcept;

/// Reads a D4RL-layout HDF5 file (flat keys, gzip-compressed or not), or a Minari `main_data.hdf5` (episode_<id>
/// groups at the root), whose episodes are concatenated in id order into D4RL rows with next_observations (the
/// mapping and the unfinished-episode rule are in docs/data_format.md, "Minari HDF5").
/// Without HDF5 support: an error that says how to convert the file to NPZ with h5py.
Dataset load_dataset_hdf5(const std::string& path);

/// Dispatches on the extension: .npz -> load_dataset_npz, .hdf5 / .h5 -> load_dataset_hdf5; a directory is read as
/// a Minari dataset (metadata.json + data/main_data.hdf5; dataset_id filled from metadata.json, Arrow datasets
/// refused); others are an error.
Dataset load_dataset(const std::string& path);

/// Fails unless the dataset has obs_dim and action_dim ("<what>: dataset <source> has obs dim 11, action dim 3, but
/// <what> expects 17, 6"). `what` names the other side: "config hopper.toml", "checkpoint run/diffusion.npz".
void check_dims(const Dataset& dataset, std::size_t obs_dim, std::size_t action_dim, const std::string& what);

/// Summary statistics for `dydiff dataset info` (and for tests). Episodes are the ranges ended by terminals|timeouts
/// (data/episodes.hpp); the unflagged tail is reported apart and not counted as an episode.
struct DatasetSummary {
    std::size_t size = 0;           // N
    std::size_t obs_dim = 0;        // S
    std::size_t action_dim = 0;     // A
    std::size_t episodes = 0;       // complete episodes (ended by a flag)
    std::size_t tail_rows = 0;      // rows after the last flag
    std::size_t length_min = 0;     // episode lengths over complete episodes (0 when there are none)
    double length_mean = 0.0;
    std::size_t length_max = 0;
    std::size_t terminals = 0;      // rows with terminals set
    std::size_t timeouts = 0;       // rows with timeouts set
    double return_mean = 0.0;       // undiscounted return per complete episode: mean, population std, min, max
    double return_std = 0.0;
    double return_min = 0.0;
    double return_max = 0.0;
    std::vector<float> obs_min, obs_max;        // (S) each
    std::vector<float> action_min, action_max;  // (A) each
};

DatasetSummary summarize(const Dataset& dataset);

}  // namespace dydiff::data
