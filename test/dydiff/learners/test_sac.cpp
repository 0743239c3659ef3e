// Tests of SAC (dydiff/learners/sac.hpp; docs/algorithm.md §5.4.8): the TD target with its entropy term on hand-made
// numbers, and α updated before the actor uses it. Learning is tested online on pendulum
// (test/dydiff/agent/test_online.cpp); resume, seeding and the action box are in test_resume.cpp's table.
#include "dydiff/learners/sac.hpp"

#include "fixtures.hpp"

#include <boost/test/unit_test.hpp>

#include <cmath>

using namespace dydiff;
using namespace dydiff::learners;
using autograd::Array;
using autograd::Tensor;

BOOST_AUTO_TEST_SUITE(sac)

BOOST_AUTO_TEST_CASE(td_target_keeps_the_entropy_term_and_masks_terminals) {
    // y = r + γ (1 − d) (min Q̄ − α log π'): rows (r, d, min Q̄, log π') = (1, 0, 10, −2), (2, 1, 20, 3),
    // (−1, 0, 4, 1), α = 0.5, γ = 0.9 -> 1 + 0.9 · 11 = 10.9, 2, −1 + 0.9 · 3.5 = 2.15.
    TensorBatch b;
    b.size = 3;
    b.rewards = Tensor(test::matrix({{1.0f}, {2.0f}, {-1.0f}}));
    b.not_done = Tensor(test::matrix({{1.0f}, {0.0f}, {1.0f}}));
    const Tensor y = sac_td_target(b, Tensor(test::matrix({{10.0f}, {20.0f}, {4.0f}})),
                                   Tensor(test::matrix({{-2.0f}, {3.0f}, {1.0f}})), 0.5f, 0.9f);
    BOOST_TEST(y.value()(0, 0) == 10.9f, boost::test_tools::tolerance(1e-6f));
    BOOST_TEST(y.value()(1, 0) == 2.0f);
    BOOST_TEST(y.value()(2, 0) == 2.15f, boost::test_tools::tolerance(1e-6f));
    BOOST_TEST(!y.requires_grad());
}

BOOST_AUTO_TEST_CASE(alpha_is_updated_first) {
    // α starts at 1; the first Adam step moves log α by −alpha_lr · sign(g), g = −(mean log π + target), and the
    // reported α (the one of the actor loss and of the target) is already the updated one. No clamp: α follows.
    SacConfig config;
    config.hidden = 32;
    config.alpha_lr = 0.1f;
    Sac learner(test::small_spec(1), config);
    BOOST_TEST(learner.alpha() == 1.0f);
    data::Rng rng(2);
    const Stats s = learner.update(test::random_batch(test::small_spec(1), 32, rng));
    BOOST_TEST(s[3].first == "alpha");
    BOOST_TEST(s[4].first == "log_pi");
    const double g = -(s[4].second - 2.0);  // target entropy −A = −2
    const double expected_log_alpha = g > 0 ? -0.1 : 0.1;
    BOOST_TEST(std::log(s[3].second) == expected_log_alpha, boost::test_tools::tolerance(1e-4));
    BOOST_TEST(learner.alpha() == s[3].second, boost::test_tools::tolerance(1e-6));
    config.alpha_lr = 2.0f;
    Sac pushed(test::small_spec(1), config);
    for (int i = 0; i < 8; ++i) pushed.update(test::random_batch(test::small_spec(1), 32, rng));
    BOOST_TEST(pushed.alpha() < std::exp(-10.0f));  // the policy's entropy stays above −A: log α keeps falling
}

BOOST_AUTO_TEST_SUITE_END()
