// The evaluated trajectories of a maze2d policy drawn over the maze (issue 8, `dydiff evaluate`): wall cells as grey
// squares, the goal disc (radius 0.5, where the sparse reward is 1), and each episode's ball path as a polyline from
// a hollow start dot to a filled end dot. The same picture with pairs of paths (issue 9, train-agent's imagined.svg):
// a model's imagined trajectory dashed and the true one from the same start solid, in one colour per pair; the true
// paths come from the point-mass physics set to each start state (maze_true_paths). The picture has the layout of D4RL's maze string: row i (obs[0], x) runs
// down, column j (obs[1], y) runs right; wall cell (i, j) covers [i - 0.7, i + 0.3] x [j - 0.7, j + 0.3] in
// observation coordinates (dydiff/envs/maze2d.hpp).
// Layering: dydiff/eval (on dydiff/envs/maze2d, data/atomic_file).
#pragma once

#include "dydiff/eval/policy_eval.hpp"

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace dydiff::envs {
struct Maze;
}

namespace dydiff::eval {

/// True for the env names that have a maze layout (maze2d-umaze, maze2d-large-dense, ...).
bool has_maze_layout(const std::string& env_name);

/// The SVG document: `maze` with its goal point (target_x, target_y) and every trajectory's (obs[0], obs[1]) path.
/// Fails on a trajectory with fewer than 2 observation columns or no rows, or with a non-finite position.
std::string render_maze_trajectories_svg(const envs::Maze& maze, double target_x, double target_y,
                                         const std::vector<Trajectory>& trajectories, const std::string& title);

/// The trajectories of `result` (evaluated with record_trajectories) over the maze of result.env, written to
/// svg_path atomically; the title names the env, the episode count, the mean score and the success rate. Fails
/// when result.env has no maze layout or result holds no trajectories.
void write_maze_trajectories_svg(const std::string& svg_path, const PolicyEvalResult& result);

/// One imagined path and the true one from the same start, raw observations (T, S >= 2) each (T may differ).
struct PathPair {
    xt::xtensor<float, 2> imagined;
    xt::xtensor<float, 2> truth;
};

/// Actions of K rows at step t from their observations (K, S): a closed-loop policy, or a recorded sequence that
/// ignores the observations.
using StepPolicy = std::function<Actions(const Obs& obs, std::size_t t)>;

/// The true maze2d paths from `starts` (K, 4) raw observations (x, y, vx, vy), the full point-mass state: the ball
/// set to each start, then steps - 1 physics steps (envs::point_mass_step, actions clipped to [-1, 1] as the env
/// does) with act's actions, all K rows at once. Returns (K, steps, 4), row t the observation after t steps. Fails
/// when a start overlaps a wall (envs::wall_clearance < 0: the physics' precondition) or is not finite, or when act
/// returns a wrong shape.
xt::xtensor<float, 3> maze_true_paths(const envs::Maze& maze, const xt::xtensor<float, 2>& starts, std::size_t steps,
                                      const StepPolicy& act);

/// The SVG document: `maze`, its goal point, and each pair's imagined path dashed and its true path solid in the
/// pair's colour, both from a hollow start dot; the caption says which is which. Fails like
/// render_maze_trajectories_svg on a bad path, and on no pairs.
std::string render_imagined_vs_true_svg(const envs::Maze& maze, double target_x, double target_y,
                                        const std::vector<PathPair>& pairs, const std::string& title);

/// render_imagined_vs_true_svg over the maze of `env_name`, written to svg_path atomically. Fails when the env has
/// no maze layout.
void write_imagined_vs_true_svg(const std::string& svg_path, const std::string& env_name,
                                const std::vector<PathPair>& pairs, const std::string& title);

}  // namespace dydiff::eval
