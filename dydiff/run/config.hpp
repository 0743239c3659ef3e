// Config fields: the one mechanism behind every hyperparameter. A config is a plain struct with one comment per field
// (STYLE habit 9); its `fields(ConfigFields&)` lists each field once: key, pointer, one-line doc, and the rules a
// value must obey (range, choices, what --resume may do with it). A nested struct is listed under a table name
// (`f.table("unet", "...", unet)` calls unet.fields() with keys "unet.dim", ...), so every struct, nested or not,
// reaches a run the same way. From that one list come:
//   - the TOML file a run saves (config.toml) and `dydiff config show` prints, read back by --config and --resume;
//   - `--set key=value` and `--set table.key=value` overrides;
//   - validation before anything is created: ranges, choices and cross-field checks, errors naming the key, the
//     value, where it came from (file:line, --set, default) and the valid range;
//   - --help and docs/cli.md (every key with its default, range and doc);
//   - the --resume rules: a `fixed` key (architecture, data) may not change, a `may_grow` key (steps) may only grow.
// Errors are dydiff::UserError. Layering: dydiff/run (dydiff/run/toml.hpp, autograd/error.hpp).
#pragma once

#include "dydiff/run/toml.hpp"
#include "nn/optim.hpp"

#include <cstdint>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace dydiff {

/// What `--resume` allows for a key.
enum class OnResume {
    may_change,  // training schedule, logging: a resumed run may use another value
    fixed,       // changes the model or the data it learns from (architecture, horizon): refused
    may_grow,    // a budget (steps): only a larger value is accepted
};

class ConfigFields {
public:
    /// Rules of the field just added, chained: `f.add("lr", &lr, "...").positive();`
    class Rules {
    public:
        Rules& positive();                              // finite and > 0
        Rules& at_least(double lo);                     // >= lo (and finite)
        Rules& at_most(double hi);                      // <= hi
        Rules& below(double hi);                        // < hi
        Rules& in_range(double lo, double hi);          // [lo, hi]
        Rules& finite();                                // not inf or nan
        Rules& non_empty();                             // a list or a string with at least one element
        Rules& one_of(std::vector<std::string> names);  // strings
        Rules& fixed_on_resume();                       // OnResume::fixed
        Rules& grows_on_resume();                       // OnResume::may_grow

    private:
        friend class ConfigFields;
        Rules(ConfigFields& owner, std::size_t index) : owner_(owner), index_(index) {}
        ConfigFields& owner_;
        std::size_t index_;
    };

    /// One field as --help and docs/cli.md show it.
    struct Info {
        std::string key;    // full dotted key: "lr", "unet.dim"
        std::string table;  // "" for top-level keys, else "unet"
        std::string value;  // current value as TOML
        std::string type;   // "float", "integer", "string", "boolean", "list of floats", "list of integers"
        std::string valid;  // "finite and > 0", "one of: silu, relu", "" (anything of the type)
        std::string doc;
        OnResume on_resume = OnResume::may_change;
    };
    struct TableInfo {
        std::string name;  // "unet", "sampler"
        std::string doc;
    };

    Rules add(const std::string& key, float* target, const std::string& doc);
    Rules add(const std::string& key, double* target, const std::string& doc);
    Rules add(const std::string& key, std::int64_t* target, const std::string& doc);
    Rules add(const std::string& key, std::size_t* target, const std::string& doc);
    Rules add(const std::string& key, bool* target, const std::string& doc);
    Rules add(const std::string& key, std::string* target, const std::string& doc);
    Rules add(const std::string& key, std::vector<float>* target, const std::string& doc);
    Rules add(const std::string& key, std::vector<std::size_t>* target, const std::string& doc);
    Rules add(const std::string& key, std::vector<std::string>* target, const std::string& doc);
    /// An enum spelled by name: `names` maps each spelling to its value (the first spelling of a value prints).
    template <class Enum>
    Rules add_choice(const std::string& key, Enum* target, const std::vector<std::pair<std::string, Enum>>& names,
                     const std::string& doc);

    /// Lists `config`'s fields (config.fields(*this)) under `[name]`; tables nest ("a.b").
    template <class Config>
    void table(const std::string& name, const std::string& doc, Config& config) {
        begin_table(name, doc);
        config.fields(*this);
        end_table();
    }
    /// The same with a function that adds the fields (a struct with two field lists, such as EdmConfig).
    void table_with(const std::string& name, const std::string& doc, const std::function<void(ConfigFields&)>& add);
    /// The full key of `key` in the table being listed ("groups" -> "unet.groups"), for check() messages.
    std::string key(const std::string& key) const;
    /// A cross-field check run by validate() after every per-field rule: `check` throws a UserError naming the keys
    /// (DYDIFF_USER_CHECK) when the values are inconsistent; validate() prefixes the table ("config [unet]: ...").
    void check(std::function<void()> check);

    /// Parses `value` (TOML, or a bare word for strings) into `key`; `where` names the source ("--set").
    void set(const std::string& key, const std::string& value, const std::string& where);
    /// Applies "key=value" (as --set gives it).
    void set_assignment(const std::string& assignment, const std::string& where);
    /// Applies every entry of a parsed file. Entries of the tables in `skip` are not ours to read (the [run] table of
    /// provenance); any other unknown table or key is an error naming file:line and the valid ones.
    void apply(const toml::Document& doc, const std::set<std::string>& skip = {});
    /// parse_file + apply.
    void load_file(const std::string& path, const std::set<std::string>& skip = {});
    /// Records `origin` (e.g. "preset small") as the source of every value, for messages.
    void set_origin(const std::string& origin);

    /// Checks every rule; the first violation is a UserError naming the key, the value, its origin and the range.
    void validate() const;

    /// The TOML text of every field: top-level keys, then one section per table, each line `key = value  # doc`.
    std::string to_toml() const;
    /// key -> current value as TOML, for comparing a resumed config with the saved one.
    std::map<std::string, std::string> snapshot() const;
    /// Against the saved values: refuses a change of a `fixed` key and a decrease of a `may_grow` key (UserError
    /// naming the key, both values and `saved_source`). Returns the keys that changed.
    std::vector<std::string> check_resume(const std::map<std::string, std::string>& saved,
                                          const std::string& saved_source) const;

    /// The current value of `key` as TOML ("0.7", "\"silu\"", "[1, 2]"); an unknown key is a UserError.
    std::string get(const std::string& key) const;
    bool has(const std::string& key) const;
    std::vector<Info> describe() const;
    const std::vector<TableInfo>& tables() const { return tables_; }

private:
    struct Range {
        double lo = -std::numeric_limits<double>::infinity();
        double hi = std::numeric_limits<double>::infinity();
        bool lo_open = false;
        bool hi_open = false;
        bool finite = false;
        bool set = false;
    };
    struct Field {
        std::string key;
        std::string table;
        std::string doc;
        std::string type;
        std::function<std::string()> format;                    // current value as TOML
        std::function<std::string(const toml::Value&)> assign;  // "" on success, else what the key wants
        std::function<std::vector<double>()> numbers;           // numeric fields: every number; else empty
        std::function<std::size_t()> size;                      // lists and strings: element count
        bool bare_words = false;                                // --set may give a string without quotes
        Range range;
        std::vector<std::string> choices;
        bool non_empty = false;
        OnResume on_resume = OnResume::may_change;
        std::string origin = "default";
    };
    /// A Field with its key, doc and type name, every other member at its default.
    static Field new_field(const std::string& key, const std::string& doc, const std::string& type);

    Rules push(Field field);
    void begin_table(const std::string& name, const std::string& doc);
    void end_table();
    Field& find(const std::string& key, const std::string& where);
    const Field& find(const std::string& key, const std::string& where) const;
    static std::string valid_text(const Field& f);

    std::vector<Field> fields_;
    std::vector<TableInfo> tables_;
    std::vector<std::string> prefix_;                                    // table names being listed
    std::vector<std::pair<std::string, std::function<void()>>> checks_;  // table, check
};

/// Adam's moment decays and epsilon as keys (beta1, beta2, eps), for an [adam] table of every trainer; the learning
/// rate stays a key of the trainer (`lr`) and overrides adam.lr where the optimiser is made.
void adam_fields(ConfigFields& f, nn::AdamConfig& adam);

template <class Enum>
ConfigFields::Rules ConfigFields::add_choice(const std::string& key, Enum* target,
                                             const std::vector<std::pair<std::string, Enum>>& names,
                                             const std::string& doc) {
    Field f;
    f.key = key;
    f.doc = doc;
    f.type = "string";
    f.bare_words = true;
    for (const auto& [name, value] : names) f.choices.push_back(name);
    f.format = [target, names] {
        for (const auto& [name, value] : names)
            if (value == *target) return toml::quote(name);
        return toml::quote("?");
    };
    f.assign = [target, names](const toml::Value& v) -> std::string {
        if (v.type == toml::Value::Type::string)
            for (const auto& [name, value] : names)
                if (name == v.string) {
                    *target = value;
                    return "";
                }
        std::string valid;
        for (const auto& [name, value] : names) valid += (valid.empty() ? "" : ", ") + name;
        return "one of: " + valid;
    };
    return push(std::move(f));
}

}  // namespace dydiff
