// Scripted behaviour policies for the built-in envs and an episode runner: the maze2d waypoint controller (BFS
// shortest cell path + PD on the next waypoint, the idea of D4RL's dataset controller), the pendulum energy
// swing-up + PD balance controller (expert and a detuned "medium"), and uniform random actions. They define the
// reference returns of scores.hpp and drive the dataset recipes of generate.hpp.
#pragma once

#include "dydiff/envs/env.hpp"
#include "dydiff/envs/maze2d.hpp"
#include "dydiff/envs/pendulum.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace dydiff::envs {

struct MazeControllerConfig {
    double kp = 10.0;  // proportional gain: u = kp (waypoint - pos) - kd vel, then clipped to [-1, 1]
    double kd = 1.5;   // derivative gain; kd / kp = 0.15 s starts braking early enough to stop from 5 m/s
};

/// The maze expert: from the ball's cell, the BFS shortest path over free cells (4-neighbour) to the goal's cell;
/// the waypoint is the centre of the last cell of the path's first straight run (or the goal point once that run
/// reaches the goal cell); a saturating PD controller steers to it.
class MazeWaypointController {
public:
    explicit MazeWaypointController(const Maze& maze, MazeControllerConfig config = {});
    /// The action (2) toward goal point (gx, gy), which must lie in a free cell.
    void act(const PointMassState& s, double gx, double gy, double* u) const noexcept;
    /// The (i, j) cell holding point (x, y) in observation coordinates.
    static std::pair<int, int> cell_of(double x, double y) noexcept;

private:
    int index(int i, int j) const noexcept { return i * maze_->cols + j; }

    const Maze* maze_;
    MazeControllerConfig config_;
    std::vector<int> next_;  // (cells * cells): next_[goal * cells + from] = the neighbour of `from` one step closer
};

struct PendulumControllerConfig {
    double energy_gain = 0.5;     // swing-up: u = energy_gain (E* - E) theta_dot, E = theta_dot^2 / 2 + a cos theta
    double kp = 10.0;             // balance: u = -kp theta - kd theta_dot (kp > g' / 3 = 5 to stabilise)
    double kd = 2.0;
    double capture_angle = 0.6;   // |theta| below which the balance law takes over, radians
};
/// The expert's gains, and the detuned "medium" controller (weak swing-up, late capture, soft balance).
PendulumControllerConfig pendulum_expert_config();
PendulumControllerConfig pendulum_medium_config();
/// The torque (clipped to [-2, 2]) for observation [cos theta, sin theta, theta_dot].
double pendulum_controller_action(const float* obs, const PendulumControllerConfig& config) noexcept;

/// A policy for evaluate-controller and tests: act() gets the observation and a per-episode Rng.
class Policy {
public:
    virtual ~Policy() = default;
    virtual std::vector<float> act(const std::vector<float>& obs, data::Rng& rng) = 0;
};

/// "expert" (maze2d: waypoint controller to the env's target, no noise; pendulum: the expert gains), "medium"
/// (pendulum only) or "random" (uniform over the action box; the only kind for hopper, halfcheetah, walker2d). Other kinds are an Error naming the known ones.
std::unique_ptr<Policy> make_policy(const Env& env, const std::string& kind);
/// The kinds make_policy() accepts for this env.
std::vector<std::string> policy_kinds(const Env& env);

struct EpisodeStats {
    double episode_return = 0.0;   // undiscounted sum of rewards
    std::size_t length = 0;        // steps
    std::optional<bool> success;   // Env::success() at the end (goal-reaching tasks)
};

/// Runs `episodes` whole episodes; episode e resets from Rng(seed).fork(e) and the policy draws from that stream too.
std::vector<EpisodeStats> run_episodes(Env& env, Policy& policy, std::size_t episodes, std::uint64_t seed);

}  // namespace dydiff::envs
