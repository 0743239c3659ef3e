// Data for the learner tests of CQL and Diffusion-QL (test_cql.cpp, test_diffql.cpp): a small spec with a
// non-trivial box and normaliser, random transition batches, and two tasks for learning tests: a one-step
// contextual bandit with a good and a uniform behaviour, and a two-step task that needs the bootstrap (below).
// The bandit:
// s ~ U[−1, 1]², the best action a*(s) = (0.6 s₀, −0.6 s₁) in the action box [−1, 1]², reward −‖a − a*(s)‖², every
// transition terminal (so Q(s, a) = r exactly). The data mixes a good behaviour (a* + N(0, 0.05²), share `good`) with
// uniform actions. Closed-form bars for good = 0.3, per state on average:
//   uniform random policy      −(2/3 + 0.24) ≈ −0.91
//   the data's average action  0.3 a*: −0.49 · 0.24 ≈ −0.118 (what a mean-regressing BC converges to)
//   the best policy            0
#pragma once

#include "data/replay_buffer.hpp"
#include "data/rng.hpp"
#include "dydiff/learners/learner.hpp"

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <utility>
#include <vector>

namespace dydiff::test {

constexpr float kBanditSlope = 0.6f;       // a*(s) = (slope s₀, −slope s₁)
constexpr float kBanditGoodNoise = 0.05f;  // std of the good behaviour around a*

/// A (rows, columns) array from its rows, for hand-made numbers.
inline autograd::Array matrix(const std::vector<std::vector<float>>& rows) {
    autograd::Array a = xt::empty<float>({rows.size(), rows.at(0).size()});
    for (std::size_t i = 0; i < rows.size(); ++i)
        for (std::size_t j = 0; j < rows[i].size(); ++j) a(i, j) = rows[i].at(j);
    return a;
}

/// S = 3, A = 2, box [−2, 2] × [0, 1], obs statistics away from (0, 1).
inline learners::LearnerSpec small_spec(std::uint64_t seed) {
    learners::LearnerSpec s;
    s.obs_dim = 3;
    s.action_dim = 2;
    s.action_low = {-2.0f, 0.0f};
    s.action_high = {2.0f, 1.0f};
    s.obs_mean = {0.5f, -1.0f, 0.0f};
    s.obs_std = {2.0f, 1.0f, 0.5f};
    s.seed = seed;
    return s;
}

/// B transitions of normal observations, actions uniform in the box, normal rewards, 20% terminal.
inline data::Transitions random_batch(const learners::LearnerSpec& spec, std::size_t B, data::Rng& rng) {
    data::Transitions t = data::Transitions::zeros(B, spec.obs_dim, spec.action_dim);
    rng.fill_normal(t.observations.data(), t.observations.size());
    rng.fill_normal(t.next_observations.data(), t.next_observations.size());
    for (std::size_t i = 0; i < B; ++i) {
        for (std::size_t k = 0; k < spec.action_dim; ++k)
            t.actions(i, k) = rng.uniform(spec.action_low[k], spec.action_high[k]);
        t.rewards(i) = rng.normal();
        t.dones(i) = rng.uniform() < 0.2f ? 1.0f : 0.0f;
    }
    return t;
}

inline float bandit_reward(float s0, float s1, float a0, float a1) {
    const float d0 = a0 - kBanditSlope * s0, d1 = a1 + kBanditSlope * s1;
    return -(d0 * d0 + d1 * d1);
}

/// A generated offline dataset with the spec a learner is built for.
struct OfflineTask {
    learners::LearnerSpec spec;
    data::ReplayBuffer buffer;
};

/// n transitions; `good` is the share of the good behaviour. spec.seed = seed.
inline OfflineTask make_bandit(std::size_t n, float good, std::uint64_t seed) {
    data::Rng rng(seed);
    data::Transitions t = data::Transitions::zeros(n, 2, 2);
    for (std::size_t i = 0; i < n; ++i) {
        const float s0 = rng.uniform(-1.0f, 1.0f), s1 = rng.uniform(-1.0f, 1.0f);
        float a0, a1;
        if (rng.uniform() < good) {
            a0 = std::clamp(kBanditSlope * s0 + kBanditGoodNoise * rng.normal(), -1.0f, 1.0f);
            a1 = std::clamp(-kBanditSlope * s1 + kBanditGoodNoise * rng.normal(), -1.0f, 1.0f);
        } else {
            a0 = rng.uniform(-1.0f, 1.0f);
            a1 = rng.uniform(-1.0f, 1.0f);
        }
        t.observations(i, 0) = t.next_observations(i, 0) = s0;
        t.observations(i, 1) = t.next_observations(i, 1) = s1;
        t.actions(i, 0) = a0;
        t.actions(i, 1) = a1;
        t.rewards(i) = bandit_reward(s0, s1, a0, a1);
        t.dones(i) = 1.0f;
    }
    OfflineTask out{{}, data::ReplayBuffer::from_transitions(t)};
    out.spec.obs_dim = 2;
    out.spec.action_dim = 2;
    out.spec.action_low = {-1.0f, -1.0f};
    out.spec.action_high = {1.0f, 1.0f};
    out.spec.obs_mean = {0.0f, 0.0f};
    out.spec.obs_std = {1.0f / std::sqrt(3.0f), 1.0f / std::sqrt(3.0f)};  // of U[−1, 1]
    out.spec.seed = seed;
    return out;
}

/// Mean reward of learner.act(·, deterministic) over a fixed grid of `side`² states in [−0.9, 0.9]².
inline double bandit_policy_reward(learners::Learner& learner, std::size_t side) {
    learners::Array2 obs = xt::empty<float>({side * side, std::size_t{2}});
    for (std::size_t i = 0; i < side; ++i)
        for (std::size_t j = 0; j < side; ++j) {
            obs(i * side + j, 0) = -0.9f + 1.8f * static_cast<float>(i) / static_cast<float>(side - 1);
            obs(i * side + j, 1) = -0.9f + 1.8f * static_cast<float>(j) / static_cast<float>(side - 1);
        }
    const learners::Array2 a = learner.act(obs, true);
    double total = 0.0;
    for (std::size_t k = 0; k < side * side; ++k) total += bandit_reward(obs(k, 0), obs(k, 1), a(k, 0), a(k, 1));
    return total / static_cast<double>(side * side);
}

/// A two-step task whose reward comes only at the end, so that the first action is learnable only through the
/// bootstrap of the TD target: from (x, 0, 0) the action a leads to (x, a, 1) with reward 0 (not done); from
/// (x, y, 1) every action ends the episode with reward −(y − 0.8 tanh(2x))². x ~ N(0, 1), behaviour actions uniform
/// in [−1, 1] at both steps; S = 3, A = 1. A learner that ignores the bootstrap sees Q(s₀, ·) flat and scores about
/// −0.45 (the behaviour mean 0); the best first action scores 0.
inline float two_step_target(float x) { return 0.8f * std::tanh(2.0f * x); }

inline OfflineTask make_two_step(std::size_t pairs, std::uint64_t seed) {
    data::Rng rng(seed);
    data::Transitions t = data::Transitions::zeros(2 * pairs, 3, 1);
    for (std::size_t p = 0; p < pairs; ++p) {
        const float x = rng.normal(), a0 = rng.uniform(-1.0f, 1.0f), a1 = rng.uniform(-1.0f, 1.0f);
        const std::size_t i = 2 * p, j = 2 * p + 1;
        t.observations(i, 0) = x;
        t.actions(i, 0) = a0;
        t.next_observations(i, 0) = t.observations(j, 0) = t.next_observations(j, 0) = x;
        t.next_observations(i, 1) = t.observations(j, 1) = t.next_observations(j, 1) = a0;
        t.next_observations(i, 2) = t.observations(j, 2) = t.next_observations(j, 2) = 1.0f;
        t.actions(j, 0) = a1;
        const float d = a0 - two_step_target(x);
        t.rewards(j) = -d * d;
        t.dones(j) = 1.0f;
    }
    OfflineTask out{{}, data::ReplayBuffer::from_transitions(t)};
    out.spec.obs_dim = 3;
    out.spec.action_dim = 1;
    out.spec.action_low = {-1.0f};
    out.spec.action_high = {1.0f};
    out.spec.obs_mean = {0.0f, 0.0f, 0.5f};
    out.spec.obs_std = {1.0f, 0.41f, 0.5f};  // x ~ N(0, 1); y is 0 or U[−1, 1] (std √(1/6)); the flag 0 or 1
    out.spec.seed = seed;
    return out;
}

/// Mean final reward of learner.act(·, deterministic) as the first action from `n` fixed states (x, 0, 0).
inline double two_step_return(learners::Learner& learner, std::size_t n) {
    learners::Array2 obs = xt::zeros<float>({n, std::size_t{3}});
    data::Rng rng(12345);
    for (std::size_t i = 0; i < n; ++i) obs(i, 0) = rng.normal();
    const learners::Array2 a = learner.act(obs, true);
    double total = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
        const double d = a(i, 0) - two_step_target(obs(i, 0));
        total -= d * d;
    }
    return total / static_cast<double>(n);
}

}  // namespace dydiff::test
