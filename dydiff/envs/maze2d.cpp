// maze2d point mass: mazes, the free-space step, the contact projection, the env (see maze2d.hpp).
#include "dydiff/envs/maze2d.hpp"

#include "autograd/error.hpp"

#include <algorithm>
#include <cmath>

namespace dydiff::envs {
namespace {

// D4RL pointmaze/maze_model.py maze strings (docs/environments.md): '#' wall, 'O' free, 'G' goal, rows split by '\'.
constexpr const char* kUmaze = "#####\\#GOO#\\###O#\\#OOO#\\#####";
constexpr const char* kMedium =
    "########\\#OO##OO#\\#OO#OOO#\\##OOO###\\#OO#OOO#\\#O#OO#O#\\#OOO#OG#\\########";
constexpr const char* kLarge =
    "############\\#OOOO#OOOOO#\\#O##O#O#O#O#\\#OOOOOO#OOO#\\#O####O###O#\\#OO#O#OOOOO#\\##O#O#O#O###"
    "\\#OO#OOO#OGO#\\############";

double clip(double v, double limit) noexcept { return std::min(std::max(v, -limit), limit); }

// Pushes the ball out of the wall boxes around its cell and zeroes the velocity into them. Grid coordinates
// gx = x + 0.7, gy = y + 0.7 put cell (i, j) at [i, i+1] x [j, j+1]. The centre lies in a free cell (ci, cj)
// because it is never more than kMaxSubstepMove < r inside the clearance zone. Faces first: a wall beside the cell
// clamps one coordinate. Then corners: a diagonal wall whose two neighbouring side cells are walls is already
// cleared by the face clamps (|d| >= r along that axis); otherwise its corner point pushes the ball radially.
void resolve_contacts(const Maze& maze, PointMassState& s) noexcept {
    constexpr double r = PointMass::kRadius;
    double gx = s.x + PointMass::kWallOffset;
    double gy = s.y + PointMass::kWallOffset;
    const int ci = static_cast<int>(std::floor(gx));
    const int cj = static_cast<int>(std::floor(gy));
    if (maze.wall(ci - 1, cj) && gx < ci + r) {
        gx = ci + r;
        s.vx = std::max(s.vx, 0.0);
    }
    if (maze.wall(ci + 1, cj) && gx > ci + 1 - r) {
        gx = ci + 1 - r;
        s.vx = std::min(s.vx, 0.0);
    }
    if (maze.wall(ci, cj - 1) && gy < cj + r) {
        gy = cj + r;
        s.vy = std::max(s.vy, 0.0);
    }
    if (maze.wall(ci, cj + 1) && gy > cj + 1 - r) {
        gy = cj + 1 - r;
        s.vy = std::min(s.vy, 0.0);
    }
    for (int di = -1; di <= 1; di += 2) {
        for (int dj = -1; dj <= 1; dj += 2) {
            if (!maze.wall(ci + di, cj + dj)) continue;
            const double cx = ci + (di > 0 ? 1.0 : 0.0);  // the corner of the diagonal box nearest to the cell
            const double cy = cj + (dj > 0 ? 1.0 : 0.0);
            const double dx = gx - cx, dy = gy - cy;
            const double d2 = dx * dx + dy * dy;
            if (d2 >= r * r) continue;
            // The centre is inside cell (ci, cj), so d != 0 unless it sits exactly on the corner; then push back
            // along the diagonal into the cell.
            const double d = std::sqrt(d2);
            const double nx = d > 0.0 ? dx / d : -di * M_SQRT1_2;
            const double ny = d > 0.0 ? dy / d : -dj * M_SQRT1_2;
            gx = cx + nx * r;
            gy = cy + ny * r;
            const double vn = s.vx * nx + s.vy * ny;
            if (vn < 0.0) {
                s.vx -= vn * nx;
                s.vy -= vn * ny;
            }
        }
    }
    s.x = gx - PointMass::kWallOffset;
    s.y = gy - PointMass::kWallOffset;
}

class OurPointMass : public PointMassSimulator {
public:
    explicit OurPointMass(const Maze& maze) : maze_(&maze) {}
    std::string kind() const override { return "ours"; }
    double penetration_bound() const override { return 0.0; }
    double speed_bound() const override {
        return PointMass::kVelocityLimit + PointMass::kTimestep * PointMass::kGear / PointMass::kMass;
    }
    void set_state(const PointMassState& s) override { state_ = s; }
    PointMassState step(double ux, double uy) override {
        point_mass_step(*maze_, state_, ux, uy);
        return state_;
    }

private:
    const Maze* maze_;
    PointMassState state_;
};

}  // namespace

std::unique_ptr<PointMassSimulator> make_our_point_mass(const Maze& maze) { return std::make_unique<OurPointMass>(maze); }

std::optional<MazeEnvName> parse_maze_env_name(const std::string& name) {
    const std::string prefix = "maze2d-";
    if (name.compare(0, prefix.size(), prefix) != 0) return std::nullopt;
    std::string rest = name.substr(prefix.size());
    MazeEnvName out;
    const auto strip = [&rest](const std::string& suffix) {
        if (rest.size() <= suffix.size() || rest.compare(rest.size() - suffix.size(), suffix.size(), suffix) != 0)
            return false;
        rest.resize(rest.size() - suffix.size());
        return true;
    };
    out.mujoco = strip("-mujoco");
    out.dense = strip("-dense");
    if (rest != "umaze" && rest != "medium" && rest != "large") return std::nullopt;
    out.size = rest;
    return out;
}

std::vector<std::pair<int, int>> Maze::free_cells() const {
    std::vector<std::pair<int, int>> out;
    for (int i = 0; i < rows; ++i)
        for (int j = 0; j < cols; ++j)
            if (!wall(i, j)) out.emplace_back(i, j);
    return out;
}

Maze parse_maze(const std::string& name, const std::string& spec, std::size_t max_episode_steps) {
    Maze maze;
    maze.name = name;
    maze.max_episode_steps = max_episode_steps;
    std::vector<std::string> lines(1);
    for (char c : spec) {
        if (c == '\\') {
            lines.emplace_back();
        } else {
            DYDIFF_CHECK(c == '#' || c == 'O' || c == 'G', "maze '" << name << "': unknown cell character '" << c
                                                                     << "' (expected '#', 'O' or 'G')");
            lines.back().push_back(c);
        }
    }
    maze.rows = static_cast<int>(lines.size());
    maze.cols = static_cast<int>(lines[0].size());
    DYDIFF_CHECK(maze.rows >= 3 && maze.cols >= 3, "maze '" << name << "' is smaller than 3x3");
    int goals = 0;
    for (int i = 0; i < maze.rows; ++i) {
        const std::string& line = lines[static_cast<std::size_t>(i)];
        DYDIFF_CHECK(static_cast<int>(line.size()) == maze.cols,
                     "maze '" << name << "': row " << i << " has " << line.size() << " cells, row 0 has " << maze.cols);
        for (int j = 0; j < maze.cols; ++j) {
            const char c = line[static_cast<std::size_t>(j)];
            const bool border = i == 0 || j == 0 || i == maze.rows - 1 || j == maze.cols - 1;
            DYDIFF_CHECK(!border || c == '#', "maze '" << name << "': border cell (" << i << ", " << j << ") is not a wall");
            if (c == 'G') {
                ++goals;
                maze.goal_i = i;
                maze.goal_j = j;
            }
            maze.cells.push_back(c);
        }
    }
    DYDIFF_CHECK(goals == 1, "maze '" << name << "' has " << goals << " goal cells, expected 1");
    return maze;
}

const Maze& maze_by_name(const std::string& size) {
    // Episode limits from D4RL's registration (docs/algorithm.md §8): umaze 300, medium 600, large 800.
    static const Maze umaze = parse_maze("umaze", kUmaze, 300);
    static const Maze medium = parse_maze("medium", kMedium, 600);
    static const Maze large = parse_maze("large", kLarge, 800);
    if (size == "umaze") return umaze;
    if (size == "medium") return medium;
    if (size == "large") return large;
    DYDIFF_USER_FAIL("unknown maze '" << size << "' (known: umaze, medium, large)");
}

void point_mass_step(const Maze& maze, PointMassState& s, double ux, double uy) noexcept {
    constexpr double h = PointMass::kTimestep;
    constexpr double kForceScale = PointMass::kGear / (PointMass::kMass + h * PointMass::kDamping);
    constexpr double kDampScale = PointMass::kDamping / (PointMass::kMass + h * PointMass::kDamping);
    ux = clip(ux, PointMass::kActionLimit);
    uy = clip(uy, PointMass::kActionLimit);
    s.vx = clip(s.vx, PointMass::kVelocityLimit);
    s.vy = clip(s.vy, PointMass::kVelocityLimit);
    s.vx += h * (kForceScale * ux - kDampScale * s.vx);
    s.vy += h * (kForceScale * uy - kDampScale * s.vy);
    // |h v'| <= 0.01 * (5 + 100/4.19) = 0.074, so one or two sub-steps; each moves with the velocity left by the
    // previous projection, so a ball stopped by a wall does not keep pushing into it.
    const double move = h * std::max(std::abs(s.vx), std::abs(s.vy));
    const int substeps = move <= PointMass::kMaxSubstepMove ? 1 : static_cast<int>(std::ceil(move / PointMass::kMaxSubstepMove));
    const double dt = h / substeps;
    for (int k = 0; k < substeps; ++k) {
        s.x += dt * s.vx;
        s.y += dt * s.vy;
        resolve_contacts(maze, s);
    }
}

double wall_clearance(const Maze& maze, double x, double y) noexcept {
    const double gx = x + PointMass::kWallOffset;
    const double gy = y + PointMass::kWallOffset;
    double best = 1e30;
    for (int i = 0; i < maze.rows; ++i) {
        for (int j = 0; j < maze.cols; ++j) {
            if (!maze.wall(i, j)) continue;
            const double dx = std::max({i - gx, 0.0, gx - (i + 1)});
            const double dy = std::max({j - gy, 0.0, gy - (j + 1)});
            best = std::min(best, std::sqrt(dx * dx + dy * dy));
        }
    }
    return best - PointMass::kRadius;
}

double maze_reward(double x, double y, double tx, double ty, bool dense) noexcept {
    const double dist = std::hypot(x - tx, y - ty);
    if (dense) return std::exp(-dist);
    return dist <= PointMass::kGoalRadius ? 1.0 : 0.0;
}

PointMassState maze_reset_state(const Maze& maze, data::Rng& rng) {
    const auto cells = maze.free_cells();
    const auto& [i, j] = cells[rng.randint(cells.size())];
    PointMassState s;
    s.x = i + (2.0 * rng.uniform_double() - 1.0) * PointMass::kResetNoise;
    s.y = j + (2.0 * rng.uniform_double() - 1.0) * PointMass::kResetNoise;
    s.vx = PointMass::kResetVelocityStd * rng.normal_double();
    s.vy = PointMass::kResetVelocityStd * rng.normal_double();
    return s;
}

Maze2dEnv::Maze2dEnv(const Maze& maze, bool dense, std::unique_ptr<PointMassSimulator> simulator)
    : maze_(&maze), dense_(dense), sim_(simulator ? std::move(simulator) : make_our_point_mass(maze)) {}

std::string Maze2dEnv::name() const {
    return "maze2d-" + maze_->name + (dense_ ? "-dense" : "") + (sim_->kind() == "mujoco" ? "-mujoco" : "");
}

Box Maze2dEnv::observation_space() const {
    // The centre stays r = 0.1 inside the free cells 1 .. rows-2, i.e. in [1 - 0.6, rows - 2 + 0.2], less what the
    // simulator lets the ball sink into a wall; velocities are bounded by the simulator (ours: the clip plus one
    // step's push).
    const float v = static_cast<float>(sim_->speed_bound());
    const float p = static_cast<float>(sim_->penetration_bound());
    return {{0.4f - p, 0.4f - p, -v, -v},
            {static_cast<float>(maze_->rows - 2) + 0.2f + p, static_cast<float>(maze_->cols - 2) + 0.2f + p, v, v}};
}

Box Maze2dEnv::action_space() const { return {{-1.0f, -1.0f}, {1.0f, 1.0f}}; }

std::vector<float> Maze2dEnv::observation() const {
    return {static_cast<float>(state_.x), static_cast<float>(state_.y), static_cast<float>(state_.vx),
            static_cast<float>(state_.vy)};
}

std::vector<float> Maze2dEnv::reset_impl(data::Rng& rng) {
    state_ = maze_reset_state(*maze_, rng);
    sim_->set_state(state_);
    reached_ = maze_reward(state_.x, state_.y, target_x(), target_y(), false) > 0.0;
    return observation();
}

StepResult Maze2dEnv::step_impl(const float* action) {
    state_ = sim_->step(action[0], action[1]);
    StepResult out;
    out.obs = observation();
    // Post-step position, as D4RL's MazeEnv.step computes it after do_simulation.
    out.reward = maze_reward(state_.x, state_.y, target_x(), target_y(), dense_);
    if (maze_reward(state_.x, state_.y, target_x(), target_y(), false) > 0.0) reached_ = true;
    return out;
}

}  // namespace dydiff::envs
