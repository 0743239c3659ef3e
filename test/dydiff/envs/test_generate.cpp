// dydiff/envs/generate: determinism down to the file bytes, the D4RL layout of each recipe (timeouts at goal
// switches, infos/goal constant inside a segment, 200-step pendulum episodes), the reward relabelling options,
// and errors for unknown envs and kinds.
#include "support/errors.hpp"
#include "support/temp_dir.hpp"
#include "autograd/error.hpp"
#include "data/dataset.hpp"
#include "dydiff/envs/generate.hpp"
#include "dydiff/envs/maze2d.hpp"
#include "dydiff/envs/pendulum.hpp"

#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>

using dydiff::test::contains;
using dydiff::test::TempDir;

namespace fs = std::filesystem;
using namespace dydiff::envs;

namespace {

std::string file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

std::string error_of(const GenerateConfig& c) {
    try {
        generate_dataset(c);
    } catch (const dydiff::Error& e) {
        return e.what();
    }
    return "no error";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(generate)

BOOST_AUTO_TEST_CASE(same_seed_same_bytes) {
    TempDir tmp;
    for (const char* env : {"maze2d-medium", "pendulum"}) {
        GenerateConfig c;
        c.env = env;
        c.kind = std::string(env) == "pendulum" ? "medium-replay" : "waypoint";
        c.steps = 20000;
        c.seed = 9;
        dydiff::data::save_dataset_npz(generate_dataset(c), tmp / "a.npz");
        dydiff::data::save_dataset_npz(generate_dataset(c), tmp / "b.npz");
        c.seed = 10;
        dydiff::data::save_dataset_npz(generate_dataset(c), tmp / "c.npz");
        const std::string a = file_bytes(tmp / "a.npz");
        BOOST_CHECK_GT(a.size(), 20000u * 4u);
        BOOST_CHECK(a == file_bytes(tmp / "b.npz"));
        BOOST_CHECK(a != file_bytes(tmp / "c.npz"));
    }
}

BOOST_AUTO_TEST_CASE(maze_waypoint_layout_and_rewards) {
    GenerateConfig c;
    c.env = "maze2d-umaze";
    c.steps = 50000;
    c.seed = 1;
    const dydiff::data::Dataset d = generate_dataset(c);  // kind defaults to waypoint
    BOOST_REQUIRE_EQUAL(d.size(), 50000u);
    BOOST_REQUIRE_EQUAL(d.obs_dim(), 4u);
    BOOST_REQUIRE_EQUAL(d.action_dim(), 2u);
    BOOST_CHECK(!d.next_observations);  // D4RL's maze2d files have none
    const auto& goal = d.infos.at("infos/goal");
    BOOST_CHECK(d.infos.count("infos/qpos") && d.infos.count("infos/qvel"));
    const Maze& maze = maze_by_name("umaze");
    std::size_t switches = 0;
    for (std::size_t t = 0; t < d.size(); ++t) {
        BOOST_REQUIRE_EQUAL(d.terminals(t), 0.0f);
        BOOST_REQUIRE_LE(std::abs(d.actions(t, 0)), 1.0f);
        // Sparse reward against the eval target (1, 1), from observations[t] (D4RL's files, issue #194).
        BOOST_REQUIRE_EQUAL(d.rewards(t), maze_reward(d.observations(t, 0), d.observations(t, 1), 1.0, 1.0, false));
        if (t > 0 && d.timeouts(t - 1) == 0.0f) {
            BOOST_REQUIRE_EQUAL(goal(t, 0), goal(t - 1, 0));  // one goal per segment
            BOOST_REQUIRE_EQUAL(goal(t, 1), goal(t - 1, 1));
        }
        if (d.timeouts(t) != 0.0f) {
            ++switches;
            // The segment ends where its goal was reached (or after the safety limit of 1000 rows).
            const double dist = std::hypot(d.observations(t, 0) - goal(t, 0), d.observations(t, 1) - goal(t, 1));
            BOOST_CHECK_LE(dist, c.maze_goal_threshold + 1e-6);
        }
    }
    BOOST_TEST_MESSAGE("umaze: " << switches << " goal switches in " << d.size() << " rows");
    BOOST_CHECK_GT(switches, 50000u / 300u);  // the noisy controller keeps reaching its goals
    // The ball never leaves the free space.
    for (std::size_t t = 0; t < d.size(); t += 7)
        BOOST_REQUIRE_GE(wall_clearance(maze, d.observations(t, 0), d.observations(t, 1)), -1e-6);

    // Options: reward against the waypoint goal, from the next state.
    c.maze_reward_goal = "waypoint";
    c.maze_reward_timing = "post";
    c.env = "maze2d-umaze-dense";
    const dydiff::data::Dataset p = generate_dataset(c);
    const auto& pgoal = p.infos.at("infos/goal");
    BOOST_CHECK(p.observations == d.observations);  // the dense variant only changes the rewards
    for (std::size_t t = 0; t + 1 < p.size(); t += 13) {
        const double r = maze_reward(p.observations(t + 1, 0), p.observations(t + 1, 1), pgoal(t, 0), pgoal(t, 1), true);
        BOOST_REQUIRE_CLOSE_FRACTION(p.rewards(t), r, 1e-6);
    }
}

BOOST_AUTO_TEST_CASE(maze_random_kind_has_episode_limits) {
    GenerateConfig c;
    c.env = "maze2d-medium";
    c.kind = "random";
    c.steps = 1500;
    const dydiff::data::Dataset d = generate_dataset(c);
    for (std::size_t t = 0; t < d.size(); ++t) BOOST_CHECK_EQUAL(d.timeouts(t), (t + 1) % 600 == 0 ? 1.0f : 0.0f);
}

BOOST_AUTO_TEST_CASE(pendulum_kinds) {
    for (const auto& kind : dataset_kinds("pendulum")) {
        GenerateConfig c;
        c.env = "pendulum";
        c.kind = kind;
        c.steps = 800;  // medium-expert: two halves of two whole episodes each
        c.seed = 3;
        const dydiff::data::Dataset d = generate_dataset(c);
        BOOST_REQUIRE_EQUAL(d.size(), 800u);
        BOOST_REQUIRE(d.next_observations);
        double ret = 0.0;
        for (std::size_t t = 0; t < d.size(); ++t) {
            BOOST_REQUIRE_EQUAL(d.timeouts(t), (t + 1) % 200 == 0 ? 1.0f : 0.0f);
            if (d.timeouts(t) == 0.0f)
                for (std::size_t k = 0; k < 3; ++k) BOOST_REQUIRE_EQUAL((*d.next_observations)(t, k), d.observations(t + 1, k));
            // Reward from the pre-step state: -(theta^2 + 0.1 theta_dot^2 + 0.001 u^2), theta from the observation.
            const PendulumState s{std::atan2(d.observations(t, 1), d.observations(t, 0)), d.observations(t, 2)};
            BOOST_REQUIRE_CLOSE_FRACTION(d.rewards(t), pendulum_reward(s, d.actions(t, 0)), 1e-5);
            ret += d.rewards(t);
        }
        BOOST_TEST_MESSAGE("pendulum " << kind << ": mean return " << ret / 4.0);
    }
    BOOST_CHECK_EQUAL(default_steps("pendulum", "medium-expert"), 200000u);
    BOOST_CHECK_EQUAL(default_steps("maze2d-large-dense", "waypoint"), 4000000u);
}

BOOST_AUTO_TEST_CASE(unknown_env_and_kind_are_errors) {
    GenerateConfig c;
    c.env = "maze2d-tiny";
    BOOST_CHECK(contains(error_of(c), "unknown environment 'maze2d-tiny'"));
    c.env = "maze2d-umaze";
    c.kind = "expert";
    BOOST_CHECK(contains(error_of(c), "unknown dataset kind 'expert' for maze2d-umaze (known: waypoint, random)"));
    c.kind = "waypoint";
    c.maze_reward_goal = "target";
    c.steps = 10;
    BOOST_CHECK(contains(error_of(c), "expected eval or waypoint"));
    c.env = "pendulum";
    c.kind = "replay";
    BOOST_CHECK(contains(error_of(c), "medium-replay"));
}

BOOST_AUTO_TEST_SUITE_END()
