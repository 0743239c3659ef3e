// dydiff/envs: MBPO termination rules on hand-made rows, the rule lookup, normalized scores (D4RL constants and
// our measured ones, which must reproduce from the documented command).
#include "support/errors.hpp"
#include "autograd/error.hpp"
#include "dydiff/envs/controllers.hpp"
#include "dydiff/envs/env.hpp"
#include "dydiff/envs/locomotion.hpp"
#include "dydiff/envs/maze2d.hpp"
#include "dydiff/envs/scores.hpp"
#include "dydiff/envs/termination.hpp"

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <limits>
#include <string>

using dydiff::test::contains;

using namespace dydiff::envs;

namespace {

/// (B, S) rows with the first two columns set and every other column 0.5.
xt::xtensor<float, 2> rows_with(std::initializer_list<std::pair<float, float>> heads, std::size_t s) {
    xt::xtensor<float, 2> out = 0.5f * xt::ones<float>({heads.size(), s});
    std::size_t i = 0;
    for (const auto& [a, b] : heads) {
        out(i, 0) = a;
        out(i, 1) = b;
        ++i;
    }
    return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(termination)

BOOST_AUTO_TEST_CASE(hopper_rule) {
    constexpr std::size_t kS = 11;
    xt::xtensor<float, 2> next = rows_with({{1.2f, 0.1f}, {0.7f, 0.0f}, {1.2f, 0.2f}, {1.2f, -0.19f}, {1.2f, 0.0f},
                                            {1.2f, 0.0f}, {1.2f, 0.0f}},
                                           kS);
    next(4, 5) = -150.0f;  // |s'[1:]| >= 100 through a large negative entry: done under MBPO's rule (P17)
    next(5, 7) = 100.0f;
    next(6, 3) = std::numeric_limits<float>::quiet_NaN();
    const xt::xtensor<float, 2> obs = xt::zeros<float>({std::size_t{7}, kS});
    const xt::xtensor<float, 2> act = xt::zeros<float>({std::size_t{7}, std::size_t{3}});
    const xt::xtensor<float, 1> done = hopper_termination(obs, act, next);
    const float expected[] = {0, 1, 1, 0, 1, 1, 1};
    for (std::size_t i = 0; i < 7; ++i) BOOST_CHECK_MESSAGE(done(i) == expected[i], "row " << i << ": " << done(i));
}

BOOST_AUTO_TEST_CASE(walker_cheetah_maze_pendulum_rules) {
    const xt::xtensor<float, 2> next =
        rows_with({{1.0f, 0.0f}, {0.8f, 0.0f}, {2.0f, 0.0f}, {1.5f, -1.0f}, {1.5f, 0.99f}, {1.9f, -0.5f}}, 17);
    const xt::xtensor<float, 2> obs = xt::zeros<float>({std::size_t{6}, std::size_t{17}});
    const xt::xtensor<float, 2> act = xt::zeros<float>({std::size_t{6}, std::size_t{6}});
    const xt::xtensor<float, 1> done = walker2d_termination(obs, act, next);
    const float expected[] = {0, 1, 1, 1, 0, 0};
    for (std::size_t i = 0; i < 6; ++i) BOOST_CHECK_MESSAGE(done(i) == expected[i], "row " << i << ": " << done(i));
    for (const char* name : {"halfcheetah-medium-v2", "maze2d-umaze-v1", "maze2d-large-dense", "pendulum"}) {
        const xt::xtensor<float, 1> never = termination_fn(name)(obs, act, next);
        BOOST_CHECK_EQUAL(xt::sum(never)(), 0.0f);
    }
    // Row 4 (height 1.5, angle 0.99) tells the two rules apart: walker2d lives, hopper (|angle| >= 0.2) falls.
    BOOST_CHECK_EQUAL(termination_fn("walker2d-medium-replay-v2")(obs, act, next)(4), 0.0f);
    BOOST_CHECK_EQUAL(termination_fn("hopper-medium-expert-v2")(obs, act, next)(4), 1.0f);
}

BOOST_AUTO_TEST_CASE(errors) {
    std::string e;
    try {
        termination_fn("ant-medium-v2");
    } catch (const dydiff::Error& err) {
        e = err.what();
    }
    BOOST_CHECK(contains(e, "no termination rule for task 'ant-medium-v2'"));
    const xt::xtensor<float, 2> a = xt::zeros<float>({std::size_t{3}, std::size_t{11}});
    const xt::xtensor<float, 2> b = xt::zeros<float>({std::size_t{2}, std::size_t{11}});
    BOOST_CHECK_THROW(hopper_termination(a, a, b), dydiff::Error);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(scores)

BOOST_AUTO_TEST_CASE(d4rl_constants) {
    BOOST_CHECK_CLOSE_FRACTION(*normalized_score("hopper-medium-v2", 3234.3), 100.0, 1e-12);
    BOOST_CHECK_SMALL(*normalized_score("hopper-medium-v2", -20.272305), 1e-12);
    BOOST_CHECK_CLOSE_FRACTION(*normalized_score("halfcheetah-medium-expert-v2", 12135.0), 100.0, 1e-12);
    BOOST_CHECK_SMALL(*normalized_score("walker2d", 1.629008), 1e-12);
    BOOST_CHECK_CLOSE_FRACTION(*normalized_score("maze2d-umaze-v1", 161.86), 100.0, 1e-12);
    BOOST_CHECK_SMALL(*normalized_score("maze2d-large-dense-v1", 30.569041), 1e-12);
    BOOST_CHECK_EQUAL(reference_scores("maze2d-medium-v1")->ref_max, 277.39);
    BOOST_CHECK(!normalized_score("hopperx-v2", 1.0));
    BOOST_CHECK(!normalized_score("ant-medium-v2", 1.0));
    BOOST_CHECK(!normalized_score("maze2d-umaze-v0", 1.0));
}

// Our built-in tasks use constants measured on our envs; the documented command must reproduce them.
BOOST_AUTO_TEST_CASE(builtin_constants_reproduce) {
    constexpr double kPrintedTol = 1e-4;  // the table holds the means as printed with 4 decimals
    for (const auto& name : known_env_names()) {
        if (!locomotion_task_of(name).empty()) continue;  // D4RL's constants (the mujoco feature's envs)
        // maze2d-*-mujoco borrows our simulator's constants (test/dydiff/mujoco/test_maze2d.cpp checks how close).
        if (const auto maze = parse_maze_env_name(name); maze && maze->mujoco) continue;
        const auto ref = reference_scores(name);
        BOOST_REQUIRE_MESSAGE(ref, name);
        BOOST_CHECK(contains(ref->source, "measured"));
        BOOST_CHECK_NE(ref->ref_max, reference_scores(name + "-v1") ? reference_scores(name + "-v1")->ref_max : 0.0);
        auto env = make_env(name);
        for (const char* kind : {"random", "expert"}) {
            auto policy = make_policy(*env, kind);
            const auto stats = run_episodes(*env, *policy, 1000, 0);
            double mean = 0.0;
            for (const auto& s : stats) mean += s.episode_return;
            mean /= static_cast<double>(stats.size());
            const double table = std::string(kind) == "random" ? ref->ref_min : ref->ref_max;
            BOOST_CHECK_MESSAGE(std::abs(mean - table) <= kPrintedTol,
                                name << " " << kind << ": measured " << mean << ", table " << table);
        }
    }
}

BOOST_AUTO_TEST_SUITE_END()
