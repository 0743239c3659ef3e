// Dataset recipes for the built-in envs, written in D4RL layout (data::Dataset, saved with data::save_dataset_npz).
// maze2d follows D4RL's recipe: one long run of a noisy waypoint controller toward random goal cells, `timeouts`
// marking goal switches and `infos/goal` the goal in force. pendulum has random / medium / expert / medium-replay /
// medium-expert kinds from the scripted controllers, in 200-step episodes. hopper, halfcheetah and walker2d (the
// `mujoco` feature) have D4RL's random recipe: uniform actions, the env's terminations, 1000-step episodes.
// docs/environments.md explains each one.
#pragma once

#include "data/dataset.hpp"

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace dydiff::envs {

struct GenerateConfig {
    std::string env;             // a built-in env name (make_env)
    std::string kind;            // dataset_kinds(env); empty = the first one
    std::size_t steps = 0;       // rows; 0 = default_steps(env, kind)
    std::uint64_t seed = 0;      // everything random comes from Rng(seed)
    // maze2d
    double maze_action_noise = 0.5;    // std of N(0, s^2) added to each action before the clip to [-1, 1] (D4RL)
    double maze_goal_threshold = 0.1;  // a waypoint goal within this distance is reached: timeout, new goal
    std::size_t maze_max_goal_steps = 1000;  // a goal not reached in this many rows is replaced too (a safety net)
    std::string maze_reward_goal = "eval";   // sparse/dense reward against "eval" (the env's fixed target, as the
                                             // released D4RL files) or "waypoint" (infos/goal of the row)
    std::string maze_reward_timing = "pre";  // "pre": from observations[t], as the D4RL files (issue #194);
                                             // "post": from the next state, as the env's step() reward
    // pendulum
    double pendulum_expert_noise = 0.1;  // std of the torque noise of the expert controller (torque units)
    double pendulum_medium_noise = 0.5;  // std of the torque noise of the medium controller
};

/// The dataset kinds of an env: maze2d "waypoint" (the D4RL recipe) and "random"; pendulum "random", "medium",
/// "expert", "medium-replay", "medium-expert"; hopper, halfcheetah, walker2d "random". Fails for an unknown env.
std::vector<std::string> dataset_kinds(const std::string& env);
/// D4RL's sizes: maze2d umaze 1M, medium 2M, large 4M rows; locomotion random 1M; pendulum 100k rows (500
/// episodes), 200k for medium-expert (its two halves).
std::size_t default_steps(const std::string& env, const std::string& kind);

/// Called with (rows done, rows total) about every 2^14 rows and once at the end.
using ProgressFn = std::function<void(std::size_t done, std::size_t total)>;

/// Generates the dataset. The same config gives bit-identical arrays from the same build; builds that differ in
/// floating-point contraction (-march=native has FMA, -Dsimd=none has not) may differ in the last bits.
/// Unknown env or kind and bad options are an Error. Dataset::env is set to config.env (saved as "metadata/env").
data::Dataset generate_dataset(const GenerateConfig& config, const ProgressFn& progress = {});

}  // namespace dydiff::envs
