// Dataset recipes (see generate.hpp and docs/environments.md).
#include "dydiff/envs/generate.hpp"

#include "autograd/error.hpp"
#include "data/rng.hpp"
#include "dydiff/envs/controllers.hpp"
#include "dydiff/envs/env.hpp"
#include "dydiff/envs/locomotion.hpp"
#include "dydiff/envs/maze2d.hpp"
#include "dydiff/envs/maze2d_mujoco.hpp"
#include "dydiff/envs/pendulum.hpp"

#include <algorithm>
#include <cmath>

namespace dydiff::envs {
namespace {

constexpr std::size_t kProgressEvery = std::size_t{1} << 14;  // rows between progress calls
constexpr std::size_t kPendulumDefaultSteps = 100000;  // 500 episodes of 200 steps

bool is_maze(const std::string& env) { return parse_maze_env_name(env).has_value(); }

std::string join(const std::vector<std::string>& words) {
    std::string out;
    for (const auto& w : words) out += (out.empty() ? "" : ", ") + w;
    return out;
}

/// The arrays being filled, row by row.
struct Rows {
    explicit Rows(std::size_t n, std::size_t s, std::size_t a, bool with_next)
        : observations(xt::zeros<float>({n, s})), actions(xt::zeros<float>({n, a})), rewards(xt::zeros<float>({n})),
          terminals(xt::zeros<float>({n})), timeouts(xt::zeros<float>({n})) {
        if (with_next) next_observations = xt::zeros<float>({n, s});
    }
    xt::xtensor<float, 2> observations;       // (N, S)
    xt::xtensor<float, 2> actions;            // (N, A)
    xt::xtensor<float, 1> rewards;            // (N)
    xt::xtensor<float, 1> terminals;          // (N)
    xt::xtensor<float, 1> timeouts;           // (N)
    xt::xtensor<float, 2> next_observations;  // (N, S) or empty

    data::Dataset finish(const std::string& source) {
        data::Dataset d;
        d.observations = std::move(observations);
        d.actions = std::move(actions);
        d.rewards = std::move(rewards);
        d.terminals = std::move(terminals);
        d.timeouts = std::move(timeouts);
        if (next_observations.size() > 0) d.next_observations = std::move(next_observations);
        d.source = source;
        return d;
    }
};

void report(const ProgressFn& progress, std::size_t done, std::size_t total) {
    if (progress && (done % kProgressEvery == 0 || done == total)) progress(done, total);
}

// ---- maze2d ----

/// A waypoint goal as D4RL draws it: a uniformly chosen free cell (i, j) plus U(-0.1, 0.1) per axis.
std::pair<double, double> random_goal(const std::vector<std::pair<int, int>>& cells, data::Rng& rng) {
    const auto& [i, j] = cells[rng.randint(cells.size())];
    const double gx = i + (2.0 * rng.uniform_double() - 1.0) * PointMass::kResetNoise;
    const double gy = j + (2.0 * rng.uniform_double() - 1.0) * PointMass::kResetNoise;
    return {gx, gy};
}

data::Dataset generate_maze(const GenerateConfig& c, std::size_t n, const ProgressFn& progress) {
    const auto name = parse_maze_env_name(c.env);
    DYDIFF_CHECK(name, "generate_maze: '" << c.env << "' is not a maze2d env name");
    const Maze& maze = maze_by_name(name->size);
    const bool dense = name->dense;
    // The physics of the env: ours, or MuJoCo's for the -mujoco names.
    const std::unique_ptr<PointMassSimulator> sim = name->mujoco ? make_mujoco_point_mass(maze) : make_our_point_mass(maze);
    const bool waypoint = c.kind == "waypoint";
    DYDIFF_USER_CHECK(c.maze_reward_goal == "eval" || c.maze_reward_goal == "waypoint",
                      "maze reward goal '" << c.maze_reward_goal << "' (expected eval or waypoint)");
    DYDIFF_USER_CHECK(c.maze_reward_timing == "pre" || c.maze_reward_timing == "post",
                      "maze reward timing '" << c.maze_reward_timing << "' (expected pre or post)");
    DYDIFF_USER_CHECK(c.maze_action_noise >= 0.0 && c.maze_goal_threshold > 0.0 && c.maze_max_goal_steps > 0,
                      "maze options: action noise " << c.maze_action_noise << " must be >= 0, goal threshold "
                                                    << c.maze_goal_threshold << " and max goal steps "
                                                    << c.maze_max_goal_steps << " > 0");
    const bool reward_eval = c.maze_reward_goal == "eval";
    const bool reward_post = c.maze_reward_timing == "post";
    const double tx = maze.goal_i, ty = maze.goal_j;

    Rows rows(n, 4, 2, false);
    xt::xtensor<float, 2> goals = xt::zeros<float>({n, std::size_t{2}});  // (N, 2) infos/goal
    const auto cells = maze.free_cells();
    const MazeWaypointController controller(maze);
    data::Rng rng(c.seed);

    PointMassState s = maze_reset_state(maze, rng);
    sim->set_state(s);
    auto [gx, gy] = waypoint ? random_goal(cells, rng) : std::pair<double, double>{tx, ty};
    std::size_t on_goal = 0;  // rows since the goal was set (waypoint) or since the reset (random)
    float* obs = rows.observations.data();
    float* act = rows.actions.data();
    for (std::size_t t = 0; t < n; ++t) {
        obs[4 * t + 0] = static_cast<float>(s.x);
        obs[4 * t + 1] = static_cast<float>(s.y);
        obs[4 * t + 2] = static_cast<float>(s.vx);
        obs[4 * t + 3] = static_cast<float>(s.vy);
        goals(t, 0) = static_cast<float>(gx);
        goals(t, 1) = static_cast<float>(gy);
        const double rx = reward_eval ? tx : gx, ry = reward_eval ? ty : gy;
        double u[2];
        if (waypoint) {
            // D4RL: the controller reports the goal reached at state s_t; the row keeps the old goal and is marked
            // as the end of a segment (timeouts), then the controller steers s_t toward the new goal.
            if (std::hypot(s.x - gx, s.y - gy) <= c.maze_goal_threshold || on_goal >= c.maze_max_goal_steps) {
                rows.timeouts(t) = 1.0f;
                std::tie(gx, gy) = random_goal(cells, rng);
                on_goal = 0;
            }
            controller.act(s, gx, gy, u);
            u[0] = std::clamp(u[0] + c.maze_action_noise * rng.normal_double(), -1.0, 1.0);
            u[1] = std::clamp(u[1] + c.maze_action_noise * rng.normal_double(), -1.0, 1.0);
        } else {
            u[0] = 2.0 * rng.uniform_double() - 1.0;
            u[1] = 2.0 * rng.uniform_double() - 1.0;
        }
        act[2 * t + 0] = static_cast<float>(u[0]);
        act[2 * t + 1] = static_cast<float>(u[1]);
        // Rewards read the float32 values stored in the row (as a relabelling of the file would).
        if (!reward_post) rows.rewards(t) = static_cast<float>(maze_reward(obs[4 * t], obs[4 * t + 1], rx, ry, dense));
        s = sim->step(act[2 * t], act[2 * t + 1]);
        if (reward_post)
            rows.rewards(t) = static_cast<float>(
                maze_reward(static_cast<float>(s.x), static_cast<float>(s.y), rx, ry, dense));
        ++on_goal;
        if (!waypoint && on_goal == maze.max_episode_steps && t + 1 < n) {
            // Random kind: env-like episodes with D4RL's reset distribution, truncated at the episode limit.
            rows.timeouts(t) = 1.0f;
            s = maze_reset_state(maze, rng);
            sim->set_state(s);
            on_goal = 0;
        }
        report(progress, t + 1, n);
    }
    data::Dataset d = rows.finish("generated " + c.env + " " + c.kind);
    d.infos["infos/goal"] = goals;
    d.infos["infos/qpos"] = xt::xtensor<float, 2>(xt::view(d.observations, xt::all(), xt::range(0, 2)));
    d.infos["infos/qvel"] = xt::xtensor<float, 2>(xt::view(d.observations, xt::all(), xt::range(2, 4)));
    return d;
}

// ---- pendulum ----

/// The action of one pendulum recipe at one step.
struct PendulumBehaviour {
    enum Kind { kRandom, kController } kind = kRandom;
    PendulumControllerConfig config;
    double noise = 0.0;           // torque noise std
    double random_prob = 0.0;     // per-step probability of a uniform action instead (medium-replay)

    float act(const float* obs, data::Rng& rng) const {
        constexpr double kMax = PendulumConstants::kMaxTorque;
        if (kind == kRandom || (random_prob > 0.0 && rng.uniform_double() < random_prob))
            return static_cast<float>((2.0 * rng.uniform_double() - 1.0) * kMax);
        const double u = pendulum_controller_action(obs, config) + noise * rng.normal_double();
        return static_cast<float>(std::clamp(u, -kMax, kMax));
    }
};

/// Fills rows [begin, end) with whole 200-step episodes (the last one cut at `end`, flagged as a timeout too);
/// episode e draws from root.fork(e). medium-replay anneals random_prob from 1 to 0 over the episodes.
void pendulum_rows(Rows& rows, std::size_t begin, std::size_t end, PendulumBehaviour behaviour, bool anneal,
                   const data::Rng& root, const ProgressFn& progress, std::size_t total) {
    PendulumEnv env;
    const std::size_t len = env.max_episode_steps();
    const std::size_t episodes = (end - begin + len - 1) / len;
    std::size_t t = begin;
    for (std::size_t e = 0; t < end; ++e) {
        data::Rng rng = root.fork(e);
        if (anneal) behaviour.random_prob = 1.0 - static_cast<double>(e) / static_cast<double>(episodes);
        std::vector<float> obs = env.reset(rng);
        for (std::size_t k = 0; k < len && t < end; ++k, ++t) {
            const float a = behaviour.act(obs.data(), rng);
            StepResult r = env.step({a});
            std::copy(obs.begin(), obs.end(), &rows.observations(t, 0));
            std::copy(r.obs.begin(), r.obs.end(), &rows.next_observations(t, 0));
            rows.actions(t, 0) = a;
            rows.rewards(t) = static_cast<float>(r.reward);
            rows.timeouts(t) = (r.truncated || t + 1 == end) ? 1.0f : 0.0f;
            obs = std::move(r.obs);
            report(progress, t + 1, total);
        }
    }
}

data::Dataset generate_pendulum(const GenerateConfig& c, std::size_t n, const ProgressFn& progress) {
    DYDIFF_USER_CHECK(c.pendulum_expert_noise >= 0.0 && c.pendulum_medium_noise >= 0.0,
                      "pendulum noise levels must be >= 0 (expert " << c.pendulum_expert_noise << ", medium "
                                                                    << c.pendulum_medium_noise << ")");
    Rows rows(n, 3, 1, true);
    PendulumBehaviour random;
    PendulumBehaviour medium{PendulumBehaviour::kController, pendulum_medium_config(), c.pendulum_medium_noise, 0.0};
    PendulumBehaviour expert{PendulumBehaviour::kController, pendulum_expert_config(), c.pendulum_expert_noise, 0.0};
    const data::Rng root(c.seed);
    if (c.kind == "random") {
        pendulum_rows(rows, 0, n, random, false, root, progress, n);
    } else if (c.kind == "medium") {
        pendulum_rows(rows, 0, n, medium, false, root, progress, n);
    } else if (c.kind == "expert") {
        pendulum_rows(rows, 0, n, expert, false, root, progress, n);
    } else if (c.kind == "medium-replay") {
        pendulum_rows(rows, 0, n, medium, true, root, progress, n);
    } else if (c.kind == "medium-expert") {
        // As D4RL: the medium rows, then the expert rows, each from its own stream.
        pendulum_rows(rows, 0, n / 2, medium, false, root.fork(0), progress, n);
        pendulum_rows(rows, n / 2, n, expert, false, root.fork(1), progress, n);
    } else {
        DYDIFF_USER_FAIL("unknown dataset kind '" << c.kind << "' for pendulum (known: " << join(dataset_kinds(c.env))
                                                  << ")");
    }
    return rows.finish("generated pendulum " + c.kind);
}

// ---- MuJoCo locomotion ----

constexpr std::size_t kLocomotionDefaultSteps = 1000000;  // D4RL's *-random-v2 files hold 1M rows

/// D4RL's random recipe: whole episodes of uniform actions over the action box; episode e resets from root.fork(e)
/// and draws its actions from that stream. terminals = the env's termination, timeouts = the 1000-step limit (and
/// the last row, cut mid-episode); infos/qpos and infos/qvel hold the simulator state of observations[t].
data::Dataset generate_locomotion(const GenerateConfig& c, [[maybe_unused]] std::size_t n,
                                  [[maybe_unused]] const ProgressFn& progress) {
    DYDIFF_USER_CHECK(c.kind == "random", "unknown dataset kind '" << c.kind << "' for " << c.env
                                                                     << " (known: " << join(dataset_kinds(c.env))
                                                                     << ")");
#if DYDIFF_HAVE_MUJOCO
    LocomotionEnv env(c.env);
    const LocomotionSpec& spec = env.spec();
    const Box box = env.action_space();
    Rows rows(n, spec.obs_dim(), spec.nu, true);
    xt::xtensor<float, 2> qpos = xt::zeros<float>({n, spec.nq});  // (N, nq) infos/qpos
    xt::xtensor<float, 2> qvel = xt::zeros<float>({n, spec.nv});  // (N, nv) infos/qvel
    const data::Rng root(c.seed);
    std::vector<float> action(spec.nu);
    std::size_t t = 0;
    for (std::size_t e = 0; t < n; ++e) {
        data::Rng rng = root.fork(e);
        std::vector<float> obs = env.reset(rng);
        for (bool done = false; !done && t < n; ++t) {
            const std::vector<double> q = env.qpos(), v = env.qvel();
            std::copy(q.begin(), q.end(), &qpos(t, 0));
            std::copy(v.begin(), v.end(), &qvel(t, 0));
            for (std::size_t k = 0; k < spec.nu; ++k)
                action[k] = static_cast<float>(box.low[k] + (box.high[k] - box.low[k]) * rng.uniform_double());
            StepResult r = env.step(action);
            std::copy(obs.begin(), obs.end(), &rows.observations(t, 0));
            std::copy(r.obs.begin(), r.obs.end(), &rows.next_observations(t, 0));
            std::copy(action.begin(), action.end(), &rows.actions(t, 0));
            rows.rewards(t) = static_cast<float>(r.reward);
            rows.terminals(t) = r.terminated ? 1.0f : 0.0f;
            rows.timeouts(t) = !r.terminated && (r.truncated || t + 1 == n) ? 1.0f : 0.0f;
            done = r.terminated || r.truncated;
            obs = std::move(r.obs);
            report(progress, t + 1, n);
        }
    }
    data::Dataset d = rows.finish("generated " + c.env + " " + c.kind);
    d.infos["infos/qpos"] = std::move(qpos);
    d.infos["infos/qvel"] = std::move(qvel);
    d.provenance = {{"recipe", c.kind}, {"seed", std::to_string(c.seed)}};
    return d;
#else
    make_locomotion_env(c.env);  // throws: the Error says how to build with MuJoCo
    DYDIFF_FAIL("make_locomotion_env(" << c.env << ") returned in a build without MuJoCo");
#endif
}

}  // namespace

std::vector<std::string> dataset_kinds(const std::string& env) {
    if (locomotion_task_of(env) == env) return {"random"};  // generating one says whether this build has MuJoCo
    const auto names = known_env_names();
    DYDIFF_USER_CHECK(std::find(names.begin(), names.end(), env) != names.end(),
                      "unknown environment '" << env << "' (known: " << join(names) << ")");
    if (is_maze(env)) return {"waypoint", "random"};
    return {"random", "medium", "expert", "medium-replay", "medium-expert"};
}

std::size_t default_steps(const std::string& env, const std::string& kind) {
    dataset_kinds(env);  // validates env
    if (is_maze(env)) {
        // D4RL maze2d-v1 dataset sizes (docs/environments.md, dataset recipes).
        if (env.find("umaze") != std::string::npos) return 1000000;
        if (env.find("medium") != std::string::npos) return 2000000;
        return 4000000;
    }
    if (!locomotion_task_of(env).empty()) return kLocomotionDefaultSteps;
    return kind == "medium-expert" ? 2 * kPendulumDefaultSteps : kPendulumDefaultSteps;
}

data::Dataset generate_dataset(const GenerateConfig& config, const ProgressFn& progress) {
    GenerateConfig c = config;
    const auto kinds = dataset_kinds(c.env);
    if (c.kind.empty()) c.kind = kinds.front();
    DYDIFF_USER_CHECK(std::find(kinds.begin(), kinds.end(), c.kind) != kinds.end(),
                      "unknown dataset kind '" << c.kind << "' for " << c.env << " (known: " << join(kinds) << ")");
    const std::size_t n = c.steps > 0 ? c.steps : default_steps(c.env, c.kind);
    data::Dataset d = is_maze(c.env)                        ? generate_maze(c, n, progress)
                      : !locomotion_task_of(c.env).empty() ? generate_locomotion(c, n, progress)
                                                           : generate_pendulum(c, n, progress);
    d.env = c.env;  // saved as metadata/env: the models trained on it record it (data/data_identity.hpp)
    return d;
}

}  // namespace dydiff::envs
