// Env: the small environment interface of dydiff's built-in tasks (maze2d point mass, pendulum, and with the `mujoco`
// feature the MuJoCo locomotion tasks hopper, halfcheetah, walker2d), used to evaluate
// policies, to script behaviour policies and to generate datasets in D4RL layout (docs/environments.md).
// reset() draws the initial state from a data::Rng; step() takes one action and returns the next observation,
// the reward, and the two flags that end an episode (terminated: a true end; truncated: the step limit).
// Layering: dydiff/envs depends on data/ (Rng) and autograd/error.hpp only, plus libmujoco behind locomotion.hpp.
#pragma once

#include "data/rng.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace dydiff::envs {

/// Per-coordinate bounds of an observation or action space: low[k] <= x[k] <= high[k].
struct Box {
    std::vector<float> low;   // (dim)
    std::vector<float> high;  // (dim)
    std::size_t dim() const { return low.size(); }
};

struct StepResult {
    std::vector<float> obs;   // (S) observation after the step
    double reward = 0.0;      // reward of this transition (each env documents which state it reads)
    bool terminated = false;  // a true end of the task: do not bootstrap (never for maze2d and pendulum)
    bool truncated = false;   // the episode hit max_episode_steps(): bootstrap, but start a new episode
};

class Env {
public:
    virtual ~Env() = default;

    virtual std::string name() const = 0;
    virtual Box observation_space() const = 0;
    virtual Box action_space() const = 0;
    /// The time limit: step() number max_episode_steps() of an episode returns truncated = true.
    virtual std::size_t max_episode_steps() const = 0;
    std::size_t obs_dim() const { return observation_space().dim(); }
    std::size_t action_dim() const { return action_space().dim(); }

    /// Starts an episode with the initial state drawn from rng; returns the first observation (S).
    std::vector<float> reset(data::Rng& rng);
    /// reset(Rng(seed)).
    std::vector<float> reset(std::uint64_t seed);
    /// One step. Actions outside action_space() are clipped (as the MuJoCo/gym envs do). Fails when called before
    /// reset() or after the episode was truncated or terminated, and on a wrong action size.
    StepResult step(const std::vector<float>& action);
    /// Steps taken in the current episode.
    std::size_t elapsed_steps() const { return elapsed_; }
    /// For goal-reaching tasks: true once the current episode has reached its goal; nullopt for other tasks.
    virtual std::optional<bool> success() const { return std::nullopt; }

protected:
    virtual std::vector<float> reset_impl(data::Rng& rng) = 0;
    /// action: action_dim() values, not yet clipped.
    virtual StepResult step_impl(const float* action) = 0;

private:
    std::size_t elapsed_ = 0;
    bool needs_reset_ = true;
};

/// The names make_env() accepts, in a stable order: the maze2d tasks, pendulum, then (built with the `mujoco` feature)
/// hopper, halfcheetah, walker2d and the maze2d tasks on MuJoCo (maze2d-umaze-mujoco, ..., maze2d-large-dense-mujoco).
std::vector<std::string> known_env_names();
/// Builds a built-in environment by name ("maze2d-umaze", "maze2d-medium-dense", "pendulum", "hopper", ...). A
/// locomotion env also takes its D4RL names ("hopper-medium-v2"); without the `mujoco` feature those are an Error
/// saying how to build them, as are the maze2d-<size>[-dense]-mujoco names. An unknown name is an Error that lists
/// known_env_names().
std::unique_ptr<Env> make_env(const std::string& name);

}  // namespace dydiff::envs
