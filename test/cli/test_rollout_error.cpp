// `dydiff rollout-error` combines two models: it loads them through their own load() and refuses, with exit code 1,
// one message and nothing written, a model of maze2d-umaze data run against maze2d-medium, a mixture of models
// from different datasets (naming both files), and a checkpoint of the format before model files recorded one. The
// models are tiny (a few Adam steps, one epoch) on 3000-row generated datasets, so the suite takes seconds.
#include "support/run_dydiff.hpp"
#include "nn/checkpoint.hpp"
#include "support/errors.hpp"
#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

using dydiff::test::contains;
using dydiff::test::CliResult;
using dydiff::test::run_dydiff;
namespace fs = std::filesystem;

namespace {

// Two generated datasets and tiny models trained on them, made once for the whole suite.
struct Runs {
    dydiff::test::TempDir dir;
    std::string umaze, medium;             // datasets
    std::string diffusion_umaze;           // train-diffusion run on umaze
    std::string dynamics_umaze, dynamics_medium;

    Runs() {
        umaze = dir / "umaze.npz";
        medium = dir / "medium.npz";
        diffusion_umaze = dir / "diffusion-umaze";
        dynamics_umaze = dir / "dynamics-umaze";
        dynamics_medium = dir / "dynamics-medium";
        must(run_dydiff(dir, {"dataset", "generate", "--env", "maze2d-umaze", "--steps", "3000", "--out", umaze}));
        must(run_dydiff(dir, {"dataset", "generate", "--env", "maze2d-medium", "--steps", "3000", "--out", medium}));
        must(run_dydiff(dir, {"train-diffusion", umaze, "--out", diffusion_umaze, "--threads", "1", "--set", "steps=4", "--set",
                     "horizon=16", "--set", "batch=4", "--set", "log_every=2", "--set", "checkpoint_every=4"}));
        for (const auto& [data, out] : {std::pair{umaze, dynamics_umaze}, std::pair{medium, dynamics_medium}})
            must(run_dydiff(dir, {"train-dynamics", data, "--out", out, "--threads", "1", "--set", "max_epochs=1", "--set",
                         "members=2", "--set", "elites=1", "--set", "hidden=8"}));
    }

    static void must(const CliResult& r) { BOOST_TEST_REQUIRE(r.code == 0, r.all()); }
};

const Runs& runs() {
    static const Runs r;
    return r;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(rollout_error_models)

BOOST_AUTO_TEST_CASE(matching_models_run_and_record_their_data) {
    const Runs& r = runs();
    dydiff::test::TempDir out;
    const CliResult res = run_dydiff(out, {"rollout-error", "--env", "maze2d-umaze", "--diffusion", r.diffusion_umaze, "--dynamics",
                               r.dynamics_umaze, "--starts", "2", "--refinements", "1", "--threads", "1", "--out",
                               out / "result"});
    BOOST_TEST_REQUIRE(res.code == 0, res.all());
    std::ifstream summary(out / "result/summary.txt");
    std::stringstream text;
    text << summary.rdbuf();
    BOOST_TEST(contains(text.str(), "data env maze2d-umaze, obs/action dims 4/2, dataset " + r.umaze), text.str());
}

BOOST_AUTO_TEST_CASE(models_of_umaze_are_refused_for_maze2d_medium) {
    const Runs& r = runs();
    dydiff::test::TempDir out;
    const CliResult res = run_dydiff(out, {"rollout-error", "--env", "maze2d-medium", "--diffusion", r.diffusion_umaze,
                               "--dynamics", r.dynamics_umaze, "--out", out / "result"});
    BOOST_TEST(res.code == 1, res.all());
    BOOST_TEST(contains(res.all(), r.diffusion_umaze + "/checkpoint.npz was trained on data of env maze2d-umaze, "
                                                        "not maze2d-medium"),
               res.all());
    BOOST_TEST(!fs::exists(out / "result"));  // refused before anything was written
}

BOOST_AUTO_TEST_CASE(a_mixture_is_refused_naming_both_files) {
    const Runs& r = runs();
    dydiff::test::TempDir out;
    const CliResult res = run_dydiff(out, {"rollout-error", "--env", "maze2d-umaze", "--diffusion", r.diffusion_umaze,
                               "--dynamics", r.dynamics_medium, "--out", out / "result"});
    BOOST_TEST(res.code == 1, res.all());
    BOOST_TEST(contains(res.all(), "differ in env, dataset SHA-256"), res.all());
    BOOST_TEST(contains(res.all(), r.diffusion_umaze + "/checkpoint.npz: env maze2d-umaze"), res.all());
    BOOST_TEST(contains(res.all(), r.dynamics_medium + "/model.npz: env maze2d-medium"), res.all());
    BOOST_TEST(contains(res.all(), "dataset " + r.medium), res.all());
    BOOST_TEST(!fs::exists(out / "result"));
}

BOOST_AUTO_TEST_CASE(an_old_checkpoint_is_refused_with_a_clear_error) {
    const Runs& r = runs();
    dydiff::test::TempDir out;
    dydiff::nn::Checkpoint old;  // the keys train-diffusion wrote before model files recorded a format
    old.put_int64("meta/obs_dim", 4);
    old.put_int64("meta/action_dim", 2);
    old.put_text("meta/preset", "tiny");
    old.save(out / "checkpoint.npz");
    const CliResult res = run_dydiff(out, {"rollout-error", "--env", "maze2d-umaze", "--diffusion", out.path().string(),
                               "--dynamics", r.dynamics_umaze, "--out", out / "result"});
    BOOST_TEST(res.code == 1, res.all());
    BOOST_TEST(contains(res.all(), out / "checkpoint.npz" + ": not a dydiff diffusion model file"), res.all());
    BOOST_TEST(contains(res.all(), "older dydiff"), res.all());
}

BOOST_AUTO_TEST_CASE(dataset_info_shows_the_recorded_env) {
    const Runs& r = runs();
    dydiff::test::TempDir out;
    const CliResult res = run_dydiff(out, {"dataset", "info", r.medium});
    BOOST_TEST_REQUIRE(res.code == 0, res.all());
    BOOST_TEST(contains(res.all(), "env maze2d-medium (metadata/env)"), res.all());
}

BOOST_AUTO_TEST_SUITE_END()
