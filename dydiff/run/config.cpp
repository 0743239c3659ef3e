// ConfigFields: parsing and printing of config values. Floats print with enough digits to round-trip exactly.
#include "dydiff/run/config.hpp"

#include "autograd/error.hpp"

#include <cerrno>
#include <cstdlib>
#include <fstream>
#include <iomanip>
#include <limits>
#include <sstream>

namespace dydiff {

namespace {

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\r");
    if (b == std::string::npos) return "";
    const auto e = s.find_last_not_of(" \t\r");
    return s.substr(b, e - b + 1);
}

std::vector<std::string> split_list(const std::string& text) {
    std::vector<std::string> out;
    std::string t = trim(text);
    if (!t.empty() && t.front() == '[' && t.back() == ']') t = t.substr(1, t.size() - 2);
    std::istringstream is(t);
    for (std::string item; std::getline(is, item, ',');)
        if (!trim(item).empty()) out.push_back(trim(item));
    return out;
}

template <class T>
std::string format_real(T v) {
    std::ostringstream os;
    os << std::setprecision(std::numeric_limits<T>::max_digits10) << v;
    return os.str();
}

}  // namespace

std::string format_value(const ConfigFields::Target& target) {
    struct Visitor {
        std::string operator()(float* p) const { return format_real(*p); }
        std::string operator()(double* p) const { return format_real(*p); }
        std::string operator()(std::int64_t* p) const { return std::to_string(*p); }
        std::string operator()(std::size_t* p) const { return std::to_string(*p); }
        std::string operator()(bool* p) const { return *p ? "true" : "false"; }
        std::string operator()(std::string* p) const { return *p; }
        std::string operator()(std::vector<float>* p) const {
            std::string s = "[";
            for (std::size_t i = 0; i < p->size(); ++i) s += (i ? ", " : "") + format_real((*p)[i]);
            return s + "]";
        }
        std::string operator()(std::vector<std::size_t>* p) const {
            std::string s = "[";
            for (std::size_t i = 0; i < p->size(); ++i) s += (i ? ", " : "") + std::to_string((*p)[i]);
            return s + "]";
        }
    };
    return std::visit(Visitor{}, target);
}

void ConfigFields::add(const std::string& key, Target target, const std::string& doc) {
    DYDIFF_CHECK(!has(key), "config: key '" << key << "' declared twice");
    fields_.push_back({key, target, doc});
}

bool ConfigFields::has(const std::string& key) const {
    for (const Field& f : fields_)
        if (f.key == key) return true;
    return false;
}

const ConfigFields::Field& ConfigFields::find(const std::string& key, const std::string& where) const {
    for (const Field& f : fields_)
        if (f.key == key) return f;
    std::ostringstream keys;
    for (std::size_t i = 0; i < fields_.size(); ++i) keys << (i ? ", " : "") << fields_[i].key;
    DYDIFF_FAIL(where << ": unknown config key '" << key << "' (valid keys: " << keys.str() << ")");
}

std::string ConfigFields::get(const std::string& key) const { return format_value(find(key, "config").target); }

void ConfigFields::set(const std::string& key, const std::string& raw, const std::string& where) {
    const Field& f = find(key, where);
    const std::string value = trim(raw);
    const auto bad = [&](const char* expected) {
        DYDIFF_FAIL(where << ": config key '" << key << "' wants " << expected << ", got '" << value << "'");
    };
    const auto parse_real = [&](const std::string& s) {
        errno = 0;
        char* end = nullptr;
        const double x = std::strtod(s.c_str(), &end);
        if (s.empty() || *end != '\0' || errno != 0) bad("a number");
        return x;
    };
    const auto parse_int = [&](const std::string& s, bool non_negative) {
        errno = 0;
        char* end = nullptr;
        const long long n = std::strtoll(s.c_str(), &end, 10);
        if (s.empty() || *end != '\0' || errno != 0 || (non_negative && n < 0))
            bad(non_negative ? "a non-negative integer" : "an integer");
        return n;
    };
    struct Visitor {
        const std::string& value;
        decltype(parse_real)& real;
        decltype(parse_int)& integer;
        decltype(bad)& fail;
        void operator()(float* p) const { *p = static_cast<float>(real(value)); }
        void operator()(double* p) const { *p = real(value); }
        void operator()(std::int64_t* p) const { *p = integer(value, false); }
        void operator()(std::size_t* p) const { *p = static_cast<std::size_t>(integer(value, true)); }
        void operator()(bool* p) const {
            if (value == "true" || value == "1") *p = true;
            else if (value == "false" || value == "0") *p = false;
            else fail("true or false");
        }
        void operator()(std::string* p) const { *p = value; }
        void operator()(std::vector<float>* p) const {
            p->clear();
            for (const auto& item : split_list(value)) p->push_back(static_cast<float>(real(item)));
        }
        void operator()(std::vector<std::size_t>* p) const {
            p->clear();
            for (const auto& item : split_list(value)) p->push_back(static_cast<std::size_t>(integer(item, true)));
        }
    };
    std::visit(Visitor{value, parse_real, parse_int, bad}, f.target);
}

void ConfigFields::set_assignment(const std::string& assignment, const std::string& where) {
    const auto eq = assignment.find('=');
    DYDIFF_CHECK(eq != std::string::npos, where << ": expected key=value, got '" << assignment << "'");
    set(trim(assignment.substr(0, eq)), assignment.substr(eq + 1), where + " " + trim(assignment.substr(0, eq)));
}

void ConfigFields::load_file(const std::string& path) {
    std::ifstream in(path);
    DYDIFF_CHECK(in, path << ": cannot open config file");
    std::string line;
    for (int number = 1; std::getline(in, line); ++number) {
        const auto hash = line.find('#');
        const std::string content = trim(hash == std::string::npos ? line : line.substr(0, hash));
        if (content.empty()) continue;
        const auto eq = content.find('=');
        DYDIFF_CHECK(eq != std::string::npos, path << ":" << number << ": expected 'key = value', got '" << content << "'");
        set(trim(content.substr(0, eq)), content.substr(eq + 1), path + ":" + std::to_string(number));
    }
}

std::string ConfigFields::to_text() const {
    std::size_t width = 0;
    for (const Field& f : fields_) width = std::max(width, f.key.size() + 3 + format_value(f.target).size());
    std::ostringstream os;
    for (const Field& f : fields_) {
        const std::string kv = f.key + " = " + format_value(f.target);
        os << kv << std::string(width - kv.size() + 2, ' ') << "# " << f.doc << "\n";
    }
    return os.str();
}

}  // namespace dydiff
