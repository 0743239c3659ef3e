// pendulum: gym's Pendulum-v1 written from its equations (docs/environments.md). State (theta, theta_dot),
// theta = 0 upright; observation [cos theta, sin theta, theta_dot]; torque in [-2, 2]; 200-step episodes; never terminates.
#pragma once

#include "dydiff/envs/env.hpp"

namespace dydiff::envs {

struct PendulumConstants {
    static constexpr double kGravity = 10.0;   // g (Pendulum-v1 default)
    static constexpr double kMass = 1.0;       // m
    static constexpr double kLength = 1.0;     // l
    static constexpr double kDt = 0.05;        // dt
    static constexpr double kMaxSpeed = 8.0;   // |theta_dot| clip
    static constexpr double kMaxTorque = 2.0;  // |u| clip
    static constexpr std::size_t kEpisodeSteps = 200;
};

struct PendulumState {
    double theta = 0.0;      // angle from upright, radians (not wrapped)
    double theta_dot = 0.0;  // angular velocity
};

/// Wraps an angle to [-pi, pi).
double angle_normalize(double theta) noexcept;
/// The reward of state s under torque u (clipped): -(norm(theta)^2 + 0.1 theta_dot^2 + 0.001 u^2), pre-step state.
double pendulum_reward(const PendulumState& s, double u) noexcept;
/// One step in place: u = clip(u, +-2);
///   theta_dot' = clip(theta_dot + (3g/(2l) sin theta + 3/(m l^2) u) dt, +-8),   theta' = theta + theta_dot' dt.
void pendulum_step(PendulumState& s, double u) noexcept;

class PendulumEnv : public Env {
public:
    std::string name() const override { return "pendulum"; }
    Box observation_space() const override;
    Box action_space() const override;
    std::size_t max_episode_steps() const override { return PendulumConstants::kEpisodeSteps; }
    const PendulumState& state() const { return state_; }

protected:
    /// theta ~ U(-pi, pi), theta_dot ~ U(-1, 1).
    std::vector<float> reset_impl(data::Rng& rng) override;
    /// Reward from the pre-step state and the clipped torque, as gym computes it.
    StepResult step_impl(const float* action) override;

private:
    std::vector<float> observation() const;
    PendulumState state_;
};

}  // namespace dydiff::envs
