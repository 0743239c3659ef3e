// Policy evaluation: batched episodes equal the one-at-a-time runner, seeded determinism, the scripted expert's
// score, a zero policy's scores, trajectories, the maze trajectory picture, and the imagined-vs-true picture with its
// true paths (the point mass set to given start states, stepped like the env).
#include "data/episodes.hpp"
#include "dydiff/envs/controllers.hpp"
#include "dydiff/envs/env.hpp"
#include "dydiff/envs/generate.hpp"
#include "dydiff/envs/maze2d.hpp"
#include "dydiff/envs/scores.hpp"
#include "dydiff/eval/maze_plot.hpp"
#include "dydiff/eval/policy_eval.hpp"
#include "support/errors.hpp"
#include "support/temp_dir.hpp"
#include "svg_check.hpp"

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <fstream>
#include <sstream>

using namespace dydiff;
using namespace dydiff::eval;
using dydiff::test::contains;
using dydiff::test::error_of;

namespace {

BatchPolicy zero_policy(std::size_t action_dim) {
    return [action_dim](const Obs& obs) { return Actions(xt::zeros<float>({obs.shape()[0], action_dim})); };
}

}  // namespace

BOOST_AUTO_TEST_SUITE(policy_eval)

// Batched evaluation is the same computation as envs::run_episodes, episode for episode: same starts, same policy
// draws (the random policy reads each row's episode Rng), same returns, lengths and successes.
BOOST_AUTO_TEST_CASE(batched_equals_one_at_a_time) {
    constexpr std::size_t kEpisodes = 12;
    constexpr std::uint64_t kSeed = 5;
    for (const char* name : {"maze2d-umaze", "maze2d-medium-dense", "pendulum"}) {
        auto env = envs::make_env(name);
        for (const auto& kind : envs::policy_kinds(*env)) {
            auto policy = envs::make_policy(*env, kind);
            const auto single = envs::run_episodes(*env, *policy, kEpisodes, kSeed);
            PolicyEvalOptions options;
            options.episodes = kEpisodes;
            options.seed = kSeed;
            const PolicyEvalResult batched = evaluate_policy(name, scripted_policy(*policy), options);
            BOOST_REQUIRE_EQUAL(batched.episodes.size(), kEpisodes);
            for (std::size_t e = 0; e < kEpisodes; ++e) {
                BOOST_CHECK_MESSAGE(batched.episodes[e].episode_return == single[e].episode_return,
                                    name << " " << kind << " episode " << e << ": " << batched.episodes[e].episode_return
                                         << " vs " << single[e].episode_return);
                BOOST_CHECK_EQUAL(batched.episodes[e].length, single[e].length);
                BOOST_CHECK(batched.episodes[e].success == single[e].success);
                BOOST_CHECK_EQUAL(batched.episodes[e].score, *envs::normalized_score(name, single[e].episode_return));
            }
        }
    }
}

// The same seed gives the same numbers; another seed other starts.
BOOST_AUTO_TEST_CASE(seeded_determinism) {
    auto env = envs::make_env("pendulum");
    auto random = envs::make_policy(*env, "random");
    PolicyEvalOptions options;
    options.episodes = 6;
    options.seed = 3;
    const auto a = evaluate_policy("pendulum", scripted_policy(*random), options);
    const auto b = evaluate_policy("pendulum", scripted_policy(*random), options);
    options.seed = 4;
    const auto c = evaluate_policy("pendulum", scripted_policy(*random), options);
    for (std::size_t e = 0; e < options.episodes; ++e) {
        BOOST_CHECK_EQUAL(a.episodes[e].episode_return, b.episodes[e].episode_return);
        BOOST_CHECK_NE(a.episodes[e].episode_return, c.episodes[e].episode_return);
    }
    BOOST_CHECK_EQUAL(a.return_mean(), b.return_mean());
    BOOST_CHECK_EQUAL(a.score_std(), b.score_std());
}

// The scripted expert defines 100 on our envs (docs/environments.md: mean return 243.2050 over 1000 episodes on
// maze2d-umaze); 100 episodes of it score near 100 and always reach the goal.
BOOST_AUTO_TEST_CASE(expert_scores_near_100_on_umaze) {
    constexpr double kScoreTol = 5.0;  // the expert's per-episode std is ~15 score points; /sqrt(100) -> ~1.5
    auto env = envs::make_env("maze2d-umaze");
    auto expert = envs::make_policy(*env, "expert");
    PolicyEvalOptions options;
    options.episodes = 100;
    options.seed = 0;
    const auto r = evaluate_policy("maze2d-umaze", scripted_policy(*expert), options);
    BOOST_TEST_MESSAGE("umaze expert: score " << r.score_mean() << " +- " << r.score_std() << ", return "
                                              << r.return_mean());
    BOOST_CHECK_SMALL(r.score_mean() - 100.0, kScoreTol);
    BOOST_CHECK_EQUAL(*r.success_rate(), 1.0);
    BOOST_CHECK_EQUAL(r.length_mean(), 300.0);
}

// A zero policy on sparse umaze: the ball barely moves from its reset point (velocity ~ N(0, 0.1^2), damped), so an
// episode that starts outside the goal cell never sees a reward (return exactly 0, score exactly
// -100 ref_min / (ref_max - ref_min)), and one that starts in the goal cell collects nearly every step.
BOOST_AUTO_TEST_CASE(zero_policy_scores) {
    const auto ref = *envs::reference_scores("maze2d-umaze");
    const double zero_score = -100.0 * ref.ref_min / (ref.ref_max - ref.ref_min);
    PolicyEvalOptions options;
    options.episodes = 40;
    options.seed = 1;
    options.record_trajectories = true;
    const auto r = evaluate_policy("maze2d-umaze", zero_policy(2), options);
    const auto& maze = envs::maze_by_name("umaze");
    std::size_t in_goal = 0;
    for (std::size_t e = 0; e < options.episodes; ++e) {
        const auto& obs = r.trajectories[e].observations;
        const bool starts_in_goal = std::hypot(obs(0, 0) - maze.goal_i, obs(0, 1) - maze.goal_j) < 0.2;
        in_goal += starts_in_goal ? 1 : 0;
        if (starts_in_goal) {
            BOOST_CHECK_GE(r.episodes[e].episode_return, 250.0);
        } else {
            BOOST_CHECK_EQUAL(r.episodes[e].episode_return, 0.0);
            BOOST_CHECK_CLOSE_FRACTION(r.episodes[e].score, zero_score, 1e-12);
        }
        BOOST_CHECK_EQUAL(r.episodes[e].length, 300u);
        for (std::size_t t = 0; t < r.episodes[e].length; ++t) BOOST_CHECK_EQUAL(r.trajectories[e].actions(t, 0), 0.0f);
    }
    BOOST_CHECK_GT(in_goal, 0u);             // 7 free cells: ~6 of 40 start in the goal cell
    BOOST_CHECK_LT(in_goal, options.episodes);
    BOOST_CHECK_LT(r.score_mean(), 50.0);
}

// Recorded trajectories: the reset observation first, one observation, action and reward per step, rewards summing
// to the return.
BOOST_AUTO_TEST_CASE(trajectories_are_consistent) {
    auto env = envs::make_env("pendulum");
    auto medium = envs::make_policy(*env, "medium");
    PolicyEvalOptions options;
    options.episodes = 3;
    options.seed = 9;
    options.record_trajectories = true;
    const auto r = evaluate_policy("pendulum", scripted_policy(*medium), options);
    BOOST_REQUIRE_EQUAL(r.trajectories.size(), 3u);
    for (std::size_t e = 0; e < 3; ++e) {
        const auto& tr = r.trajectories[e];
        BOOST_CHECK_EQUAL(tr.observations.shape()[0], 201u);
        BOOST_CHECK_EQUAL(tr.observations.shape()[1], 3u);
        BOOST_CHECK_EQUAL(tr.actions.shape()[0], 200u);
        BOOST_CHECK_EQUAL(tr.actions.shape()[1], 1u);
        double sum = 0.0;
        for (double x : tr.rewards) sum += x;
        BOOST_CHECK_EQUAL(sum, r.episodes[e].episode_return);
        data::Rng rng = data::Rng(9).fork(e);
        const auto first = env->reset(rng);
        for (std::size_t k = 0; k < 3; ++k) BOOST_CHECK_EQUAL(tr.observations(0, k), first[k]);
    }
    options.record_trajectories = false;
    BOOST_CHECK(evaluate_policy("pendulum", scripted_policy(*medium), options).trajectories.empty());
}

BOOST_AUTO_TEST_CASE(mean_std_is_population) {
    double m, s;
    mean_std({1.0, 2.0, 3.0, 4.0}, m, s);
    BOOST_CHECK_EQUAL(m, 2.5);
    BOOST_CHECK_CLOSE_FRACTION(s, std::sqrt(1.25), 1e-15);
}

BOOST_AUTO_TEST_CASE(errors_name_the_problem) {
    PolicyEvalOptions options;
    options.episodes = 2;
    BOOST_CHECK(contains(error_of([&] { evaluate_policy("pendulum", zero_policy(2), options); }),
                         "actions of shape (2, 2) for 2 observations, expected (2, 1)"));
    const BatchPolicy nan_policy = [](const Obs& obs) {
        return Actions(xt::xtensor<float, 2>::from_shape({obs.shape()[0], 1}) * 0.0f + std::nanf(""));
    };
    BOOST_CHECK(contains(error_of([&] { evaluate_policy("pendulum", nan_policy, options); }),
                         "non-finite action nan at step 0 of episode 0"));
    BOOST_CHECK(contains(error_of([&] { evaluate_policy("cartpole", zero_policy(1), options); }),
                         "no reference returns for 'cartpole'"));
    options.episodes = 0;
    BOOST_CHECK(contains(error_of([&] { evaluate_policy("pendulum", zero_policy(1), options); }), "at least one episode"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(maze_plot)

// The picture of the expert's umaze episodes: one wall square per '#' cell, the goal disc, one path and two dots per
// episode, well-formed.
BOOST_AUTO_TEST_CASE(expert_trajectories_svg) {
    auto env = envs::make_env("maze2d-umaze");
    auto expert = envs::make_policy(*env, "expert");
    PolicyEvalOptions options;
    options.episodes = 4;
    options.record_trajectories = true;
    const auto r = evaluate_policy("maze2d-umaze", scripted_policy(*expert), options);
    dydiff::test::TempDir dir;
    write_maze_trajectories_svg(dir / "traj.svg", r);
    std::ifstream in(dir / "traj.svg");
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string svg = ss.str();
    BOOST_CHECK_EQUAL(dydiff::test::svg_problem(svg), "");
    const auto& maze = envs::maze_by_name("umaze");
    std::size_t walls = 0;
    for (char c : maze.cells) walls += c == '#' ? 1 : 0;
    BOOST_CHECK_EQUAL(dydiff::test::count_of(svg, "<rect "), walls + 1);  // + the background
    BOOST_CHECK_EQUAL(dydiff::test::count_of(svg, "<polyline "), 4u);
    BOOST_CHECK_EQUAL(dydiff::test::count_of(svg, "<circle "), 1u + 2 * 4);
    BOOST_CHECK(contains(svg, "maze2d-umaze: 4 episodes"));
    BOOST_CHECK(contains(svg, "success 100%"));
    BOOST_CHECK(has_maze_layout("maze2d-large-dense"));
    BOOST_CHECK(!has_maze_layout("pendulum"));
    BOOST_CHECK(!has_maze_layout("maze2d-huge"));
}

// maze_true_paths from a reset observation follows the env itself under the same closed-loop policy (a pull towards
// the goal, through the walls' contacts), up to the float32 rounding of the start state.
BOOST_AUTO_TEST_CASE(true_paths_follow_the_env_from_a_set_state) {
    constexpr std::size_t kStarts = 3, kSteps = 60;
    constexpr float kTol = 1e-4f;  // the env keeps its state in double, the paths start from float observations
    auto env = envs::make_env("maze2d-medium");
    const auto& maze_env = dynamic_cast<const envs::Maze2dEnv&>(*env);
    const auto pull = [&](const float* o, float* a) {
        a[0] = std::clamp(static_cast<float>(maze_env.target_x()) - o[0] - 0.3f * o[2], -1.0f, 1.0f);
        a[1] = std::clamp(static_cast<float>(maze_env.target_y()) - o[1] - 0.3f * o[3], -1.0f, 1.0f);
    };
    xt::xtensor<float, 2> starts = xt::empty<float>({kStarts, std::size_t{4}});
    std::vector<std::vector<std::vector<float>>> expected(kStarts);
    for (std::size_t b = 0; b < kStarts; ++b) {
        std::vector<float> o = env->reset(100 + b);
        std::copy(o.begin(), o.end(), &starts(b, 0));
        expected[b].push_back(o);
        for (std::size_t t = 1; t < kSteps; ++t) {
            std::vector<float> a(2);
            pull(o.data(), a.data());
            o = env->step(a).obs;
            expected[b].push_back(o);
        }
    }
    const auto paths = maze_true_paths(maze_env.maze(), starts, kSteps, [&](const Obs& obs, std::size_t) {
        Actions a = xt::empty<float>({obs.shape()[0], std::size_t{2}});
        for (std::size_t b = 0; b < obs.shape()[0]; ++b) pull(&obs(b, 0), &a(b, 0));
        return a;
    });
    BOOST_TEST_REQUIRE(paths.shape()[1] == kSteps);
    for (std::size_t b = 0; b < kStarts; ++b)
        for (std::size_t t = 0; t < kSteps; ++t)
            for (std::size_t k = 0; k < 4; ++k)
                BOOST_TEST(std::abs(paths(b, t, k) - expected[b][t][k]) < kTol, "start " << b << " step " << t);
    xt::xtensor<float, 2> in_wall = starts;
    in_wall(1, 0) = 0.0f;  // cell (0, ...) is the border wall
    BOOST_CHECK(contains(error_of([&] { maze_true_paths(maze_env.maze(), in_wall, 2, {}); }),
                         "start 1 (0, "));
}

// The true path of a recorded maze2d window, replayed open loop from its first observation, is the dataset's own
// (our recipe runs the same physics), up to the float32 start: what imagined.svg draws for behaviour rollouts.
BOOST_AUTO_TEST_CASE(true_paths_replay_a_recorded_window) {
    constexpr std::size_t kSteps = 40;
    constexpr float kTol = 1e-4f;
    envs::GenerateConfig gen;
    gen.env = "maze2d-umaze";
    gen.steps = 1000;
    const data::Dataset d = envs::generate_dataset(gen);
    std::size_t start_row = d.size();  // the second row of the first episode with kSteps + 1 rows
    for (const auto& e : data::split_episodes(d))
        if (e.length() > kSteps) {
            start_row = e.start + 1;
            break;
        }
    BOOST_REQUIRE(start_row < d.size());
    const xt::xtensor<float, 2> start = xt::view(d.observations, xt::range(start_row, start_row + 1), xt::all());
    const auto paths = maze_true_paths(envs::maze_by_name("umaze"), start, kSteps, [&](const Obs&, std::size_t t) {
        return Actions(xt::view(d.actions, xt::range(start_row + t, start_row + t + 1), xt::all()));
    });
    for (std::size_t t = 0; t < kSteps; ++t)
        for (std::size_t k = 0; k < 4; ++k)
            BOOST_TEST(std::abs(paths(0, t, k) - d.observations(start_row + t, k)) < kTol, "step " << t);
}

BOOST_AUTO_TEST_CASE(imagined_vs_true_svg) {
    const auto& maze = envs::maze_by_name("umaze");
    std::vector<PathPair> pairs;
    for (std::size_t k = 0; k < 3; ++k) {
        xt::xtensor<float, 2> a = {{1.0f, 1.0f, 0.0f, 0.0f}, {1.2f, 1.0f + 0.1f * k, 0.0f, 0.0f}};
        xt::xtensor<float, 2> b = {{1.0f, 1.0f, 0.0f, 0.0f}, {1.1f, 1.0f, 0.0f, 0.0f}, {1.3f, 1.1f, 0.0f, 0.0f}};
        pairs.push_back({a, b});
    }
    dydiff::test::TempDir dir;
    write_imagined_vs_true_svg(dir / "i.svg", "maze2d-umaze", pairs, "a <title> & more");
    std::ifstream in(dir / "i.svg");
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string svg = ss.str();
    BOOST_CHECK_EQUAL(dydiff::test::svg_problem(svg), "");
    BOOST_CHECK_EQUAL(dydiff::test::count_of(svg, "<polyline "), 6u);
    BOOST_CHECK_EQUAL(dydiff::test::count_of(svg, "stroke-dasharray=\"5 3\""), 3u);
    BOOST_CHECK_EQUAL(dydiff::test::count_of(svg, "<circle "), 1u + 3 * 3);  // goal; per pair 2 end dots, 1 start
    BOOST_CHECK(contains(svg, "a &lt;title&gt; &amp; more"));
    BOOST_CHECK(contains(error_of([&] { render_imagined_vs_true_svg(maze, 1, 1, {}, "t"); }), "no imagined/true pairs"));
    BOOST_CHECK(contains(error_of([&] { write_imagined_vs_true_svg(dir / "p.svg", "pendulum", pairs, "t"); }),
                         "has no maze layout"));
}

BOOST_AUTO_TEST_CASE(maze_plot_refuses_other_envs) {
    PolicyEvalOptions options;
    options.episodes = 1;
    options.record_trajectories = true;
    const auto r = evaluate_policy("pendulum", zero_policy(1), options);
    dydiff::test::TempDir dir;
    BOOST_CHECK(contains(error_of([&] { write_maze_trajectories_svg(dir / "x.svg", r); }), "has no maze layout"));
    options.record_trajectories = false;
    const auto m = evaluate_policy("maze2d-umaze", zero_policy(2), options);
    BOOST_CHECK(contains(error_of([&] { write_maze_trajectories_svg(dir / "x.svg", m); }), "no trajectories"));
}

BOOST_AUTO_TEST_SUITE_END()
