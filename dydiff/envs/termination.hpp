// Termination functions for model rollouts: done(s, a, s') on batches of raw (unnormalised) transitions, the
// standard MBPO rules that DyDiff's rlkit/envs/terminals.py uses (docs/algorithm.md §7.4). A rollout stops a
// branch where done = 1 and does not bootstrap its value there.
#pragma once

#include "autograd/xt.hpp"

#include <functional>
#include <string>

namespace dydiff::envs {

/// done (B) in {0, 1} from obs (B, S), action (B, A), next_obs (B, S), all in raw environment coordinates.
using TerminationFn = std::function<xt::xtensor<float, 1>(const xt::xtensor<float, 2>& obs,
                                                           const xt::xtensor<float, 2>& action,
                                                           const xt::xtensor<float, 2>& next_obs)>;

/// hopper: done unless s' is finite, |s'[1:]| < 100, height s'[0] > 0.7 and |angle s'[1]| < 0.2.
xt::xtensor<float, 1> hopper_termination(const xt::xtensor<float, 2>& obs, const xt::xtensor<float, 2>& action,
                                         const xt::xtensor<float, 2>& next_obs);
/// walker2d: done unless 0.8 < height s'[0] < 2.0 and -1 < angle s'[1] < 1.
xt::xtensor<float, 1> walker2d_termination(const xt::xtensor<float, 2>& obs, const xt::xtensor<float, 2>& action,
                                           const xt::xtensor<float, 2>& next_obs);
/// halfcheetah, maze2d (the goal is unknown to the model), pendulum: never done.
xt::xtensor<float, 1> never_termination(const xt::xtensor<float, 2>& obs, const xt::xtensor<float, 2>& action,
                                        const xt::xtensor<float, 2>& next_obs);

/// The rule for a task name: the first of hopper, walker, halfcheetah, maze, pendulum that the name contains
/// ("hopper-medium-expert-v2" -> hopper). Any other name is an Error listing these keys.
TerminationFn termination_fn(const std::string& env_name);

}  // namespace dydiff::envs
