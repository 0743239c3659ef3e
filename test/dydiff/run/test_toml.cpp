// The TOML subset of dydiff/run/toml.hpp: every construct it accepts (tables, dotted keys, both string kinds with
// escapes, integers with underscores, floats with exponents, inf and nan, booleans, multi-line arrays, comments),
// the constructs it refuses by name, the errors that name file:line (duplicate keys and tables, bad values, a
// directory), and the writers (quote, format_real) reading back exactly.
#include "autograd/error.hpp"
#include "dydiff/run/toml.hpp"
#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <fstream>
#include <functional>
#include <limits>
#include <random>

using namespace dydiff;
using dydiff::test::TempDir;

namespace {

std::string error_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const UserError& e) {
        return e.what();
    }
    return "";
}

const toml::Value& value_of(const toml::Document& doc, const std::string& key) {
    for (const auto& e : doc.entries)
        if (e.key == key) return e.value;
    BOOST_FAIL("no key " << key);
    throw 0;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(toml_subset)

BOOST_AUTO_TEST_CASE(parses_every_supported_construct) {
    const std::string text =
        "# a comment line\n"
        "title = \"tab\\there \\\"q\\\" \\\\ \\u00e9\\U0001F600\"  # trailing comment\n"
        "path = 'C:\\raw\\no escapes'\n"
        "big = 1_000_000\n"
        "neg = -42\n"
        "plus = +7\n"
        "\n"
        "[train]\n"
        "lr = 1e-3\n"
        "exp = 6.25E+2\n"
        "frac = -0.5\n"
        "pinf = inf\n"
        "ninf = -inf\n"
        "nan = nan\n"
        "flag = true\n"
        "off = false\n"
        "dotted.inner = 3\n"
        "[train.unet]\n"
        "mults = [1, 2,\n"
        "   4,  # comment inside an array\n"
        "]\n"
        "empty = []\n"
        "mixed = [[1, 2], [\"a\"]]\n";
    const toml::Document doc = toml::parse(text, "t.toml");
    BOOST_TEST(value_of(doc, "title").string == "tab\there \"q\" \\ \xc3\xa9\xf0\x9f\x98\x80");
    BOOST_TEST(value_of(doc, "path").string == "C:\\raw\\no escapes");
    BOOST_TEST(value_of(doc, "big").integer == 1000000);
    BOOST_TEST(value_of(doc, "neg").integer == -42);
    BOOST_TEST(value_of(doc, "plus").integer == 7);
    BOOST_TEST(value_of(doc, "train.lr").real == 1e-3);
    BOOST_TEST(value_of(doc, "train.exp").real == 625.0);
    BOOST_TEST(value_of(doc, "train.frac").real == -0.5);
    BOOST_TEST(std::isinf(value_of(doc, "train.pinf").real));
    BOOST_TEST(value_of(doc, "train.ninf").real < 0);
    BOOST_TEST(std::isnan(value_of(doc, "train.nan").real));
    BOOST_TEST(value_of(doc, "train.flag").boolean);
    BOOST_TEST(!value_of(doc, "train.off").boolean);
    BOOST_TEST(value_of(doc, "train.dotted.inner").integer == 3);
    const toml::Value& mults = value_of(doc, "train.unet.mults");
    BOOST_TEST_REQUIRE(mults.array.size() == 3u);
    BOOST_TEST(mults.array[2].integer == 4);
    BOOST_TEST(value_of(doc, "train.unet.empty").array.empty());
    BOOST_TEST(value_of(doc, "train.unet.mixed").array[1].array[0].string == "a");
    BOOST_TEST(doc.tables.size() == 2u);
    BOOST_TEST(doc.tables[1].name == "train.unet");
    BOOST_TEST(doc.tables[1].line == 18u);
    for (const auto& e : doc.entries)
        if (e.key == "train.lr") BOOST_TEST(e.line == 9u);
}

BOOST_AUTO_TEST_CASE(errors_name_the_file_and_line) {
    const auto parse = [](const std::string& text) { return error_of([&] { toml::parse(text, "c.toml"); }); };
    BOOST_TEST(parse("a = 1\nb = 2\na = 3\n") == "c.toml:3: duplicate key 'a' (first set on line 1)");
    BOOST_TEST(parse("[t]\nx = 1\n[t]\n") == "c.toml:3: table [t] declared twice (first on line 1)");
    BOOST_TEST(parse("t = 1\n[t]\n").find("c.toml:2: table [t] names a value") == 0);
    BOOST_TEST(parse("x = 1\ny = fast\n").find("c.toml:2: 'fast' is not a value") == 0);
    BOOST_TEST(parse("x = \"open\n").find("c.toml:1: unterminated string") == 0);
    BOOST_TEST(parse("x 1\n").find("c.toml:1: expected '=' after the key") == 0);
    BOOST_TEST(parse("x = 1 2\n").find("c.toml:1: expected the end of the line") == 0);
    BOOST_TEST(parse("x = 012\n").find("no leading zeros") != std::string::npos);
    BOOST_TEST(parse("x = 1__0\n").find("'_' must sit between two digits") != std::string::npos);
    BOOST_TEST(parse("x = 1.\n").find("a '.' needs digits on both sides") != std::string::npos);
    BOOST_TEST(parse("x = 1e\n").find("the exponent needs digits") != std::string::npos);
    BOOST_TEST(parse("x = 99999999999999999999\n").find("64-bit integer range") != std::string::npos);
    BOOST_TEST(parse("x = [1, 2\n").find("c.toml:2:") == 0);
    BOOST_TEST(parse("x = \"\\q\"\n").find("unknown escape") != std::string::npos);
    // The constructs outside the subset are named.
    BOOST_TEST(parse("[[t]]\n").find("arrays of tables") != std::string::npos);
    BOOST_TEST(parse("x = {a = 1}\n").find("inline tables") != std::string::npos);
    BOOST_TEST(parse("\"k\" = 1\n").find("quoted keys") != std::string::npos);
    BOOST_TEST(parse("x = \"\"\"a\"\"\"\n").find("multi-line strings") != std::string::npos);
    BOOST_TEST(parse("x = 0x1F\n").find("hex, octal and binary") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(deep_array_nesting_is_an_error_not_a_stack_overflow) {
    // Found by fuzzing (test/fuzz/corpus/config/): one '[' per recursion level of the value parser.
    const std::string e = error_of([] { toml::parse("x = " + std::string(1000000, '['), "deep.toml"); });
    BOOST_TEST(e.find("deep.toml:1: arrays nested more than 64 deep") != std::string::npos, e);
    BOOST_TEST(toml::parse("x = [[[1], [2]], [[3]]]", "ok.toml").entries.size() == 1u);
}

BOOST_AUTO_TEST_CASE(parse_file_refuses_a_directory_and_a_missing_file) {
    TempDir dir;
    BOOST_TEST(error_of([&] { toml::parse_file(dir.path().string()); }).find("is a directory") != std::string::npos);
    BOOST_TEST(error_of([&] { toml::parse_file(dir / "absent.toml"); }).find("no such config file") !=
               std::string::npos);
    std::ofstream(dir / "ok.toml") << "x = 1\n";
    BOOST_TEST(toml::parse_file(dir / "ok.toml").entries.size() == 1u);
}

BOOST_AUTO_TEST_CASE(single_values_for_set) {
    BOOST_TEST(toml::parse_value("[1e-5, 2e-5]", "--set").array.size() == 2u);
    BOOST_TEST(toml::parse_value(" -1 ", "--set").integer == -1);
    BOOST_TEST(error_of([] { toml::parse_value("1 2", "--set lr"); }).find("--set lr: unexpected") == 0);
}

BOOST_AUTO_TEST_CASE(writers_read_back_exactly) {
    std::mt19937_64 gen(7);
    std::uniform_real_distribution<double> mantissa(-1.0, 1.0);
    std::uniform_int_distribution<int> exponent(-40, 40);
    for (int i = 0; i < 2000; ++i) {
        const double x = std::ldexp(mantissa(gen), exponent(gen));
        const double back = toml::parse_value(toml::format_real(x, false), "w").real;
        BOOST_TEST(back == x);
        const float f = static_cast<float>(x);
        BOOST_TEST(static_cast<float>(toml::parse_value(toml::format_real(f, true), "w").real) == f);
    }
    BOOST_TEST(toml::format_real(1e-3f, true) == "0.001");
    BOOST_TEST(toml::format_real(2.0, false) == "2.0");
    BOOST_TEST(toml::format_real(-std::numeric_limits<double>::infinity(), false) == "-inf");
    BOOST_TEST((toml::parse_value(toml::format_real(2.0, false), "w").type == toml::Value::Type::real));
    const std::string nasty = "a\"b\\c\nd\te\x01 é";
    BOOST_TEST(toml::parse_value(toml::quote(nasty), "w").string == nasty);
}

BOOST_AUTO_TEST_SUITE_END()
