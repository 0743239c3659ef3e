// Locomotion task specs, observation, reward and termination rules, and the factory (see locomotion.hpp). This file
// builds without MuJoCo; the simulator half of LocomotionEnv is locomotion_sim.cpp (the `mujoco` feature).
#include "dydiff/envs/locomotion.hpp"

#include "autograd/error.hpp"

#include <algorithm>
#include <cmath>

namespace dydiff::envs {
namespace {

// gym 0.21 hopper.py, walker2d.py, half_cheetah.py (the v2 envs of D4RL's datasets); docs/environments.md.
LocomotionSpec make_spec(const std::string& name, std::size_t nq, std::size_t nu, int frame_skip, double healthy,
                         double ctrl_cost, double velocity_clip, double qpos_noise, double qvel_noise, bool normal) {
    LocomotionSpec s;
    s.name = name;
    s.nq = nq;
    s.nv = nq;  // planar chains of slide/hinge joints: one velocity per position
    s.nu = nu;
    s.frame_skip = frame_skip;
    s.healthy_reward = healthy;
    s.ctrl_cost = ctrl_cost;
    s.velocity_clip = velocity_clip;
    s.reset_qpos_noise = qpos_noise;
    s.reset_qvel_noise = qvel_noise;
    s.reset_qvel_normal = normal;
    return s;
}

const std::vector<LocomotionSpec>& specs() {
    static const std::vector<LocomotionSpec> all{
        make_spec("hopper", 6, 3, 4, 1.0, 1e-3, 10.0, 5e-3, 5e-3, false),
        make_spec("halfcheetah", 9, 6, 5, 0.0, 0.1, 0.0, 0.1, 0.1, true),
        make_spec("walker2d", 9, 6, 4, 1.0, 1e-3, 10.0, 5e-3, 5e-3, false),
    };
    return all;
}

// hopper: the state stays "healthy" while |s[2:]| < 100, the torso above 0.7 m and within 0.2 rad of upright.
constexpr double kHopperStateLimit = 100.0;
constexpr double kHopperMinHeight = 0.7;
constexpr double kHopperMaxAngle = 0.2;
// walker2d: the torso between 0.8 and 2.0 m and within 1 rad of upright.
constexpr double kWalkerMinHeight = 0.8;
constexpr double kWalkerMaxHeight = 2.0;
constexpr double kWalkerMaxAngle = 1.0;

}  // namespace

const std::vector<std::string>& locomotion_task_names() {
    static const std::vector<std::string> names = [] {
        std::vector<std::string> out;
        for (const auto& s : specs()) out.push_back(s.name);
        return out;
    }();
    return names;
}

std::string locomotion_task_of(const std::string& name) {
    for (const auto& task : locomotion_task_names())
        if (name == task || name.rfind(task + "-", 0) == 0) return task;
    return "";
}

const LocomotionSpec& locomotion_spec(const std::string& name) {
    const std::string task = locomotion_task_of(name);
    for (const auto& s : specs())
        if (s.name == task) return s;
    DYDIFF_USER_FAIL("'" << name << "' is not a locomotion task (known: hopper, halfcheetah, walker2d, or a D4RL "
                            "name such as hopper-medium-v2)");
}

std::vector<float> locomotion_observation(const LocomotionSpec& spec, const double* qpos, const double* qvel) {
    std::vector<float> obs(spec.obs_dim());
    for (std::size_t k = 1; k < spec.nq; ++k) obs[k - 1] = static_cast<float>(qpos[k]);
    for (std::size_t k = 0; k < spec.nv; ++k) {
        const double v = spec.velocity_clip > 0.0 ? std::clamp(qvel[k], -spec.velocity_clip, spec.velocity_clip)
                                                  : qvel[k];
        obs[spec.nq - 1 + k] = static_cast<float>(v);
    }
    return obs;
}

double locomotion_reward(const LocomotionSpec& spec, double x_before, double x_after, double dt, const float* action) {
    double sq = 0.0;
    for (std::size_t k = 0; k < spec.nu; ++k) sq += static_cast<double>(action[k]) * action[k];
    return (x_after - x_before) / dt + spec.healthy_reward - spec.ctrl_cost * sq;
}

bool locomotion_terminated(const LocomotionSpec& spec, const double* qpos, const double* qvel) {
    const double height = qpos[1], angle = qpos[2];
    if (spec.name == "hopper") {
        bool healthy = true;
        for (std::size_t k = 0; k < spec.nq; ++k) healthy = healthy && std::isfinite(qpos[k]);
        for (std::size_t k = 0; k < spec.nv; ++k) healthy = healthy && std::isfinite(qvel[k]);
        for (std::size_t k = 2; k < spec.nq; ++k) healthy = healthy && std::abs(qpos[k]) < kHopperStateLimit;
        for (std::size_t k = 0; k < spec.nv; ++k) healthy = healthy && std::abs(qvel[k]) < kHopperStateLimit;
        return !(healthy && height > kHopperMinHeight && std::abs(angle) < kHopperMaxAngle);
    }
    if (spec.name == "walker2d")
        return !(height > kWalkerMinHeight && height < kWalkerMaxHeight && angle > -kWalkerMaxAngle &&
                 angle < kWalkerMaxAngle);
    if (spec.name == "halfcheetah") return false;
    DYDIFF_FAIL("locomotion_terminated: no rule for spec '" << spec.name << "'");
}

std::unique_ptr<Env> make_locomotion_env(const std::string& name) {
#if DYDIFF_HAVE_MUJOCO
    return std::make_unique<LocomotionEnv>(name);
#else
    DYDIFF_USER_FAIL("env '" << name << "' needs MuJoCo, and this build has no `mujoco` feature: install "
                     "libmujoco-dev (Debian 12: 2.2.2) and run meson setup --reconfigure -Dmujoco=enabled");
#endif
}

}  // namespace dydiff::envs
