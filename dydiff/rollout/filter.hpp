// The reward filter and the synthetic transitions of the DyDiff loop (docs/algorithm.md §4.4, §4.5): score each
// generated trajectory by the reward model's return over all H (s, a) pairs, keep a fraction q of them (hardmax:
// a >= quantile threshold; softmax: sampling without replacement by Gumbel-top-k; none), then cut the kept
// trajectories into transitions with the environment's termination rule: the terminating transition is stored with
// done = 1 and nothing after it; the first stored observation is the real start observation, not its model-scale
// round trip.
// Layering: dydiff/rollout (on data/rng, data/transitions, dydiff/envs/termination).
// Shapes: K trajectories, H horizon, S observation dim, A action dim, M transitions.
#pragma once

#include "data/rng.hpp"
#include "data/transitions.hpp"
#include "dydiff/envs/termination.hpp"

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace dydiff {

class ConfigFields;

/// How trajectories are kept (docs/algorithm.md §4.4).
struct FilterConfig {
    std::string kind = "hardmax";  // hardmax | softmax | none (official code: hardmax or softmax, one config each)
    double keep = 0.6;             // q: the fraction kept, in (0, 1] (official code: threshold 0.6)
    double temperature = 0.05;     // softmax τ; <= 0 switches to p ∝ exp(R - mean R) (official code: 0.05)
    double epsilon = 1e-6;         // softmax ε: std guard and the uniform mixing weight (official code: 1e-6)

    void fields(ConfigFields& f);
    /// Fails naming the key when a value is out of range.
    void validate() const;
};

/// numpy.quantile(values, p) with numpy's default 'linear' interpolation; values non-empty, p in [0, 1].
double quantile_linear(std::vector<double> values, double p);

/// Indices (ascending) of the trajectories kept from their returns (K). hardmax keeps every b with
/// R_b >= quantile(R, 1 - q) (ties may keep more than q K); softmax keeps exactly floor(q K) (at least 1) drawn
/// without replacement with p_b ∝ exp(z_b / τ), z = (R - mean) / (std + ε) (population std), mixed as
/// p (1 - ε) + ε / K, by Gumbel-top-k on log p computed with log-sum-exp (exactly sequential sampling without
/// replacement); none keeps all. Draws come from rng (softmax only).
std::vector<std::size_t> filter_trajectories(const std::vector<double>& returns, const FilterConfig& config,
                                             data::Rng& rng);

/// A reward model on raw batches: obs (M, S), actions (M, A) -> rewards (M).
using RewardFn = std::function<xt::xtensor<float, 1>(const xt::xtensor<float, 2>& obs,
                                                     const xt::xtensor<float, 2>& actions)>;

/// The filter's score of each trajectory: R_b = sum over t = 0..H-1 of r(s_t, a_t), raw scale. states (K, H, S),
/// actions (K, H, A) -> (K). `lengths` (K), when given, are the valid states of each trajectory (1 <= n_b <= H; a
/// behaviour rollout whose episode ends inside the window): R_b then sums t = 0..n_b-1 only.
std::vector<double> trajectory_returns(const xt::xtensor<float, 3>& states, const xt::xtensor<float, 3>& actions,
                                       const RewardFn& reward, const std::vector<std::size_t>& lengths = {});

/// The transitions of trajectories (raw scale; states (K, H, S), actions (K, H, A)) by docs/algorithm.md §4.5: for
/// t = 0..H-2, (o_t, a_t, r(o_t, a_t), s_{t+1}, done) while the trajectory is alive, with o_0 = start_obs (K, S) (the
/// real observations) and o_t = s_t after; done = terminated(o_t, a_t, s_{t+1}); a trajectory stops after its first
/// done. Rows are ordered by step, then trajectory. At most K (H - 1) rows; a_{H-1} is never used. `lengths` (K),
/// when given, cut trajectory b after its valid states too: its transitions are t = 0..n_b-2 (none when n_b = 1),
/// the last one with done = 0 (an episode end, not a termination).
data::Transitions trajectories_to_transitions(const xt::xtensor<float, 3>& states,
                                              const xt::xtensor<float, 3>& actions,
                                              const xt::xtensor<float, 2>& start_obs, const RewardFn& reward,
                                              const envs::TerminationFn& terminated,
                                              const std::vector<std::size_t>& lengths = {});

}  // namespace dydiff
