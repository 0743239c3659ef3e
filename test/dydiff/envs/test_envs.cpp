// dydiff/envs: pendulum and maze2d steps against hand-computed values and closed forms, the wall-contact
// invariant under random driving, the scripted maze expert's success rate, episode bookkeeping and errors.
#include "support/errors.hpp"
#include "autograd/error.hpp"
#include "data/rng.hpp"
#include "dydiff/envs/controllers.hpp"
#include "dydiff/envs/env.hpp"
#include "dydiff/envs/maze2d.hpp"
#include "dydiff/envs/maze2d_mujoco.hpp"
#include "dydiff/envs/pendulum.hpp"

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <string>

using dydiff::test::error_of;
using dydiff::test::contains;

using namespace dydiff::envs;

namespace {

constexpr double kTol = 1e-12;         // double arithmetic against the same formula in another order
constexpr double kContactTol = 1e-12;  // allowed overlap of ball and wall after a projection (rounding)
constexpr double kBoxTol = 1e-6;       // the float observation box against double positions

}  // namespace

BOOST_AUTO_TEST_SUITE(pendulum)

// Hand-computed with Python's math module from the Pendulum-v1 equations (docs/environments.md):
// theta 0.5, theta_dot 1.0, u 1.5: accel = 15 sin 0.5 + 3 * 1.5; theta_dot' = 1 + 0.05 accel; theta' = 0.5 + 0.05
// theta_dot'; reward -(0.25 + 0.1 + 0.00225).
BOOST_AUTO_TEST_CASE(step_matches_hand_computed_values) {
    PendulumState s{0.5, 1.0};
    BOOST_CHECK_CLOSE_FRACTION(pendulum_reward(s, 1.5), -0.35225, 1e-14);
    pendulum_step(s, 1.5);
    BOOST_CHECK_CLOSE_FRACTION(s.theta_dot, 1.5845691539531521, 1e-14);
    BOOST_CHECK_CLOSE_FRACTION(s.theta, 0.5792284576976576, 1e-14);
    // Clips: u 5 -> 2, the speed 7.9 + 0.05 (15 sin(-3) + 6) > 8 -> 8; the reward uses the clipped torque.
    PendulumState c{-3.0, 7.9};
    BOOST_CHECK_CLOSE_FRACTION(pendulum_reward(c, 5.0), -(9.0 + 0.1 * 7.9 * 7.9 + 0.004), 1e-14);
    pendulum_step(c, 5.0);
    BOOST_CHECK_EQUAL(c.theta_dot, 8.0);
    BOOST_CHECK_CLOSE_FRACTION(c.theta, -2.6, 1e-14);
    // The angle wraps to [-pi, pi) in the cost: 4 rad costs like 4 - 2 pi.
    BOOST_CHECK_CLOSE_FRACTION(angle_normalize(4.0), -2.2831853071795862, 1e-14);
    BOOST_CHECK_CLOSE_FRACTION(angle_normalize(-M_PI), -M_PI, 1e-15);
}

BOOST_AUTO_TEST_CASE(env_reward_is_pre_step_and_episode_truncates_at_200) {
    PendulumEnv env;
    std::vector<float> obs = env.reset(7);
    BOOST_REQUIRE_EQUAL(obs.size(), 3u);
    BOOST_CHECK_CLOSE_FRACTION(obs[0] * obs[0] + obs[1] * obs[1], 1.0f, 1e-6f);
    const PendulumState before = env.state();
    StepResult r = env.step({0.7f});
    BOOST_CHECK_EQUAL(r.reward, pendulum_reward(before, 0.7f));
    BOOST_CHECK_CLOSE_FRACTION(r.obs[2], env.state().theta_dot, 1e-6);
    std::size_t steps = 1;
    while (!r.truncated) {
        BOOST_REQUIRE(!r.terminated);
        r = env.step({0.0f});
        ++steps;
    }
    BOOST_CHECK_EQUAL(steps, 200u);
    BOOST_CHECK(contains(error_of([&] { env.step({0.0f}); }), "after the episode ended"));
    BOOST_CHECK(contains(error_of([&] { env.reset(1); env.step({0.0f, 1.0f}); }), "expected 1"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(maze2d)

// Closed form of the free-space update under a constant action: v_k = a^k v_0 + c u (1 - a^k) / (1 - a) with
// a = 1 - h b / (m + h b), c = 100 h / (m + h b), and x_K = x_0 + h sum_{k=1..K} v_k (docs/environments.md).
BOOST_AUTO_TEST_CASE(free_space_step_matches_closed_form) {
    const Maze& maze = maze_by_name("medium");  // cells (1..2, 1..2) are a free 2x2 block: [0.3, 2.3]^2
    const double h = 0.01, m = 4.18879, b = 1.0;
    const double a = 1.0 - h * b / (m + h * b), c = 100.0 * h / (m + h * b);
    const double x0 = 1.3, y0 = 1.2, vx0 = 0.3, vy0 = -0.2, ux = 0.5, uy = -1.0;
    PointMassState s{x0, y0, vx0, vy0};
    double x = x0, y = y0;
    for (int k = 1; k <= 10; ++k) {
        point_mass_step(maze, s, ux, uy);
        const double ak = std::pow(a, k);
        const double vx = ak * vx0 + c * ux * (1.0 - ak) / (1.0 - a);
        const double vy = ak * vy0 + c * uy * (1.0 - ak) / (1.0 - a);
        x += h * vx;
        y += h * vy;
        BOOST_CHECK_SMALL(s.vx - vx, kTol);
        BOOST_CHECK_SMALL(s.vy - vy, kTol);
        BOOST_CHECK_SMALL(s.x - x, kTol);
        BOOST_CHECK_SMALL(s.y - y, kTol);
    }
    // Clips before the step: action 3 acts as 1, velocity 7 as 5.
    PointMassState fast{1.3, 1.3, 7.0, -7.0};
    point_mass_step(maze, fast, 3.0, -3.0);
    BOOST_CHECK_SMALL(fast.vx - (5.0 * a + c), kTol);
    BOOST_CHECK_SMALL(fast.vy + (5.0 * a + c), kTol);
}

// Driving at full speed into a wall: the ball stops with its surface on the wall (never inside, never through),
// the normal velocity is zeroed and the tangential one kept (frictionless, condim 1).
BOOST_AUTO_TEST_CASE(wall_contact_stops_and_slides) {
    const Maze& maze = maze_by_name("umaze");
    // Cell (3, 1) is free, cell (4, 1) a wall: its face is at qpos x = 4 - 0.7 = 3.3, so the ball stops at x = 3.2.
    PointMassState s{3.0, 1.0, 5.0, 0.5};
    bool touched = false;
    for (int k = 0; k < 40; ++k) {
        point_mass_step(maze, s, 1.0, 0.0);
        BOOST_REQUIRE_GE(wall_clearance(maze, s.x, s.y), -kContactTol);
        BOOST_REQUIRE_LE(s.x, 3.2 + kContactTol);
        touched = touched || s.vx == 0.0;
    }
    BOOST_CHECK(touched);
    BOOST_CHECK_SMALL(s.x - 3.2, kContactTol);
    BOOST_CHECK_EQUAL(s.vx, 0.0);
    BOOST_CHECK_GT(s.vy, 0.0);  // still sliding along the wall (only damping slows it)
}

// Property: random driving with long full-throttle bursts never puts the ball inside a wall (clearance >= 0) and
// keeps it in the observation box, on all three mazes, over 1.2 million steps; the ball does touch walls often.
BOOST_AUTO_TEST_CASE(random_driving_never_enters_a_wall) {
    constexpr std::size_t kStepsPerMaze = 400000;
    dydiff::data::Rng rng(2024);
    for (const char* name : {"umaze", "medium", "large"}) {
        const Maze& maze = maze_by_name(name);
        const Maze2dEnv env(maze, false);
        const Box box = env.observation_space();
        PointMassState s = maze_reset_state(maze, rng);
        double ux = 0.0, uy = 0.0;
        std::size_t contacts = 0;
        for (std::size_t t = 0; t < kStepsPerMaze; ++t) {
            if (rng.randint(20) == 0) {  // a new action every ~20 steps, often saturated
                ux = rng.uniform(-1.5f, 1.5f);
                uy = rng.uniform(-1.5f, 1.5f);
            }
            point_mass_step(maze, s, ux, uy);
            const double clearance = wall_clearance(maze, s.x, s.y);
            if (clearance < -kContactTol || s.x < box.low[0] - kBoxTol || s.x > box.high[0] + kBoxTol ||
                s.y < box.low[1] - kBoxTol || s.y > box.high[1] + kBoxTol) {
                BOOST_FAIL(name << ": step " << t << " puts the ball at (" << s.x << ", " << s.y
                                << "), clearance " << clearance);
            }
            contacts += clearance < 1e-9;
        }
        BOOST_TEST_MESSAGE(name << ": " << contacts << " steps in contact");
        BOOST_CHECK_GT(contacts, kStepsPerMaze / 100);
    }
}

BOOST_AUTO_TEST_CASE(mazes_goals_limits_and_reset_distribution) {
    BOOST_CHECK_EQUAL(maze_by_name("umaze").goal_i, 1);
    BOOST_CHECK_EQUAL(maze_by_name("umaze").goal_j, 1);
    BOOST_CHECK_EQUAL(maze_by_name("medium").goal_i, 6);
    BOOST_CHECK_EQUAL(maze_by_name("medium").goal_j, 6);
    BOOST_CHECK_EQUAL(maze_by_name("large").goal_i, 7);
    BOOST_CHECK_EQUAL(maze_by_name("large").goal_j, 9);
    BOOST_CHECK_EQUAL(make_env("maze2d-umaze")->max_episode_steps(), 300u);
    BOOST_CHECK_EQUAL(make_env("maze2d-medium-dense")->max_episode_steps(), 600u);
    BOOST_CHECK_EQUAL(make_env("maze2d-large")->max_episode_steps(), 800u);
    BOOST_CHECK_EQUAL(maze_by_name("umaze").free_cells().size(), 7u);
    // Reset: a free cell (i, j) plus U(-0.1, 0.1) per axis, so the position rounds to a free cell's index.
    const Maze& maze = maze_by_name("large");
    dydiff::data::Rng rng(5);
    for (int k = 0; k < 1000; ++k) {
        const PointMassState s = maze_reset_state(maze, rng);
        const int i = static_cast<int>(std::lround(s.x)), j = static_cast<int>(std::lround(s.y));
        BOOST_REQUIRE(!maze.wall(i, j));
        BOOST_REQUIRE_LE(std::abs(s.x - i), 0.1);
        BOOST_REQUIRE_LE(std::abs(s.y - j), 0.1);
    }
    BOOST_CHECK(contains(error_of([] { maze_by_name("huge"); }), "known: umaze, medium, large"));
    BOOST_CHECK(contains(error_of([] { parse_maze("bad", "###\\#O#\\###", 10); }), "0 goal cells"));
    BOOST_CHECK(contains(error_of([] { parse_maze("bad", "###\\#GO\\###", 10); }), "border cell"));
}

// Sparse reward 1[||pos - target|| <= 0.5] from the post-step position; dense exp(-dist); target = the goal cell's
// index (1, 1) in umaze (the obs-vs-wall offset: the cell spans [0.3, 1.3]).
BOOST_AUTO_TEST_CASE(env_rewards_use_post_step_position) {
    BOOST_CHECK_EQUAL(maze_reward(1.3, 1.4, 1.0, 1.0, false), 1.0);
    BOOST_CHECK_EQUAL(maze_reward(1.31, 1.41, 1.0, 1.0, false), 0.0);
    BOOST_CHECK_CLOSE_FRACTION(maze_reward(1.3, 1.4, 1.0, 1.0, true), std::exp(-0.5), 1e-12);
    auto env = make_env("maze2d-umaze-dense");
    auto& maze_env = dynamic_cast<Maze2dEnv&>(*env);
    env->reset(3);
    for (int k = 0; k < 5; ++k) {
        const StepResult r = env->step({0.3f, -0.8f});
        const PointMassState& s = maze_env.state();
        BOOST_CHECK_EQUAL(r.reward, maze_reward(s.x, s.y, 1.0, 1.0, true));
        BOOST_CHECK_EQUAL(r.obs[0], static_cast<float>(s.x));
        BOOST_CHECK(!r.terminated);
    }
}

// The scripted expert (no noise) reaches the target in >= 90% of evaluation episodes on every maze.
BOOST_AUTO_TEST_CASE(expert_reaches_the_goal) {
    constexpr double kMinSuccess = 0.9;
    constexpr std::size_t kEpisodes = 100;
    for (const char* name : {"maze2d-umaze", "maze2d-medium", "maze2d-large"}) {
        auto env = make_env(name);
        auto expert = make_policy(*env, "expert");
        const auto stats = run_episodes(*env, *expert, kEpisodes, 11);
        std::size_t successes = 0;
        for (const auto& s : stats) successes += s.success.value() ? 1 : 0;
        BOOST_TEST_MESSAGE(name << ": expert success " << successes << " / " << kEpisodes);
        BOOST_CHECK_GE(static_cast<double>(successes), kMinSuccess * kEpisodes);
    }
}

BOOST_AUTO_TEST_CASE(unknown_names_are_errors) {
    const std::string e = error_of([] { make_env("cartpole"); });
    BOOST_CHECK(contains(e, "unknown environment 'cartpole'"));
    BOOST_CHECK(contains(e, "maze2d-large-dense"));
    BOOST_CHECK(contains(e, "pendulum"));
    auto env = make_env("maze2d-umaze");
    BOOST_CHECK(contains(error_of([&] { make_policy(*env, "medium"); }), "known: expert, random"));
    BOOST_CHECK(contains(error_of([&] { env->step({0.0f, 0.0f}); }), "before reset()"));
}

// maze2d-<size>[-dense][-mujoco]: the name's parts, in that order only.
BOOST_AUTO_TEST_CASE(maze_env_names_parse) {
    const auto umaze = parse_maze_env_name("maze2d-umaze");
    BOOST_TEST_REQUIRE(umaze.has_value());
    BOOST_TEST(umaze->size == "umaze");
    BOOST_TEST(!umaze->dense);
    BOOST_TEST(!umaze->mujoco);
    const auto large = parse_maze_env_name("maze2d-large-dense-mujoco");
    BOOST_TEST_REQUIRE(large.has_value());
    BOOST_TEST(large->size == "large");
    BOOST_TEST(large->dense);
    BOOST_TEST(large->mujoco);
    BOOST_TEST(parse_maze_env_name("maze2d-medium-mujoco")->mujoco);
    for (const char* bad : {"maze2d-umaze-mujoco-dense", "maze2d-umaze-v1", "maze2d-", "maze2d-huge", "pendulum",
                            "maze2d-mujoco", "maze2d-umaze-dense-dense"})
        BOOST_TEST(!parse_maze_env_name(bad).has_value(), bad);
    // The default simulator is ours, and the env's name says which one steps it.
    const Maze2dEnv env(maze_by_name("medium"), true);
    BOOST_TEST(env.simulator().kind() == "ours");
    BOOST_TEST(env.name() == "maze2d-medium-dense");
}

// The generated MJCF (no MuJoCo needed to write it): one box per wall cell at world (i + 1, j + 1), the ball body at
// world (1.2, 1.2), D4RL's option and default settings.
BOOST_AUTO_TEST_CASE(maze_mjcf_text) {
    for (const char* size : {"umaze", "medium", "large"}) {
        const Maze& maze = maze_by_name(size);
        const std::string xml = maze_mjcf(maze);
        std::size_t boxes = 0, walls = 0;
        for (std::size_t at = xml.find("type=\"box\""); at != std::string::npos; at = xml.find("type=\"box\"", at + 1))
            ++boxes;
        for (int i = 0; i < maze.rows; ++i)
            for (int j = 0; j < maze.cols; ++j) walls += maze.wall(i, j);
        BOOST_TEST(boxes == walls, size);
        BOOST_TEST(contains(xml, "<mujoco model=\"maze2d-" + std::string(size) + "\">"));
        BOOST_TEST(contains(xml, "<option timestep=\"0.01\" gravity=\"0 0 0\" integrator=\"Euler\"/>"));
        BOOST_TEST(contains(xml, "<geom condim=\"1\" density=\"1000\" margin=\"0.002\"/>"));
        BOOST_TEST(contains(xml, "<body name=\"ball\" pos=\"1.2 1.2 0\">"));
        BOOST_TEST(contains(xml, "<geom name=\"wall_0_0\" type=\"box\" pos=\"1 1 0\" size=\"0.5 0.5 0.2\"/>"));
        const int last_i = maze.rows - 1, last_j = maze.cols - 1;
        BOOST_TEST(contains(xml, "name=\"wall_" + std::to_string(last_i) + "_" + std::to_string(last_j) +
                                     "\" type=\"box\" pos=\"" + std::to_string(last_i + 1) + " " +
                                     std::to_string(last_j + 1) + " 0\""));
    }
}

#if !DYDIFF_HAVE_MUJOCO
// Without the `mujoco` feature a -mujoco maze is an Error that says how to build it (the dydiff_mujoco suite tests
// the env itself).
BOOST_AUTO_TEST_CASE(mujoco_maze_needs_the_feature) {
    BOOST_TEST(contains(error_of([] { make_env("maze2d-umaze-mujoco"); }), "-Dmujoco=enabled"));
}
#endif

BOOST_AUTO_TEST_SUITE_END()
