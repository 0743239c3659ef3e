// ConfigFields: typed fields over TOML values, their rules, and the TOML text of a config. Floats print as the
// shortest decimal that reads back to the same value, so a saved config round-trips exactly.
#include "dydiff/run/config.hpp"

#include "autograd/error.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace dydiff {

namespace {

using toml::Value;

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\r\n");
    if (b == std::string::npos) return "";
    const auto e = s.find_last_not_of(" \t\r\n");
    return s.substr(b, e - b + 1);
}

std::string number_text(double x) {
    if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
    std::ostringstream os;
    os << x;
    return os.str();
}

// A float from an integer or float value; "" on success, else what the key wants.
std::string to_real(const Value& v, double& out, bool single) {
    if (v.type == Value::Type::integer)
        out = static_cast<double>(v.integer);
    else if (v.type == Value::Type::real)
        out = v.real;
    else
        return "a number";
    if (single && std::isfinite(out) && std::fabs(out) > std::numeric_limits<float>::max())
        return "a number within the float32 range";
    return "";
}

std::string to_int(const Value& v, std::int64_t& out, bool non_negative) {
    const char* want = non_negative ? "an integer >= 0" : "an integer";
    if (v.type != Value::Type::integer) return want;
    if (non_negative && v.integer < 0) return want;
    out = v.integer;
    return "";
}

template <class T, class Convert>
std::string to_list(const Value& v, std::vector<T>& out, const char* want, const Convert& convert) {
    if (v.type != Value::Type::array) return want;
    std::vector<T> items;
    for (const Value& item : v.array) {
        T x{};
        if (!convert(item, x).empty()) return want;
        items.push_back(x);
    }
    out = std::move(items);
    return "";
}

template <class T, class Format>
std::string list_text(const std::vector<T>& v, const Format& format) {
    std::string s = "[";
    for (std::size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + format(v[i]);
    return s + "]";
}

}  // namespace

// ---- rules ------------------------------------------------------------------------------------------------------

ConfigFields::Rules& ConfigFields::Rules::positive() {
    Range& r = owner_.fields_[index_].range;
    r.lo = std::max(r.lo, 0.0);
    r.lo_open = true;
    r.finite = true;
    r.set = true;
    return *this;
}

ConfigFields::Rules& ConfigFields::Rules::at_least(double lo) {
    Range& r = owner_.fields_[index_].range;
    r.lo = lo;
    r.lo_open = false;
    r.finite = true;
    r.set = true;
    return *this;
}

ConfigFields::Rules& ConfigFields::Rules::at_most(double hi) {
    Range& r = owner_.fields_[index_].range;
    r.hi = hi;
    r.finite = true;
    r.set = true;
    return *this;
}

ConfigFields::Rules& ConfigFields::Rules::below(double hi) {
    at_most(hi);
    owner_.fields_[index_].range.hi_open = true;
    return *this;
}

ConfigFields::Rules& ConfigFields::Rules::in_range(double lo, double hi) { return at_least(lo).at_most(hi); }

ConfigFields::Rules& ConfigFields::Rules::finite() {
    owner_.fields_[index_].range.finite = true;
    owner_.fields_[index_].range.set = true;
    return *this;
}

ConfigFields::Rules& ConfigFields::Rules::non_empty() {
    owner_.fields_[index_].non_empty = true;
    return *this;
}

ConfigFields::Rules& ConfigFields::Rules::one_of(std::vector<std::string> names) {
    owner_.fields_[index_].choices = std::move(names);
    return *this;
}

ConfigFields::Rules& ConfigFields::Rules::fixed_on_resume() {
    owner_.fields_[index_].on_resume = OnResume::fixed;
    return *this;
}

ConfigFields::Rules& ConfigFields::Rules::grows_on_resume() {
    owner_.fields_[index_].on_resume = OnResume::may_grow;
    return *this;
}

// ---- declaring fields -------------------------------------------------------------------------------------------

std::string ConfigFields::key(const std::string& key) const {
    std::string full;
    for (const auto& p : prefix_) full += p + ".";
    return full + key;
}

void ConfigFields::begin_table(const std::string& name, const std::string& doc) {
    DYDIFF_CHECK(toml::is_bare_key(name), "config: table name '" << name << "' is not a bare key");
    prefix_.push_back(name);
    const std::string full = key("").substr(0, key("").size() - 1);
    for (const auto& t : tables_) DYDIFF_CHECK(t.name != full, "config: table [" << full << "] declared twice");
    tables_.push_back({full, doc});
}

void ConfigFields::end_table() { prefix_.pop_back(); }

ConfigFields::Rules ConfigFields::push(Field field) {
    DYDIFF_CHECK(toml::is_bare_key(field.key), "config: key '" << field.key << "' is not a bare key");
    field.key = key(field.key);
    field.table = prefix_.empty() ? "" : key("").substr(0, key("").size() - 1);
    DYDIFF_CHECK(!has(field.key), "config: key '" << field.key << "' declared twice");
    fields_.push_back(std::move(field));
    return Rules(*this, fields_.size() - 1);
}

ConfigFields::Field ConfigFields::new_field(const std::string& key, const std::string& doc, const std::string& type) {
    Field f;
    f.key = key;
    f.doc = doc;
    f.type = type;
    return f;
}

ConfigFields::Rules ConfigFields::add(const std::string& key, float* target, const std::string& doc) {
    Field f = new_field(key, doc, "float");
    f.format = [target] { return toml::format_real(*target, true); };
    f.assign = [target](const Value& v) {
        double x = 0;
        const std::string want = to_real(v, x, true);
        if (want.empty()) *target = static_cast<float>(x);
        return want;
    };
    f.numbers = [target] { return std::vector<double>{*target}; };
    return push(std::move(f));
}

ConfigFields::Rules ConfigFields::add(const std::string& key, double* target, const std::string& doc) {
    Field f = new_field(key, doc, "float");
    f.format = [target] { return toml::format_real(*target, false); };
    f.assign = [target](const Value& v) { return to_real(v, *target, false); };
    f.numbers = [target] { return std::vector<double>{*target}; };
    return push(std::move(f));
}

ConfigFields::Rules ConfigFields::add(const std::string& key, std::int64_t* target, const std::string& doc) {
    Field f = new_field(key, doc, "integer");
    f.format = [target] { return std::to_string(*target); };
    f.assign = [target](const Value& v) { return to_int(v, *target, false); };
    f.numbers = [target] { return std::vector<double>{static_cast<double>(*target)}; };
    return push(std::move(f));
}

ConfigFields::Rules ConfigFields::add(const std::string& key, std::size_t* target, const std::string& doc) {
    Field f = new_field(key, doc, "integer");
    f.format = [target] { return std::to_string(*target); };
    f.assign = [target](const Value& v) {
        std::int64_t n = 0;
        const std::string want = to_int(v, n, true);
        if (want.empty()) *target = static_cast<std::size_t>(n);
        return want;
    };
    f.numbers = [target] { return std::vector<double>{static_cast<double>(*target)}; };
    return push(std::move(f));
}

ConfigFields::Rules ConfigFields::add(const std::string& key, bool* target, const std::string& doc) {
    Field f = new_field(key, doc, "boolean");
    f.format = [target] { return std::string(*target ? "true" : "false"); };
    f.assign = [target](const Value& v) -> std::string {
        if (v.type != Value::Type::boolean) return "true or false";
        *target = v.boolean;
        return "";
    };
    return push(std::move(f));
}

ConfigFields::Rules ConfigFields::add(const std::string& key, std::string* target, const std::string& doc) {
    Field f = new_field(key, doc, "string");
    f.bare_words = true;
    f.format = [target] { return toml::quote(*target); };
    f.assign = [target](const Value& v) -> std::string {
        if (v.type != Value::Type::string) return "a string";
        *target = v.string;
        return "";
    };
    f.size = [target] { return target->size(); };
    return push(std::move(f));
}

ConfigFields::Rules ConfigFields::add(const std::string& key, std::vector<float>* target, const std::string& doc) {
    Field f = new_field(key, doc, "list of floats");
    f.format = [target] { return list_text(*target, [](float x) { return toml::format_real(x, true); }); };
    f.assign = [target](const Value& v) {
        return to_list(v, *target, "a list of numbers", [](const Value& item, float& x) {
            double d = 0;
            const std::string want = to_real(item, d, true);
            x = static_cast<float>(d);
            return want;
        });
    };
    f.numbers = [target] { return std::vector<double>(target->begin(), target->end()); };
    f.size = [target] { return target->size(); };
    return push(std::move(f));
}

ConfigFields::Rules ConfigFields::add(const std::string& key, std::vector<std::size_t>* target,
                                      const std::string& doc) {
    Field f = new_field(key, doc, "list of integers");
    f.format = [target] { return list_text(*target, [](std::size_t x) { return std::to_string(x); }); };
    f.assign = [target](const Value& v) {
        return to_list(v, *target, "a list of integers >= 0", [](const Value& item, std::size_t& x) {
            std::int64_t n = 0;
            const std::string want = to_int(item, n, true);
            x = static_cast<std::size_t>(n);
            return want;
        });
    };
    f.numbers = [target] {
        std::vector<double> out;
        for (std::size_t x : *target) out.push_back(static_cast<double>(x));
        return out;
    };
    f.size = [target] { return target->size(); };
    return push(std::move(f));
}

ConfigFields::Rules ConfigFields::add(const std::string& key, std::vector<std::string>* target,
                                      const std::string& doc) {
    Field f = new_field(key, doc, "list of strings");
    f.format = [target] { return list_text(*target, [](const std::string& x) { return toml::quote(x); }); };
    f.assign = [target](const Value& v) {
        return to_list(v, *target, "a list of strings", [](const Value& item, std::string& x) -> std::string {
            if (item.type != Value::Type::string) return "a string";
            x = item.string;
            return "";
        });
    };
    f.size = [target] { return target->size(); };
    return push(std::move(f));
}

void ConfigFields::table_with(const std::string& name, const std::string& doc,
                              const std::function<void(ConfigFields&)>& add) {
    begin_table(name, doc);
    add(*this);
    end_table();
}

void ConfigFields::check(std::function<void()> check) {
    const std::string k = key("");
    checks_.emplace_back(k.empty() ? "" : k.substr(0, k.size() - 1), std::move(check));
}

void adam_fields(ConfigFields& f, nn::AdamConfig& adam) {
    f.add("beta1", &adam.beta1, "first-moment decay (PyTorch's default 0.9)").at_least(0).below(1);
    f.add("beta2", &adam.beta2, "second-moment decay (PyTorch's default 0.999)").at_least(0).below(1);
    f.add("eps", &adam.eps, "denominator guard (PyTorch's default 1e-8)").positive();
}

// ---- setting values ---------------------------------------------------------------------------------------------

bool ConfigFields::has(const std::string& key) const {
    return std::any_of(fields_.begin(), fields_.end(), [&](const Field& f) { return f.key == key; });
}

ConfigFields::Field& ConfigFields::find(const std::string& key, const std::string& where) {
    return const_cast<Field&>(static_cast<const ConfigFields&>(*this).find(key, where));
}

const ConfigFields::Field& ConfigFields::find(const std::string& key, const std::string& where) const {
    for (const Field& f : fields_)
        if (f.key == key) return f;
    // Unknown: name the table when the table itself is unknown, else the keys of that table.
    const auto dot = key.rfind('.');
    const std::string table = dot == std::string::npos ? "" : key.substr(0, dot);
    const bool table_known = table.empty() || std::any_of(tables_.begin(), tables_.end(),
                                                          [&](const TableInfo& t) { return t.name == table; });
    std::ostringstream valid;
    if (!table_known) {
        for (std::size_t i = 0; i < tables_.size(); ++i) valid << (i ? ", " : "") << "[" << tables_[i].name << "]";
        DYDIFF_USER_FAIL(where << ": unknown config table [" << table << "] (key '" << key
                               << "'; valid tables: " << (tables_.empty() ? std::string("none") : valid.str()) << ")");
    }
    std::size_t n = 0;
    for (const Field& f : fields_)
        if (f.table == table) valid << (n++ ? ", " : "") << f.key.substr(table.empty() ? 0 : table.size() + 1);
    DYDIFF_USER_FAIL(where << ": unknown config key '" << key << "'"
                           << (table.empty() ? std::string() : " in table [" + table + "]")
                           << " (valid keys: " << valid.str() << ")");
}

void ConfigFields::set(const std::string& key, const std::string& raw, const std::string& where) {
    Field& f = find(key, where);
    const std::string text = trim(raw);
    Value v;
    if (f.bare_words && (text.empty() || (text[0] != '"' && text[0] != '\''))) {
        v.type = Value::Type::string;  // --set preset=small: a bare word is the string itself
        v.string = text;
        v.text = text;
    } else {
        v = toml::parse_value(text, where + " " + key);
    }
    const std::string want = f.assign(v);
    DYDIFF_USER_CHECK(want.empty(), where << ": config key '" << key << "' wants " << want << ", got '" << text << "'");
    f.origin = where;
}

void ConfigFields::set_assignment(const std::string& assignment, const std::string& where) {
    const auto eq = assignment.find('=');
    DYDIFF_USER_CHECK(eq != std::string::npos, where << ": expected key=value, got '" << assignment << "'");
    set(trim(assignment.substr(0, eq)), assignment.substr(eq + 1), where);
}

void ConfigFields::apply(const toml::Document& doc, const std::set<std::string>& skip) {
    const auto skipped = [&](const std::string& key) {
        for (const auto& t : skip)
            if (key == t || key.rfind(t + ".", 0) == 0) return true;
        return false;
    };
    for (const toml::Table& t : doc.tables) {
        if (skipped(t.name)) continue;
        const bool known =
            std::any_of(tables_.begin(), tables_.end(), [&](const TableInfo& i) { return i.name == t.name; });
        if (known) continue;
        std::ostringstream valid;
        for (std::size_t i = 0; i < tables_.size(); ++i) valid << (i ? ", " : "") << "[" << tables_[i].name << "]";
        for (const auto& s : skip) valid << (valid.str().empty() ? "" : ", ") << "[" << s << "]";
        DYDIFF_USER_FAIL(doc.source << ":" << t.line << ": unknown config table [" << t.name
                                    << "] (valid tables: " << valid.str() << ")");
    }
    for (const toml::Entry& e : doc.entries) {
        if (skipped(e.key)) continue;
        const std::string where = doc.source + ":" + std::to_string(e.line);
        Field& f = find(e.key, where);
        const std::string want = f.assign(e.value);
        DYDIFF_USER_CHECK(want.empty(), where << ": config key '" << e.key << "' wants " << want << ", got "
                                              << e.value.text << " (a TOML " << toml::type_name(e.value.type) << ")");
        f.origin = where;
    }
}

void ConfigFields::load_file(const std::string& path, const std::set<std::string>& skip) {
    apply(toml::parse_file(path), skip);
}

void ConfigFields::set_origin(const std::string& origin) {
    for (Field& f : fields_) f.origin = origin;
}

// ---- validation -------------------------------------------------------------------------------------------------

std::string ConfigFields::valid_text(const Field& f) {
    std::ostringstream os;
    const Range& r = f.range;
    const bool integral = f.type.find("integer") != std::string::npos;  // always finite
    const char* finite = r.finite && !integral ? "finite and " : "";
    if (r.set) {
        const bool has_lo = std::isfinite(r.lo), has_hi = std::isfinite(r.hi);
        if (has_lo && has_hi)
            os << "in " << (r.lo_open ? "(" : "[") << number_text(r.lo) << ", " << number_text(r.hi)
               << (r.hi_open ? ")" : "]");
        else if (has_lo)
            os << finite << (r.lo_open ? "> " : ">= ") << number_text(r.lo);
        else if (has_hi)
            os << finite << (r.hi_open ? "< " : "<= ") << number_text(r.hi);
        else if (r.finite && !integral)
            os << "finite";
    }
    if (!f.choices.empty()) {
        os << "one of: ";
        for (std::size_t i = 0; i < f.choices.size(); ++i) os << (i ? ", " : "") << f.choices[i];
    }
    if (f.non_empty) os << (os.str().empty() ? "" : ", ") << "not empty";
    std::string text = os.str();
    if (!text.empty() && f.numbers && f.size && r.set) text = "each " + text;
    return text;
}

void ConfigFields::validate() const {
    for (const Field& f : fields_) {
        const auto fail = [&] {
            DYDIFF_USER_FAIL(f.origin << ": config key '" << f.key << "' = " << f.format()
                                      << " is out of range (valid: " << valid_text(f) << ")");
        };
        if (f.non_empty && f.size && f.size() == 0) fail();
        if (f.range.set && f.numbers)
            for (double x : f.numbers()) {
                const Range& r = f.range;
                if (std::isnan(x) || (r.finite && !std::isfinite(x))) fail();
                if (r.lo_open ? !(x > r.lo) : !(x >= r.lo)) fail();
                if (r.hi_open ? !(x < r.hi) : !(x <= r.hi)) fail();
            }
        if (!f.choices.empty()) {
            const std::string v = f.format();
            const bool ok = std::any_of(f.choices.begin(), f.choices.end(),
                                        [&](const std::string& c) { return toml::quote(c) == v; });
            if (!ok) fail();
        }
    }
    for (const auto& [table, check] : checks_) {
        try {
            check();
        } catch (const UserError& e) {
            throw UserError("config" + (table.empty() ? std::string() : " [" + table + "]") + ": " + e.what());
        }
    }
}

// ---- text -------------------------------------------------------------------------------------------------------

std::string ConfigFields::get(const std::string& key) const { return find(key, "config").format(); }

std::map<std::string, std::string> ConfigFields::snapshot() const {
    std::map<std::string, std::string> out;
    for (const Field& f : fields_) out[f.key] = f.format();
    return out;
}

std::vector<std::string> ConfigFields::check_resume(const std::map<std::string, std::string>& saved,
                                                    const std::string& saved_source) const {
    std::vector<std::string> changed;
    for (const Field& f : fields_) {
        const auto it = saved.find(f.key);
        DYDIFF_CHECK(it != saved.end(), "check_resume: key '" << f.key << "' missing from the snapshot");
        const std::string now = f.format();
        if (now == it->second) continue;
        changed.push_back(f.key);
        DYDIFF_USER_CHECK(f.on_resume != OnResume::fixed,
                          f.origin << ": --resume cannot change '" << f.key << "' (" << it->second << " in "
                                   << saved_source << ", now " << now
                                   << "): it changes the model or the data it learns from; start a new run with "
                                      "another --out");
        if (f.on_resume == OnResume::may_grow) {
            const Value before = toml::parse_value(it->second, saved_source + " " + f.key);
            double old_value = 0;
            to_real(before, old_value, false);
            DYDIFF_USER_CHECK(f.numbers().at(0) >= old_value, f.origin << ": --resume can only raise '" << f.key
                                                                       << "' (" << it->second << " in " << saved_source
                                                                       << ", now " << now << ")");
        }
    }
    return changed;
}

std::vector<ConfigFields::Info> ConfigFields::describe() const {
    std::vector<Info> out;
    for (const Field& f : fields_)
        out.push_back({f.key, f.table, f.format(), f.type, valid_text(f), f.doc, f.on_resume});
    return out;
}

std::string ConfigFields::to_toml() const {
    std::vector<std::string> order{""};
    for (const TableInfo& t : tables_) order.push_back(t.name);
    std::ostringstream os;
    for (const std::string& table : order) {
        std::vector<std::pair<std::string, const Field*>> lines;
        for (const Field& f : fields_)
            if (f.table == table)
                lines.emplace_back(f.key.substr(table.empty() ? 0 : table.size() + 1) + " = " + f.format(), &f);
        if (lines.empty()) continue;
        if (!table.empty()) {
            const auto it =
                std::find_if(tables_.begin(), tables_.end(), [&](const TableInfo& t) { return t.name == table; });
            os << "\n[" << table << "]" << (it->doc.empty() ? "" : "  # " + it->doc) << "\n";
        }
        // Comments aligned in a column, except after a long value (a command line).
        constexpr std::size_t kMaxColumn = 40;
        std::size_t width = 0;
        for (const auto& [kv, f] : lines)
            if (kv.size() <= kMaxColumn) width = std::max(width, kv.size());
        for (const auto& [kv, f] : lines) {
            std::string comment = f->doc;
            const std::string valid = valid_text(*f);
            if (!valid.empty()) comment += " [" + valid + "]";
            os << kv << std::string(kv.size() < width ? width - kv.size() + 2 : 2, ' ') << "# " << comment << "\n";
        }
    }
    return os.str();
}

}  // namespace dydiff
