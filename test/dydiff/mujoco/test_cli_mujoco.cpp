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

BOOST_AUTO_TEST_SUITE_END()

#endif
