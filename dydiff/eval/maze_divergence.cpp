// maze_divergence: two maze2d simulators side by side under the same starts and actions (see maze_divergence.hpp).
#include "dydiff/eval/maze_divergence.hpp"

#include "autograd/error.hpp"
#include "data/rng.hpp"
#include "dydiff/envs/controllers.hpp"
#include "dydiff/envs/env.hpp"
#include "dydiff/envs/maze2d.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <memory>
#include <sstream>

namespace dydiff {
namespace {

using envs::Maze2dEnv;
using envs::PointMassState;

const char* const kSources[] = {"waypoint", "saturated", "uniform"};

/// The next action of one source; `s` is env a's state (the waypoint source steers by it).
class ActionSource {
public:
    ActionSource(const std::string& kind, const envs::Maze& maze, const MazeDivergenceConfig& config)
        : kind_(kind), config_(&config), controller_(maze), cells_(maze.free_cells()) {}

    /// Draws the episode's first waypoint goal and saturated signs.
    void start(data::Rng& rng) {
        new_goal(rng);
        sign_x_ = rng.randint(2) ? 1.0 : -1.0;
        sign_y_ = rng.randint(2) ? 1.0 : -1.0;
    }

    void act(const PointMassState& s, data::Rng& rng, double* u) {
        if (kind_ == "waypoint") {
            if (std::hypot(s.x - gx_, s.y - gy_) <= config_->waypoint_threshold) new_goal(rng);
            controller_.act(s, gx_, gy_, u);
            u[0] = std::clamp(u[0] + config_->waypoint_noise * rng.normal_double(), -1.0, 1.0);
            u[1] = std::clamp(u[1] + config_->waypoint_noise * rng.normal_double(), -1.0, 1.0);
        } else if (kind_ == "saturated") {
            const double flip = 1.0 / config_->saturated_hold;
            if (rng.uniform_double() < flip) sign_x_ = rng.randint(2) ? 1.0 : -1.0;
            if (rng.uniform_double() < flip) sign_y_ = rng.randint(2) ? 1.0 : -1.0;
            u[0] = sign_x_;
            u[1] = sign_y_;
        } else if (kind_ == "uniform") {
            u[0] = 2.0 * rng.uniform_double() - 1.0;
            u[1] = 2.0 * rng.uniform_double() - 1.0;
        } else {
            DYDIFF_FAIL("maze_divergence: unknown action source '" << kind_ << "'");
        }
    }

private:
    // A waypoint goal as the D4RL recipe draws it: a free cell (i, j) plus U(-0.1, 0.1) per axis.
    void new_goal(data::Rng& rng) {
        const auto& [i, j] = cells_[rng.randint(cells_.size())];
        gx_ = i + (2.0 * rng.uniform_double() - 1.0) * envs::PointMass::kResetNoise;
        gy_ = j + (2.0 * rng.uniform_double() - 1.0) * envs::PointMass::kResetNoise;
    }

    std::string kind_;
    const MazeDivergenceConfig* config_;
    envs::MazeWaypointController controller_;
    std::vector<std::pair<int, int>> cells_;
    double gx_ = 0.0, gy_ = 0.0;
    double sign_x_ = 1.0, sign_y_ = 1.0;
};

/// Accumulates one group's divergences at one step.
struct Accumulator {
    std::size_t n = 0;
    double pos_sum = 0.0, pos_max = 0.0, vel_sum = 0.0, vel_max = 0.0;
    void add(double pos, double vel) {
        ++n;
        pos_sum += pos;
        vel_sum += vel;
        pos_max = std::max(pos_max, pos);
        vel_max = std::max(vel_max, vel);
    }
    DivergenceStats stats() const {
        if (n == 0) return {};
        return {n, pos_sum / static_cast<double>(n), pos_max, vel_sum / static_cast<double>(n), vel_max};
    }
};

std::unique_ptr<envs::Env> make_maze_env(const std::string& name, const char* role) {
    const auto parsed = envs::parse_maze_env_name(name);
    DYDIFF_USER_CHECK(parsed, "maze divergence: " << role << " env '" << name
                                                   << "' is not a maze2d env (maze2d-<size>[-dense][-mujoco])");
    return envs::make_env(name);
}

std::string num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3g", v);
    return buf;
}

}  // namespace

MazeDivergenceResult maze_divergence(const std::string& env_a, const std::string& env_b,
                                     const MazeDivergenceConfig& config) {
    auto a_env = make_maze_env(env_a, "first");
    auto b_env = make_maze_env(env_b, "second");
    auto& a = dynamic_cast<Maze2dEnv&>(*a_env);
    auto& b = dynamic_cast<Maze2dEnv&>(*b_env);
    DYDIFF_USER_CHECK(a.maze().name == b.maze().name, "maze divergence: " << env_a << " and " << env_b
                                                                          << " are different mazes");
    DYDIFF_USER_CHECK(config.episodes > 0 && config.saturated_hold >= 1.0 && config.waypoint_noise >= 0.0 &&
                          config.waypoint_threshold > 0.0 && config.contact_distance >= 0.0,
                      "maze divergence: episodes " << config.episodes << " must be > 0, saturated hold "
                                                   << config.saturated_hold << " >= 1, waypoint noise "
                                                   << config.waypoint_noise << " >= 0, waypoint threshold "
                                                   << config.waypoint_threshold << " > 0, contact distance "
                                                   << config.contact_distance << " >= 0");
    const envs::Maze& maze = a.maze();
    const std::size_t limit = a.max_episode_steps();
    const std::size_t steps = config.steps == 0 ? limit : config.steps;
    DYDIFF_USER_CHECK(steps <= limit, "maze divergence: " << steps << " steps exceed the episode limit " << limit
                                                          << " of " << env_a);
    std::vector<std::size_t> horizons;
    for (std::size_t h : config.horizons)
        if (h >= 1 && h <= steps && std::find(horizons.begin(), horizons.end(), h) == horizons.end())
            horizons.push_back(h);
    std::sort(horizons.begin(), horizons.end());

    MazeDivergenceResult result;
    result.env_a = env_a;
    result.env_b = env_b;
    result.episodes = config.episodes;
    result.steps = steps;
    const data::Rng root(config.seed);
    for (std::size_t source_index = 0; source_index < std::size(kSources); ++source_index) {
        ActionSource source(kSources[source_index], maze, config);
        std::vector<Accumulator> all(horizons.size()), free(horizons.size()), contact(horizons.size());
        SourceDivergence out;
        out.source = kSources[source_index];
        std::size_t contacts_a = 0, contacts_b = 0;
        for (std::size_t e = 0; e < config.episodes; ++e) {
            data::Rng reset_a = root.fork(e);
            data::Rng reset_b = root.fork(e);
            data::Rng actions = root.fork(e).fork(1 + source_index);
            a.reset(reset_a);
            b.reset(reset_b);
            const PointMassState& sa = a.state();
            const PointMassState& sb = b.state();
            DYDIFF_CHECK(sa.x == sb.x && sa.y == sb.y && sa.vx == sb.vx && sa.vy == sb.vy,
                         "maze divergence: " << env_a << " and " << env_b << " reset to different states");
            source.start(actions);
            bool touched = false;  // either ball ended a step in contact so far
            std::size_t next = 0;  // index of the next reported horizon
            for (std::size_t t = 1; t <= steps; ++t) {
                double u[2];
                source.act(sa, actions, u);
                const std::vector<float> action{static_cast<float>(u[0]), static_cast<float>(u[1])};
                a.step(action);
                b.step(action);
                const double clear_a = envs::wall_clearance(maze, sa.x, sa.y);
                const double clear_b = envs::wall_clearance(maze, sb.x, sb.y);
                const bool in_a = clear_a < config.contact_distance, in_b = clear_b < config.contact_distance;
                contacts_a += in_a;
                contacts_b += in_b;
                touched = touched || in_a || in_b;
                out.penetration_a = std::max(out.penetration_a, -clear_a);
                out.penetration_b = std::max(out.penetration_b, -clear_b);
                if (next < horizons.size() && horizons[next] == t) {
                    const double pos = std::hypot(sa.x - sb.x, sa.y - sb.y);
                    const double vel = std::hypot(sa.vx - sb.vx, sa.vy - sb.vy);
                    all[next].add(pos, vel);
                    (touched ? contact : free)[next].add(pos, vel);
                    ++next;
                }
            }
        }
        const double total = static_cast<double>(config.episodes * steps);
        out.contact_share_a = static_cast<double>(contacts_a) / total;
        out.contact_share_b = static_cast<double>(contacts_b) / total;
        for (std::size_t k = 0; k < horizons.size(); ++k)
            out.rows.push_back({horizons[k], all[k].stats(), free[k].stats(), contact[k].stats()});
        result.sources.push_back(std::move(out));
    }
    return result;
}

std::string maze_divergence_text(const MazeDivergenceResult& r) {
    std::ostringstream os;
    os << "divergence of " << r.env_b << " from " << r.env_a << ": the same starts and actions, " << r.episodes
       << " episodes of " << r.steps << " steps per action source\n";
    for (const SourceDivergence& s : r.sources) {
        os << "\nsource " << s.source << ": steps in contact " << num(100.0 * s.contact_share_a) << "% (" << r.env_a
           << "), " << num(100.0 * s.contact_share_b) << "% (" << r.env_b << "); deepest penetration "
           << num(s.penetration_a) << " (" << r.env_a << "), " << num(s.penetration_b) << " (" << r.env_b << ")\n";
        char line[160];
        std::snprintf(line, sizeof line, "%6s  %-7s  %8s  %10s  %10s  %10s  %10s\n", "step", "group", "episodes",
                      "pos_mean", "pos_max", "vel_mean", "vel_max");
        os << line;
        for (const DivergenceRow& row : s.rows) {
            const std::pair<const char*, const DivergenceStats*> groups[] = {
                {"all", &row.all}, {"free", &row.free}, {"contact", &row.contact}};
            for (const auto& [name, g] : groups) {
                std::snprintf(line, sizeof line, "%6zu  %-7s  %8zu  %10.3g  %10.3g  %10.3g  %10.3g\n", row.step, name,
                              g->episodes, g->pos_mean, g->pos_max, g->vel_mean, g->vel_max);
                os << line;
            }
        }
    }
    return os.str();
}

}  // namespace dydiff
