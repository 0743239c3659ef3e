// The TOML subset of dydiff/run/toml.hpp: a recursive-descent parser over the whole text (arrays may span lines),
// and the few writers the config files need.
#include "dydiff/run/toml.hpp"

#include "autograd/error.hpp"

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <limits>
#include <map>
#include <sstream>

namespace dydiff::toml {

namespace {

bool is_bare_char(char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '-';
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

void append_utf8(std::string& out, std::uint32_t cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

class Parser {
public:
    Parser(const std::string& text, std::string source) : text_(text), source_(std::move(source)) {}

    Document document() {
        Document doc;
        doc.source = source_;
        std::string table;                                  // current [table] prefix
        std::map<std::string, std::size_t> values, tables;  // full key -> line
        while (true) {
            skip_blank_lines();
            if (at_end()) break;
            const std::size_t line = line_;
            if (peek() == '[') {
                ++pos_;
                if (peek() == '[') fail("arrays of tables ([[...]]) are not in the supported TOML subset");
                skip_spaces();
                table = key_path();
                skip_spaces();
                expect(']', "']' to close the table header");
                if (const auto it = values.find(table); it != values.end())
                    fail("table [" + table + "] names a value already set on line " + std::to_string(it->second));
                if (const auto it = tables.find(table); it != tables.end())
                    fail("table [" + table + "] declared twice (first on line " + std::to_string(it->second) + ")");
                tables[table] = line;
                doc.tables.push_back({table, line});
            } else {
                const std::string key = (table.empty() ? "" : table + ".") + key_path();
                skip_spaces();
                expect('=', "'=' after the key");
                skip_spaces();
                Value v = value();
                if (const auto it = values.find(key); it != values.end())
                    fail_at(line, "duplicate key '" + key + "' (first set on line " + std::to_string(it->second) + ")");
                if (const auto it = tables.find(key); it != tables.end())
                    fail_at(line, "key '" + key + "' is also a table (line " + std::to_string(it->second) + ")");
                values[key] = line;
                doc.entries.push_back({key, std::move(v), line});
            }
            end_of_line();
        }
        return doc;
    }

    Value single_value() {
        skip_spaces();
        Value v = value();
        skip_spaces();
        if (!at_end() && peek() != '#') fail("unexpected '" + rest_of_line() + "' after the value");
        return v;
    }

private:
    bool at_end() const { return pos_ >= text_.size(); }
    char peek() const { return at_end() ? '\0' : text_[pos_]; }

    [[noreturn]] void fail(const std::string& what) const { fail_at(line_, what); }
    [[noreturn]] void fail_at(std::size_t line, const std::string& what) const {
        DYDIFF_USER_FAIL(source_ << ":" << line << ": " << what);
    }

    std::string rest_of_line() const {
        const auto end = text_.find('\n', pos_);
        std::string s = text_.substr(pos_, end == std::string::npos ? std::string::npos : end - pos_);
        while (!s.empty() && (s.back() == '\r' || s.back() == ' ' || s.back() == '\t')) s.pop_back();
        return s;
    }

    void skip_spaces() {
        while (!at_end() && (peek() == ' ' || peek() == '\t')) ++pos_;
    }
    void skip_comment() {
        if (peek() == '#')
            while (!at_end() && peek() != '\n') ++pos_;
    }
    void newline() {
        if (peek() == '\r' && pos_ + 1 < text_.size() && text_[pos_ + 1] == '\n') ++pos_;
        if (peek() == '\n') {
            ++pos_;
            ++line_;
        } else {
            fail("expected the end of the line, got '" + rest_of_line() + "'");
        }
    }
    void skip_blank_lines() {
        while (true) {
            skip_spaces();
            skip_comment();
            if (at_end() || (peek() != '\n' && peek() != '\r')) return;
            newline();
        }
    }
    // Spaces, newlines and comments (inside arrays).
    void skip_layout() {
        while (true) {
            skip_spaces();
            skip_comment();
            if (peek() != '\n' && peek() != '\r') return;
            newline();
        }
    }
    void end_of_line() {
        skip_spaces();
        skip_comment();
        if (!at_end()) newline();
    }
    void expect(char c, const char* what) {
        if (peek() != c) fail(std::string("expected ") + what + ", got '" + rest_of_line() + "'");
        ++pos_;
    }

    std::string bare_key() {
        if (peek() == '"' || peek() == '\'')
            fail("quoted keys are not in the supported TOML subset; use a bare key (letters, digits, _ and -)");
        const std::size_t start = pos_;
        while (!at_end() && is_bare_char(peek())) ++pos_;
        if (pos_ == start) fail("expected a key (letters, digits, _ and -), got '" + rest_of_line() + "'");
        return text_.substr(start, pos_ - start);
    }
    std::string key_path() {
        std::string key = bare_key();
        while (true) {
            skip_spaces();
            if (peek() != '.') return key;
            ++pos_;
            skip_spaces();
            key += "." + bare_key();
        }
    }

    Value value() {
        const std::size_t start = pos_;
        Value v;
        const char c = peek();
        if (c == '"') {
            if (text_.compare(pos_, 3, "\"\"\"") == 0) fail("multi-line strings are not in the supported TOML subset");
            v.type = Value::Type::string;
            v.string = basic_string();
        } else if (c == '\'') {
            if (text_.compare(pos_, 3, "'''") == 0) fail("multi-line strings are not in the supported TOML subset");
            v.type = Value::Type::string;
            v.string = literal_string();
        } else if (c == '[') {
            v.type = Value::Type::array;
            // NOTE: arrays nest by recursion: a line of 100 000 '[' would overflow the stack (found by fuzzing).
            if (++depth_ > kMaxArrayDepth)
                fail("arrays nested more than " + std::to_string(kMaxArrayDepth) + " deep");
            ++pos_;
            while (true) {
                skip_layout();
                if (peek() == ']') break;
                v.array.push_back(value());
                skip_layout();
                if (peek() == ',') {
                    ++pos_;
                    continue;
                }
                if (peek() != ']') fail("expected ',' or ']' in the array, got '" + rest_of_line() + "'");
            }
            ++pos_;
            --depth_;
        } else if (c == '{') {
            fail("inline tables are not in the supported TOML subset; use a [table] header");
        } else {
            scalar(v);
        }
        v.text = text_.substr(start, pos_ - start);
        return v;
    }

    std::string basic_string() {
        ++pos_;
        std::string out;
        while (true) {
            if (at_end() || peek() == '\n') fail("unterminated string");
            const char c = text_[pos_++];
            if (c == '"') return out;
            if (c != '\\') {
                if (static_cast<unsigned char>(c) < 0x20 && c != '\t') fail("control character in a string; escape it");
                out += c;
                continue;
            }
            const char e = peek();
            ++pos_;
            switch (e) {
                case 'b': out += '\b'; break;
                case 't': out += '\t'; break;
                case 'n': out += '\n'; break;
                case 'f': out += '\f'; break;
                case 'r': out += '\r'; break;
                case '"': out += '"'; break;
                case '\\': out += '\\'; break;
                case 'u':
                case 'U': {
                    const std::size_t digits = e == 'u' ? 4 : 8;
                    std::uint32_t cp = 0;
                    for (std::size_t i = 0; i < digits; ++i) {
                        const char h = peek();
                        int d = -1;
                        if (h >= '0' && h <= '9')
                            d = h - '0';
                        else if (h >= 'a' && h <= 'f')
                            d = h - 'a' + 10;
                        else if (h >= 'A' && h <= 'F')
                            d = h - 'A' + 10;
                        if (d < 0) fail(std::string("\\") + e + " needs " + std::to_string(digits) + " hex digits");
                        cp = cp * 16 + static_cast<std::uint32_t>(d);
                        ++pos_;
                    }
                    if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
                        fail("\\" + std::string(1, e) + " escape is not a Unicode scalar value");
                    append_utf8(out, cp);
                    break;
                }
                default: fail(std::string("unknown escape '\\") + e + "' in a string");
            }
        }
    }

    std::string literal_string() {
        ++pos_;
        const std::size_t start = pos_;
        while (!at_end() && peek() != '\'' && peek() != '\n') ++pos_;
        if (peek() != '\'') fail("unterminated string");
        return text_.substr(start, pos_++ - start);
    }

    // Integer, float or boolean: read the token, then classify it.
    void scalar(Value& v) {
        const std::size_t start = pos_;
        while (!at_end() && (is_bare_char(peek()) || peek() == '+' || peek() == '.')) ++pos_;
        const std::string token = text_.substr(start, pos_ - start);
        if (token.empty()) fail("expected a value, got '" + rest_of_line() + "'");
        if (token == "true" || token == "false") {
            v.type = Value::Type::boolean;
            v.boolean = token == "true";
            return;
        }
        std::string body = token;
        const bool negative = !body.empty() && body[0] == '-';
        if (!body.empty() && (body[0] == '+' || body[0] == '-')) body.erase(0, 1);
        if (body == "inf" || body == "nan") {
            v.type = Value::Type::real;
            v.real = body == "inf" ? std::numeric_limits<double>::infinity() : std::numeric_limits<double>::quiet_NaN();
            if (negative) v.real = -v.real;
            return;
        }
        // Digits with single underscores between digits; no leading zero (TOML), `.`/e/E make it a float.
        std::string plain;
        bool is_float = false;
        for (std::size_t i = 0; i < body.size(); ++i) {
            const char c = body[i];
            if (c == '_') {
                if (i == 0 || i + 1 == body.size() || !is_digit(body[i - 1]) || !is_digit(body[i + 1]))
                    fail("'" + token + "': '_' must sit between two digits");
                continue;
            }
            if (c == '.' || c == 'e' || c == 'E') is_float = true;
            plain += c;
        }
        const auto bad = [&](const std::string& why) {
            fail("'" + token + "' is not a value of the supported TOML subset (" + why + ")");
        };
        if (plain.empty() || !is_digit(plain[0])) bad("a string needs quotes; numbers start with a digit");
        if (plain.size() > 1 && plain[0] == '0' && is_digit(plain[1])) bad("no leading zeros");
        if (plain.size() > 1 && plain[0] == '0' && (plain[1] == 'x' || plain[1] == 'o' || plain[1] == 'b'))
            bad("hex, octal and binary integers are not supported");
        if (!is_float) {
            for (char c : plain)
                if (!is_digit(c)) bad("not a decimal integer");
            errno = 0;
            const std::string signed_text = (negative ? "-" : "") + plain;
            char* end = nullptr;
            const long long n = std::strtoll(signed_text.c_str(), &end, 10);
            if (errno == ERANGE || *end != '\0') bad("outside the 64-bit integer range");
            v.type = Value::Type::integer;
            v.integer = n;
            return;
        }
        // A float: int part, then '.' digits and/or [eE][+-]digits (the sign was eaten by the token loop only as '+';
        // a '-' in the exponent is a bare char, so it is in the token too).
        std::size_t i = 0;
        while (i < plain.size() && is_digit(plain[i])) ++i;
        if (i < plain.size() && plain[i] == '.') {
            const std::size_t frac = ++i;
            while (i < plain.size() && is_digit(plain[i])) ++i;
            if (i == frac) bad("a '.' needs digits on both sides");
        }
        if (i < plain.size() && (plain[i] == 'e' || plain[i] == 'E')) {
            ++i;
            if (i < plain.size() && (plain[i] == '+' || plain[i] == '-')) ++i;
            const std::size_t exp = i;
            while (i < plain.size() && is_digit(plain[i])) ++i;
            if (i == exp) bad("the exponent needs digits");
        }
        if (i != plain.size()) bad("not a number");
        errno = 0;
        const std::string signed_text = (negative ? "-" : "") + plain;
        char* end = nullptr;
        const double x = std::strtod(signed_text.c_str(), &end);
        if (errno == ERANGE && std::isinf(x)) bad("outside the float64 range");
        v.type = Value::Type::real;
        v.real = x;
    }

    const std::string& text_;
    std::string source_;
    std::size_t pos_ = 0;
    std::size_t depth_ = 0;                           // arrays open around the current value
    static constexpr std::size_t kMaxArrayDepth = 64;  // config values nest 2 deep at most
    std::size_t line_ = 1;
};

}  // namespace

const char* type_name(Value::Type type) {
    switch (type) {
        case Value::Type::string: return "string";
        case Value::Type::integer: return "integer";
        case Value::Type::real: return "float";
        case Value::Type::boolean: return "boolean";
        case Value::Type::array: return "array";
    }
    return "value";
}

Document parse(const std::string& text, const std::string& source) { return Parser(text, source).document(); }

Document parse_file(const std::string& path) {
    std::error_code ec;
    DYDIFF_USER_CHECK(std::filesystem::exists(path, ec), path << ": no such config file");
    DYDIFF_USER_CHECK(!std::filesystem::is_directory(path, ec),
                      path << ": is a directory; give a config file (a run's config is RUN/config.toml)");
    std::ifstream in(path, std::ios::binary);
    DYDIFF_USER_CHECK(in, path << ": cannot open the config file");
    std::ostringstream text;
    text << in.rdbuf();
    DYDIFF_USER_CHECK(!in.bad(), path << ": cannot read the config file");
    return parse(text.str(), path);
}

Value parse_value(const std::string& text, const std::string& where) {
    DYDIFF_USER_CHECK(text.find('\n') == std::string::npos, where << ": a value must fit on one line");
    // The parser names the place "where:1"; drop the line number for a one-line value.
    try {
        return Parser(text, where).single_value();
    } catch (const UserError& e) {
        std::string what = e.what();
        const std::string prefix = where + ":1: ";
        if (what.rfind(prefix, 0) == 0) what = where + ": " + what.substr(prefix.size());
        throw UserError(what);
    }
}

std::string quote(const std::string& s) {
    std::string out = "\"";
    for (const char c : s) {
        switch (c) {
            case '"': out += "\\\""; break;
            case '\\': out += "\\\\"; break;
            case '\b': out += "\\b"; break;
            case '\t': out += "\\t"; break;
            case '\n': out += "\\n"; break;
            case '\f': out += "\\f"; break;
            case '\r': out += "\\r"; break;
            default:
                if (static_cast<unsigned char>(c) < 0x20 || c == 0x7F) {
                    char buf[8];
                    std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
                    out += buf;
                } else {
                    out += c;
                }
        }
    }
    return out + "\"";
}

std::string format_real(double v, bool single) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    const auto same = [&](const char* text) {
        return single ? std::strtof(text, nullptr) == static_cast<float>(v) : std::strtod(text, nullptr) == v;
    };
    char buf[64];
    const double a = std::fabs(v);
    if (a == 0.0 || (a >= 1e-4 && a < 1e15)) {
        // Plain decimals where they stay short ("10.0", "0.0003"): the fewest that read back.
        for (int decimals = 1; decimals <= 24; ++decimals) {
            std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
            if (same(buf)) {
                std::string s = buf;
                while (s.size() > 2 && s.back() == '0' && s[s.size() - 2] != '.') s.pop_back();
                return s;
            }
        }
    }
    for (int digits = 1; digits <= 17; ++digits) {
        std::snprintf(buf, sizeof buf, "%.*g", digits, v);
        if (same(buf)) break;
    }
    std::string s = buf;
    if (s.find_first_of(".eE") == std::string::npos) s += ".0";  // "2" would read back as an integer
    return s;
}

bool is_bare_key(const std::string& key) {
    if (key.empty()) return false;
    for (char c : key)
        if (!is_bare_char(c)) return false;
    return true;
}

}  // namespace dydiff::toml
