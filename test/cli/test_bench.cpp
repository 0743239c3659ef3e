// `dydiff bench learner` end to end: every learner of the registry runs a few timed steps and reports one JSON line
// naming it, its batch pool and whether the CLI's malloc setting (nn::keep_freed_memory) is in force; the setting
// follows DYDIFF_KEEP_FREED_MEMORY; an unknown --algo is a usage error listing the learners. Nothing here checks a
// speed: the numbers belong to docs/performance.md.
#include "cli/run_dydiff.hpp"
#include "dydiff/learners/registry.hpp"
#include "support/errors.hpp"
#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

using dydiff::test::contains;
using dydiff::test::Result;
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
    const Result r = run_dydiff({"bench", "learner", "--steps", "2", "--threads", "1", "--json"}, dir);
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.output);
    const std::vector<std::string> lines = json_lines(r.output);
    const std::vector<std::string> names = dydiff::learners::learner_names();
    BOOST_TEST_REQUIRE(lines.size() == names.size(), r.output);
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
    const Result r = run_dydiff({"bench", "learner", "--algo", "bc", "--steps", "1", "--threads", "1"}, dir);
    BOOST_TEST_REQUIRE(r.exit_code == 0, r.output);
    BOOST_TEST(contains(r.output, "malloc: glibc's defaults (DYDIFF_KEEP_FREED_MEMORY=0)"), r.output);
    BOOST_TEST(contains(r.output, "\nbc "), r.output);
    const Result json = run_dydiff({"bench", "learner", "--algo", "bc", "--steps", "1", "--json"}, dir);
    BOOST_TEST_REQUIRE(json.exit_code == 0, json.output);
    BOOST_TEST(contains(json.output, "\"keep_freed_memory\":false"), json.output);
}

BOOST_AUTO_TEST_CASE(an_unknown_learner_is_a_usage_error) {
    dydiff::test::TempDir dir;
    const Result r = run_dydiff({"bench", "learner", "--algo", "bc,sac"}, dir);
    BOOST_TEST(r.exit_code == 2, r.output);
    BOOST_TEST(contains(r.output, "unknown --algo 'sac' (known: bc, td3bc, iql, cql, diffql)"), r.output);
    BOOST_TEST(json_lines(r.output).empty(), r.output);  // refused before any learner ran
}

BOOST_AUTO_TEST_SUITE_END()
