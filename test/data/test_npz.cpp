// NPY/NPZ: byte layout against numpy's own output, round trips of every dtype, numpy-written fixtures
// (test/fixtures/README.md), ZIP64, atomic writes, and one test per error message.
#include "support/errors.hpp"
#include "support/temp_dir.hpp"
#include "data/atomic_file.hpp"
#include "data/npy.hpp"
#include "data/npz.hpp"

#include "autograd/error.hpp"
#include "autograd/xt.hpp"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <unistd.h>

using dydiff::test::error_of;
using dydiff::test::contains;
using dydiff::test::TempDir;

namespace fs = std::filesystem;
using namespace dydiff::data;

namespace {

// Tests run in test/ (meson.build's workdir).
const std::string kFixtures = "fixtures/";

NpyArray f32_2x3() {
    return NpyArray::from_vector<float>({2, 3}, {-1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 1.5f});
}

void check_same(const NpyArray& a, const NpyArray& b) {
    BOOST_TEST(dtype_name(a.dtype) == dtype_name(b.dtype));
    BOOST_TEST(dydiff::shape_str(a.shape) == dydiff::shape_str(b.shape));
    BOOST_TEST(a.bytes == b.bytes);
}

std::vector<NpzEntry> every_dtype() {
    xt::xarray<bool> flags = {true, false, true, true};
    xt::xarray<double> rank3 = xt::reshape_view(xt::arange<double>(24) * 0.25, {2, 3, 4});
    return {
        {"f32", f32_2x3()},
        {"f64", NpyArray::from_vector<double>({3}, {1.5, -2.25, 1e300})},
        {"i32", NpyArray::from_vector<std::int32_t>({2, 1}, {-7, 2147483647})},
        {"i64", NpyArray::from_vector<std::int64_t>({3}, {-3, 0, std::int64_t{1} << 40})},
        {"u8", NpyArray::from_vector<std::uint8_t>({3}, {0, 7, 255})},
        {"flags", NpyArray::from_xarray(flags)},
        {"scalar", NpyArray::from_vector<double>({}, {3.25})},
        {"empty", NpyArray::from_vector<float>({0, 3}, {})},
        {"rank3", NpyArray::from_xarray(rank3)},
        {"actor/fc0/weight", NpyArray::from_vector<float>({1, 2}, {0.25f, -0.5f})},
    };
}

}  // namespace

BOOST_AUTO_TEST_SUITE(npy)

BOOST_AUTO_TEST_CASE(crc32_known_answer_and_chaining) {
    const std::string s = "123456789";
    BOOST_TEST(crc32(s.data(), s.size()) == 0xCBF43926u);
    BOOST_TEST(crc32(s.data() + 4, 5, crc32(s.data(), 4)) == 0xCBF43926u);
    BOOST_TEST(crc32(nullptr, 0) == 0u);
}

BOOST_AUTO_TEST_CASE(header_layout_matches_numpy) {
    const std::vector<std::uint8_t> bytes = encode_npy(f32_2x3());
    BOOST_TEST(bytes.size() == 152u);  // 128-byte header + 6 floats
    BOOST_TEST(bytes[6] == 1);         // version 1.0
    BOOST_TEST(bytes[7] == 0);
    BOOST_TEST((bytes[8] | (bytes[9] << 8)) == 118);
    BOOST_TEST(bytes[127] == '\n');
    const std::string dict = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }";
    const std::string text(bytes.begin() + 10, bytes.begin() + 10 + static_cast<std::ptrdiff_t>(dict.size()));
    BOOST_TEST(text == dict);
    // np.save of the same array (test/fixtures/numpy_save_f32.npy) is byte-for-byte the same file.
    BOOST_TEST(bytes == read_file_bytes(kFixtures + "numpy_save_f32.npy"));

    // Every header ends on a 64-byte boundary, whatever the shape spelling.
    for (const auto& [key, a] : every_dtype()) {
        const std::vector<std::uint8_t> h = npy_header(a);
        BOOST_TEST(h.size() % 64 == 0u, key);
        BOOST_TEST(h.back() == '\n', key);
    }
    const std::vector<std::uint8_t> scalar = npy_header(NpyArray::from_vector<double>({}, {1.0}));
    BOOST_TEST(contains(std::string(scalar.begin(), scalar.end()), "'shape': (), }"));
    const std::vector<std::uint8_t> vec = npy_header(NpyArray::from_vector<std::uint8_t>({3}, {1, 2, 3}));
    BOOST_TEST(contains(std::string(vec.begin(), vec.end()), "{'descr': '|u1', 'fortran_order': False, 'shape': (3,), }"));
}

BOOST_AUTO_TEST_CASE(version_2_header_beyond_65535_bytes) {
    NpyArray a;
    a.dtype = DType::f32;
    a.shape.assign(30000, 1);  // "1, " x 30000: a 90 kB header
    a.bytes.assign(4, 0);
    const std::vector<std::uint8_t> bytes = encode_npy(a);
    BOOST_TEST(bytes[6] == 2);
    const std::size_t header_len = bytes[8] | (bytes[9] << 8) | (bytes[10] << 16) | (std::size_t{bytes[11]} << 24);
    BOOST_TEST((12 + header_len) % 64 == 0u);
    BOOST_TEST(header_len > 65535u);
    check_same(decode_npy(bytes.data(), bytes.size(), "v2"), a);
}

BOOST_AUTO_TEST_CASE(npy_file_round_trip_every_dtype) {
    TempDir tmp;
    for (const auto& [key, a] : every_dtype()) {
        const std::string path = tmp / "a.npy";
        write_npy(path, a);
        BOOST_TEST_CONTEXT(key) { check_same(read_npy(path), a); }
    }
    BOOST_TEST(tmp.file_count() == 1u);  // no temp files left behind
}

BOOST_AUTO_TEST_CASE(typed_accessors_and_float_conversion) {
    const std::vector<NpzEntry> all = every_dtype();
    BOOST_TEST(all[0].second.to_vector<float>() == (std::vector<float>{-1.0f, -0.5f, 0.0f, 0.5f, 1.0f, 1.5f}));
    const xt::xarray<float> f64 = all[1].second.to_float();
    BOOST_TEST(f64(0) == 1.5f);
    BOOST_TEST(std::isinf(f64(2)));  // 1e300 overflows float32
    BOOST_TEST(all[3].second.to_float()(2) == 1099511627776.0f);
    BOOST_TEST(all[4].second.to_float()(2) == 255.0f);
    const xt::xarray<float> flags = all[5].second.to_float();
    BOOST_TEST((flags == xt::xarray<float>{1.0f, 0.0f, 1.0f, 1.0f}));
    const xt::xarray<float> scalar = all[6].second.to_float();
    BOOST_TEST(scalar.dimension() == 0u);
    BOOST_TEST(scalar() == 3.25f);
    BOOST_TEST(all[7].second.to_float().shape(0) == 0u);
    const xt::xarray<double> rank3 = all[8].second.to_xarray<double>();
    BOOST_TEST(rank3(1, 2, 3) == 23 * 0.25);
    const xt::xarray<bool> b = all[5].second.to_xarray<bool>();
    BOOST_TEST(b(0));
    BOOST_TEST(!b(1));

    const std::string what = error_of([&] { all[0].second.to_vector<double>(); });
    BOOST_TEST(contains(what, "NpyArray::to_vector: expected dtype float64, found float32 with shape (2, 3)"), what);
    const std::string size = error_of([] { NpyArray::from_vector<float>({2, 2}, {1.0f}); });
    BOOST_TEST(contains(size, "shape (2, 2) holds 4 elements, got 1"), size);
}

BOOST_AUTO_TEST_CASE(reads_numpy_fortran_and_big_endian_files) {
    const NpyArray f = read_npy(kFixtures + "numpy_save_fortran_i32.npy");
    BOOST_TEST(dydiff::shape_str(f.shape) == "(2, 3, 4)");
    std::vector<std::int32_t> expected(24);
    for (int i = 0; i < 24; ++i) expected[i] = i;
    BOOST_TEST(f.to_vector<std::int32_t>() == expected);  // transposed to C order

    const NpyArray be = read_npy(kFixtures + "numpy_save_bigendian_f8.npy");
    BOOST_TEST(be.to_vector<double>() == (std::vector<double>{1.0, -2.5, 1e-300, 4.0}));
}

BOOST_AUTO_TEST_CASE(npy_errors_name_file_and_problem) {
    TempDir tmp;
    std::vector<std::uint8_t> good = encode_npy(f32_2x3());

    std::vector<std::uint8_t> magic = good;
    magic[1] = 'X';
    write_file_atomic(tmp / "magic.npy", magic);
    const std::string m = error_of([&] { read_npy(tmp / "magic.npy"); });
    BOOST_TEST(contains(m, "magic.npy: bad NPY magic"), m);

    write_file_atomic(tmp / "short.npy", std::vector<std::uint8_t>(good.begin(), good.end() - 4));
    const std::string t = error_of([&] { read_npy(tmp / "short.npy"); });
    BOOST_TEST(contains(t, "short.npy: header says shape (2, 3) of float32 = 24 bytes of data, found 20 (truncated)"),
               t);

    write_file_atomic(tmp / "cut.npy", std::vector<std::uint8_t>(good.begin(), good.begin() + 50));
    const std::string c = error_of([&] { read_npy(tmp / "cut.npy"); });
    BOOST_TEST(contains(c, "cut.npy: truncated NPY: header of 118 bytes"), c);

    std::vector<std::uint8_t> complex = good;
    complex[22] = 'c';  // '<f4' -> '<c4'
    write_file_atomic(tmp / "complex.npy", complex);
    const std::string d = error_of([&] { read_npy(tmp / "complex.npy"); });
    BOOST_TEST(contains(d, "complex.npy: unsupported dtype descr '<c4'; dydiff reads '<f4'"), d);

    std::vector<std::uint8_t> version = good;
    version[6] = 4;
    write_file_atomic(tmp / "v4.npy", version);
    const std::string v = error_of([&] { read_npy(tmp / "v4.npy"); });
    BOOST_TEST(contains(v, "unsupported NPY version 4.0"), v);

    const std::string missing = error_of([&] { read_npy(tmp / "nope.npy"); });
    BOOST_TEST(contains(missing, "cannot open '" + (tmp / "nope.npy") + "' for reading"), missing);
}

// A .npy image with this header dict (padded to 64 bytes, v1.0) followed by `data_bytes` zero bytes.
std::vector<std::uint8_t> npy_image(std::string dict, std::size_t data_bytes) {
    while ((10 + dict.size() + 1) % 64 != 0) dict += ' ';
    dict += '\n';
    std::vector<std::uint8_t> out = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<std::uint8_t>(dict.size() & 0xFF),
                                     static_cast<std::uint8_t>(dict.size() >> 8)};
    out.insert(out.end(), dict.begin(), dict.end());
    out.resize(out.size() + data_bytes, 0);
    return out;
}

BOOST_AUTO_TEST_CASE(hostile_shapes_are_refused_before_allocating) {
    const auto error = [](const std::string& shape, std::size_t data_bytes) {
        const std::vector<std::uint8_t> b =
            npy_image("{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }", data_bytes);
        return error_of([&] { decode_npy(b.data(), b.size(), "h.npy"); });
    };
    // A zero dimension makes 0 bytes, but xtensor's strides still multiply the others (signed): refused alike.
    const std::string zero = error("(0, 4294967296, 4294967296)", 0);
    BOOST_TEST(contains(zero, "h.npy: shape (0, 4294967296, 4294967296) of 4-byte elements overflows the address space"),
               zero);
    const std::string wrap = error("(4611686018427387904,)", 0);  // 2^62 * 4 bytes wraps to 0
    BOOST_TEST(contains(wrap, "h.npy: shape (4611686018427387904,) of 4-byte elements overflows"), wrap);
    const std::string big = error("(1099511627776,)", 64);  // 2^40 elements claimed, 64 bytes present
    BOOST_TEST(contains(big, "h.npy: header says shape (1099511627776,) of float32 = 4398046511104 bytes of data, "
                             "found 64 (truncated)"),
               big);
    // The largest legal empty shape still loads: 0 rows of 2^20 columns.
    const std::vector<std::uint8_t> ok =
        npy_image("{'descr': '<f4', 'fortran_order': True, 'shape': (0, 1048576), }", 0);
    BOOST_TEST(dydiff::shape_str(decode_npy(ok.data(), ok.size(), "ok.npy").shape) == "(0, 1048576)");
}

BOOST_AUTO_TEST_CASE(header_parser_accepts_numpy_variants) {
    // Key order, double quotes, extra whitespace, no trailing comma, Python 2 longs: all legal headers.
    const std::string dict = "{\"shape\" : ( 2 ,3L ),'fortran_order':False , 'descr':'<f4'}";
    std::string header = dict;
    while ((10 + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    std::vector<std::uint8_t> bytes = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<std::uint8_t>(header.size()), 0};
    bytes.insert(bytes.end(), header.begin(), header.end());
    const NpyArray ref = f32_2x3();
    bytes.insert(bytes.end(), ref.bytes.begin(), ref.bytes.end());
    check_same(decode_npy(bytes.data(), bytes.size(), "variant"), ref);

    const std::string extra = "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), 'x': 1}";
    std::vector<std::uint8_t> bad = {0x93, 'N', 'U', 'M', 'P', 'Y', 1, 0, static_cast<std::uint8_t>(extra.size()), 0};
    bad.insert(bad.end(), extra.begin(), extra.end());
    const std::string what = error_of([&] { decode_npy(bad.data(), bad.size(), "extra"); });
    BOOST_TEST(contains(what, "extra: bad NPY header: unknown key 'x'"), what);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(npz)

BOOST_AUTO_TEST_CASE(round_trip_every_dtype) {
    TempDir tmp;
    for (const bool zip64 : {false, true}) {
        BOOST_TEST_CONTEXT("force_zip64=" << zip64) {
            const std::vector<NpzEntry> arrays = every_dtype();
            NpzWriteOptions options;
            options.force_zip64 = zip64;
            write_npz(tmp / "all.npz", arrays, options);
            const NpzFile z = read_npz(tmp / "all.npz");
            BOOST_TEST(z.size() == arrays.size());
            for (std::size_t i = 0; i < arrays.size(); ++i) {
                BOOST_TEST(z.entries()[i].first == arrays[i].first);  // file order is write order
                check_same(z.require(arrays[i].first), arrays[i].second);
            }
        }
    }
    write_npz(tmp / "none.npz", {});
    BOOST_TEST(read_npz(tmp / "none.npz").empty());
    BOOST_TEST(read_file_bytes(tmp / "none.npz").size() == 22u);  // just the end record
    BOOST_TEST(tmp.file_count() == 2u);
}

BOOST_AUTO_TEST_CASE(byte_layout_of_a_one_member_archive) {
    TempDir tmp;
    write_npz(tmp / "one.npz", {{"a", f32_2x3()}});
    const std::vector<std::uint8_t> b = read_file_bytes(tmp / "one.npz");
    const std::vector<std::uint8_t> npy = encode_npy(f32_2x3());
    // local header (30 + "a.npy") + 152-byte member + central entry (46 + 5) + end record (22).
    BOOST_TEST(b.size() == 30u + 5 + 152 + 46 + 5 + 22);
    BOOST_TEST((b[0] == 'P' && b[1] == 'K' && b[2] == 3 && b[3] == 4));
    BOOST_TEST((b[8] | (b[9] << 8)) == 0);  // STORED
    const std::uint32_t crc = b[14] | (b[15] << 8) | (b[16] << 16) | (std::uint32_t{b[17]} << 24);
    BOOST_TEST(crc == crc32(npy.data(), npy.size()));
    BOOST_TEST(std::equal(npy.begin(), npy.end(), b.begin() + 35));
    // Deterministic: the same arrays give the same bytes.
    write_npz(tmp / "two.npz", {{"a", f32_2x3()}});
    BOOST_TEST(read_file_bytes(tmp / "two.npz") == b);
}

BOOST_AUTO_TEST_CASE(reads_numpy_savez_fixture_exactly) {
    // test/fixtures/numpy_savez_small.npz: np.savez output, local headers carry numpy's 20-byte ZIP64 extra.
    const NpzFile z = read_npz(kFixtures + "numpy_savez_small.npz");
    const std::vector<NpzEntry> ours = every_dtype();
    BOOST_TEST(z.size() == 9u);
    for (const auto& [key, a] : ours) {
        if (key == "rank3") continue;  // not in the fixture
        BOOST_TEST_CONTEXT(key) { check_same(z.require(key), a); }
    }
    BOOST_TEST(z.require("f32", DType::f32, {2, 3}).to_vector<float>()[5] == 1.5f);
    BOOST_TEST(z.require("scalar", DType::f64, {}).to_vector<double>() == std::vector<double>{3.25});
}

BOOST_AUTO_TEST_CASE(zip64_end_record_beyond_65535_members) {
    TempDir tmp;
    std::vector<NpzEntry> many;
    constexpr std::size_t n = 65536 + 3;
    many.reserve(n);
    for (std::size_t i = 0; i < n; ++i)
        many.emplace_back("k" + std::to_string(i), NpyArray::from_vector<std::int32_t>({}, {static_cast<std::int32_t>(i)}));
    write_npz(tmp / "many.npz", many);
    const std::vector<std::uint8_t> b = read_file_bytes(tmp / "many.npz");
    const std::size_t end = b.size() - 22;
    BOOST_TEST((b[end + 10] == 0xFF && b[end + 11] == 0xFF));  // count deferred to the ZIP64 end record
    const NpzFile z = read_npz(tmp / "many.npz");
    BOOST_TEST(z.size() == n);
    BOOST_TEST(z.require("k65537", DType::i32, {}).to_vector<std::int32_t>()[0] == 65537);
}

BOOST_AUTO_TEST_CASE(archive_comment_is_skipped) {
    TempDir tmp;
    write_npz(tmp / "c.npz", {{"a", f32_2x3()}});
    std::vector<std::uint8_t> b = read_file_bytes(tmp / "c.npz");
    const std::string comment = "made by a test; contains PK\x05\x06 on purpose";
    b[b.size() - 2] = static_cast<std::uint8_t>(comment.size());
    b.insert(b.end(), comment.begin(), comment.end());
    write_file_atomic(tmp / "c.npz", b);
    check_same(read_npz(tmp / "c.npz").require("a"), f32_2x3());
}

BOOST_AUTO_TEST_CASE(compressed_member_is_refused_with_a_hint) {
    const std::string path = kFixtures + "numpy_savez_compressed.npz";
    const std::string what = error_of([&] { read_npz(path); });
    BOOST_TEST(contains(what, path + ": member 'f32.npy': compressed with DEFLATE"), what);
    BOOST_TEST(contains(what, "np.savez_compressed"), what);
    BOOST_TEST(contains(what, "np.savez('out.npz'"), what);
}

BOOST_AUTO_TEST_CASE(corruption_errors_name_file_and_member) {
    TempDir tmp;
    const std::string path = tmp / "x.npz";
    write_npz(path, {{"a", f32_2x3()}, {"b", NpyArray::from_vector<std::int64_t>({2}, {1, 2})}});
    const std::vector<std::uint8_t> good = read_file_bytes(path);

    // A flipped data byte of member a (local header 30 + "a.npy" 5 + npy header 128).
    std::vector<std::uint8_t> flipped = good;
    flipped[30 + 5 + 128] ^= 0x40;
    write_file_atomic(tmp / "flip.npz", flipped);
    const std::string crc = error_of([&] { read_npz(tmp / "flip.npz"); });
    BOOST_TEST(contains(crc, "flip.npz: member 'a.npy': CRC-32 mismatch: the central directory records 0x"), crc);

    write_file_atomic(tmp / "trunc.npz", std::vector<std::uint8_t>(good.begin(), good.begin() + good.size() / 2));
    const std::string t = error_of([&] { read_npz(tmp / "trunc.npz"); });
    BOOST_TEST(contains(t, "trunc.npz: ZIP end of central directory record not found"), t);
    BOOST_TEST(contains(t, "truncated"), t);

    // The end record intact but the members cut short: offsets point past the data.
    std::vector<std::uint8_t> hole(100 + 22);
    std::copy(good.begin(), good.begin() + 100, hole.begin());
    std::copy(good.end() - 22, good.end(), hole.begin() + 100);
    write_file_atomic(tmp / "hole.npz", hole);
    const std::string h = error_of([&] { read_npz(tmp / "hole.npz"); });
    BOOST_TEST(contains(h, "hole.npz: truncated or corrupt ZIP: the central directory"), h);

    write_file_atomic(tmp / "text.npz", std::string("hello, world; not an archive at all"));
    const std::string sig = error_of([&] { read_npz(tmp / "text.npz"); });
    BOOST_TEST(contains(sig, "text.npz: not a ZIP/NPZ file: expected signature 50 4b 03 04"), sig);
    BOOST_TEST(contains(sig, "found 68 65 6c 6c"), sig);

    write_npy(tmp / "lone.npy", f32_2x3());
    const std::string lone = error_of([&] { read_npz(tmp / "lone.npy"); });
    BOOST_TEST(contains(lone, "a single .npy array, not an .npz archive; read it with read_npy"), lone);

    // A member whose NPY magic is damaged: fix up the CRC so the NPY layer is the one that complains.
    std::vector<std::uint8_t> magic = good;
    magic[35] = 'X';
    const std::uint32_t new_crc = crc32(magic.data() + 35, 152);
    for (int i = 0; i < 4; ++i) magic[14 + i] = static_cast<std::uint8_t>(new_crc >> (8 * i));
    const std::size_t cd = good.size() - 22 - 2 * (46 + 5);
    for (int i = 0; i < 4; ++i) magic[cd + 16 + i] = static_cast<std::uint8_t>(new_crc >> (8 * i));
    write_file_atomic(tmp / "magic.npz", magic);
    const std::string m = error_of([&] { read_npz(tmp / "magic.npz"); });
    BOOST_TEST(contains(m, "magic.npz: member 'a.npy': bad NPY magic"), m);

    // Claimed sizes beyond the file: member a's sizes in the central directory, then the member count.
    std::vector<std::uint8_t> sizes = good;
    for (int i = 0; i < 4; ++i) sizes[cd + 20 + i] = sizes[cd + 24 + i] = 0xF0;
    write_file_atomic(tmp / "sizes.npz", sizes);
    const std::string z = error_of([&] { read_npz(tmp / "sizes.npz"); });
    BOOST_TEST(contains(z, "sizes.npz: member 'a.npy': truncated: 4042322160 bytes of data at byte 35 run past the end"),
               z);
    std::vector<std::uint8_t> count = good;
    count[good.size() - 22 + 10] = count[good.size() - 22 + 8] = 0xFE;
    write_file_atomic(tmp / "count.npz", count);
    const std::string n = error_of([&] { read_npz(tmp / "count.npz"); });
    BOOST_TEST(contains(n, "count.npz: central directory holds fewer entries than the 254 announced"), n);
}

BOOST_AUTO_TEST_CASE(require_checks_key_dtype_and_shape) {
    TempDir tmp;
    write_npz(tmp / "r.npz", {{"w", f32_2x3()}, {"step", NpyArray::from_vector<std::int64_t>({}, {7})}});
    const NpzFile z = read_npz(tmp / "r.npz");
    BOOST_TEST(z.contains("w"));
    BOOST_TEST(z.find("nope") == nullptr);
    BOOST_TEST((z.keys() == std::vector<std::string>{"w", "step"}));
    const std::string missing = error_of([&] { z.require("actor/w"); });
    BOOST_TEST(contains(missing, "r.npz: missing key 'actor/w' (keys: w, step)"), missing);
    const std::string dtype = error_of([&] { z.require("w", DType::f64); });
    BOOST_TEST(contains(dtype, "r.npz: key 'w': expected dtype float64, found float32 with shape (2, 3)"), dtype);
    const std::string shape = error_of([&] { z.require("w", DType::f32, {3, 2}); });
    BOOST_TEST(contains(shape, "r.npz: key 'w': expected shape (3, 2), found (2, 3)"), shape);
    BOOST_TEST(z.require("step", DType::i64, {}).to_vector<std::int64_t>()[0] == 7);
}

BOOST_AUTO_TEST_CASE(writes_are_atomic) {
    TempDir tmp;
    const std::string path = tmp / "ckpt.npz";
    write_npz(path, {{"a", f32_2x3()}});
    const std::vector<std::uint8_t> before = read_file_bytes(path);

    // Invalid input: the old file stays and no temp file is left.
    NpyArray broken = f32_2x3();
    broken.bytes.pop_back();
    const std::string bad = error_of([&] { write_npz(path, {{"a", f32_2x3()}, {"b", broken}}); });
    BOOST_TEST(contains(bad, "ckpt.npz: key 'b': shape (2, 3) of float32 needs 24 bytes, found 23"), bad);
    const std::string dup = error_of([&] { write_npz(path, {{"a", f32_2x3()}, {"a", f32_2x3()}}); });
    BOOST_TEST(contains(dup, "ckpt.npz: duplicate key 'a'"), dup);
    BOOST_TEST(read_file_bytes(path) == before);
    BOOST_TEST(tmp.file_count() == 1u);

    // An AtomicFile dropped before commit() (an exception on the way) leaves nothing.
    {
        AtomicFile f(path);
        f.write(std::string("partial"));
        BOOST_TEST(fs::exists(f.temp_path()));
        BOOST_TEST(fs::path(f.temp_path()).parent_path() == fs::path(path).parent_path());
    }
    BOOST_TEST(read_file_bytes(path) == before);
    BOOST_TEST(tmp.file_count() == 1u);

    const std::string nodir = error_of([&] { write_file_atomic(tmp / "no/such/dir/f.txt", std::string("x")); });
    BOOST_TEST(contains(nodir, "cannot create temp file"), nodir);
    BOOST_TEST(contains(nodir, "no/such/dir/f.txt"), nodir);

    write_file_atomic(tmp / "config.txt", std::string("seed = 1\n"));
    const std::vector<std::uint8_t> text = read_file_bytes(tmp / "config.txt");
    BOOST_TEST(std::string(text.begin(), text.end()) == "seed = 1\n");
    BOOST_TEST(tmp.file_count() == 2u);
}

BOOST_AUTO_TEST_SUITE_END()
