// The `dydiff` executable on the locomotion envs (DYDIFF_EXE, test/meson.build): `dataset generate --kind random`,
// `evaluate-controller`, and train-agent on a D4RL-layout file that records no env (as D4RL's own files), with the
// env given by its D4RL name; every learner trains a few steps on it and evaluates in the MuJoCo env.
#if DYDIFF_HAVE_MUJOCO

#include "support/run_dydiff.hpp"
#include "data/dataset.hpp"

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

}  // namespace

BOOST_AUTO_TEST_SUITE(cli)

BOOST_AUTO_TEST_CASE(generate_evaluate_and_train_on_a_d4rl_layout_file) {
    TempDir dir;
    CliResult r = run_dydiff(dir, {"dataset", "generate", "--env", "walker2d", "--kind", "random", "--steps", "3000",
                                   "--seed", "1", "--out", "w.npz"});
    BOOST_TEST_REQUIRE(r.code == 0, r.all());
    BOOST_TEST(contains(r.out, "wrote w.npz: 3000 rows"), r.out);

    r = run_dydiff(dir, {"evaluate-controller", "--env", "walker2d", "--episodes", "4"});
    BOOST_TEST_REQUIRE(r.code == 0, r.all());
    BOOST_TEST(contains(r.out, "D4RL infos.py"), r.out);
    BOOST_TEST(contains(r.out, "random"), r.out);

    // A D4RL download records no env: strip ours, then the env comes from --env with its D4RL name.
    dydiff::data::Dataset d = dydiff::data::load_dataset((dir.path() / "w.npz").string());
    d.env.clear();
    dydiff::data::save_dataset_npz(d, (dir.path() / "d4rl.npz").string());
    r = run_dydiff(dir, {"train-agent", "d4rl.npz", "--algo", "bc", "--out", "none", "--set", "steps=2"});
    BOOST_TEST(r.code != 0);
    BOOST_TEST(contains(r.all(), "give it with --env E"), r.all());
    for (const std::string algo : {"bc", "td3bc", "iql", "cql", "diffql"}) {
        const std::string width = algo == "diffql" ? "diffql.critic_hidden=16" : algo + ".hidden=16";
        r = run_dydiff(dir, {"train-agent", "d4rl.npz", "--algo", algo, "--env", "walker2d-random-v2", "--out",
                             "run_" + algo, "--set", "steps=4", "--set", "eval_every=2", "--set", "log_every=2",
                             "--set", "eval_episodes=2", "--set", width, "--set", algo + ".batch=16", "--threads",
                             "1"});
        BOOST_TEST_REQUIRE(r.code == 0, algo << ": " << r.all());
        const std::string eval = read_text(dir.path() / ("run_" + algo) / "eval.csv");
        BOOST_TEST(contains(eval, "\n4,2,"), algo << ": " << eval);
        BOOST_TEST(contains(read_text(dir.path() / ("run_" + algo) / "config.toml"), "env = \"walker2d-random-v2\""));
    }
}

// The behaviour-policy recipes end to end on hopper, at a toy budget: train-online writes its policies and replay;
// dataset generate rolls a policy (kind policy), cuts the replay (kind replay) and joins files (kind concat), and
// every file says how it was made (provenance, with the policy file's SHA-256).
BOOST_AUTO_TEST_CASE(train_online_then_policy_and_replay_recipes) {
    TempDir dir;
    CliResult r = run_dydiff(dir, {"train-online", "--env", "hopper", "--out", "sac", "--steps", "600", "--set",
                                   "start_steps=300", "--set", "eval_every=300", "--set", "eval_episodes=2", "--set",
                                   "sac.hidden=16", "--set", "sac.batch=32", "--threads", "1"});
    BOOST_TEST_REQUIRE(r.code == 0, r.all());
    for (const char* f : {"config.toml", "eval.csv", "learning_curve.svg", "policies/step_300.npz",
                          "policies/step_600.npz", "agent.npz", "replay.npz"})
        BOOST_TEST(fs::exists(dir.path() / "sac" / f), f);
    BOOST_TEST(contains(read_text(dir.path() / "sac" / "eval.csv"), "\n600,301,"));

    r = run_dydiff(dir, {"dataset", "generate", "--env", "hopper", "--kind", "policy", "--policy",
                         "sac/policies/step_600.npz", "--steps", "500", "--out", "medium.npz"});
    BOOST_TEST_REQUIRE(r.code == 0, r.all());
    r = run_dydiff(dir, {"dataset", "info", "medium.npz"});
    BOOST_TEST(contains(r.out, "N 500, obs dim 11, action dim 3"), r.out);
    BOOST_TEST(contains(r.out, "provenance policy_sha256: "), r.out);
    BOOST_TEST(contains(r.out, "provenance recipe: policy, sampled"), r.out);

    r = run_dydiff(dir, {"dataset", "generate", "--env", "hopper", "--kind", "replay", "--replay", "sac/replay.npz",
                         "--steps", "300", "--out", "replay300.npz"});
    BOOST_TEST_REQUIRE(r.code == 0, r.all());
    r = run_dydiff(dir, {"dataset", "info", "replay300.npz"});
    BOOST_TEST(contains(r.out, "N 300, obs dim 11"), r.out);
    BOOST_TEST(contains(r.out, "provenance replay_recipe: online sac replay"), r.out);

    // medium-expert's recipe: two files joined row-wise, each part's provenance kept under part<i>_.
    r = run_dydiff(dir, {"dataset", "generate", "--env", "hopper", "--kind", "concat", "--parts",
                         "medium.npz,replay300.npz", "--out", "joined.npz"});
    BOOST_TEST_REQUIRE(r.code == 0, r.all());
    r = run_dydiff(dir, {"dataset", "info", "joined.npz"});
    BOOST_TEST(contains(r.out, "N 800, obs dim 11"), r.out);
    BOOST_TEST(contains(r.out, "provenance part0_recipe: policy, sampled"), r.out);
    BOOST_TEST(contains(r.out, "provenance recipe: concat"), r.out);
    r = run_dydiff(dir, {"dataset", "generate", "--env", "walker2d", "--kind", "concat", "--parts",
                         "medium.npz,replay300.npz", "--out", "bad.npz"});
    BOOST_TEST(contains(r.all(), "medium.npz records env 'hopper', not --env walker2d"), r.all());

    r = run_dydiff(dir, {"dataset", "generate", "--env", "walker2d", "--kind", "policy", "--policy",
                         "sac/policies/step_600.npz", "--steps", "10", "--out", "bad.npz"});
    BOOST_TEST(r.code != 0);
    BOOST_TEST(contains(r.all(), "are not walker2d's 17/6"), r.all());
}

// quickstart --data: the whole pipeline on a locomotion file at the smoke preset (seconds per stage; its scores mean
// nothing). The env comes from the file; a file that records none (as D4RL's) needs --env, and the learner runs then
// evaluate in that env. No dataset stage runs and nothing is written beside the given file.
BOOST_AUTO_TEST_CASE(quickstart_on_a_given_locomotion_dataset, *boost::unit_test::label("slow")) {
    TempDir dir;
    CliResult r = run_dydiff(dir, {"dataset", "generate", "--env", "hopper", "--kind", "random", "--steps", "4000",
                                   "--seed", "2", "--out", "hop.npz"});
    BOOST_TEST_REQUIRE(r.code == 0, r.all());
    r = run_dydiff(dir, {"quickstart", "--env", "hopper", "--out", "none"});
    BOOST_TEST(r.code == 2);
    BOOST_TEST(contains(r.all(), "hopper needs a dataset: give one with --data"), r.all());

    r = run_dydiff(dir, {"quickstart", "--data", "hop.npz", "--preset", "smoke", "--seeds", "1", "--jobs", "2",
                         "--out", "qs"});
    BOOST_TEST_REQUIRE(r.code == 0, r.all());
    for (const char* stage : {"diffusion", "dynamics", "reward", "td3bc-base-s0", "td3bc-dydiff-s0"})
        BOOST_TEST(fs::exists(dir.path() / "qs" / stage / "config.toml"), stage);
    BOOST_TEST(!fs::exists(dir.path() / "qs" / "data.npz"));
    BOOST_TEST(!contains(read_text(dir.path() / "qs" / "commands.sh"), "dataset generate"));
    const std::string md = read_text(dir.path() / "qs" / "comparison.md");
    BOOST_TEST(contains(md, "| td3bc | +dydiff | hopper | hop.npz | 1 | 0 | 300 |"), md);
    BOOST_TEST(contains(read_text(dir.path() / "qs" / "td3bc-dydiff-s0" / "metrics.csv"), "synthetic_size"));

    dydiff::data::Dataset d = dydiff::data::load_dataset((dir.path() / "hop.npz").string());
    d.env.clear();
    dydiff::data::save_dataset_npz(d, (dir.path() / "d4rl.npz").string());
    r = run_dydiff(dir, {"quickstart", "--data", "d4rl.npz", "--out", "none"});
    BOOST_TEST(r.code == 2);
    BOOST_TEST(contains(r.all(), "--data d4rl.npz does not record its env"), r.all());
    r = run_dydiff(dir, {"quickstart", "--data", "d4rl.npz", "--env", "hopper-random-v2", "--dry-run", "--out", "dry"});
    BOOST_TEST_REQUIRE(r.code == 0, r.all());
    BOOST_TEST(contains(r.out, "dydiff train-agent d4rl.npz --algo td3bc --out dry/td3bc-base-s0"), r.out);
    BOOST_TEST(contains(r.out, "--set env=hopper"), r.out);
    BOOST_TEST(!fs::exists(dir.path() / "none"));
    BOOST_TEST(!fs::exists(dir.path() / "dry"));
}

BOOST_AUTO_TEST_SUITE_END()

#endif
