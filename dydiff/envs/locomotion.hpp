// MuJoCo locomotion: hopper, halfcheetah and walker2d, the envs behind D4RL's locomotion datasets, as dydiff Envs
// (docs/environments.md, "MuJoCo locomotion"). Our own MJCF models (dydiff/envs/mjcf/) run in libmujoco 2.x; the
// wrapper follows gym's v2 envs that D4RL used: observation qpos[1:] + qvel (clipped for hopper and walker2d),
// forward-velocity reward with alive bonus and control cost, the env's own termination, reset noise, frame skip and
// a 1000-step limit. The specs and rules here build without MuJoCo; the simulator (locomotion_sim.cpp) needs the
// `mujoco` feature, and make_locomotion_env() fails with a message naming it otherwise.
#pragma once

#include "dydiff/envs/env.hpp"

#include <memory>
#include <string>
#include <vector>

namespace dydiff::envs {

/// The wrapper constants of one task (gym v2 as D4RL used it). qpos[0] = rootx, qpos[1] = rootz (the height for
/// hopper and walker2d), qpos[2] = rooty (the torso angle).
struct LocomotionSpec {
    std::string name;                 // "hopper", "halfcheetah", "walker2d"
    std::size_t nq = 0;               // generalised positions
    std::size_t nv = 0;               // generalised velocities
    std::size_t nu = 0;               // motors = action dim, each ctrl in [-1, 1]
    int frame_skip = 0;               // mj_step calls per env step (env dt = frame_skip * timestep)
    double healthy_reward = 0.0;      // alive bonus per step: hopper, walker2d 1; halfcheetah 0
    double ctrl_cost = 0.0;           // reward -= ctrl_cost * sum(a^2): hopper, walker2d 1e-3; halfcheetah 0.1
    double velocity_clip = 0.0;       // the observation's qvel clipped to +-this; 0 = not clipped (halfcheetah)
    double reset_qpos_noise = 0.0;    // reset qpos = qpos0 + U(-n, n) per coordinate
    double reset_qvel_noise = 0.0;    // reset qvel = U(-n, n), or N(0, n^2) when reset_qvel_normal
    bool reset_qvel_normal = false;   // halfcheetah: Gaussian velocity noise
    std::size_t max_episode_steps = 1000;

    /// S = (nq - 1) + nv: rootx is left out of the observation.
    std::size_t obs_dim() const { return nq - 1 + nv; }
};

/// "hopper", "halfcheetah", "walker2d" (whether or not this build has MuJoCo).
const std::vector<std::string>& locomotion_task_names();
/// The task of an env name: "hopper" for "hopper" and for D4RL names "hopper-medium-v2", ...; "" for other names.
std::string locomotion_task_of(const std::string& name);
/// The spec of a task name (locomotion_task_of(name) must be a task; an Error lists them otherwise).
const LocomotionSpec& locomotion_spec(const std::string& name);

/// The observation: qpos[1:] then qvel, clipped to +-velocity_clip where the spec says so. qpos (nq), qvel (nv).
std::vector<float> locomotion_observation(const LocomotionSpec& spec, const double* qpos, const double* qvel);
/// The reward of one env step: (x_after - x_before) / dt + healthy_reward - ctrl_cost * sum(a^2), with the
/// action (nu) as the policy gave it (MuJoCo clamps the motor input to [-1, 1]; the cost reads the given action).
double locomotion_reward(const LocomotionSpec& spec, double x_before, double x_after, double dt, const float* action);
/// The env's own termination from the state after the step, s = [qpos, qvel] unclipped:
///   hopper:   not (s finite, |s[2:]| < 100, height qpos[1] > 0.7 and |angle qpos[2]| < 0.2);
///   walker2d: not (0.8 < height < 2.0 and -1 < angle < 1);
///   halfcheetah: never.
bool locomotion_terminated(const LocomotionSpec& spec, const double* qpos, const double* qvel);

/// One locomotion task in MuJoCo. Each env owns its mjData; the compiled mjModel of a task is shared by every env
/// of the process (read-only while stepping), so many envs evaluate side by side cheaply.
class LocomotionEnv : public Env {
public:
    /// name: a task or a D4RL name of one ("hopper-medium-v2"); name() returns it as given.
    explicit LocomotionEnv(const std::string& name);
    ~LocomotionEnv() override;

    std::string name() const override { return name_; }
    /// Unbounded: every coordinate in (-inf, inf) (gym's observation box).
    Box observation_space() const override;
    /// The motors' ctrlrange from the model: [-1, 1] per motor.
    Box action_space() const override;
    std::size_t max_episode_steps() const override { return spec_->max_episode_steps; }

    const LocomotionSpec& spec() const { return *spec_; }
    /// The env step's duration: frame_skip * the model's timestep (hopper, walker2d 0.008 s; halfcheetah 0.05 s).
    double dt() const;
    /// The current state, (nq) and (nv).
    std::vector<double> qpos() const;
    std::vector<double> qvel() const;
    /// Puts the simulator in state (qpos, qvel) as gym's set_state does (then mj_forward) and returns its observation;
    /// the episode continues from there (reset() must have started it).
    std::vector<float> set_state(const std::vector<double>& qpos, const std::vector<double>& qvel);

protected:
    /// mj_resetData, then qpos = qpos0 + U(-n, n), qvel as the spec's reset noise (qpos draws first), mj_forward.
    std::vector<float> reset_impl(data::Rng& rng) override;
    /// ctrl = action; frame_skip x mj_step; reward and termination as locomotion_reward / locomotion_terminated.
    StepResult step_impl(const float* action) override;

private:
    struct Sim;  // mjModel (shared) + mjData (own); MuJoCo's headers stay in locomotion_sim.cpp
    std::string name_;
    const LocomotionSpec* spec_;
    std::unique_ptr<Sim> sim_;
};

/// A LocomotionEnv for `name`; without the `mujoco` feature an Error says how to build it.
std::unique_ptr<Env> make_locomotion_env(const std::string& name);

}  // namespace dydiff::envs
