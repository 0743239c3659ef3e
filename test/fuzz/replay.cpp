// Replays every committed input of test/fuzz/corpus/<target>/ (seeds and every crash found, docs/reliability.md)
// through its target's entry point, so that a fixed crash stays fixed: no fuzzing time, only these files. An input
// passes when the target returns (a refusal is a dydiff::Error caught inside the target); an escaping exception or a
// crash fails. Tests run in test/ (meson.build's workdir).
#define BOOST_TEST_MODULE fuzz_replay
#include "fuzz/targets.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <exception>
#include <filesystem>
#include <fstream>
#include <iterator>

namespace fs = std::filesystem;

BOOST_AUTO_TEST_CASE(every_committed_input_is_refused_or_read_cleanly) {
    for (const auto& target : dydiff::fuzz::targets()) {
        const fs::path dir = fs::path("fuzz/corpus") / target.name;
        BOOST_TEST_REQUIRE(fs::is_directory(dir), dir.string() << " is missing");
        std::vector<fs::path> files;
        for (const auto& e : fs::directory_iterator(dir))
            if (e.is_regular_file()) files.push_back(e.path());
        std::sort(files.begin(), files.end());
        BOOST_TEST(files.size() >= 2u, target.name << ": no seeds");
        for (const fs::path& file : files) {
            std::ifstream in(file, std::ios::binary);
            const std::vector<std::uint8_t> bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
            try {
                BOOST_TEST(target.run(bytes.data(), bytes.size()) == 0, file.string());
            } catch (const std::exception& e) {
                BOOST_ERROR(file.string() << ": " << e.what());
            }
        }
        BOOST_TEST_MESSAGE(target.name << ": " << files.size() << " inputs");
    }
}
