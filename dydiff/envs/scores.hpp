// Normalized score 100 (R - ref_min) / (ref_max - ref_min) (docs/algorithm.md §8, docs/environments.md), with D4RL's
// constants for D4RL task names and constants measured with `dydiff evaluate-controller` for our built-in tasks
// (docs/environments.md has the table and the commands).
#pragma once

#include <optional>
#include <string>

namespace dydiff::envs {

struct ReferenceScores {
    double ref_min = 0.0;  // return of a random policy
    double ref_max = 0.0;  // return of an expert
    std::string source;    // "D4RL infos.py" or "measured: <command>"
};

/// The constants for a task, or nullopt when we have none:
/// - D4RL names: hopper-*, halfcheetah-*, walker2d-* (same constants for v0/v1/v2), maze2d-{umaze,medium,large}
///   [-dense]-v1 (the MuJoCo env's constants);
/// - our built-in envs: maze2d-{umaze,medium,large}[-dense] (no "-v1") and pendulum, measured on our envs because
///   our contact model and controller differ from D4RL's, so D4RL's maze constants would not map our random and
///   expert policies to 0 and 100; maze2d-{umaze,medium,large}[-dense]-mujoco (the same tasks on MuJoCo's simulator)
///   share the constants of our simulator's names.
std::optional<ReferenceScores> reference_scores(const std::string& task);

/// 100 (R - ref_min) / (ref_max - ref_min), or nullopt for a task without constants (print the raw return then).
std::optional<double> normalized_score(const std::string& task, double episode_return);

}  // namespace dydiff::envs
