// Checking model-made transitions against the true env (see synthetic_check.hpp).
#include "dydiff/eval/synthetic_check.hpp"

#include "autograd/error.hpp"
#include "data/rng.hpp"
#include "dydiff/envs/locomotion.hpp"
#include "dydiff/envs/maze2d.hpp"
#include "dydiff/envs/maze2d_mujoco.hpp"
#include "dydiff/envs/pendulum.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>

namespace dydiff::eval {

namespace {

// The maze's true step on the env's own simulator (ours, or MuJoCo's for the -mujoco names). A state is valid when
// the ball overlaps no wall by more than that simulator allows (ours: not at all).
std::optional<TransitionOracle> maze_oracle(const envs::Maze& maze, bool dense,
                                            std::shared_ptr<envs::PointMassSimulator> sim) {
    TransitionOracle o;
    o.obs_dim = 4;
    o.action_dim = 2;
    const envs::Maze* m = &maze;
    const double allowed = sim->penetration_bound();
    o.valid = [m, allowed](const float* s) {
        return std::isfinite(s[0]) && std::isfinite(s[1]) && std::isfinite(s[2]) && std::isfinite(s[3]) &&
               envs::wall_clearance(*m, s[0], s[1]) >= -allowed;
    };
    o.step = [sim](const float* s, const float* a, float* next) {
        sim->set_state({s[0], s[1], s[2], s[3]});
        const envs::PointMassState p = sim->step(a[0], a[1]);
        next[0] = static_cast<float>(p.x);
        next[1] = static_cast<float>(p.y);
        next[2] = static_cast<float>(p.vx);
        next[3] = static_cast<float>(p.vy);
    };
    o.reward = [m, dense](const float* s, const float*) {
        return static_cast<float>(envs::maze_reward(s[0], s[1], m->goal_i, m->goal_j, dense));
    };
    return o;
}

envs::PendulumState pendulum_state(const float* s) {
    return {std::atan2(static_cast<double>(s[1]), static_cast<double>(s[0])), static_cast<double>(s[2])};
}

std::optional<TransitionOracle> pendulum_oracle() {
    TransitionOracle o;
    o.obs_dim = 3;
    o.action_dim = 1;
    o.valid = [](const float* s) { return std::isfinite(s[0]) && std::isfinite(s[1]) && std::isfinite(s[2]); };
    o.step = [](const float* s, const float* a, float* next) {
        envs::PendulumState p = pendulum_state(s);
        envs::pendulum_step(p, a[0]);
        next[0] = static_cast<float>(std::cos(p.theta));
        next[1] = static_cast<float>(std::sin(p.theta));
        next[2] = static_cast<float>(p.theta_dot);
    };
    o.reward = [](const float* s, const float* a) {
        return static_cast<float>(envs::pendulum_reward(pendulum_state(s), a[0]));
    };
    return o;
}

#if DYDIFF_HAVE_MUJOCO
// hopper, walker2d, halfcheetah: the observation is qpos[1:] and qvel, and the dynamics, reward and termination do not
// depend on qpos[0] (the x position, on a flat endless floor), so the state is the observation with x = 0. Except
// where a velocity was clipped (hopper, walker2d: |qvel| at 10): the true velocity is then unknown, and such a state
// counts as outside the domain (no true step). The reward is the env's step reward, as the dataset recipes store it.
std::optional<TransitionOracle> locomotion_oracle(const std::string& env_name) {
    auto env = std::make_shared<envs::LocomotionEnv>(env_name);
    const double clip = env->spec().velocity_clip;
    env->reset(0);
    const std::size_t nq = env->qpos().size(), nv = env->qvel().size();
    TransitionOracle o;
    o.obs_dim = nq - 1 + nv;
    o.action_dim = env->action_dim();
    o.valid = [S = o.obs_dim, nq, clip](const float* s) {
        for (std::size_t k = 0; k < S; ++k)
            if (!std::isfinite(s[k])) return false;
        if (clip > 0)
            for (std::size_t k = nq - 1; k < S; ++k)  // the velocities
                if (std::abs(static_cast<double>(s[k])) >= clip * (1.0 - 1e-6)) return false;
        return true;
    };
    // One env step from observation s: reset (so that a terminated episode may step again), then the state.
    auto step_from = [env, nq, nv](const float* s, const float* a) {
        std::vector<double> qpos(nq, 0.0), qvel(nv);
        for (std::size_t k = 1; k < nq; ++k) qpos[k] = s[k - 1];
        for (std::size_t k = 0; k < nv; ++k) qvel[k] = s[nq - 1 + k];
        env->reset(0);
        env->set_state(qpos, qvel);
        return env->step(std::vector<float>(a, a + env->action_dim()));
    };
    o.step = [step_from](const float* s, const float* a, float* next) {
        const envs::StepResult r = step_from(s, a);
        std::copy(r.obs.begin(), r.obs.end(), next);
    };
    o.reward = [step_from](const float* s, const float* a) { return static_cast<float>(step_from(s, a).reward); };
    return o;
}
#endif

double quantile(std::vector<double> v, double p) {
    if (v.empty()) return 0.0;
    std::sort(v.begin(), v.end());
    const double pos = p * static_cast<double>(v.size() - 1);
    const std::size_t lo = static_cast<std::size_t>(pos);
    const std::size_t hi = std::min(lo + 1, v.size() - 1);
    return v[lo] + (pos - static_cast<double>(lo)) * (v[hi] - v[lo]);
}

}  // namespace

std::optional<TransitionOracle> transition_oracle(const std::string& env_name) {
    if (env_name == "pendulum") return pendulum_oracle();
    if (const auto name = envs::parse_maze_env_name(env_name)) {
        const envs::Maze& maze = envs::maze_by_name(name->size);
        return maze_oracle(maze, name->dense,
                           name->mujoco ? envs::make_mujoco_point_mass(maze) : envs::make_our_point_mass(maze));
    }
#if DYDIFF_HAVE_MUJOCO
    if (!envs::locomotion_task_of(env_name).empty()) return locomotion_oracle(env_name);
#endif
    return std::nullopt;
}

TransitionCheck check_transitions(const TransitionOracle& oracle, const data::Transitions& t,
                                  const std::vector<double>& scale, std::size_t samples, std::uint64_t seed) {
    const std::size_t n = t.size(), S = oracle.obs_dim, A = oracle.action_dim;
    DYDIFF_CHECK(n == 0 || (t.observations.shape()[1] == S && t.actions.shape()[1] == A &&
                            t.next_observations.shape()[1] == S),
                 "check_transitions: transitions of obs dim " << t.observations.shape()[1] << " and action dim "
                                                              << t.actions.shape()[1] << " for an env of " << S
                                                              << " and " << A);
    DYDIFF_CHECK(scale.size() == S, "check_transitions: scale of size " << scale.size() << ", obs dim " << S);
    std::vector<std::size_t> rows(n);
    std::iota(rows.begin(), rows.end(), std::size_t{0});
    if (samples > 0 && samples < n) {  // partial Fisher-Yates: the first `samples` entries are a uniform sample
        data::Rng rng(seed);
        for (std::size_t i = 0; i < samples; ++i) std::swap(rows[i], rows[i + rng.randint(n - i)]);
        rows.resize(samples);
        std::sort(rows.begin(), rows.end());
    }
    TransitionCheck c;
    c.total = rows.size();
    c.dim_error_mean.assign(S, 0.0);
    std::vector<double> errors;
    errors.reserve(rows.size());
    std::vector<float> next(S);
    double z_sum = 0.0, reward_error = 0.0, reward_sum = 0.0, reward_true_sum = 0.0;
    for (std::size_t i : rows) {
        const float* s = &t.observations(i, 0);
        const float* a = &t.actions(i, 0);
        const float* s_next = &t.next_observations(i, 0);
        if (!oracle.valid(s)) continue;
        ++c.checked;
        if (!oracle.valid(s_next)) ++c.invalid_next;
        oracle.step(s, a, next.data());
        double sq = 0.0, zsq = 0.0;
        for (std::size_t k = 0; k < S; ++k) {
            const double d = static_cast<double>(s_next[k]) - next[k];
            const double unit = scale[k] > 0.0 ? scale[k] : 1.0;
            sq += d * d;
            zsq += (d / unit) * (d / unit);
            c.dim_error_mean[k] += std::abs(d);
        }
        errors.push_back(std::sqrt(sq));
        z_sum += std::sqrt(zsq);
        const double r_true = oracle.reward(s, a);
        reward_error += std::abs(static_cast<double>(t.rewards(i)) - r_true);
        reward_sum += t.rewards(i);
        reward_true_sum += r_true;
    }
    if (c.checked > 0) {
        const double m = static_cast<double>(c.checked);
        c.state_error_mean = std::accumulate(errors.begin(), errors.end(), 0.0) / m;
        c.state_error_p50 = quantile(errors, 0.5);
        c.state_error_p90 = quantile(errors, 0.9);
        c.state_error_z_mean = z_sum / m;
        for (double& e : c.dim_error_mean) e /= m;
        c.reward_error_mean = reward_error / m;
        c.reward_mean = reward_sum / m;
        c.reward_true_mean = reward_true_sum / m;
    }
    return c;
}

}  // namespace dydiff::eval
