// maze2d: D4RL's point-mass maze without MuJoCo (docs/environments.md). A ball of radius 0.1 on two slide joints is
// pushed by two motors through a maze of unit wall boxes. The free-space update is MuJoCo's Euler step with
// implicit joint damping, verified against MuJoCo 2.2.2; the wall contact is our own hard contact (a swept-safe
// circle-vs-boxes projection, see point_mass_step and docs/environments.md), an approximation of MuJoCo's soft one.
// A Maze2dEnv steps a PointMassSimulator: ours by default, or MuJoCo's with the `mujoco` feature (maze2d_mujoco.hpp,
// env names maze2d-<size>[-dense]-mujoco), so every command runs on either and the two can be compared.
// Coordinates are D4RL's observation coordinates (qpos): wall cell (i, j) occupies [i-0.7, i+0.3] x [j-0.7, j+0.3]
// and the goal of cell (i, j) is the point (i, j) (the obs-vs-wall offset quirk).
#pragma once

#include "dydiff/envs/env.hpp"

#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace dydiff::envs {

/// Constants of D4RL's point maze (maze_model.py; docs/environments.md).
struct PointMass {
    static constexpr double kTimestep = 0.01;        // option timestep h, Euler integrator, frame_skip 1
    static constexpr double kMass = 4.18879;         // sphere r 0.1, density 1000: 4/3 pi r^3 rho
    static constexpr double kDamping = 1.0;          // joint damping b, treated implicitly by MuJoCo's Euler
    static constexpr double kGear = 100.0;           // motor gear: force = 100 u
    static constexpr double kActionLimit = 1.0;      // ctrlrange [-1, 1]
    static constexpr double kVelocityLimit = 5.0;    // qvel clipped to [-5, 5] before every step
    static constexpr double kRadius = 0.1;           // ball radius
    static constexpr double kWallOffset = 0.7;       // qpos + 0.7 = grid coordinate where cell (i, j) is [i,i+1]x[j,j+1]
    static constexpr double kGoalRadius = 0.5;       // sparse reward: ||qpos - target|| <= 0.5
    static constexpr double kResetNoise = 0.1;       // reset position: cell + U(-0.1, 0.1) per axis
    static constexpr double kResetVelocityStd = 0.1; // reset velocity: N(0, 0.1^2) per axis
    // Our contact model: a step moves the ball at most kMaxSubstepMove per sub-step (< kRadius, so the centre never
    // crosses into a wall box between two projections).
    static constexpr double kMaxSubstepMove = 0.05;
};

/// A maze: cells in rows i (the x axis) and columns j (the y axis), '#' wall, 'O' free, 'G' the goal cell.
struct Maze {
    std::string name;               // "umaze", "medium", "large"
    int rows = 0;                   // i range (x)
    int cols = 0;                   // j range (y)
    std::vector<char> cells;        // (rows * cols) row-major: cells[i * cols + j]
    int goal_i = 0, goal_j = 0;     // the 'G' cell: the evaluation target is the point (goal_i, goal_j)
    std::size_t max_episode_steps = 0;  // D4RL: umaze 300, medium 600, large 800

    bool wall(int i, int j) const { return cells[static_cast<std::size_t>(i * cols + j)] == '#'; }
    /// Free cells ('O' and 'G') in row-major order: the reset cells and the waypoint-goal cells.
    std::vector<std::pair<int, int>> free_cells() const;
};

/// Parses D4RL's maze string (rows separated by '\\'); every border cell must be a wall and exactly one 'G' given.
Maze parse_maze(const std::string& name, const std::string& spec, std::size_t max_episode_steps);
/// The three D4RL mazes: "umaze", "medium", "large" (an Error names them otherwise).
const Maze& maze_by_name(const std::string& size);

/// The physical state: qpos (x, y) and qvel (vx, vy), in observation coordinates.
struct PointMassState {
    double x = 0.0, y = 0.0, vx = 0.0, vy = 0.0;
};

/// One step of the point mass, in place. Per axis: u = clip(u, +-1), v = clip(v, +-5), then
///   v' = v + h (100 u - b v) / (m + h b),   x' = x + h v'        (MuJoCo Euler with implicit damping)
/// in sub-steps of at most kMaxSubstepMove, each followed by the contact projection: the ball (radius 0.1) is
/// pushed out of every wall box it overlaps along the contact normal, and a velocity component into the wall is
/// zeroed (inelastic, frictionless: condim 1). Precondition: the ball does not overlap a wall on entry.
void point_mass_step(const Maze& maze, PointMassState& s, double ux, double uy) noexcept;
/// Distance from the ball centre to the nearest wall box minus the radius: >= 0 when the ball is clear of walls.
double wall_clearance(const Maze& maze, double x, double y) noexcept;

/// Reward of position (x, y) for target (tx, ty): sparse 1[dist <= 0.5], dense exp(-dist).
double maze_reward(double x, double y, double tx, double ty, bool dense) noexcept;

/// The physics of one maze: the state, D4RL's per-step clips and the integration, with one contact model.
class PointMassSimulator {
public:
    virtual ~PointMassSimulator() = default;
    /// "ours" (point_mass_step) or "mujoco" (maze2d_mujoco.hpp).
    virtual std::string kind() const = 0;
    /// How far the ball may end a step inside a wall box: 0 for our hard contact, a measured bound for MuJoCo's
    /// soft contact. Maze2dEnv widens its observation box by it.
    virtual double penetration_bound() const = 0;
    /// The largest |vx|, |vy| after a step: the clip plus one step's push for ours; MuJoCo's soft contact can push
    /// the ball back out faster (a measured bound). Maze2dEnv's observation box uses it.
    virtual double speed_bound() const = 0;
    /// Puts the ball in state s, which may overlap a wall by at most penetration_bound() (every reset state is
    /// clear of the walls).
    virtual void set_state(const PointMassState& s) = 0;
    /// One env step: action (ux, uy) clipped to [-1, 1], qvel clipped to [-5, 5], then the integration with
    /// contacts. Returns the state after it.
    virtual PointMassState step(double ux, double uy) = 0;
};

/// Our simulator: point_mass_step on a state of its own.
std::unique_ptr<PointMassSimulator> make_our_point_mass(const Maze& maze);

/// The parts of a maze2d env name maze2d-<size>[-dense][-mujoco].
struct MazeEnvName {
    std::string size;     // "umaze", "medium", "large"
    bool dense = false;   // -dense: the dense reward exp(-dist)
    bool mujoco = false;  // -mujoco: MuJoCo's simulator instead of ours (the `mujoco` feature)
};
/// The parts of `name`, or nullopt when it is not maze2d-<umaze|medium|large>[-dense][-mujoco].
std::optional<MazeEnvName> parse_maze_env_name(const std::string& name);

/// maze2d-<size>[-dense][-mujoco]: observation [x, y, vx, vy] after the step; reward from the post-step position, as
/// the D4RL env computes it (the D4RL dataset files instead use observations[t], issue #194; see generate.hpp);
/// never terminates; truncated at the maze's episode limit.
class Maze2dEnv : public Env {
public:
    /// simulator: the physics (nullptr = ours, make_our_point_mass).
    Maze2dEnv(const Maze& maze, bool dense, std::unique_ptr<PointMassSimulator> simulator = nullptr);

    /// maze2d-<size>[-dense], with -mujoco appended on MuJoCo's simulator.
    std::string name() const override;
    Box observation_space() const override;
    Box action_space() const override;
    std::size_t max_episode_steps() const override { return maze_->max_episode_steps; }
    std::optional<bool> success() const override { return reached_; }

    const Maze& maze() const { return *maze_; }
    bool dense() const { return dense_; }
    double target_x() const { return static_cast<double>(maze_->goal_i); }
    double target_y() const { return static_cast<double>(maze_->goal_j); }
    const PointMassState& state() const { return state_; }
    const PointMassSimulator& simulator() const { return *sim_; }

protected:
    std::vector<float> reset_impl(data::Rng& rng) override;
    StepResult step_impl(const float* action) override;

private:
    std::vector<float> observation() const;

    const Maze* maze_;
    bool dense_;
    std::unique_ptr<PointMassSimulator> sim_;
    PointMassState state_;  // the simulator's state after the last reset or step
    bool reached_ = false;  // the ball came within kGoalRadius of the target this episode
};

/// The D4RL reset distribution: a uniformly chosen free cell (i, j), position (i, j) + U(-0.1, 0.1)^2, velocity
/// N(0, 0.1^2)^2.
PointMassState maze_reset_state(const Maze& maze, data::Rng& rng);

}  // namespace dydiff::envs
