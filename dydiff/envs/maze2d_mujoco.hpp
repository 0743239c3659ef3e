// maze2d on MuJoCo (docs/environments.md, "maze2d on MuJoCo"): D4RL's point-mass maze as an MJCF model generated from
// our maze layouts, stepped by libmujoco behind the same Maze2dEnv as our own physics (env names
// maze2d-<size>[-dense]-mujoco), to measure how far our hard contact model (maze2d.hpp) drifts from MuJoCo's soft
// contact (dydiff/eval/maze_divergence.hpp). maze_mjcf builds without MuJoCo; the simulator (maze2d_mujoco_sim.cpp)
// needs the `mujoco` feature, and make_mujoco_point_mass fails with a message naming it otherwise.
#pragma once

#include "dydiff/envs/maze2d.hpp"

#include <memory>
#include <string>

namespace dydiff::envs {

/// The model's geometry and contact settings beyond PointMass's (D4RL pointmaze/maze_model.py).
struct MujocoMaze {
    static constexpr double kBallWorldOffset = 1.2;  // the ball body's world position per axis: world = qpos + 1.2
    static constexpr double kWallHalfSize = 0.5;     // wall box half-size in x and y, centred at world (i+1, j+1)
    static constexpr double kWallHalfHeight = 0.2;   // wall box half-size in z (the ball moves in the plane z = 0)
    static constexpr double kDensity = 1000.0;       // geom density: the ball's mass 4/3 pi r^3 rho, computed by MuJoCo
    static constexpr double kMargin = 0.002;         // geom margin: a contact becomes active at this distance
    // The deepest a ball ends a step inside a wall box under MuJoCo's default soft contact (solref 0.02 1, solimp
    // 0.9 0.95 0.001): 0.063 measured over about 3 million steps of saturated random driving on the three mazes,
    // plus headroom (test/dydiff/mujoco/test_maze2d.cpp checks it).
    static constexpr double kPenetrationBound = 0.08;
    // The largest |vx|, |vy| after a step: the soft contact's push-back adds to the clipped 5 m/s; 6.63 measured in
    // the same runs, plus headroom.
    static constexpr double kSpeedBound = 8.0;
};

/// The MJCF text of `maze`: Euler integrator, timestep 0.01, no gravity; the ball (sphere r 0.1, density 1000) on
/// two damped slide joints driven by two motors (gear 100, ctrlrange [-1, 1]); one box per wall cell; geoms with
/// condim 1 (frictionless) and margin 0.002; everything else MuJoCo's defaults. Only MuJoCo 2.2.2 attributes.
std::string maze_mjcf(const Maze& maze);

/// MuJoCo's simulator of `maze` (the model compiled once per maze and process). On set_state: mj_resetData, qpos,
/// qvel, mj_forward. On step, as D4RL's MazeEnv.step: action clipped, qvel clipped and set (mj_forward), ctrl, one
/// mj_step. Without the `mujoco` feature an Error says how to build it.
std::unique_ptr<PointMassSimulator> make_mujoco_point_mass(const Maze& maze);

}  // namespace dydiff::envs
