// Checkpoint: an ordered list of named NpyArrays, saved and loaded as NPZ.
#include "nn/checkpoint.hpp"

#include "autograd/error.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <filesystem>
#include <set>
#include <sstream>

namespace dydiff::nn {

Checkpoint Checkpoint::load(const std::string& path) { return from_npz(data::read_npz(path)); }

Checkpoint Checkpoint::from_npz(const data::NpzFile& file) {
    Checkpoint c;
    c.source_ = file.path();
    c.entries_ = file.entries();
    return c;
}

void Checkpoint::save(const std::string& path) const { data::write_npz(path, entries_); }

void Checkpoint::put(const std::string& key, data::NpyArray array) {
    for (auto& [k, a] : entries_)
        if (k == key) {
            a = std::move(array);
            return;
        }
    entries_.emplace_back(key, std::move(array));
}

void Checkpoint::put(const std::string& key, const autograd::Array& value) { put(key, data::NpyArray::from_xarray(value)); }

void Checkpoint::put_int64(const std::string& key, std::int64_t value) {
    put(key, data::NpyArray::from_data<std::int64_t>({}, &value));
}

void Checkpoint::put_bytes(const std::string& key, const std::vector<std::uint8_t>& bytes) {
    put(key, data::NpyArray::from_vector<std::uint8_t>({bytes.size()}, bytes));
}

void Checkpoint::put_text(const std::string& key, const std::string& text) {
    put_bytes(key, std::vector<std::uint8_t>(text.begin(), text.end()));
}

void Checkpoint::put_int64s(const std::string& key, const std::vector<std::int64_t>& values) {
    put(key, data::NpyArray::from_vector<std::int64_t>({values.size()}, values));
}

void Checkpoint::put_float32(const std::string& key, float value) {
    put(key, data::NpyArray::from_data<float>({}, &value));
}

void Checkpoint::put_float64(const std::string& key, double value) {
    put(key, data::NpyArray::from_data<double>({}, &value));
}

void Checkpoint::put_format(const std::string& kind, std::int64_t version) {
    put_text("format/kind", kind);
    put_int64("format/version", version);
}

void Checkpoint::put_module(const std::string& section, const Module& module) {
    for (const auto& [name, t] : module.named_parameters()) put(section + "/" + name, t.value());
}

bool Checkpoint::contains(const std::string& key) const {
    for (const auto& [k, a] : entries_)
        if (k == key) return true;
    return false;
}

const data::NpyArray& Checkpoint::array(const std::string& key) const {
    for (const auto& [k, a] : entries_)
        if (k == key) return a;
    DYDIFF_USER_FAIL((source_.empty() ? "checkpoint" : source_) << ": missing key '" << key << "'");
}

autograd::Array Checkpoint::get(const std::string& key) const { return array(key).to_float(); }

std::int64_t Checkpoint::get_int64(const std::string& key) const {
    const data::NpyArray& a = array(key);
    a.check_dtype(data::DType::i64, (source_.empty() ? "checkpoint" : source_) + ": key '" + key + "'");
    DYDIFF_USER_CHECK(a.size() == 1,
                      source_ << ": key '" << key << "' must hold one int64, found shape " << shape_str(a.shape));
    return a.to_vector<std::int64_t>()[0];
}

std::vector<std::uint8_t> Checkpoint::get_bytes(const std::string& key) const {
    const data::NpyArray& a = array(key);
    a.check_dtype(data::DType::u8, (source_.empty() ? "checkpoint" : source_) + ": key '" + key + "'");
    return a.to_vector<std::uint8_t>();
}

std::string Checkpoint::get_text(const std::string& key) const {
    const data::NpyArray& a = array(key);
    a.check_dtype(data::DType::u8, where() + ": key '" + key + "'");
    DYDIFF_USER_CHECK(a.shape.size() == 1, where() << ": key '" << key
                                                   << "' must be uint8 text of shape (n,), found shape "
                                                   << shape_str(a.shape));
    const std::vector<std::uint8_t> bytes = a.to_vector<std::uint8_t>();
    return {bytes.begin(), bytes.end()};
}

std::vector<std::int64_t> Checkpoint::get_int64s(const std::string& key) const {
    const data::NpyArray& a = array(key);
    a.check_dtype(data::DType::i64, where() + ": key '" + key + "'");
    DYDIFF_USER_CHECK(a.shape.size() == 1, where() << ": key '" << key << "' must be a 1-d int64 array, found shape "
                                                   << shape_str(a.shape));
    return a.to_vector<std::int64_t>();
}

std::size_t Checkpoint::get_size(const std::string& key, std::int64_t min, std::int64_t max) const {
    const std::int64_t v = get_int64(key);
    DYDIFF_USER_CHECK(v >= min, where() << ": key '" << key << "' is " << v << ", expected an integer >= " << min);
    DYDIFF_USER_CHECK(v <= max, where() << ": key '" << key << "' is " << v << ", but the file's weights allow at most "
                                        << max << " (a damaged file, or the weights are missing)");
    return static_cast<std::size_t>(v);
}

std::int64_t Checkpoint::largest_dim(const std::string& section) const {
    std::size_t out = 0;
    for (const auto& [k, a] : entries_)
        if (k.rfind(section + "/", 0) == 0 && (a.dtype == data::DType::f32 || a.dtype == data::DType::f64))
            for (std::size_t d : a.shape) out = std::max(out, d);
    return static_cast<std::int64_t>(out);
}

std::int64_t Checkpoint::array_count(const std::string& section) const {
    std::int64_t n = 0;
    for (const auto& [k, a] : entries_) n += k.rfind(section + "/", 0) == 0;
    return n;
}

float Checkpoint::get_float32(const std::string& key) const {
    const data::NpyArray& a = array(key);
    a.check_dtype(data::DType::f32, where() + ": key '" + key + "'");
    DYDIFF_USER_CHECK(a.size() == 1, where() << ": key '" << key << "' must hold one float32, found shape "
                                             << shape_str(a.shape));
    return a.to_vector<float>()[0];
}

double Checkpoint::get_float64(const std::string& key) const {
    const data::NpyArray& a = array(key);
    a.check_dtype(data::DType::f64, where() + ": key '" + key + "'");
    DYDIFF_USER_CHECK(a.size() == 1, where() << ": key '" << key << "' must hold one float64, found shape "
                                             << shape_str(a.shape));
    return a.to_vector<double>()[0];
}

NamedTensors Checkpoint::get_tensors(const std::string& section, const NamedTensors& like) const {
    NamedTensors out;
    for (const auto& [name, t] : like) {
        const std::string key = section + "/" + name;
        autograd::Array a = get(key);
        DYDIFF_USER_CHECK(a.shape() == t.value().shape(), where() << ": key '" << key << "' has shape "
                                                                  << shape_str(a.shape()) << ", expected "
                                                                  << shape_str(t.value().shape()));
        out.emplace_back(name, autograd::Tensor(std::move(a)));
    }
    return out;
}

void Checkpoint::check_format(const std::string& kind, std::int64_t version) const {
    DYDIFF_USER_CHECK(contains("format/version"),
                      where() << ": not a dydiff " << kind << " model file of format version " << version
                              << ": it has no key 'format/version' (a file written by an older dydiff, before model "
                                 "files recorded their format and data, or another NPZ file); retrain the model with "
                                 "this dydiff (docs/checkpoints.md)");
    const std::int64_t found = get_int64("format/version");
    DYDIFF_USER_CHECK(found == version, where() << ": key 'format/version' is " << found << "; this dydiff reads model "
                                                << "files of version " << version << " (docs/checkpoints.md)");
    const std::string found_kind = get_text("format/kind");
    DYDIFF_USER_CHECK(found_kind == kind, where() << ": a " << found_kind
                                                  << " model file (key 'format/kind'), expected a " << kind
                                                  << " model file");
}

void Checkpoint::rethrow_naming_source(const Error& e) const {
    const std::string message = e.what();
    if (!source_.empty() && message.find(source_) != std::string::npos) throw;  // called inside the handler
    if (dynamic_cast<const UserError*>(&e)) throw UserError(where() + ": " + message);
    throw Error(where() + ": " + message);
}

std::string model_file(const std::string& run_or_file, const std::string& file_in_run, const std::string& command) {
    namespace fs = std::filesystem;
    if (fs::is_directory(run_or_file)) {
        const fs::path inside = fs::path(run_or_file) / file_in_run;
        DYDIFF_USER_CHECK(fs::is_regular_file(inside), run_or_file << ": a directory without " << file_in_run
                                                                   << "; expected a " << command
                                                                   << " run directory or its " << file_in_run);
        return inside.string();
    }
    DYDIFF_USER_CHECK(fs::is_regular_file(run_or_file), run_or_file << ": no such file or directory; expected a "
                                                                    << command << " run directory or its "
                                                                    << file_in_run);
    return run_or_file;
}

void Checkpoint::load_module(const std::string& section, Module& module) const {
    const std::string prefix = section + "/";
    const auto params = module.named_parameters();
    std::vector<std::string> missing, misshaped;
    std::set<std::string> expected;
    for (const auto& [name, t] : params) {
        expected.insert(prefix + name);
        const data::NpyArray* a = nullptr;
        for (const auto& [k, arr] : entries_)
            if (k == prefix + name) a = &arr;
        if (a == nullptr) {
            missing.push_back(name);
        } else if (a->shape != t.shape()) {
            misshaped.push_back(name + " " + shape_str(a->shape) + " (model " + shape_str(t.shape()) + ")");
        }
    }
    std::vector<std::string> unexpected;
    for (const auto& [k, a] : entries_)
        if (k.rfind(prefix, 0) == 0 && !expected.count(k)) unexpected.push_back(k.substr(prefix.size()));
    if (!missing.empty() || !unexpected.empty() || !misshaped.empty()) {
        std::ostringstream os;
        os << (source_.empty() ? "checkpoint" : source_) << ": section '" << section
           << "' does not fit the model (is it a checkpoint of another configuration or obs/action size?)";
        auto list = [&os](const char* what, const std::vector<std::string>& names) {
            if (names.empty()) return;
            os << "\n  " << what << " (" << names.size() << "):";
            for (std::size_t i = 0; i < names.size() && i < 8; ++i) os << " " << names[i] << (i + 1 < names.size() ? "," : "");
            if (names.size() > 8) os << " ...";
        };
        list("missing", missing);
        list("unexpected", unexpected);
        list("wrong shape", misshaped);
        DYDIFF_USER_FAIL(os.str());
    }
    for (const auto& [name, t] : params) {
        Tensor p = t;
        p.mutable_value() = array(prefix + name).to_float();
    }
}

void Checkpoint::require_finite(const std::string& who) const {
    for (const auto& entry : entries_) {
        const std::string& key = entry.first;
        const data::NpyArray& a = entry.second;
        const auto scan = [&](auto tag) {
            using T = decltype(tag);
            const std::size_t n = a.size();
            for (std::size_t i = 0; i < n; ++i) {
                T v;
                std::memcpy(&v, a.bytes.data() + i * sizeof(T), sizeof(T));
                if (!std::isfinite(v))
                    throw NonFiniteError(who + ": key '" + key + "' holds NaN or Inf (element " + std::to_string(i) +
                                         " of shape " + shape_str(a.shape) + " is " + std::to_string(v) +
                                         "); not written");
            }
        };
        if (a.dtype == data::DType::f32) scan(float{});
        if (a.dtype == data::DType::f64) scan(double{});
    }
}

std::string last_good_checkpoint(const std::string& file, std::int64_t step, std::int64_t first_due) {
    if (step >= 1) return "the last good checkpoint is " + file + " (step " + std::to_string(step) + ")";
    return "no checkpoint exists yet (the first is due at step " + std::to_string(first_due) + ")";
}

void stop_non_finite(const NonFiniteError& e, const std::string& last_good) {
    throw NonFiniteError(std::string(e.what()) + "; stopping. " + last_good +
                         "; hint: lower the learning rate, or check the data for extreme values");
}

std::vector<std::string> Checkpoint::keys() const {
    std::vector<std::string> out;
    for (const auto& [k, a] : entries_) out.push_back(k);
    return out;
}

}  // namespace dydiff::nn
