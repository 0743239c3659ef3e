// The agent loop (dydiff/agent/agent.hpp): the plain loop and the DyDiff loop resume bit for bit from a checkpoint;
// with DyDiff, generations happen at the epoch starts, fill the synthetic buffer with transitions that start at real
// observations, and batches mix real and synthetic rows only once the buffer holds enough. Small untrained models
// built in memory stand in for the trained ones (the loop's mechanics do not depend on their quality). train_agent
// on maze2d writes imagined.svg (kImaginedPairs imagined/true pairs, policy or behaviour rollouts), not on pendulum,
// and metrics.csv carries the generation columns.
#include "support/errors.hpp"
#include "support/temp_dir.hpp"
#include "data/data_identity.hpp"
#include "data/transitions.hpp"
#include "dydiff/agent/agent.hpp"
#include "dydiff/envs/generate.hpp"
#include "../eval/svg_check.hpp"
#include "dydiff/run/run_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

using namespace dydiff;

namespace {

data::Dataset pendulum_data() {
    envs::GenerateConfig gen;
    gen.env = "pendulum";
    gen.kind = "medium-replay";
    gen.steps = 600;
    gen.seed = 4;
    return envs::generate_dataset(gen);
}

agent::AgentConfig small_config(const std::string& algo) {
    agent::AgentConfig c;
    c.algo = algo;
    c.env = "pendulum";
    c.steps = 8;
    c.eval_every = 4;
    c.eval_episodes = 2;
    c.log_every = 2;
    c.seed = 3;
    c.learners.bc.hidden = 16;
    c.learners.bc.batch = 32;
    c.learners.td3bc.hidden = 16;
    c.learners.td3bc.batch = 32;
    return c;
}

data::Dataset maze_data() {
    envs::GenerateConfig gen;
    gen.env = "maze2d-umaze";
    gen.steps = 600;
    gen.seed = 4;
    return envs::generate_dataset(gen);
}

// Untrained models of the right dims, as DyDiffModels::load would return them.
agent::DyDiffModels small_models(const data::Dataset& d, const std::string& env = "pendulum") {
    data::Rng rng(11);
    const data::Transitions t = data::make_transitions(d);
    data::DataIdentity id;
    id.env = env;
    id.obs_dim = d.obs_dim();
    id.action_dim = d.action_dim();
    UNetConfig unet;
    unet.dim = 8;
    unet.dim_mults = {1, 2};
    unet.groups = 4;
    unet.time_dim = 8;
    const xt::xtensor<float, 2> sa = xt::concatenate(xt::xtuple(t.observations, t.actions), 1);
    DiffusionModel diffusion = DiffusionModel::create(id, unet, 8, 0.5, data::MinMaxNormalizer::fit(sa), rng);
    EnsembleConfig ec;
    ec.members = 2;
    ec.elites = 1;
    ec.hidden = 8;
    ec.layers = 1;
    TrainedDynamics dynamics;
    dynamics.model = std::make_unique<DynamicsEnsemble>(d.obs_dim(), d.action_dim(), ec, rng);
    dynamics.model->set_elites({1});
    dynamics.obs_normalizer = data::ZScoreNormalizer::fit(t.observations);
    dynamics.data = id;
    RewardConfig rc;
    rc.hidden = 8;
    rc.layers = 1;
    TrainedReward reward;
    reward.model = std::make_unique<RewardModel>(d.obs_dim(), d.action_dim(), rc, rng);
    reward.obs_normalizer = dynamics.obs_normalizer;
    reward.data = id;
    return {std::move(diffusion), std::move(dynamics), std::move(reward)};
}

void enable_dydiff(agent::AgentConfig& c) {
    c.dydiff.enabled = true;
    c.dydiff.epoch_steps = 3;
    c.dydiff.real_ratio = 0.5;
    c.dydiff.capacity = 500;
    c.dydiff.generator.starts = 6;
    c.dydiff.generator.chunk = 4;
    c.dydiff.generator.iterations = 1;
    c.dydiff.sampler.num_steps = 3;
}

// Steps a loop to `until`, returning every update's stats.
std::vector<learners::Stats> run_to(agent::AgentLoop& loop, std::int64_t until, std::vector<std::int64_t>* gens = nullptr) {
    std::vector<learners::Stats> all;
    while (loop.steps() < until) {
        learners::Stats s;
        const auto g = loop.step(s);
        if (g && gens) gens->push_back(g->step);
        all.push_back(s);
    }
    return all;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(agent_loop)

BOOST_AUTO_TEST_CASE(plain_loop_resumes_bit_for_bit) {
    const data::Dataset d = pendulum_data();
    const agent::AgentConfig c = small_config("td3bc");
    test::TempDir dir;
    agent::AgentLoop a(c, d, "pendulum", nullptr);
    const auto first = run_to(a, 4);
    a.save(dir / "ckpt.npz");
    const auto rest = run_to(a, 8);
    agent::AgentLoop b(c, d, "pendulum", nullptr);
    b.load(dir / "ckpt.npz");
    BOOST_TEST(b.steps() == 4);
    const auto again = run_to(b, 8);
    BOOST_REQUIRE(rest.size() == again.size());
    for (std::size_t i = 0; i < rest.size(); ++i) BOOST_TEST((rest[i] == again[i]), "update " << i + 5);
    const learners::Array2 obs = xt::view(data::make_transitions(d).observations, xt::range(0, 5), xt::all());
    BOOST_TEST(a.act(obs) == b.act(obs));
    BOOST_TEST(a.synthetic_size() == 0u);
}

BOOST_AUTO_TEST_CASE(dydiff_generates_at_epoch_starts_and_resumes_bit_for_bit) {
    const data::Dataset d = pendulum_data();
    const agent::DyDiffModels models = small_models(d);
    for (const std::string actions : {"policy", "behaviour"}) {
        BOOST_TEST_CONTEXT("generator.actions = " << actions) {
            agent::AgentConfig c = small_config("bc");
            enable_dydiff(c);
            c.dydiff.generator.actions = actions;
            test::TempDir dir;
            agent::AgentLoop a(c, d, "pendulum", &models);
            std::vector<std::int64_t> gens;
            run_to(a, 4, &gens);
            BOOST_TEST((gens == std::vector<std::int64_t>{0, 3}));
            // Hardmax keeps 60% of 6 rollouts of 8 states: >= 3 trajectories of 7 transitions each per generation
            // (the dataset's 200-row episodes never truncate a behaviour window of 8).
            BOOST_TEST(a.synthetic_size() >= 2u * 3u * 7u);
            a.save(dir / "ckpt.npz");
            const std::size_t size_at_save = a.synthetic_size();
            const auto rest = run_to(a, 8, &gens);
            BOOST_TEST((gens == std::vector<std::int64_t>{0, 3, 6}));

            agent::AgentLoop b(c, d, "pendulum", &models);
            b.load(dir / "ckpt.npz");
            BOOST_TEST(b.synthetic_size() == size_at_save);
            const auto again = run_to(b, 8);
            BOOST_REQUIRE(rest.size() == again.size());
            for (std::size_t i = 0; i < rest.size(); ++i) BOOST_TEST((rest[i] == again[i]), "update " << i + 5);
            BOOST_TEST(a.synthetic_size() == b.synthetic_size());
            BOOST_TEST(a.imagined() == nullptr);  // pendulum has no maze to draw
        }
    }
}

BOOST_AUTO_TEST_CASE(dydiff_needs_its_models) {
    const data::Dataset d = pendulum_data();
    agent::AgentConfig c = small_config("bc");
    enable_dydiff(c);
    BOOST_TEST(test::contains(test::error_of([&] { agent::AgentLoop(c, d, "pendulum", nullptr); }), "no models"));
    BOOST_TEST(test::contains(test::error_of([&] { agent::AgentLoop(small_config("bc"), d, "maze2d-umaze", nullptr); }),
                              "obs/action dims"));
}

namespace {

std::string read_text(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// A fresh run directory and a whole train_agent run of `c` on `d` in env.
RunDir train(const agent::AgentConfig& c, const data::Dataset& d, const std::string& env,
             const agent::DyDiffModels& models, const test::TempDir& dir) {
    RunDir run = RunDir::create(dir / "run", {{RunDir::kConfig, "# test\n"}});
    agent::AgentLoop loop(c, d, env, &models);
    agent::train_agent(loop, c, env, run, -1);
    return run;
}

agent::AgentConfig maze_config(const std::string& actions) {
    agent::AgentConfig c = small_config("bc");
    enable_dydiff(c);
    c.env = "maze2d-umaze";
    c.steps = 4;
    c.eval_every = 4;
    c.eval_episodes = 1;
    c.dydiff.generator.starts = 16;
    c.dydiff.generator.filter.kind = "none";
    c.dydiff.generator.actions = actions;
    return c;
}

}  // namespace

BOOST_AUTO_TEST_CASE(maze2d_runs_draw_imagined_and_true_pairs) {
    const data::Dataset d = maze_data();
    const agent::DyDiffModels models = small_models(d, "maze2d-umaze");
    for (const std::string actions : {"policy", "behaviour"}) {
        const agent::AgentConfig c = maze_config(actions);
        agent::AgentLoop loop(c, d, "maze2d-umaze", &models);
        learners::Stats stats;
        loop.step(stats);
        const agent::ImaginedSample* sample = loop.imagined();
        BOOST_REQUIRE(sample != nullptr);
        BOOST_TEST(sample->actions == actions);
        BOOST_TEST_REQUIRE(sample->pairs.size() == agent::kImaginedPairs);
        for (const eval::PathPair& p : sample->pairs) {
            BOOST_TEST(p.truth.shape() == p.imagined.shape());
            BOOST_TEST(p.truth.shape()[1] == 4u);
            // Same start: the truth begins at the real observation, the imagined path at it (policy rollouts: its
            // model-scale round trip; behaviour rollouts: exactly).
            for (std::size_t k = 0; k < 2; ++k)
                BOOST_TEST(std::abs(p.truth(0, k) - p.imagined(0, k)) < 1e-5f);
        }

        test::TempDir dir;
        train(c, d, "maze2d-umaze", models, dir);
        const std::string svg = read_text(dir / "run/imagined.svg");
        BOOST_TEST(test::svg_problem(svg) == "");
        BOOST_TEST(test::count_of(svg, "<polyline ") == 2 * agent::kImaginedPairs);
        BOOST_TEST(test::count_of(svg, "stroke-dasharray=\"5 3\"") == agent::kImaginedPairs);  // the imagined ones
        BOOST_TEST(test::contains(svg, actions + " rollouts of the generation at step 3"));  // rewritten at step 4
    }
}

BOOST_AUTO_TEST_CASE(pendulum_runs_log_generation_columns_and_draw_no_maze) {
    const data::Dataset d = pendulum_data();
    const agent::DyDiffModels models = small_models(d);
    agent::AgentConfig c = small_config("bc");
    enable_dydiff(c);
    test::TempDir dir;
    train(c, d, "pendulum", models, dir);
    BOOST_TEST(!std::filesystem::exists(dir / "run/imagined.svg"));
    const std::string metrics = read_text(dir / "run/metrics.csv");
    BOOST_TEST(test::contains(metrics, ",synthetic_size,kept_fraction,predicted_return_mean,predicted_return_std,"
                                       "generation_seconds,generation_share,epoch_generation_share\n"));
    // The last row (step 8): the latest generation ran at step 6, so its share of the time since is positive and at
    // most 1; hardmax keeps 0.6 of 6 (ties may keep more).
    std::istringstream lines(metrics);
    std::string line, last;
    while (std::getline(lines, line)) last = line;
    std::vector<double> row;
    std::istringstream cells(last);
    for (std::string cell; std::getline(cells, cell, ',');) row.push_back(std::stod(cell));
    const double share = row.back(), kept = row[row.size() - 6];
    BOOST_TEST(share > 0.0);
    BOOST_TEST(share <= 1.0);
    BOOST_TEST(kept >= 0.5);
}

BOOST_AUTO_TEST_SUITE_END()
