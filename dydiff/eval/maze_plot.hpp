// The evaluated trajectories of a maze2d policy drawn over the maze (issue 8, `dydiff evaluate`): wall cells as grey
// squares, the goal disc (radius 0.5, where the sparse reward is 1), and each episode's ball path as a polyline from
// a hollow start dot to a filled end dot. The picture has the layout of D4RL's maze string: row i (obs[0], x) runs
// down, column j (obs[1], y) runs right; wall cell (i, j) covers [i - 0.7, i + 0.3] x [j - 0.7, j + 0.3] in
// observation coordinates (dydiff/envs/maze2d.hpp).
// Layering: dydiff/eval (on dydiff/envs/maze2d, data/atomic_file).
#pragma once

#include "dydiff/eval/policy_eval.hpp"

#include <string>

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

}  // namespace dydiff::eval
