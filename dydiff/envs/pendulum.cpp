// Pendulum-v1 dynamics, reward and env (see pendulum.hpp).
#include "dydiff/envs/pendulum.hpp"

#include <algorithm>
#include <cmath>

namespace dydiff::envs {

double angle_normalize(double theta) noexcept {
    // ((theta + pi) mod 2pi) - pi with a floored modulo, so the result is in [-pi, pi).
    constexpr double kTwoPi = 2.0 * M_PI;
    return theta + M_PI - kTwoPi * std::floor((theta + M_PI) / kTwoPi) - M_PI;
}

double pendulum_reward(const PendulumState& s, double u) noexcept {
    u = std::clamp(u, -PendulumConstants::kMaxTorque, PendulumConstants::kMaxTorque);
    const double th = angle_normalize(s.theta);
    return -(th * th + 0.1 * s.theta_dot * s.theta_dot + 0.001 * u * u);
}

void pendulum_step(PendulumState& s, double u) noexcept {
    using C = PendulumConstants;
    u = std::clamp(u, -C::kMaxTorque, C::kMaxTorque);
    const double accel = 3.0 * C::kGravity / (2.0 * C::kLength) * std::sin(s.theta) + 3.0 / (C::kMass * C::kLength * C::kLength) * u;
    s.theta_dot = std::clamp(s.theta_dot + accel * C::kDt, -C::kMaxSpeed, C::kMaxSpeed);
    s.theta = s.theta + s.theta_dot * C::kDt;
}

Box PendulumEnv::observation_space() const {
    const float v = static_cast<float>(PendulumConstants::kMaxSpeed);
    return {{-1.0f, -1.0f, -v}, {1.0f, 1.0f, v}};
}

Box PendulumEnv::action_space() const {
    const float t = static_cast<float>(PendulumConstants::kMaxTorque);
    return {{-t}, {t}};
}

std::vector<float> PendulumEnv::observation() const {
    return {static_cast<float>(std::cos(state_.theta)), static_cast<float>(std::sin(state_.theta)),
            static_cast<float>(state_.theta_dot)};
}

std::vector<float> PendulumEnv::reset_impl(data::Rng& rng) {
    state_.theta = (2.0 * rng.uniform_double() - 1.0) * M_PI;
    state_.theta_dot = 2.0 * rng.uniform_double() - 1.0;
    return observation();
}

StepResult PendulumEnv::step_impl(const float* action) {
    StepResult out;
    out.reward = pendulum_reward(state_, action[0]);
    pendulum_step(state_, action[0]);
    out.obs = observation();
    return out;
}

}  // namespace dydiff::envs
