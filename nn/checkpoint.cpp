// Checkpoint: an ordered list of named NpyArrays, saved and loaded as NPZ.
#include "nn/checkpoint.hpp"

#include "autograd/error.hpp"

#include <set>
#include <sstream>

namespace dydiff::nn {

Checkpoint Checkpoint::load(const std::string& path) {
    data::NpzFile file = data::read_npz(path);
    Checkpoint c;
    c.source_ = path;
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

std::vector<std::string> Checkpoint::keys() const {
    std::vector<std::string> out;
    for (const auto& [k, a] : entries_) out.push_back(k);
    return out;
}

}  // namespace dydiff::nn
