// data::Sha256: the FIPS 180-2 example vectors (one block, two blocks, a million 'a's fed in uneven pieces), and a
// file's digest equal to its bytes' digest.
#include "support/errors.hpp"
#include "support/temp_dir.hpp"
#include "data/sha256.hpp"

#include <boost/test/unit_test.hpp>

#include <fstream>
#include <string>

using dydiff::data::Sha256;
using dydiff::data::sha256_file;
using dydiff::data::sha256_hex;

BOOST_AUTO_TEST_SUITE(sha256)

BOOST_AUTO_TEST_CASE(published_vectors) {
    BOOST_TEST(sha256_hex("", 0) == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    BOOST_TEST(sha256_hex("abc", 3) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    const std::string two = "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";
    BOOST_TEST(sha256_hex(two.data(), two.size()) ==
               "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

BOOST_AUTO_TEST_CASE(million_a_in_uneven_pieces) {
    const std::string chunk(997, 'a');
    Sha256 h;
    std::size_t left = 1000000;
    for (std::size_t piece = 1; left > 0; piece = piece % 997 + 1) {
        const std::size_t n = std::min(piece, left);
        h.update(chunk.data(), n);
        left -= n;
    }
    BOOST_TEST(h.hex_digest() == "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
}

BOOST_AUTO_TEST_CASE(file_digest_and_missing_file) {
    dydiff::test::TempDir dir;
    const std::string path = dir / "x.bin";
    { std::ofstream(path, std::ios::binary) << "abc"; }
    BOOST_TEST(sha256_file(path) == sha256_hex("abc", 3));
    BOOST_TEST(dydiff::test::contains(dydiff::test::error_of([&] { sha256_file(path + ".missing"); }), "x.bin.missing"));
}

BOOST_AUTO_TEST_SUITE_END()
