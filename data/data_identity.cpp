// DataIdentity (data/data_identity.hpp): its NPZ entries, identify_dataset and the mixture checks.
#include "data/data_identity.hpp"

#include "autograd/error.hpp"
#include "data/sha256.hpp"

#include <cstdint>
#include <filesystem>
#include <sstream>

namespace dydiff::data {
namespace {

NpyArray text_array(const std::string& s) {
    return NpyArray::from_vector<std::uint8_t>({s.size()}, std::vector<std::uint8_t>(s.begin(), s.end()));
}

std::string read_text(const NpyLookup& get, const std::string& key, const std::string& source) {
    const NpyArray& a = get(key);
    a.check_dtype(DType::u8, source + ": key '" + key + "'");
    DYDIFF_USER_CHECK(a.shape.size() == 1, source << ": key '" << key
                                                  << "' must be uint8 text of shape (n,), found shape "
                                                  << shape_str(a.shape));
    const std::vector<std::uint8_t> bytes = a.to_vector<std::uint8_t>();
    return {bytes.begin(), bytes.end()};
}

std::size_t read_dim(const NpyLookup& get, const std::string& key, const std::string& source) {
    const NpyArray& a = get(key);
    a.check_dtype(DType::i64, source + ": key '" + key + "'");
    DYDIFF_USER_CHECK(a.size() == 1,
                      source << ": key '" << key << "' must hold one int64, found shape " << shape_str(a.shape));
    const std::int64_t v = a.to_vector<std::int64_t>()[0];
    DYDIFF_USER_CHECK(v >= 1, source << ": key '" << key << "' is " << v << ", expected a dimension >= 1");
    return static_cast<std::size_t>(v);
}

bool is_hex_digest(const std::string& s) {
    if (s.size() != 64) return false;
    for (const char c : s)
        if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'))) return false;
    return true;
}

}  // namespace

std::string DataIdentity::describe() const {
    std::ostringstream os;
    os << "env " << env << ", obs/action dims " << obs_dim << "/" << action_dim << ", dataset " << path << " (sha256 "
       << sha256 << ")";
    return os.str();
}

std::vector<NpzEntry> DataIdentity::entries(const std::string& prefix) const {
    const auto obs = static_cast<std::int64_t>(obs_dim), act = static_cast<std::int64_t>(action_dim);
    std::vector<NpzEntry> out;
    out.emplace_back(prefix + "/env", text_array(env));
    out.emplace_back(prefix + "/obs_dim", NpyArray::from_data<std::int64_t>({}, &obs));
    out.emplace_back(prefix + "/action_dim", NpyArray::from_data<std::int64_t>({}, &act));
    out.emplace_back(prefix + "/path", text_array(path));
    out.emplace_back(prefix + "/sha256", text_array(sha256));
    return out;
}

DataIdentity DataIdentity::load(const NpyLookup& get, const std::string& prefix, const std::string& source) {
    // One statement per key, in the order entries() writes them: a file missing several names the first.
    DataIdentity d;
    d.env = read_text(get, prefix + "/env", source);
    DYDIFF_USER_CHECK(!d.env.empty(), source << ": key '" << prefix << "/env' is empty; expected an env name or '"
                                             << kUnknownEnv << "'");
    d.obs_dim = read_dim(get, prefix + "/obs_dim", source);
    d.action_dim = read_dim(get, prefix + "/action_dim", source);
    d.path = read_text(get, prefix + "/path", source);
    d.sha256 = read_text(get, prefix + "/sha256", source);
    DYDIFF_USER_CHECK(is_hex_digest(d.sha256), source << ": key '" << prefix << "/sha256' is '" << d.sha256
                                                      << "', expected 64 lowercase hex digits");
    return d;
}

bool operator==(const DataIdentity& a, const DataIdentity& b) {
    return a.env == b.env && a.obs_dim == b.obs_dim && a.action_dim == b.action_dim && a.path == b.path &&
           a.sha256 == b.sha256;
}

DataIdentity identify_dataset(const Dataset& dataset) {
    DYDIFF_CHECK(!dataset.source.empty() && std::filesystem::is_regular_file(dataset.source),
                 "identify_dataset: the dataset '" << dataset.source << "' is not a file (built in memory?), so it has "
                 "no SHA-256; save it (save_dataset_npz) and load it back first");
    DataIdentity d;
    d.env = dataset.env.empty() ? kUnknownEnv : dataset.env;
    d.obs_dim = dataset.obs_dim();
    d.action_dim = dataset.action_dim();
    d.path = dataset.source;
    d.sha256 = sha256_file(dataset.source);
    return d;
}

void require_same_data(const std::vector<TrainedOn>& models) {
    if (models.empty()) return;
    const TrainedOn& first = models.front();
    for (std::size_t i = 1; i < models.size(); ++i) {
        const TrainedOn& other = models[i];
        std::vector<std::string> differ;
        if (first.data.env != other.data.env) differ.push_back("env");
        if (first.data.obs_dim != other.data.obs_dim || first.data.action_dim != other.data.action_dim)
            differ.push_back("obs/action dims");
        if (first.data.sha256 != other.data.sha256) differ.push_back("dataset SHA-256");
        if (differ.empty()) continue;
        std::ostringstream os;
        os << "these come from different data and cannot be used together (they differ in ";
        for (std::size_t k = 0; k < differ.size(); ++k) os << (k ? ", " : "") << differ[k];
        os << "):\n  " << first.file << ": " << first.data.describe() << "\n  " << other.file << ": "
           << other.data.describe() << "\nhint: train every model on the same dataset file";
        DYDIFF_USER_FAIL(os.str());
    }
}

bool require_env(const TrainedOn& model, const std::string& env) {
    if (model.data.env == kUnknownEnv) return false;
    DYDIFF_USER_CHECK(model.data.env == env, model.file << " was trained on data of env " << model.data.env << ", not "
                                                        << env << " (" << model.data.describe() << ")");
    return true;
}

}  // namespace dydiff::data
