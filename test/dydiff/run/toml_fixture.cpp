// Writes DIR/config.toml through ConfigFields (every field type, awkward values: escapes, Unicode, control
// characters, inf, nan, extreme floats, empty lists, nested tables) and DIR/expected.txt, the same values spelled
// without TOML (hex floats, hex bytes), for check_tomllib.py: Python's tomllib must read the file to exactly these
// values. `toml_fixture --skip` exits 77 (meson: skipped), for builds configured without python3.
#include "dydiff/run/config.hpp"

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <limits>
#include <string>
#include <vector>

namespace {

enum class Kind { alpha, beta };

struct Inner {
    double deep = -2.5e-300;
    std::vector<std::string> names = {"", "a b", "quote \" back \\ slash"};
    void fields(dydiff::ConfigFields& f) {
        f.add("deep", &deep, "a tiny double");
        f.add("names", &names, "strings, one empty");
    }
};

struct Middle {
    std::size_t count = 7;
    Inner inner;
    void fields(dydiff::ConfigFields& f) {
        f.add("count", &count, "an unsigned integer");
        f.table("inner", "a table inside a table", inner);
    }
};

struct Sample {
    float lr = 3e-4f;
    float big = 3.4e38f;
    float small = 1.5e-38f;
    float neg_zero = -0.0f;
    double third = 1.0 / 3.0;
    double huge = 1e300;
    double pos_inf = std::numeric_limits<double>::infinity();
    double neg_inf = -std::numeric_limits<double>::infinity();
    double not_a_number = std::numeric_limits<double>::quiet_NaN();
    double whole = 2.0;
    std::int64_t most_negative = std::numeric_limits<std::int64_t>::min();
    std::int64_t most_positive = std::numeric_limits<std::int64_t>::max();
    std::size_t zero = 0;
    bool yes = true;
    bool no = false;
    std::string text = "tab\there, newline\nthere, bell\x07, DEL\x7f, e-acute \xc3\xa9, emoji \xf0\x9f\x98\x80, #hash";
    std::string empty;
    std::vector<float> floats = {2.5e-5f, 1e-4f, -7.0f};
    std::vector<float> no_floats;
    std::vector<std::size_t> ints = {1, 4, 8};
    Kind kind = Kind::beta;
    Middle middle;

    void fields(dydiff::ConfigFields& f) {
        f.add("lr", &lr, "float32");
        f.add("big", &big, "float32 near its max");
        f.add("small", &small, "float32 near its min normal");
        f.add("neg_zero", &neg_zero, "negative zero");
        f.add("third", &third, "float64 needing 17 digits");
        f.add("huge", &huge, "float64");
        f.add("pos_inf", &pos_inf, "inf");
        f.add("neg_inf", &neg_inf, "-inf");
        f.add("not_a_number", &not_a_number, "nan");
        f.add("whole", &whole, "a float with an integral value");
        f.add("most_negative", &most_negative, "int64 min");
        f.add("most_positive", &most_positive, "int64 max");
        f.add("zero", &zero, "an unsigned zero");
        f.add("yes", &yes, "true");
        f.add("no", &no, "false");
        f.add("text", &text, "escapes and Unicode");
        f.add("empty", &empty, "an empty string");
        f.add("floats", &floats, "a float list");
        f.add("no_floats", &no_floats, "an empty list");
        f.add("ints", &ints, "an integer list");
        f.add_choice("kind", &kind, {{"alpha", Kind::alpha}, {"beta", Kind::beta}}, "an enum by name");
        f.table("middle", "a table", middle);
    }
};

std::string hex_float(double x) {
    if (std::isnan(x)) return "nan";
    if (std::isinf(x)) return x > 0 ? "inf" : "-inf";
    char buf[64];
    std::snprintf(buf, sizeof buf, "%a", x);
    return buf;
}

std::string hex_bytes(const std::string& s) {
    std::string out = "x";  // a prefix, so that an empty string is one word
    char buf[4];
    for (unsigned char c : s) {
        std::snprintf(buf, sizeof buf, "%02x", c);
        out += buf;
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc == 2 && std::string(argv[1]) == "--skip") {
        std::cout << "python3 was not found when the build was configured: tomllib check skipped\n";
        return 77;
    }
    if (argc != 2) {
        std::cerr << "usage: toml_fixture DIR | --skip\n";
        return 2;
    }
    const std::string dir = argv[1];
    Sample s;
    dydiff::ConfigFields f;
    s.fields(f);
    std::ofstream(dir + "/config.toml") << "# written by test/dydiff/run/toml_fixture.cpp\n" << f.to_toml();
    std::ofstream e(dir + "/expected.txt");
    // key, kind, values (f32 and f64 as hex floats, strings as hex bytes).
    e << "lr f32 " << hex_float(s.lr) << "\nbig f32 " << hex_float(s.big) << "\nsmall f32 " << hex_float(s.small)
      << "\nneg_zero f32 " << hex_float(s.neg_zero) << "\nthird f64 " << hex_float(s.third) << "\nhuge f64 "
      << hex_float(s.huge) << "\npos_inf f64 inf\nneg_inf f64 -inf\nnot_a_number f64 nan\nwhole f64 "
      << hex_float(s.whole) << "\nmost_negative int " << s.most_negative << "\nmost_positive int " << s.most_positive
      << "\nzero int 0\nyes bool true\nno bool false\ntext str " << hex_bytes(s.text) << "\nempty str "
      << hex_bytes(s.empty) << "\nfloats f32_list";
    for (float x : s.floats) e << " " << hex_float(x);
    e << "\nno_floats f32_list\nints int_list 1 4 8\nkind str " << hex_bytes("beta") << "\nmiddle.count int 7"
      << "\nmiddle.inner.deep f64 " << hex_float(s.middle.inner.deep) << "\nmiddle.inner.names str_list";
    for (const auto& name : s.middle.inner.names) e << " " << hex_bytes(name);
    e << "\n";
    return 0;
}
