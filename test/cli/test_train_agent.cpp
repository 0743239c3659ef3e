// `dydiff train-agent`, `evaluate` and `export` end to end on a small generated pendulum dataset: a run writes its
// config, metrics, eval.csv, learning curve and checkpoint; --resume after a larger `steps` continues; evaluate and
// export read the saved agent; --dydiff with models of another dataset is refused naming both files, and nothing is
// left on disk.
#include "support/run_dydiff.hpp"

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <string>

namespace fs = std::filesystem;
using dydiff::test::CliResult;
using dydiff::test::read_text;
using dydiff::test::run_dydiff;
using dydiff::test::TempDir;

namespace {

bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

const std::vector<std::string> kSmall = {"--set", "steps=6",        "--set", "eval_every=3", "--set", "log_every=3",
                                         "--set", "eval_episodes=2", "--set", "td3bc.hidden=16", "--set",
                                         "td3bc.batch=16", "--threads", "1"};

std::vector<std::string> words(std::vector<std::string> head, const std::vector<std::string>& tail) {
    head.insert(head.end(), tail.begin(), tail.end());
    return head;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(train_agent)

BOOST_AUTO_TEST_CASE(trains_resumes_evaluates_and_exports) {
    TempDir dir;
    CliResult r = run_dydiff(dir, {"dataset", "generate", "--env", "pendulum", "--kind", "medium-replay", "--steps",
                                   "1000", "--out", "p.npz"});
    BOOST_TEST_REQUIRE(r.code == 0, r.err);
    r = run_dydiff(dir, words({"train-agent", "p.npz", "--algo", "td3bc", "--out", "run"}, kSmall));
    BOOST_TEST_REQUIRE(r.code == 0, r.err);
    for (const char* f : {"config.toml", "metrics.csv", "eval.csv", "learning_curve.svg", "checkpoint.npz", "log.txt"})
        BOOST_TEST(fs::exists(dir.path() / "run" / f), f);
    const std::string config = read_text(dir.path() / "run" / "config.toml");
    BOOST_TEST(contains(config, "env = \"pendulum\""));  // resolved from the dataset
    BOOST_TEST(contains(read_text(dir.path() / "run" / "eval.csv"), "\n6,2,"));

    r = run_dydiff(dir, {"train-agent", "--out", "run", "--resume", "--set", "steps=9"});
    BOOST_TEST_REQUIRE(r.code == 0, r.err);
    BOOST_TEST(contains(read_text(dir.path() / "run" / "eval.csv"), "\n9,2,"));

    r = run_dydiff(dir, {"evaluate", "run", "--episodes", "3"});
    BOOST_TEST_REQUIRE(r.code == 0, r.err);
    BOOST_TEST(contains(r.out, "normalised score"));

    r = run_dydiff(dir, {"export", "run", "--out", "policy.npz"});
    BOOST_TEST_REQUIRE(r.code == 0, r.err);
    BOOST_TEST(fs::file_size(dir.path() / "policy.npz") > 1000u);
}

BOOST_AUTO_TEST_CASE(dydiff_refuses_models_of_other_data) {
    TempDir dir;
    for (const auto& [name, seed] : {std::pair<std::string, std::string>{"a.npz", "0"}, {"b.npz", "1"}}) {
        const CliResult r = run_dydiff(dir, {"dataset", "generate", "--env", "pendulum", "--kind", "medium-replay",
                                             "--steps", "1000", "--seed", seed, "--out", name});
        BOOST_TEST_REQUIRE(r.code == 0, r.err);
    }
    CliResult r = run_dydiff(dir, {"train-dynamics", "b.npz", "--out", "dyn", "--threads", "1", "--set", "max_epochs=1",
                                   "--set", "members=2", "--set", "elites=1", "--set", "hidden=8"});
    BOOST_TEST_REQUIRE(r.code == 0, r.err);
    r = run_dydiff(dir, {"train-reward", "a.npz", "--out", "rew", "--threads", "1", "--set", "max_epochs=1", "--set",
                         "hidden=8"});
    BOOST_TEST_REQUIRE(r.code == 0, r.err);
    r = run_dydiff(dir, {"train-diffusion", "a.npz", "--out", "diff", "--threads", "1", "--set", "steps=2", "--set",
                         "horizon=8", "--set", "batch=4", "--set", "checkpoint_every=2", "--set", "log_every=1"});
    BOOST_TEST_REQUIRE(r.code == 0, r.err);
    r = run_dydiff(dir, words({"train-agent", "a.npz", "--algo", "td3bc", "--out", "agent", "--dydiff", "--diffusion",
                               "diff", "--dynamics", "dyn", "--reward", "rew"},
                              kSmall));
    BOOST_TEST(r.code == 1);
    BOOST_TEST(contains(r.err, "b.npz"));
    BOOST_TEST(contains(r.err, "a.npz"));
    BOOST_TEST(!fs::exists(dir.path() / "agent"));
    // --dydiff without the models is a usage error naming the key.
    r = run_dydiff(dir, words({"train-agent", "a.npz", "--algo", "td3bc", "--out", "agent", "--dydiff"}, kSmall));
    BOOST_TEST(r.code == 2);
    BOOST_TEST(contains(r.err, "dydiff.diffusion"));
    BOOST_TEST(!fs::exists(dir.path() / "agent"));
}

BOOST_AUTO_TEST_SUITE_END()
