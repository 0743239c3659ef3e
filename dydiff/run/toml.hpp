// The TOML subset our config files use, parsed and written here (no dependency). What a config needs and no more:
//   - `[table]` and `[a.b]` headers; `key = value` with bare keys (A-Z a-z 0-9 _ -), dotted keys allowed;
//   - basic strings "..." with the escapes \b \t \n \f \r \" \\ \uXXXX \UXXXXXXXX, literal strings '...';
//   - decimal integers (optional sign, `_` between digits); floats with a fraction and/or an exponent, `inf`, `nan`
//     (optionally signed); `true` / `false`; arrays of these, which may span lines and end with a comma;
//   - `#` comments, blank lines.
// Not supported (an error names the construct): quoted keys, inline tables, arrays of tables `[[x]]`, multi-line
// strings, hex/octal/binary integers, dates. Everything we write is also valid TOML 1.0, so Python's `tomllib`
// reads our files (test/dydiff/run/check_tomllib.py checks it).
// Errors are dydiff::UserError "file:line: what was wrong"; duplicate keys and tables are errors.
// Layering: dydiff/run (autograd/error.hpp only).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dydiff::toml {

struct Value {
    enum class Type { string, integer, real, boolean, array };
    Type type = Type::string;
    std::string string;        // Type::string
    std::int64_t integer = 0;  // Type::integer
    double real = 0.0;         // Type::real
    bool boolean = false;      // Type::boolean
    std::vector<Value> array;  // Type::array
    std::string text;          // the value as written, for messages
};

/// "string", "integer", "float", "boolean", "array".
const char* type_name(Value::Type type);

/// One `key = value`: the full dotted key ("unet.dim" under `[unet]`) and the line it is on (1-based).
struct Entry {
    std::string key;
    Value value;
    std::size_t line = 0;
};

/// A table header `[name]` and its line.
struct Table {
    std::string name;
    std::size_t line = 0;
};

struct Document {
    std::string source;          // the file name (or "--set") used in messages
    std::vector<Entry> entries;  // in file order
    std::vector<Table> tables;   // explicit headers, in file order
};

/// Parses `text`; `source` names it in errors ("runs/a/config.toml").
Document parse(const std::string& text, const std::string& source);
/// Reads and parses a file; a missing file, a directory or an unreadable file is a UserError naming the path.
Document parse_file(const std::string& path);
/// Parses one value, as on the right of `=` (used by --set); `where` names it in errors.
Value parse_value(const std::string& text, const std::string& where);

/// A basic string literal with escapes: quote("a\"b") == "\"a\\\"b\"".
std::string quote(const std::string& s);
/// The shortest decimal that reads back as the same float (float32 when `single`), always a TOML float
/// ("1.0", "0.001", "1e-05", "inf", "-inf", "nan").
std::string format_real(double v, bool single);
/// True for a non-empty bare key (A-Z a-z 0-9 _ -).
bool is_bare_key(const std::string& key);

}  // namespace dydiff::toml
