// The reward filter and synthetic transitions (dydiff/rollout/filter.hpp; docs/algorithm.md §4.4, §4.5): numpy's
// linear quantile on hand-computed values, hardmax ties, softmax's exact kept count and its sampling law, and the
// transition invariants (real s0, nothing after a termination, at most H - 1 rows per trajectory).
#include "support/errors.hpp"
#include "dydiff/rollout/filter.hpp"

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <set>
#include <vector>

using namespace dydiff;

namespace {

FilterConfig filter(const std::string& kind, double keep, double temperature = 0.05) {
    FilterConfig c;
    c.kind = kind;
    c.keep = keep;
    c.temperature = temperature;
    return c;
}

// r(s, a) = s[0] + 10 a[0]: easy to sum by hand.
xt::xtensor<float, 1> toy_reward(const xt::xtensor<float, 2>& obs, const xt::xtensor<float, 2>& act) {
    xt::xtensor<float, 1> r = xt::empty<float>({obs.shape()[0]});
    for (std::size_t i = 0; i < obs.shape()[0]; ++i) r(i) = obs(i, 0) + 10.0f * act(i, 0);
    return r;
}

// done when s'[0] >= 100.
xt::xtensor<float, 1> toy_done(const xt::xtensor<float, 2>&, const xt::xtensor<float, 2>&,
                               const xt::xtensor<float, 2>& next) {
    xt::xtensor<float, 1> d = xt::empty<float>({next.shape()[0]});
    for (std::size_t i = 0; i < next.shape()[0]; ++i) d(i) = next(i, 0) >= 100.0f ? 1.0f : 0.0f;
    return d;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(reward_filter)

BOOST_AUTO_TEST_CASE(a_non_finite_predicted_return_stops_the_dydiff_loop) {
    // NonFiniteError: train_agent catches it and names the last good checkpoint (dydiff/agent/agent.cpp).
    data::Rng rng(1);
    BOOST_CHECK_THROW(filter_trajectories({1.0, std::nan(""), 2.0}, filter("softmax", 0.5), rng), NonFiniteError);
    BOOST_CHECK_THROW(filter_trajectories({HUGE_VAL}, filter("none", 1.0), rng), NonFiniteError);
}

BOOST_AUTO_TEST_CASE(quantile_matches_numpy_linear) {
    // numpy.quantile([3, 1, 4, 1, 5], q): sorted [1, 1, 3, 4, 5], position q * 4.
    const std::vector<double> v{3, 1, 4, 1, 5};
    BOOST_TEST(quantile_linear(v, 0.0) == 1.0);
    BOOST_TEST(quantile_linear(v, 1.0) == 5.0);
    BOOST_TEST(quantile_linear(v, 0.5) == 3.0);
    BOOST_TEST(std::abs(quantile_linear(v, 0.4) - 2.2) < 1e-12);   // position 1.6: 1 + 0.6 * (3 - 1)
    BOOST_TEST(std::abs(quantile_linear(v, 0.9) - 4.6) < 1e-12);   // position 3.6: 4 + 0.6 * (5 - 4)
    BOOST_TEST(quantile_linear({7.0}, 0.3) == 7.0);
}

BOOST_AUTO_TEST_CASE(hardmax_keeps_the_top_fraction_and_ties) {
    data::Rng rng(0);
    std::vector<double> r;
    for (int i = 0; i < 10; ++i) r.push_back(static_cast<double>(i));
    // q = 0.6: threshold quantile(0.4) = 3.6, keeps 4..9.
    BOOST_TEST((filter_trajectories(r, filter("hardmax", 0.6), rng) == std::vector<std::size_t>{4, 5, 6, 7, 8, 9}));
    // Ties at the threshold are all kept: more than q K.
    const std::vector<double> ties{1, 2, 2, 2, 2};
    BOOST_TEST(filter_trajectories(ties, filter("hardmax", 0.2), rng).size() == 4u);
    BOOST_TEST(filter_trajectories(r, filter("hardmax", 1.0), rng).size() == 10u);
    BOOST_TEST(filter_trajectories(r, filter("none", 0.3), rng).size() == 10u);
}

BOOST_AUTO_TEST_CASE(softmax_keeps_floor_qk_distinct_and_prefers_high_returns) {
    data::Rng rng(1);
    std::vector<double> r;
    for (int i = 0; i < 50; ++i) r.push_back(static_cast<double>(i % 7) * 3.0 - 4.0);
    for (int rep = 0; rep < 20; ++rep) {
        const auto kept = filter_trajectories(r, filter("softmax", 0.6), rng);
        BOOST_TEST(kept.size() == 30u);
        BOOST_TEST(std::set<std::size_t>(kept.begin(), kept.end()).size() == 30u);
        BOOST_TEST(std::is_sorted(kept.begin(), kept.end()));
    }
    // Huge returns must not overflow (log-sum-exp): R up to 1e6 with τ = 0.05.
    std::vector<double> big{1e6, -1e6, 0.0, 5e5};
    BOOST_TEST((filter_trajectories(big, filter("softmax", 0.25), rng) == std::vector<std::size_t>{0}));
}

BOOST_AUTO_TEST_CASE(softmax_first_pick_follows_its_probabilities) {
    // K = 3, q = 1/3 (one pick): the pick frequency must match p ∝ exp(z / τ) mixed with ε. τ = 1 keeps all three
    // probabilities away from 0 and 1 so that a wrong law would show.
    const std::vector<double> r{0.0, 1.0, 2.0};
    const double mean = 1.0, sd = std::sqrt(2.0 / 3.0);
    std::vector<double> p;
    double total = 0.0;
    for (double v : r) {
        p.push_back(std::exp((v - mean) / (sd + 1e-6)));
        total += p.back();
    }
    data::Rng rng(7);
    std::vector<int> count(3, 0);
    const int n = 30000;
    for (int i = 0; i < n; ++i) ++count[filter_trajectories(r, filter("softmax", 1.0 / 3.0, 1.0), rng).at(0)];
    for (std::size_t b = 0; b < 3; ++b) {
        const double expect = (p[b] / total) * (1 - 1e-6) + 1e-6 / 3;
        const double sigma = std::sqrt(expect * (1 - expect) / n);
        BOOST_TEST(std::abs(count[b] / double(n) - expect) < 5 * sigma, "trajectory " << b << ": " << count[b] / double(n)
                                                                                       << " vs " << expect);
    }
}

BOOST_AUTO_TEST_CASE(bad_configs_are_errors_naming_the_key) {
    data::Rng rng(0);
    BOOST_TEST(test::contains(test::error_of([&] { filter_trajectories({1.0}, filter("top", 0.5), rng); }),
                              "filter.kind"));
    BOOST_TEST(test::contains(test::error_of([&] { filter_trajectories({1.0}, filter("hardmax", 0.0), rng); }),
                              "filter.keep"));
    BOOST_TEST(test::contains(test::error_of([&] { filter_trajectories({1.0, NAN}, filter("hardmax", 0.5), rng); }),
                              "trajectory 1"));
}

BOOST_AUTO_TEST_CASE(returns_sum_all_h_pairs) {
    // K = 2, H = 3, S = A = 1: R_b = sum_t s_t + 10 a_t, including the last pair.
    xt::xtensor<float, 3> s = {{{1}, {2}, {3}}, {{0}, {0}, {5}}};
    xt::xtensor<float, 3> a = {{{1}, {0}, {1}}, {{0}, {2}, {0}}};
    const auto R = trajectory_returns(s, a, toy_reward);
    BOOST_TEST(R[0] == 1 + 10 + 2 + 3 + 10);
    BOOST_TEST(R[1] == 0 + 0 + 20 + 5);
}

BOOST_AUTO_TEST_CASE(transitions_pin_s0_and_stop_after_termination) {
    // Trajectory 0 terminates on its second transition (s_2 = 100); trajectory 1 never does.
    const std::size_t H = 4;
    xt::xtensor<float, 3> s = {{{1}, {2}, {100}, {7}}, {{10}, {11}, {12}, {13}}};
    xt::xtensor<float, 3> a = {{{0.5f}, {0.25f}, {1}, {1}}, {{0}, {1}, {2}, {3}}};
    xt::xtensor<float, 2> s0 = {{1.5f}, {9.5f}};  // the real observations differ from s[:, 0] (a round trip)
    const data::Transitions t = trajectories_to_transitions(s, a, s0, toy_reward, toy_done);
    BOOST_TEST(t.size() == 2u + (H - 1));  // trajectory 0: 2 rows (the terminating one included), trajectory 1: 3
    // Step-major order: (b0,t0), (b1,t0), (b0,t1), (b1,t1), (b1,t2).
    BOOST_TEST(t.observations(0, 0) == 1.5f);
    BOOST_TEST(t.observations(1, 0) == 9.5f);
    BOOST_TEST(t.rewards(0) == 1.5f + 5.0f);          // r(o_0 real, a_0)
    BOOST_TEST(t.next_observations(2, 0) == 100.0f);  // the terminating transition is stored
    BOOST_TEST(t.dones(2) == 1.0f);
    BOOST_TEST(t.observations(4, 0) == 12.0f);        // only trajectory 1 after the termination
    BOOST_TEST(t.actions(4, 0) == 2.0f);
    for (std::size_t i = 0; i < t.size(); ++i)
        if (i != 2) BOOST_TEST(t.dones(i) == 0.0f);
}

BOOST_AUTO_TEST_CASE(lengths_truncate_returns_and_transitions_without_a_done) {
    // Trajectory 0 has 2 valid states of 4, trajectory 1 all 4 (it terminates at s_2 = 100 on its own).
    xt::xtensor<float, 3> s = {{{1}, {2}, {3}, {4}}, {{10}, {11}, {100}, {13}}};
    xt::xtensor<float, 3> a = {{{1}, {1}, {1}, {1}}, {{0}, {0}, {0}, {0}}};
    xt::xtensor<float, 2> s0 = {{1}, {10}};
    const std::vector<std::size_t> lengths{2, 4};
    const auto R = trajectory_returns(s, a, toy_reward, lengths);
    BOOST_TEST(R[0] == 1 + 10 + 2 + 10);  // the pairs past the valid states are not scored
    BOOST_TEST(R[1] == 10 + 11 + 100 + 13);
    const data::Transitions t = trajectories_to_transitions(s, a, s0, toy_reward, toy_done, lengths);
    BOOST_REQUIRE(t.size() == 3u);  // (b0,t0), (b1,t0), (b1,t1): trajectory 0 ends after s_1 without a done
    BOOST_TEST(t.next_observations(0, 0) == 2.0f);
    BOOST_TEST(t.dones(0) == 0.0f);
    BOOST_TEST(t.observations(2, 0) == 11.0f);
    BOOST_TEST(t.dones(2) == 1.0f);
    BOOST_TEST(test::contains(test::error_of([&] { trajectory_returns(s, a, toy_reward, {2, 5}); }),
                              "trajectory 1 has length 5, expected 1..4"));
    BOOST_TEST(test::contains(test::error_of([&] { trajectories_to_transitions(s, a, s0, toy_reward, toy_done, {2}); }),
                              "1 lengths for 2 trajectories"));
}

BOOST_AUTO_TEST_SUITE_END()
