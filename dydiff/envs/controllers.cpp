// Scripted controllers and the episode runner (see controllers.hpp).
#include "dydiff/envs/controllers.hpp"

#include "autograd/error.hpp"
#include "dydiff/envs/locomotion.hpp"

#include <algorithm>
#include <cmath>
#include <deque>

namespace dydiff::envs {

// ---- maze2d waypoint controller ----

MazeWaypointController::MazeWaypointController(const Maze& maze, MazeControllerConfig config)
    : maze_(&maze), config_(config) {
    const int n = maze.rows * maze.cols;
    next_.assign(static_cast<std::size_t>(n) * static_cast<std::size_t>(n), -1);
    const int di[4] = {-1, 1, 0, 0}, dj[4] = {0, 0, -1, 1};
    const std::size_t free_count = maze.free_cells().size();
    for (const auto& [gi, gj] : maze.free_cells()) {
        // BFS from the goal: a cell's next hop is the neighbour it was discovered from.
        const int goal = index(gi, gj);
        int* next = &next_[static_cast<std::size_t>(goal) * static_cast<std::size_t>(n)];
        next[goal] = goal;
        std::deque<std::pair<int, int>> queue{{gi, gj}};
        std::size_t reached = 1;
        while (!queue.empty()) {
            const auto [i, j] = queue.front();
            queue.pop_front();
            for (int k = 0; k < 4; ++k) {
                const int ni = i + di[k], nj = j + dj[k];
                if (maze.wall(ni, nj) || next[index(ni, nj)] >= 0) continue;
                next[index(ni, nj)] = index(i, j);
                queue.emplace_back(ni, nj);
                ++reached;
            }
        }
        DYDIFF_CHECK(reached == free_count, "maze '" << maze.name << "': only " << reached << " of " << free_count
                                                     << " free cells connect to cell (" << gi << ", " << gj << ")");
    }
}

std::pair<int, int> MazeWaypointController::cell_of(double x, double y) noexcept {
    return {static_cast<int>(std::floor(x + PointMass::kWallOffset)),
            static_cast<int>(std::floor(y + PointMass::kWallOffset))};
}

void MazeWaypointController::act(const PointMassState& s, double gx, double gy, double* u) const noexcept {
    const auto [ci, cj] = cell_of(s.x, s.y);
    const auto [gi, gj] = cell_of(gx, gy);
    const int n = maze_->rows * maze_->cols;
    const int goal = index(gi, gj);
    const int* next = &next_[static_cast<std::size_t>(goal) * static_cast<std::size_t>(n)];
    double wx = gx, wy = gy;
    const int from = index(ci, cj);
    if (from != goal) {
        // Follow the path while it keeps the direction of its first move.
        const int step = next[from] - from;
        int c = next[from];
        while (c != goal && next[c] - c == step) c = next[c];
        if (c != goal) {
            // Cell centre in observation coordinates: cell (i, j) spans [i - 0.7, i + 0.3].
            wx = c / maze_->cols + 0.5 - PointMass::kWallOffset;
            wy = c % maze_->cols + 0.5 - PointMass::kWallOffset;
        }
    }
    u[0] = std::clamp(config_.kp * (wx - s.x) - config_.kd * s.vx, -PointMass::kActionLimit, PointMass::kActionLimit);
    u[1] = std::clamp(config_.kp * (wy - s.y) - config_.kd * s.vy, -PointMass::kActionLimit, PointMass::kActionLimit);
}

// ---- pendulum swing-up + balance ----

PendulumControllerConfig pendulum_expert_config() { return {}; }

PendulumControllerConfig pendulum_medium_config() {
    PendulumControllerConfig c;
    c.energy_gain = 0.05;  // pumps slowly: a few swings more than the expert
    c.kp = 6.0;            // barely above the stabilising bound 5: slow, loose balance
    c.kd = 0.6;
    c.capture_angle = 0.3;
    return c;
}

double pendulum_controller_action(const float* obs, const PendulumControllerConfig& config) noexcept {
    using C = PendulumConstants;
    const double theta = std::atan2(static_cast<double>(obs[1]), static_cast<double>(obs[0]));  // in [-pi, pi]
    const double theta_dot = obs[2];
    double u;
    if (std::abs(theta) < config.capture_angle) {
        u = -config.kp * theta - config.kd * theta_dot;
    } else {
        // theta_ddot = a sin theta + b u with a = 3g/(2l), b = 3/(m l^2): E = theta_dot^2/2 + a cos theta is
        // conserved when u = 0 and dE/dt = b u theta_dot, so pushing along theta_dot while E < E* = a adds energy.
        const double a = 3.0 * C::kGravity / (2.0 * C::kLength);
        const double energy = 0.5 * theta_dot * theta_dot + a * std::cos(theta);
        const double push = config.energy_gain * (a - energy);
        u = std::abs(theta_dot) > 1e-3 ? push * theta_dot : (push >= 0.0 ? C::kMaxTorque : -C::kMaxTorque);
    }
    return std::clamp(u, -C::kMaxTorque, C::kMaxTorque);
}

// ---- policies ----

namespace {

class RandomPolicy : public Policy {
public:
    explicit RandomPolicy(Box box) : box_(std::move(box)) {}
    std::vector<float> act(const std::vector<float>&, data::Rng& rng) override {
        std::vector<float> a(box_.dim());
        for (std::size_t k = 0; k < a.size(); ++k) a[k] = rng.uniform(box_.low[k], box_.high[k]);
        return a;
    }

private:
    Box box_;
};

class MazeExpertPolicy : public Policy {
public:
    explicit MazeExpertPolicy(const Maze2dEnv& env)
        : controller_(env.maze()), tx_(env.target_x()), ty_(env.target_y()) {}
    std::vector<float> act(const std::vector<float>& obs, data::Rng&) override {
        const PointMassState s{obs[0], obs[1], obs[2], obs[3]};
        double u[2];
        controller_.act(s, tx_, ty_, u);
        return {static_cast<float>(u[0]), static_cast<float>(u[1])};
    }

private:
    MazeWaypointController controller_;
    double tx_, ty_;
};

class PendulumPolicy : public Policy {
public:
    explicit PendulumPolicy(PendulumControllerConfig config) : config_(config) {}
    std::vector<float> act(const std::vector<float>& obs, data::Rng&) override {
        return {static_cast<float>(pendulum_controller_action(obs.data(), config_))};
    }

private:
    PendulumControllerConfig config_;
};

}  // namespace

std::vector<std::string> policy_kinds(const Env& env) {
    if (dynamic_cast<const PendulumEnv*>(&env)) return {"expert", "medium", "random"};
    if (!locomotion_task_of(env.name()).empty()) return {"random"};  // no scripted gait: learned policies only
    return {"expert", "random"};
}

std::unique_ptr<Policy> make_policy(const Env& env, const std::string& kind) {
    if (kind == "random") return std::make_unique<RandomPolicy>(env.action_space());
    if (const auto* maze = dynamic_cast<const Maze2dEnv*>(&env)) {
        if (kind == "expert") return std::make_unique<MazeExpertPolicy>(*maze);
    } else if (dynamic_cast<const PendulumEnv*>(&env)) {
        if (kind == "expert") return std::make_unique<PendulumPolicy>(pendulum_expert_config());
        if (kind == "medium") return std::make_unique<PendulumPolicy>(pendulum_medium_config());
    }
    std::string known;
    for (const auto& k : policy_kinds(env)) known += (known.empty() ? "" : ", ") + k;
    DYDIFF_USER_FAIL("no policy '" << kind << "' for " << env.name() << " (known: " << known << ")");
}

std::vector<EpisodeStats> run_episodes(Env& env, Policy& policy, std::size_t episodes, std::uint64_t seed) {
    const data::Rng root(seed);
    std::vector<EpisodeStats> out;
    out.reserve(episodes);
    for (std::size_t e = 0; e < episodes; ++e) {
        data::Rng rng = root.fork(e);
        std::vector<float> obs = env.reset(rng);
        EpisodeStats stats;
        for (;;) {
            StepResult r = env.step(policy.act(obs, rng));
            stats.episode_return += r.reward;
            ++stats.length;
            obs = std::move(r.obs);
            if (r.terminated || r.truncated) break;
        }
        stats.success = env.success();
        out.push_back(stats);
    }
    return out;
}

}  // namespace dydiff::envs
