// run_dydiff: runs the built `dydiff` executable (its path in DYDIFF_EXE, set by test/meson.build) with some
// arguments and captures its exit code and output, for the end-to-end tests of test/cli/.
#pragma once

#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace dydiff::test {

struct Result {
    int exit_code = -1;
    std::string output;  // stdout and stderr together
};

inline std::string shell_quote(const std::string& s) {
    std::string out = "'";
    for (const char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

/// Runs the dydiff executable with `args`, output captured in `dir` (the child inherits this process's environment).
inline Result run_dydiff(const std::vector<std::string>& args, const TempDir& dir) {
    const char* exe = std::getenv("DYDIFF_EXE");
    BOOST_TEST_REQUIRE(exe != nullptr, "DYDIFF_EXE is not set (test/meson.build sets it to the built binary)");
    std::string command = shell_quote(exe);
    for (const auto& a : args) command += " " + shell_quote(a);
    const std::string log = dir / "last_command.log";
    const int status = std::system((command + " >" + shell_quote(log) + " 2>&1").c_str());
    Result r;
    r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    std::ifstream in(log);
    std::stringstream text;
    text << in.rdbuf();
    r.output = text.str();
    return r;
}

}  // namespace dydiff::test
