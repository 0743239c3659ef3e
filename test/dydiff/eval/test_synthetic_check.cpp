// The synthetic-transition check: the true one-step models of maze2d and pendulum reproduce the datasets our recipes
// generate (state error at float round-off, reward labels exact), a known perturbation is measured as itself, states
// inside a maze wall are not checked and next states inside a wall are counted, sampling draws the asked number, and
// an env whose observation is not its state has no oracle.
#include "data/transitions.hpp"
#include "dydiff/envs/generate.hpp"
#include "dydiff/eval/synthetic_check.hpp"

#include <boost/test/unit_test.hpp>

#include <cmath>

namespace {

using dydiff::eval::check_transitions;
using dydiff::eval::transition_oracle;

dydiff::data::Transitions recipe_transitions(const std::string& env, const std::string& kind, std::size_t steps) {
    dydiff::envs::GenerateConfig c;
    c.env = env;
    c.kind = kind;
    c.steps = steps;
    c.seed = 3;
    return dydiff::data::make_transitions(dydiff::envs::generate_dataset(c));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(synthetic_check)

BOOST_AUTO_TEST_CASE(oracles_reproduce_the_recipes_datasets) {
    for (const auto& [env, kind] : std::vector<std::pair<std::string, std::string>>{
             {"maze2d-umaze", "waypoint"}, {"maze2d-medium-dense", "waypoint"}, {"pendulum", "medium-replay"}}) {
        const auto oracle = transition_oracle(env);
        BOOST_TEST_REQUIRE(oracle.has_value(), env);
        const auto t = recipe_transitions(env, kind, 3000);
        const auto c = check_transitions(*oracle, t, std::vector<double>(oracle->obs_dim, 1.0), 0, 0);
        BOOST_TEST(c.total == t.size(), env);
        BOOST_TEST(c.checked == t.size(), env);  // real states are never inside a wall
        BOOST_TEST(c.invalid_next == 0u, env);
        BOOST_TEST(c.state_error_p90 < 1e-5, env << ": " << c.state_error_p90);
        BOOST_TEST(c.reward_error_mean < 1e-6, env << ": " << c.reward_error_mean);
        BOOST_TEST(c.reward_mean == c.reward_true_mean, boost::test_tools::tolerance(1e-9));
    }
}

BOOST_AUTO_TEST_CASE(a_known_perturbation_is_measured_as_itself) {
    const auto oracle = transition_oracle("pendulum");
    auto t = recipe_transitions("pendulum", "random", 500);
    for (std::size_t i = 0; i < t.size(); ++i) {
        t.next_observations(i, 2) += 0.5f;  // theta_dot off by 0.5
        t.rewards(i) += 2.0f;
    }
    const auto c = check_transitions(*oracle, t, {1.0, 1.0, 0.25}, 0, 0);
    BOOST_TEST(c.state_error_mean == 0.5, boost::test_tools::tolerance(1e-4));
    BOOST_TEST(c.state_error_p50 == 0.5, boost::test_tools::tolerance(1e-4));
    BOOST_TEST(c.state_error_z_mean == 2.0, boost::test_tools::tolerance(1e-4));  // 0.5 / 0.25
    BOOST_TEST(c.dim_error_mean[0] < 1e-5);
    BOOST_TEST(c.dim_error_mean[2] == 0.5, boost::test_tools::tolerance(1e-4));
    BOOST_TEST(c.reward_error_mean == 2.0, boost::test_tools::tolerance(1e-5));
    BOOST_TEST(c.reward_mean - c.reward_true_mean == 2.0, boost::test_tools::tolerance(1e-5));
}

BOOST_AUTO_TEST_CASE(wall_states_are_skipped_or_counted) {
    const auto oracle = transition_oracle("maze2d-umaze");
    auto t = dydiff::data::Transitions::zeros(3, 4, 2);
    // Row 0: s free (cell (1, 1)), s' free. Row 1: s inside the border wall. Row 2: s free, s' inside a wall.
    const float free_x = 1.0f, free_y = 1.0f, wall_x = -0.5f, wall_y = -0.5f;
    for (std::size_t i = 0; i < 3; ++i) {
        t.observations(i, 0) = i == 1 ? wall_x : free_x;
        t.observations(i, 1) = i == 1 ? wall_y : free_y;
        t.next_observations(i, 0) = i == 2 ? wall_x : free_x;
        t.next_observations(i, 1) = i == 2 ? wall_y : free_y;
    }
    BOOST_TEST(oracle->valid(&t.observations(0, 0)));
    BOOST_TEST(!oracle->valid(&t.observations(1, 0)));
    const auto c = check_transitions(*oracle, t, {1.0, 1.0, 1.0, 1.0}, 0, 0);
    BOOST_TEST(c.total == 3u);
    BOOST_TEST(c.checked == 2u);
    BOOST_TEST(c.invalid_next == 1u);
}

BOOST_AUTO_TEST_CASE(sampling_and_envs_without_an_oracle) {
    const auto oracle = transition_oracle("pendulum");
    const auto t = recipe_transitions("pendulum", "random", 1000);
    const auto c = check_transitions(*oracle, t, {1.0, 1.0, 1.0}, 100, 7);
    BOOST_TEST(c.total == 100u);
    BOOST_TEST(c.checked == 100u);
    // The locomotion tasks have one with the `mujoco` feature (tested in dydiff_mujoco), none without it.
    BOOST_TEST(transition_oracle("hopper-medium-v2").has_value() == static_cast<bool>(DYDIFF_HAVE_MUJOCO));
    BOOST_TEST(!transition_oracle("maze2d-tiny").has_value());
}

BOOST_AUTO_TEST_SUITE_END()
