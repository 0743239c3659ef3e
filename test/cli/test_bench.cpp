// `dydiff bench learner` end to end: every learner of the registry runs a few timed steps and reports one JSON line
// naming it, its batch pool and whether the CLI's malloc setting (nn::keep_freed_memory) is in force; the setting
// follows DYDIFF_KEEP_FREED_MEMORY; an unknown --algo is a usage error listing the learners. `dydiff bench generate`:
// one JSON line per (preset, env, M, N) case naming the SIMD set and the throughput fields; bad cases and presets are
// usage errors. Nothing here checks a speed: the numbers belong to docs/performance.md.
#include "support/run_dydiff.hpp"
#include "dydiff/learners/registry.hpp"
#include "support/errors.hpp"
#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

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

BOOST_AUTO_TEST_CASE(every_learner_reports_one_json_line) {
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
    const CliResult r = run_dydiff(dir, {"bench", "learner", "--algo", "bc,sac"});
    BOOST_TEST(r.code == 2, r.all());
    BOOST_TEST(contains(r.all(), "unknown --algo 'sac' (known: bc, td3bc, iql, cql, diffql)"), r.all());
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
