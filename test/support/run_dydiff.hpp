// Running the built `dydiff` executable from a test: its path comes from the environment variable DYDIFF_EXE (set by
// test/meson.build); the command runs in a temporary directory with both output streams captured.
#pragma once

#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace dydiff::test {

struct CliResult {
    int code = -1;    // exit code, or 128 + signal
    std::string out;  // stdout
    std::string err;  // stderr
    std::string all() const { return out + err; }  // both, for messages and substring checks
};

inline std::string read_text(const std::filesystem::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::ostringstream s;
    s << in.rdbuf();
    return s.str();
}

inline std::string shell_quoted(const std::string& word) {
    std::string out = "'";
    for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

inline const std::string& dydiff_exe() {
    static const std::string path = [] {
        const char* p = std::getenv("DYDIFF_EXE");
        BOOST_TEST_REQUIRE(p != nullptr, "set DYDIFF_EXE to the dydiff executable (meson test does)");
        return std::string(p);
    }();
    return path;
}

/// Runs `dydiff words...` in `dir` with the extra environment `env` ("NAME=value ..."), capturing both streams.
inline CliResult run_dydiff(const TempDir& dir, const std::vector<std::string>& words, const std::string& env = "") {
    std::string command = "cd " + shell_quoted(dir.path().string()) + " && " + env + " " + shell_quoted(dydiff_exe());
    for (const auto& w : words) command += " " + shell_quoted(w);
    command += " > .stdout 2> .stderr";
    const int status = std::system(command.c_str());
    CliResult r;
    r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    r.out = read_text(dir.path() / ".stdout");
    r.err = read_text(dir.path() / ".stderr");
    std::filesystem::remove(dir.path() / ".stdout");
    std::filesystem::remove(dir.path() / ".stderr");
    return r;
}

}  // namespace dydiff::test
