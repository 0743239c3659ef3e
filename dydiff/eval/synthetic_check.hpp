// How wrong are model-made transitions? For a built-in env whose observation is its whole physical state (maze2d: x,
// y, vx, vy; pendulum: cos, sin, theta_dot; the locomotion tasks but for their x position), the true next state and
// the dataset's reward label of any (s, a) can be computed, so each synthetic transition (s, a, r, s') of a DyDiff
// run can be checked: s' against the env's step from s, r against the reward the dataset's recipe gives (s, a).
// Applied to the real transitions of the dataset, the same check validates itself (errors at float round-off).
// `dydiff synthetic RUN` prints both (docs/dydiff.md, "Checking the synthetic data").
#pragma once

#include "autograd/xt.hpp"
#include "data/transitions.hpp"

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace dydiff::eval {

/// The true one-step model of an env whose observation is its state.
struct TransitionOracle {
    std::size_t obs_dim = 0, action_dim = 0;
    /// false when the state is outside the env's domain (a maze2d ball deeper in a wall than its simulator allows:
    /// ours not at all, MuJoCo's soft contact MujocoMaze::kPenetrationBound): no true step exists.
    std::function<bool(const float* obs)> valid;
    /// The env's next observation from obs under action (raw units), written to next (obs_dim).
    std::function<void(const float* obs, const float* action, float* next)> step;
    /// The reward our dataset recipe stores for the row (obs, action): maze2d the sparse or dense reward of obs's
    /// position for the maze's goal (the recipe's default "pre" timing, D4RL's files), pendulum gym's reward.
    std::function<float(const float* obs, const float* action)> reward;
};

/// The oracle of a built-in env (maze2d-*, on its own simulator, pendulum, and with the `mujoco` feature hopper,
/// walker2d and halfcheetah, whose observation is their state but for the x position, which their dynamics ignore;
/// a state with a clipped velocity is not valid); nullopt for any other env.
std::optional<TransitionOracle> transition_oracle(const std::string& env_name);

/// Quantiles are of the per-transition L2 error over the checked transitions.
struct TransitionCheck {
    std::size_t total = 0;       // transitions given (after sampling)
    std::size_t checked = 0;     // those whose s is valid (the rest have no true step)
    std::size_t invalid_next = 0;  // checked transitions whose s' is not a valid state (maze2d: inside a wall)
    double state_error_mean = 0.0, state_error_p50 = 0.0, state_error_p90 = 0.0;  // ||s' - f(s, a)||, raw units
    double state_error_z_mean = 0.0;                 // the same in units of the given per-dimension scale
    std::vector<double> dim_error_mean;              // mean |s'_k - f(s, a)_k| per dimension k
    double reward_error_mean = 0.0;                  // mean |r - r_true(s, a)|
    double reward_mean = 0.0, reward_true_mean = 0.0;  // mean stored label and mean true reward
};

/// Checks at most `samples` transitions (all when samples = 0 or >= the count; else a uniform sample without
/// replacement drawn with `seed`). `scale` (obs_dim, e.g. the dataset's observation std) gives state_error_z; zero
/// entries count as 1.
TransitionCheck check_transitions(const TransitionOracle& oracle, const data::Transitions& t,
                                  const std::vector<double>& scale, std::size_t samples, std::uint64_t seed);

}  // namespace dydiff::eval
