// How far two maze2d simulators drift apart (docs/environments.md, "maze2d on MuJoCo"): the same start states and
// the same action sequences stepped through two Maze2dEnvs of one maze, typically ours (hard contact) against
// MuJoCo's (soft contact, the `mujoco` feature); per-horizon mean and max position and velocity divergence, split
// into episodes that stayed in free space up to that step and episodes that touched a wall, plus the share of steps
// in contact and the deepest penetration of each. Layering: dydiff/eval (on dydiff/envs).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dydiff {

/// Settings of one comparison (`dydiff evaluate-controller --against`).
struct MazeDivergenceConfig {
    std::size_t episodes = 100;  // episodes per action source; episode e resets both envs from Rng(seed).fork(e)
    std::size_t steps = 0;       // steps per episode; 0 = the env's episode limit (umaze 300, medium 600, large 800)
    std::vector<std::size_t> horizons{1, 10, 50, 100, 300, 600, 800};  // steps reported (those <= steps)
    std::uint64_t seed = 0;
    double saturated_hold = 10.0;     // saturated source: each axis keeps its sign (+-1) for a mean of this many
                                      // steps (re-drawn with probability 1 / saturated_hold per step)
    double waypoint_noise = 0.5;      // waypoint source: std of the Gaussian action noise (the D4RL recipe's)
    double waypoint_threshold = 0.1;  // waypoint source: a waypoint goal within this distance gets a new goal
    double contact_distance = 0.002;  // a ball within this of a wall box ends its step in contact (MuJoCo's margin)
};

/// Mean and max over a group of episodes of the L2 divergence at one step.
struct DivergenceStats {
    std::size_t episodes = 0;  // episodes in the group (0: the other fields are 0)
    double pos_mean = 0.0;     // mean of ||(x, y)_a - (x, y)_b||
    double pos_max = 0.0;      // max of the same
    double vel_mean = 0.0;     // mean of ||(vx, vy)_a - (vx, vy)_b||
    double vel_max = 0.0;
};

/// The divergence after `step` steps: all episodes, those in which neither ball touched a wall in steps 1..step
/// (free), and the others (contact).
struct DivergenceRow {
    std::size_t step = 0;
    DivergenceStats all, free, contact;
};

/// One action source: "waypoint" (the D4RL recipe's controller: random waypoint goals, a PD law on env a's state,
/// Gaussian noise; its actions replayed in env b), "saturated" (each axis +-1, held for a random number of steps:
/// hits walls often) or "uniform" (U(-1, 1)^2 each step, the random policy).
struct SourceDivergence {
    std::string source;
    std::vector<DivergenceRow> rows;  // one per reported horizon, ascending
    double contact_share_a = 0.0;     // share of all steps that end with ball a in contact
    double contact_share_b = 0.0;
    double penetration_a = 0.0;       // deepest end-of-step penetration of ball a into a wall box (>= 0)
    double penetration_b = 0.0;
};

struct MazeDivergenceResult {
    std::string env_a, env_b;
    std::size_t episodes = 0, steps = 0;
    std::vector<SourceDivergence> sources;  // waypoint, saturated, uniform
};

/// Steps env_a and env_b (maze2d names of one maze and reward, e.g. maze2d-umaze and maze2d-umaze-mujoco) from the
/// same seeded starts with the same actions. Other pairs are an Error naming them.
MazeDivergenceResult maze_divergence(const std::string& env_a, const std::string& env_b,
                                     const MazeDivergenceConfig& config);

/// The result as text: per source a header line (contact shares, penetrations), then one line per (step, group)
/// with columns step, group, episodes, pos_mean, pos_max, vel_mean, vel_max.
std::string maze_divergence_text(const MazeDivergenceResult& result);

}  // namespace dydiff
