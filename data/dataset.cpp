// Dataset I/O and validation: the NPZ writer, dataset_from_arrays (the one validating constructor), the NPZ and HDF5
// loaders, check_dims and summarize.
#include "data/dataset.hpp"

#include "autograd/error.hpp"
#include "data/episodes.hpp"
#include "data/npz.hpp"

#if DYDIFF_HAVE_HDF5
#include "data/hdf5_reader.hpp"
#endif

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <sstream>

namespace dydiff::data {

Dataset Dataset::zeros(std::size_t n, std::size_t obs_dim, std::size_t action_dim) {
    Dataset d;
    d.observations = xt::zeros<float>({n, obs_dim});
    d.actions = xt::zeros<float>({n, action_dim});
    d.rewards = xt::zeros<float>({n});
    d.terminals = xt::zeros<float>({n});
    d.timeouts = xt::zeros<float>({n});
    return d;
}

namespace {
constexpr const char* kEnvKey = "metadata/env";  // the env a generated dataset was made for, uint8 text
constexpr const char* kProvenancePrefix = "metadata/provenance/";  // + key: how it was made, uint8 text
}  // namespace

void save_dataset_npz(const Dataset& d, const std::string& path) {
    const std::size_t n = d.size();
    DYDIFF_CHECK(d.actions.shape()[0] == n && d.rewards.size() == n && d.terminals.size() == n && d.timeouts.size() == n,
                 path << ": cannot save a dataset whose arrays disagree in length (observations " << n << ", actions "
                      << d.actions.shape()[0] << ", rewards " << d.rewards.size() << ", terminals " << d.terminals.size()
                      << ", timeouts " << d.timeouts.size() << ")");
    std::vector<NpzEntry> entries;
    entries.emplace_back("observations", NpyArray::from_xarray(d.observations));
    entries.emplace_back("actions", NpyArray::from_xarray(d.actions));
    entries.emplace_back("rewards", NpyArray::from_xarray(d.rewards));
    entries.emplace_back("terminals", NpyArray::from_xarray(xt::xarray<bool>(xt::not_equal(d.terminals, 0.0f))));
    entries.emplace_back("timeouts", NpyArray::from_xarray(xt::xarray<bool>(xt::not_equal(d.timeouts, 0.0f))));
    if (d.next_observations) entries.emplace_back("next_observations", NpyArray::from_xarray(*d.next_observations));
    for (const auto& [key, value] : d.infos) {
        DYDIFF_CHECK(value.dimension() >= 1 && value.shape()[0] == n,
                     path << ": info '" << key << "' has shape " << shape_str(value.shape()) << ", expected first axis " << n);
        entries.emplace_back(key, NpyArray::from_xarray(value));
    }
    if (!d.env.empty()) {
        const std::vector<std::uint8_t> env(d.env.begin(), d.env.end());
        entries.emplace_back(kEnvKey, NpyArray::from_vector<std::uint8_t>({env.size()}, env));
    }
    for (const auto& [key, text] : d.provenance) {
        const std::vector<std::uint8_t> bytes(text.begin(), text.end());
        entries.emplace_back(kProvenancePrefix + key, NpyArray::from_vector<std::uint8_t>({bytes.size()}, bytes));
    }
    write_npz(path, entries);
}

namespace {

const char* const kKnownKeys[] = {"observations", "actions", "rewards", "terminals", "timeouts", "next_observations"};

std::string key_list(const std::map<std::string, RawArray>& arrays) {
    std::string out;
    for (const auto& [k, v] : arrays) out += (out.empty() ? "" : ", ") + k;
    return out.empty() ? "none" : out;
}

const RawArray& require_key(const std::map<std::string, RawArray>& arrays, const std::string& key,
                            const std::string& source) {
    const auto it = arrays.find(key);
    DYDIFF_USER_CHECK(it != arrays.end(), source << ": missing key '" << key << "' (keys: " << key_list(arrays)
                                                 << "); a D4RL-layout dataset needs observations, actions, rewards, "
                                                    "terminals and timeouts (docs/data_format.md)");
    return it->second;
}

// The float32 values of a (N, K) array, K >= 1.
xt::xtensor<float, 2> as_matrix(const RawArray& raw, const std::string& key, const std::string& source) {
    const auto& shape = raw.array.shape;
    DYDIFF_USER_CHECK(shape.size() == 2,
                      source << ": key '" << key << "' has shape " << shape_str(shape) << ", expected rank 2 (N, dim)");
    DYDIFF_USER_CHECK(shape[1] >= 1, source << ": key '" << key << "' has shape " << shape_str(shape)
                                            << ": its dimension must be at least 1");
    const xt::xarray<float> a = raw.array.to_float();
    xt::xtensor<float, 2> out = xt::xtensor<float, 2>::from_shape({shape[0], shape[1]});
    std::copy(a.data(), a.data() + a.size(), out.data());
    return out;
}

// The float32 values of a (N) or (N, 1) array.
xt::xtensor<float, 1> as_vector(const RawArray& raw, const std::string& key, const std::string& source) {
    const auto& shape = raw.array.shape;
    DYDIFF_USER_CHECK(shape.size() == 1 || (shape.size() == 2 && shape[1] == 1),
                      source << ": key '" << key << "' has shape " << shape_str(shape) << ", expected (N,) or (N, 1)");
    const xt::xarray<float> a = raw.array.to_float();
    xt::xtensor<float, 1> out = xt::xtensor<float, 1>::from_shape({shape[0]});
    std::copy(a.data(), a.data() + a.size(), out.data());
    return out;
}

void check_rows(std::size_t rows, std::size_t n, const std::string& key, const std::string& source) {
    DYDIFF_USER_CHECK(rows == n, source << ": length mismatch: key '" << key << "' has " << rows
                                        << " rows but 'observations' has " << n);
}

// The original value of element i as a double (for messages about float64 values that overflow float32).
double original_value(const NpyArray& a, std::size_t i) {
    if (a.dtype == DType::f64) {
        double v;
        std::memcpy(&v, a.bytes.data() + i * sizeof(double), sizeof(double));
        return v;
    }
    return std::numeric_limits<double>::quiet_NaN();
}

// Fails on the first non-finite element of values (row-major, `cols` per row).
void check_finite(const float* values, std::size_t count, std::size_t cols, const RawArray& raw, const std::string& key,
                  const std::string& source) {
    for (std::size_t i = 0; i < count; ++i) {
        if (std::isfinite(values[i])) continue;
        std::ostringstream where;
        where << "row " << i / cols;
        if (raw.array.shape.size() == 2) where << ", column " << i % cols;
        const double orig = original_value(raw.array, i);
        if (std::isfinite(orig))
            DYDIFF_USER_FAIL(source << ": key '" << key << "' " << where.str() << ": the float64 value " << orig
                                    << " overflows float32");
        DYDIFF_USER_FAIL(source << ": key '" << key << "' has a non-finite value " << values[i] << " at " << where.str()
                                << " (first bad index)");
    }
}

// Flags: bool, or numbers that are exactly 0 or 1.
xt::xtensor<float, 1> as_flags(const RawArray& raw, const std::string& key, std::size_t n, const std::string& source) {
    xt::xtensor<float, 1> f = as_vector(raw, key, source);
    check_rows(f.size(), n, key, source);
    if (raw.array.dtype == DType::bool_) return f;
    for (std::size_t i = 0; i < f.size(); ++i) {
        DYDIFF_USER_CHECK(f(i) == 0.0f || f(i) == 1.0f,
                          source << ": key '" << key << "' row " << i << " holds " << f(i) << " (stored as "
                                 << raw.stored << "): episode flags must be bool or the numbers 0 and 1");
    }
    return f;
}

}  // namespace

Dataset dataset_from_arrays(const std::map<std::string, RawArray>& arrays, const std::string& source,
                            const std::vector<std::string>& ignored) {
    Dataset d;
    d.source = source;
    d.ignored_keys = ignored;

    const RawArray& obs = require_key(arrays, "observations", source);
    const RawArray& act = require_key(arrays, "actions", source);
    const RawArray& rew = require_key(arrays, "rewards", source);
    const RawArray& term = require_key(arrays, "terminals", source);
    const RawArray& tout = require_key(arrays, "timeouts", source);

    d.observations = as_matrix(obs, "observations", source);
    const std::size_t n = d.observations.shape()[0];
    DYDIFF_USER_CHECK(n >= 1, source << ": key 'observations' has no rows");
    d.actions = as_matrix(act, "actions", source);
    check_rows(d.actions.shape()[0], n, "actions", source);
    d.rewards = as_vector(rew, "rewards", source);
    check_rows(d.rewards.size(), n, "rewards", source);
    d.terminals = as_flags(term, "terminals", n, source);
    d.timeouts = as_flags(tout, "timeouts", n, source);

    check_finite(d.observations.data(), d.observations.size(), d.obs_dim(), obs, "observations", source);
    check_finite(d.actions.data(), d.actions.size(), d.action_dim(), act, "actions", source);
    check_finite(d.rewards.data(), d.rewards.size(), 1, rew, "rewards", source);

    if (const auto it = arrays.find("next_observations"); it != arrays.end()) {
        xt::xtensor<float, 2> next = as_matrix(it->second, "next_observations", source);
        check_rows(next.shape()[0], n, "next_observations", source);
        DYDIFF_USER_CHECK(next.shape()[1] == d.obs_dim(),
                          source << ": key 'next_observations' has shape " << shape_str(next.shape())
                                 << " but 'observations' has " << shape_str(d.observations.shape()));
        check_finite(next.data(), next.size(), next.shape()[1], it->second, "next_observations", source);
        d.next_observations = std::move(next);
    }

    for (const auto& [key, raw] : arrays) {
        const bool known = std::find(std::begin(kKnownKeys), std::end(kKnownKeys), key) != std::end(kKnownKeys);
        if (known) {
            d.stored_dtypes[key] = raw.stored;
        } else if (key == kEnvKey) {
            DYDIFF_CHECK(raw.array.dtype == DType::u8 && raw.array.shape.size() == 1 && raw.array.size() > 0,
                         source << ": key '" << kEnvKey << "' must be non-empty uint8 text of shape (n,) (an env name, "
                                   "as written by dydiff dataset generate), found " << raw.stored << " of shape "
                                << shape_str(raw.array.shape));
            const std::vector<std::uint8_t> bytes = raw.array.to_vector<std::uint8_t>();
            d.env.assign(bytes.begin(), bytes.end());
        } else if (key.rfind(kProvenancePrefix, 0) == 0 && raw.array.dtype == DType::u8 &&
                   raw.array.shape.size() == 1) {
            const std::vector<std::uint8_t> bytes = raw.array.to_vector<std::uint8_t>();
            d.provenance[key.substr(std::string(kProvenancePrefix).size())].assign(bytes.begin(), bytes.end());
        } else if (key.rfind("infos/", 0) == 0 && !raw.array.shape.empty() && raw.array.shape[0] == n) {
            d.infos[key] = raw.array.to_float();
            d.stored_dtypes[key] = raw.stored;
        } else {
            d.ignored_keys.push_back(key + (key.rfind("infos/", 0) == 0 ? " (first axis is not N)" : ""));
        }
    }
    return d;
}

Dataset load_dataset_npz(const std::string& path) { return dataset_from_npz(read_npz(path)); }

Dataset dataset_from_npz(const NpzFile& file) {
    std::map<std::string, RawArray> arrays;
    for (const auto& [key, array] : file) arrays[key] = RawArray{array, dtype_name(array.dtype)};
    return dataset_from_arrays(arrays, file.path());
}

bool hdf5_supported() noexcept { return DYDIFF_HAVE_HDF5 != 0; }

Dataset load_dataset_hdf5(const std::string& path) {
#if DYDIFF_HAVE_HDF5
    detail::Hdf5Contents contents = detail::read_hdf5_arrays(path);
    return dataset_from_arrays(contents.arrays, path, contents.ignored);
#else
    DYDIFF_USER_FAIL(
        path << ": this dydiff was built without HDF5 support (Meson feature 'hdf5': install libhdf5-dev and "
                "reconfigure, or -Dhdf5=enabled). Or convert the file to NPZ offline with h5py: "
                "python3 -c \"import h5py, numpy as np; f = h5py.File('IN.hdf5', 'r'); "
                "np.savez('OUT.npz', **{k: f[k][()] for k in ('observations', 'actions', 'rewards', "
                "'terminals', 'timeouts')})\" (full recipes, D4RL and Minari, in docs/data_format.md)");
#endif
}

namespace {

// The string value of "key": "value" in a JSON text, or "" when absent or not a plain string. Enough for Minari's
// flat metadata.json (dataset_id, data_format); not a JSON parser: escapes inside the value end it early.
std::string json_string_field(const std::string& text, const std::string& key) {
    const std::string quoted = "\"" + key + "\"";
    std::size_t at = text.find(quoted);
    if (at == std::string::npos) return "";
    at = text.find_first_not_of(" \t\r\n", at + quoted.size());
    if (at == std::string::npos || text[at] != ':') return "";
    at = text.find_first_not_of(" \t\r\n", at + 1);
    if (at == std::string::npos || text[at] != '"') return "";
    const std::size_t end = text.find_first_of("\"\\", at + 1);
    if (end == std::string::npos || text[end] != '"') return "";
    return text.substr(at + 1, end - at - 1);
}

// A Minari dataset directory (metadata.json, data/main_data.hdf5): the HDF5 file through load_dataset_hdf5, plus
// the dataset_id of metadata.json when it has one. Arrow datasets are refused (docs/data_format.md, "Minari").
Dataset load_minari_directory(const std::string& dir) {
    namespace fs = std::filesystem;
    const fs::path root(dir);
    const fs::path main = root / "data" / "main_data.hdf5";
    std::string metadata, data_format, id;
    if (std::ifstream in{root / "metadata.json"}) {
        metadata.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
        data_format = json_string_field(metadata, "data_format");
        id = json_string_field(metadata, "dataset_id");
    }
    DYDIFF_USER_CHECK(
        data_format != "arrow",
        dir << ": a Minari dataset in Arrow format (metadata.json: data_format \"arrow\"); dydiff reads only "
               "HDF5 Minari datasets. Convert it to a D4RL-layout NPZ with Minari's Python API (recipe "
               "minari_api_to_npz.py in docs/data_format.md), or re-create it with data_format=\"hdf5\"");
    DYDIFF_USER_CHECK(fs::is_regular_file(main),
                      dir << ": a directory without data/main_data.hdf5; dydiff reads a Minari HDF5 dataset directory "
                             "(metadata.json and data/main_data.hdf5), or a .npz / .hdf5 / .h5 file"
                          << (metadata.empty() ? " (no metadata.json here either)" : ""));
    Dataset d = load_dataset_hdf5(main.string());
    d.dataset_id = id;
    return d;
}

}  // namespace

Dataset load_dataset(const std::string& path) {
    if (std::filesystem::is_directory(path)) return load_minari_directory(path);
    const auto dot = path.find_last_of('.');
    const auto slash = path.find_last_of('/');
    std::string ext = (dot == std::string::npos || (slash != std::string::npos && dot < slash)) ? "" : path.substr(dot);
    std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (ext == ".npz") return load_dataset_npz(path);
    if (ext == ".hdf5" || ext == ".h5") return load_dataset_hdf5(path);
    DYDIFF_USER_FAIL(path << ": unknown dataset format '" << ext << "': dydiff reads .npz (np.savez, D4RL keys), "
                          << ".hdf5 / .h5 (D4RL or Minari layout) and Minari dataset directories");
}

void check_dims(const Dataset& dataset, std::size_t obs_dim, std::size_t action_dim, const std::string& what) {
    DYDIFF_USER_CHECK(dataset.obs_dim() == obs_dim && dataset.action_dim() == action_dim,
                      what << " expects obs dim " << obs_dim << ", action dim " << action_dim << ", but dataset "
                           << (dataset.source.empty() ? "(in memory)" : dataset.source) << " has obs dim "
                           << dataset.obs_dim() << ", action dim " << dataset.action_dim());
}

DatasetSummary summarize(const Dataset& d) {
    DatasetSummary s;
    s.size = d.size();
    s.obs_dim = d.obs_dim();
    s.action_dim = d.action_dim();
    for (std::size_t i = 0; i < s.size; ++i) {
        s.terminals += d.terminals(i) != 0.0f;
        s.timeouts += d.timeouts(i) != 0.0f;
    }
    const std::vector<EpisodeRange> episodes = split_episodes(d, TailRows::drop);
    s.episodes = episodes.size();
    s.tail_rows = s.size - (episodes.empty() ? 0 : episodes.back().end);
    if (!episodes.empty()) {
        std::vector<double> returns;  // undiscounted, per complete episode
        s.length_min = std::numeric_limits<std::size_t>::max();
        double length_sum = 0.0;
        for (const EpisodeRange& e : episodes) {
            s.length_min = std::min(s.length_min, e.length());
            s.length_max = std::max(s.length_max, e.length());
            length_sum += static_cast<double>(e.length());
            double ret = 0.0;
            for (std::size_t i = e.start; i < e.end; ++i) ret += d.rewards(i);
            returns.push_back(ret);
        }
        const double m = static_cast<double>(episodes.size());
        s.length_mean = length_sum / m;
        double sum = 0.0;
        for (double r : returns) sum += r;
        s.return_mean = sum / m;
        double sq = 0.0;  // two passes: no cancellation for large returns
        for (double r : returns) sq += (r - s.return_mean) * (r - s.return_mean);
        s.return_std = std::sqrt(sq / m);
        s.return_min = *std::min_element(returns.begin(), returns.end());
        s.return_max = *std::max_element(returns.begin(), returns.end());
    }
    const auto column_ranges = [](const xt::xtensor<float, 2>& x, std::vector<float>& lo, std::vector<float>& hi) {
        const std::size_t rows = x.shape()[0], cols = x.shape()[1];
        lo.assign(cols, std::numeric_limits<float>::infinity());
        hi.assign(cols, -std::numeric_limits<float>::infinity());
        for (std::size_t i = 0; i < rows; ++i)
            for (std::size_t j = 0; j < cols; ++j) {
                lo[j] = std::min(lo[j], x(i, j));
                hi[j] = std::max(hi[j], x(i, j));
            }
    };
    column_ranges(d.observations, s.obs_min, s.obs_max);
    column_ranges(d.actions, s.action_min, s.action_max);
    return s;
}

}  // namespace dydiff::data
