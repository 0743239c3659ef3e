// `dydiff bench learner` end to end: every learner of the registry runs a few timed steps and reports one JSON line
// naming it, its batch pool and whether the CLI's malloc setting (nn::keep_freed_memory) is in force; the setting
// follows DYDIFF_KEEP_FREED_MEMORY; an unknown --algo is a usage error listing the learners. `dydiff bench generate`:
// one JSON line per (preset, env, M, N) case naming the SIMD set and the throughput fields; bad cases and presets are
// usage errors. The instruction sets: `bench peak` has one line per set of the build, DYDIFF_SIMD picks the set that
// --version and the bench lines name, and a set the build lacks is one error before any work. Nothing here checks a
// speed: the numbers belong to docs/performance.md.
#include "support/run_dydiff.hpp"
#include "dydiff/learners/registry.hpp"
#include "nn/simd/arch.hpp"
#include "support/errors.hpp"
#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

using dydiff::test::contains;
using dydiff::test::CliResult;
using dydiff::test::run_dydiff;

namespace {

// Sets an environment variable for the children of this process while alive.
class ScopedEnv {
public:
    ScopedEnv(const char* name, const char* value) : name_(name) { ::setenv(name, value, 1); }
    ~ScopedEnv() { ::unsetenv(name_); }
    ScopedEnv(const ScopedEnv&) = delete;
    ScopedEnv& operator=(const ScopedEnv&) = delete;

private:
    const char* name_;
};

// The JSON lines of an output, in order.
std::vector<std::string> json_lines(const std::string& output) {
    std::vector<std::string> lines;
    std::istringstream in(output);
    for (std::string line; std::getline(in, line);)
        if (!line.empty() && line.front() == '{') lines.push_back(line);
    return lines;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(bench_learner)

BOOST_AUTO_TEST_CASE(every_learner_reports_one_json_line, *boost::unit_test::label("slow")) {
    dydiff::test::TempDir dir;
    const CliResult r = run_dydiff(dir, {"bench", "learner", "--steps", "2", "--threads", "1", "--json"});
    BOOST_TEST_REQUIRE(r.code == 0, r.all());
    const std::vector<std::string> lines = json_lines(r.all());
    const std::vector<std::string> names = dydiff::learners::learner_names();
    BOOST_TEST_REQUIRE(lines.size() == names.size(), r.all());
    for (std::size_t i = 0; i < names.size(); ++i) {
        BOOST_TEST(contains(lines[i], "\"workload\":\"learner\",\"shape\":[11,3,256],\"algo\":\"" + names[i] + "\""),
                   lines[i]);
        BOOST_TEST(contains(lines[i], "\"steps_per_second\":"), lines[i]);
        BOOST_TEST(contains(lines[i], "\"pool\":\"fixed\",\"keep_freed_memory\":true"), lines[i]);
        BOOST_TEST(contains(lines[i], "\"threads\":1,"), lines[i]);
        BOOST_TEST(contains(lines[i], "\"iterations\":10,"), lines[i]);  // 2 steps round up to one block of 10
    }
}

BOOST_AUTO_TEST_CASE(the_malloc_setting_follows_the_environment) {
    dydiff::test::TempDir dir;
    const ScopedEnv off("DYDIFF_KEEP_FREED_MEMORY", "0");
    const CliResult r = run_dydiff(dir, {"bench", "learner", "--algo", "bc", "--steps", "1", "--threads", "1"});
    BOOST_TEST_REQUIRE(r.code == 0, r.all());
    BOOST_TEST(contains(r.all(), "malloc: glibc's defaults (DYDIFF_KEEP_FREED_MEMORY=0)"), r.all());
    BOOST_TEST(contains(r.all(), "\nbc "), r.all());
    const CliResult json = run_dydiff(dir, {"bench", "learner", "--algo", "bc", "--steps", "1", "--json"});
    BOOST_TEST_REQUIRE(json.code == 0, json.all());
    BOOST_TEST(contains(json.all(), "\"keep_freed_memory\":false"), json.all());
}

BOOST_AUTO_TEST_CASE(an_unknown_learner_is_a_usage_error) {
    dydiff::test::TempDir dir;
    const CliResult r = run_dydiff(dir, {"bench", "learner", "--algo", "bc,ppo"});
    BOOST_TEST(r.code == 2, r.all());
    BOOST_TEST(contains(r.all(), "unknown --algo 'ppo' (known: bc, td3bc, iql, cql, diffql, sac)"), r.all());
    BOOST_TEST(json_lines(r.all()).empty(), r.all());  // refused before any learner ran
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(bench_generate)

BOOST_AUTO_TEST_CASE(one_json_line_per_preset_env_and_m) {
    dydiff::test::TempDir dir;
    const CliResult r = run_dydiff(dir, {"bench", "generate", "--shapes", "4:2,4:3", "--threads", "1", "--seconds",
                                         "0.001", "--json"});
    BOOST_TEST_REQUIRE(r.code == 0, r.all());
    const std::vector<std::string> lines = json_lines(r.out);
    // Per preset (tiny, small) and env (maze2d-umaze, pendulum): M = 2 at N = 2 and 3, M = 0 once for B = 4.
    BOOST_TEST_REQUIRE(lines.size() == 2u * 2u * 3u, r.all());
    const std::vector<std::string> expected = {
        "\"shape\":[4,32,2],\"preset\":\"tiny\",\"env\":\"maze2d-umaze\",\"horizon\":32,\"starts\":4,\"chunk\":256,"
        "\"refinements\":2,\"num_steps\":2,",
        "\"shape\":[4,32,3],\"preset\":\"tiny\",\"env\":\"maze2d-umaze\",\"horizon\":32,\"starts\":4,\"chunk\":256,"
        "\"refinements\":2,\"num_steps\":3,",
        "\"shape\":[4,32,0],\"preset\":\"tiny\",\"env\":\"maze2d-umaze\",\"horizon\":32,\"starts\":4,\"chunk\":256,"
        "\"refinements\":0,\"num_steps\":0,",
        "\"shape\":[4,32,2],\"preset\":\"tiny\",\"env\":\"pendulum\",",
    };
    for (std::size_t i = 0; i < expected.size(); ++i) BOOST_TEST(contains(lines[i], expected[i]), lines[i]);
    BOOST_TEST(contains(lines[6], "\"preset\":\"small\",\"env\":\"maze2d-umaze\",\"horizon\":64,"), lines[6]);
    for (const auto& line : lines) {
        BOOST_TEST(contains(line, "{\"workload\":\"generate\","), line);
        BOOST_TEST(contains(line, "\"transitions_per_second\":"), line);
        BOOST_TEST(contains(line, "\"seconds_per_generation\":"), line);
        BOOST_TEST(contains(line, "\"simd\":\""), line);
        BOOST_TEST(!contains(line, "\"transitions\":0,"), line);  // hardmax keeps >= 60% of 4, 31 transitions each
    }
}

BOOST_AUTO_TEST_CASE(bad_cases_and_presets_are_usage_errors) {
    dydiff::test::TempDir dir;
    CliResult r = run_dydiff(dir, {"bench", "generate", "--shapes", "4:x"});
    BOOST_TEST(r.code == 2, r.all());
    BOOST_TEST(contains(r.err, "bad generate case '4:x' (want B[:N]"), r.all());
    r = run_dydiff(dir, {"bench", "generate", "--preset", "huge"});
    BOOST_TEST(r.code == 2, r.all());
    BOOST_TEST(contains(r.err, "unknown preset 'huge'"), r.all());
    BOOST_TEST(!contains(r.all(), "transitions/s"), r.all());  // nothing timed, no table started
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(simd_sets)

namespace simd = dydiff::nn::simd;

BOOST_AUTO_TEST_CASE(peak_reports_every_set_of_the_build) {
    dydiff::test::TempDir dir;
    const CliResult r = run_dydiff(dir, {"bench", "peak", "--threads", "1", "--seconds", "0.001", "--json"});
    BOOST_TEST_REQUIRE(r.code == 0, r.all());
    const std::vector<std::string> lines = json_lines(r.out);
    const std::vector<std::string> sets = simd::compiled_sets();
    BOOST_TEST_REQUIRE(lines.size() == sets.size(), r.all());
    for (std::size_t i = 0; i < sets.size(); ++i) {
        BOOST_TEST(contains(lines[i], "\"workload\":\"peak\""), lines[i]);
        BOOST_TEST(contains(lines[i], "\"set\":\"" + sets[i] + "\""), lines[i]);
        if (simd::cpu_supports(sets[i])) {
            BOOST_TEST(contains(lines[i], "\"simd\":\"" + sets[i] + "\","), lines[i]);
            BOOST_TEST(contains(lines[i], "\"gflops\":"), lines[i]);
        } else {
            BOOST_TEST(contains(lines[i], "\"runnable\":false"), lines[i]);
        }
    }
}

BOOST_AUTO_TEST_CASE(dydiff_simd_picks_the_set_the_lines_name) {
    dydiff::test::TempDir dir;
    const std::string baseline = simd::baseline_arch_name();
    const CliResult version = run_dydiff(dir, {"--version"}, "DYDIFF_SIMD=baseline");
    BOOST_TEST_REQUIRE(version.code == 0, version.all());
    BOOST_TEST(contains(version.out, "(simd: " + baseline + ", "), version.out);
    const CliResult gemm =
        run_dydiff(dir, {"bench", "gemm", "--shapes", "8x8x8", "--seconds", "0.001", "--json"}, "DYDIFF_SIMD=baseline");
    BOOST_TEST_REQUIRE(gemm.code == 0, gemm.all());
    BOOST_TEST(contains(gemm.out, "\"simd\":\"" + baseline + "\","), gemm.out);
    const CliResult table =
        run_dydiff(dir, {"bench", "gemm", "--shapes", "8x8x8", "--seconds", "0.001"}, "DYDIFF_SIMD=baseline");
    BOOST_TEST_REQUIRE(table.code == 0, table.all());
    BOOST_TEST(contains(table.out, "gemm: simd " + baseline + " ("), table.out);
}

BOOST_AUTO_TEST_CASE(a_set_the_build_lacks_is_one_error) {
    dydiff::test::TempDir dir;
    for (const auto& args : {std::vector<std::string>{"--version"}, {"bench", "gemm", "--shapes", "8x8x8"}}) {
        const CliResult r = run_dydiff(dir, args, "DYDIFF_SIMD=avx1024");
        BOOST_TEST(r.code == 1, r.all());
        BOOST_TEST(contains(r.err, "dydiff: error: DYDIFF_SIMD 'avx1024' is not an instruction set of this build "
                                   "(compiled: baseline, " + std::string(simd::baseline_arch_name())),
                   r.err);
        BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1, r.err);  // one message
        BOOST_TEST(r.out.empty(), r.out);  // refused before any work
    }
}

/// The first set of the build this CPU cannot run, or "".
std::string an_unrunnable_set() {
    for (const auto& set : simd::compiled_sets())
        if (!simd::cpu_supports(set)) return set;
    return "";
}

boost::test_tools::assertion_result has_an_unrunnable_set(boost::unit_test::test_unit_id) {
    boost::test_tools::assertion_result result(!an_unrunnable_set().empty());
    result.message() << "this CPU runs every instruction set of the build";
    return result;
}

BOOST_AUTO_TEST_CASE(a_set_this_cpu_lacks_is_one_error, *boost::unit_test::precondition(has_an_unrunnable_set)) {
    dydiff::test::TempDir dir;
    const std::string set = an_unrunnable_set();
    const CliResult r = run_dydiff(dir, {"bench", "gemm", "--shapes", "8x8x8"}, "DYDIFF_SIMD=" + set);
    BOOST_TEST(r.code == 1, r.all());
    BOOST_TEST(contains(r.err, "dydiff: error: DYDIFF_SIMD '" + set + "': this CPU (or its OS) cannot run " + set +
                                   " (runnable here: "),
               r.err);
    BOOST_TEST(r.out.empty(), r.out);
}

BOOST_AUTO_TEST_SUITE_END()
