// Config fields: the one mechanism behind every hyperparameter struct. A config is a plain struct with one comment
// per field (STYLE habit 9); its `fields(ConfigFields&)` lists each field once, by key, pointer and doc. From that
// list come: printing at start, the resolved config file saved in a run directory, reading a config file
// (`key = value` lines, `#` comments), and `--set key=value` overrides, all with errors that name the key, the
// source (file:line or --set) and the valid keys.
// Layering: dydiff/ (uses autograd/error.hpp only).
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

namespace dydiff {

class ConfigFields {
public:
    using Target = std::variant<float*, double*, std::int64_t*, std::size_t*, bool*, std::string*,
                                std::vector<float>*, std::vector<std::size_t>*>;

    void add(const std::string& key, Target target, const std::string& doc);

    /// Parses `value` into the field `key`; `where` names the source for errors ("run.cfg:12", "--set").
    void set(const std::string& key, const std::string& value, const std::string& where);
    /// Applies "key=value".
    void set_assignment(const std::string& assignment, const std::string& where);
    /// Reads `key = value` lines (blank lines and `#` comments allowed).
    void load_file(const std::string& path);
    /// `key = value  # doc` lines in declaration order: printed at start and saved as the run's config.
    std::string to_text() const;
    /// The current value of `key` as text.
    std::string get(const std::string& key) const;
    bool has(const std::string& key) const;

private:
    struct Field {
        std::string key;
        Target target;
        std::string doc;
    };
    const Field& find(const std::string& key, const std::string& where) const;
    std::vector<Field> fields_;
};

/// Text of one value as written in a config file (round-trips through ConfigFields::set).
std::string format_value(const ConfigFields::Target& target);

}  // namespace dydiff
