// `dydiff quickstart` end to end at the smoke preset (every stage for seconds): the stages' run directories, the
// comparison with both sides and their difference, a rerun that resumes nothing, and usage errors.
#include "support/run_dydiff.hpp"

#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

namespace {

std::string slurp(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream os;
    os << in.rdbuf();
    return os.str();
}

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace

BOOST_AUTO_TEST_SUITE(quickstart)

BOOST_AUTO_TEST_CASE(smoke_pipeline_compares_and_resumes, *boost::unit_test::label("slow")) {
    dydiff::test::TempDir dir;
    const std::string out = dir / "qs";
    const auto r = dydiff::test::run_dydiff(dir, {"quickstart", "--preset", "smoke", "--env", "pendulum", "--seeds", "2", "--jobs", "2", "--out", out});
    BOOST_TEST_REQUIRE(r.code == 0, r.all());
    namespace fs = std::filesystem;
    for (const char* stage : {"diffusion", "dynamics", "reward", "td3bc-base-s0", "td3bc-base-s1", "td3bc-dydiff-s0",
                              "td3bc-dydiff-s1"})
        BOOST_CHECK_MESSAGE(fs::exists(fs::path(out) / stage / "config.toml"), stage);
    BOOST_CHECK(fs::exists(fs::path(out) / "data.npz"));
    BOOST_CHECK(fs::exists(fs::path(out) / "comparison.svg"));
    const std::string script = slurp(out + "/commands.sh");
    BOOST_CHECK(contains(script, "dydiff train-agent " + out + "/data.npz --algo td3bc --out " + out +
                                     "/td3bc-dydiff-s1 --preset cpu --seed 1"));
    BOOST_CHECK(contains(script, "--dydiff --diffusion " + out + "/diffusion --dynamics " + out + "/dynamics"));
    const std::string md = slurp(out + "/comparison.md");
    BOOST_CHECK(contains(md, "| td3bc | base | pendulum | " + out + "/data.npz | 2 | 0, 1 | 300 |"));
    BOOST_CHECK(contains(md, "| td3bc | +dydiff | pendulum | " + out + "/data.npz | 2 | 0, 1 | 300 |"));
    BOOST_CHECK(contains(md, "| td3bc | +dydiff | pendulum | " + out + "/data.npz | 2, 2 |"));
    BOOST_CHECK(contains(md, "95%"));
    BOOST_CHECK(contains(r.all(), md));  // printed as written
    // The +DyDiff runs generated rollouts (their metrics carry the generation columns).
    BOOST_CHECK(contains(slurp(out + "/td3bc-dydiff-s0/metrics.csv"), "synthetic_size"));
    BOOST_CHECK(!contains(slurp(out + "/td3bc-base-s0/metrics.csv"), "synthetic_size"));
    // `dydiff synthetic` checks a +DyDiff run's buffer against the true env, the real data as its control; a base run
    // has no buffer.
    const auto check = dydiff::test::run_dydiff(dir, {"synthetic", out + "/td3bc-dydiff-s0", "--samples", "500"});
    BOOST_TEST_REQUIRE(check.code == 0, check.all());
    BOOST_CHECK(contains(check.out, "| transitions drawn | 500 | 500 |"));
    BOOST_CHECK(contains(check.out, "| reward label error (mean absolute) |"));
    // The real data's control: the true model reproduces them (the last cell of the row, at float round-off).
    for (const std::string row : {"| next-state error in obs-std units (mean L2) |", "| reward label error (mean absolute) |"}) {
        const std::size_t at = check.out.find(row);
        BOOST_TEST_REQUIRE(at != std::string::npos, row);
        const std::string line = check.out.substr(at, check.out.find('\n', at) - at);
        const std::size_t cell = line.rfind('|', line.size() - 2);
        BOOST_TEST(std::stod(line.substr(cell + 1)) < 1e-5, line);
    }
    // stats skips a run that has no evaluation yet (a sweep in progress) with a note.
    std::filesystem::create_directories(out + "/unstarted");
    std::filesystem::copy_file(out + "/td3bc-base-s0/config.toml", out + "/unstarted/config.toml");
    const auto partial = dydiff::test::run_dydiff(dir, {"stats", out + "/td3bc-base-s0", out + "/unstarted"});
    BOOST_TEST_REQUIRE(partial.code == 0, partial.all());
    BOOST_CHECK(contains(partial.err, "skipped " + out + "/unstarted: no evaluations yet"));
    BOOST_CHECK(contains(partial.out, "| td3bc |") && contains(partial.out, "| pendulum |"));
    const auto base = dydiff::test::run_dydiff(dir, {"synthetic", out + "/td3bc-base-s0"});
    BOOST_CHECK_EQUAL(base.code, 1);
    BOOST_CHECK(contains(base.err, "not a DyDiff run"));

    // A rerun finds every stage finished: nothing is trained again, the comparison is the same.
    const std::string checkpoint = slurp(out + "/td3bc-dydiff-s0/checkpoint.npz");
    const auto again = dydiff::test::run_dydiff(dir, {"quickstart", "--preset", "smoke", "--env", "pendulum", "--seeds", "2", "--out", out});
    BOOST_TEST_REQUIRE(again.code == 0, again.all());
    BOOST_CHECK(contains(slurp(out + "/logs/td3bc-dydiff-s0.log"), "is complete; nothing to resume"));
    BOOST_CHECK(contains(slurp(out + "/logs/diffusion.log"), "nothing to resume"));
    BOOST_CHECK(slurp(out + "/td3bc-dydiff-s0/checkpoint.npz") == checkpoint);
    BOOST_CHECK_EQUAL(slurp(out + "/comparison.md"), md);
}

BOOST_AUTO_TEST_CASE(dry_run_and_usage_errors) {
    dydiff::test::TempDir dir;
    const std::string out = dir / "dry";
    const auto dry = dydiff::test::run_dydiff(dir, {"quickstart", "--dry-run", "--seeds", "1", "--out", out});
    BOOST_TEST_REQUIRE(dry.code == 0, dry.all());
    BOOST_CHECK(contains(dry.all(), "dydiff dataset generate --env maze2d-umaze --steps 200000"));
    BOOST_CHECK(contains(dry.all(), "--out " + out + "/td3bc-dydiff-s0 --preset cpu"));
    BOOST_CHECK(!std::filesystem::exists(out));

    const auto env = dydiff::test::run_dydiff(dir, {"quickstart", "--env", "nowhere", "--out", out});
    BOOST_CHECK_EQUAL(env.code, 2);
    BOOST_CHECK(contains(env.all(), "--env 'nowhere' is not a built-in env"));
    const auto seeds = dydiff::test::run_dydiff(dir, {"quickstart", "--seeds", "0", "--out", out});
    BOOST_CHECK_EQUAL(seeds.code, 2);
    BOOST_CHECK(contains(seeds.all(), "--seeds"));
    const auto algo = dydiff::test::run_dydiff(dir, {"quickstart", "--algo", "sac", "--out", out});
    BOOST_CHECK_EQUAL(algo.code, 2);
    BOOST_CHECK(contains(algo.all(), "--algo 'sac'"));
    const auto missing = dydiff::test::run_dydiff(dir, {"quickstart", "--data", "nowhere.npz", "--out", out});
    BOOST_CHECK_EQUAL(missing.code, 2);
    BOOST_CHECK(contains(missing.all(), "--data nowhere.npz: no such file"));
    BOOST_CHECK(!std::filesystem::exists(out));
}

BOOST_AUTO_TEST_SUITE_END()
