// maze2d trajectories over the walls (see maze_plot.hpp).
#include "dydiff/eval/maze_plot.hpp"

#include "autograd/error.hpp"
#include "data/atomic_file.hpp"
#include "dydiff/envs/env.hpp"
#include "dydiff/envs/maze2d.hpp"
#include "dydiff/eval/svg_plot.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace dydiff::eval {
namespace {

constexpr double kMargin = 20.0, kTitleHeight = 30.0, kMaxWidth = 720.0, kMaxCell = 72.0;

std::string num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", v);
    return buf;
}

}  // namespace

bool has_maze_layout(const std::string& env_name) {
    for (const auto& name : envs::known_env_names())
        if (name == env_name) return env_name.rfind("maze2d-", 0) == 0;
    return false;
}

namespace {

// The maze picture shared by both documents: the header, the title, the walls, the goal disc; then paths in
// observation coordinates. Row i (obs[0], x) runs down, column j (obs[1], y) right.
class MazeCanvas {
public:
    MazeCanvas(const envs::Maze& maze, double target_x, double target_y, const std::string& title, double extra_height)
        : cell_(std::min(kMaxCell, (kMaxWidth - 2 * kMargin) / static_cast<double>(maze.cols))) {
        const double width = 2 * kMargin + cell_ * maze.cols;
        const double height = kTitleHeight + 2 * kMargin + cell_ * maze.rows + extra_height;
        bottom_ = kTitleHeight + 2 * kMargin + cell_ * maze.rows;
        width_ = width;
        os_ << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            << "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" << num(width) << "\" height=\""
            << num(height) << "\" viewBox=\"0 0 " << num(width) << " " << num(height)
            << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
            << "<rect x=\"0\" y=\"0\" width=\"" << num(width) << "\" height=\"" << num(height) << "\" fill=\"white\"/>\n"
            << "<text x=\"" << num(width / 2) << "\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">"
            << svg_escape(title) << "</text>\n";
        os_ << "<g fill=\"#888888\" stroke=\"#666666\" stroke-width=\"0.5\">\n";
        for (int i = 0; i < maze.rows; ++i)
            for (int j = 0; j < maze.cols; ++j)
                if (maze.wall(i, j))
                    os_ << "<rect x=\"" << num(kMargin + j * cell_) << "\" y=\"" << num(kTitleHeight + kMargin + i * cell_)
                        << "\" width=\"" << num(cell_) << "\" height=\"" << num(cell_) << "\"/>\n";
        os_ << "</g>\n";
        os_ << "<circle cx=\"" << num(sx(target_y)) << "\" cy=\"" << num(sy(target_x)) << "\" r=\""
            << num(envs::PointMass::kGoalRadius * cell_)
            << "\" fill=\"#009E73\" fill-opacity=\"0.15\" stroke=\"#009E73\" stroke-dasharray=\"4 3\"/>\n";
    }

    /// The (obs[0], obs[1]) path of `obs` (T, S >= 2), dashed or solid, with a hollow start dot when `start_dot`
    /// and a filled end dot. `what` names the path in errors.
    void path(const xt::xtensor<float, 2>& obs, const char* colour, bool dashed, bool start_dot,
              const std::string& what) {
        DYDIFF_CHECK(obs.shape()[0] >= 1 && obs.shape()[1] >= 2,
                     "maze plot: " << what << " has observations of shape (" << obs.shape()[0] << ", "
                                   << obs.shape()[1] << "), expected (T + 1, S >= 2)");
        os_ << "<polyline fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"1.5\" stroke-opacity=\"0.8\""
            << (dashed ? " stroke-dasharray=\"5 3\"" : "") << " points=\"";
        for (std::size_t t = 0; t < obs.shape()[0]; ++t) {
            const double x = obs(t, 0), y = obs(t, 1);
            DYDIFF_CHECK(std::isfinite(x) && std::isfinite(y),
                         "maze plot: " << what << " has a non-finite position at step " << t);
            os_ << (t ? " " : "") << num(sx(y)) << "," << num(sy(x));
        }
        os_ << "\"/>\n";
        const std::size_t last = obs.shape()[0] - 1;
        if (start_dot)
            os_ << "<circle cx=\"" << num(sx(obs(0, 1))) << "\" cy=\"" << num(sy(obs(0, 0)))
                << "\" r=\"3.5\" fill=\"white\" stroke=\"" << colour << "\" stroke-width=\"1.5\"/>\n";
        os_ << "<circle cx=\"" << num(sx(obs(last, 1))) << "\" cy=\"" << num(sy(obs(last, 0))) << "\" r=\"3.5\" fill=\""
            << colour << "\"/>\n";
    }

    /// A caption line under the maze.
    void caption(const std::string& text) {
        os_ << "<text x=\"" << num(width_ / 2) << "\" y=\"" << num(bottom_ + 4) << "\" text-anchor=\"middle\">"
            << svg_escape(text) << "</text>\n";
    }

    std::string finish() {
        os_ << "</svg>\n";
        return os_.str();
    }

private:
    // Observation (x, y) -> pixels: grid coordinate g = obs + 0.7 puts cell (i, j) at [i, i + 1] x [j, j + 1].
    double sx(double y) const { return kMargin + (y + envs::PointMass::kWallOffset) * cell_; }
    double sy(double x) const { return kTitleHeight + kMargin + (x + envs::PointMass::kWallOffset) * cell_; }

    double cell_;
    double width_ = 0.0, bottom_ = 0.0;
    std::ostringstream os_;
};

constexpr double kCaptionHeight = 16.0;

}  // namespace

std::string render_maze_trajectories_svg(const envs::Maze& maze, double target_x, double target_y,
                                         const std::vector<Trajectory>& trajectories, const std::string& title) {
    MazeCanvas canvas(maze, target_x, target_y, title, 0.0);
    for (std::size_t e = 0; e < trajectories.size(); ++e)
        canvas.path(trajectories[e].observations, series_colour(e), false, true, "trajectory " + std::to_string(e));
    return canvas.finish();
}

void write_maze_trajectories_svg(const std::string& svg_path, const PolicyEvalResult& result) {
    DYDIFF_CHECK(has_maze_layout(result.env),
                 svg_path << ": '" << result.env << "' has no maze layout (maze2d-{umaze,medium,large}[-dense] only)");
    DYDIFF_CHECK(!result.trajectories.empty(),
                 svg_path << ": no trajectories (evaluate with PolicyEvalOptions::record_trajectories)");
    const auto env = envs::make_env(result.env);
    const auto& maze_env = dynamic_cast<const envs::Maze2dEnv&>(*env);
    char title[256];
    const auto rate = result.success_rate();
    std::snprintf(title, sizeof title, "%s: %zu episodes, score %.1f +- %.1f, success %.0f%%", result.env.c_str(),
                  result.episodes.size(), result.score_mean(), result.score_std(), rate ? 100.0 * *rate : 0.0);
    data::write_file_atomic(svg_path, render_maze_trajectories_svg(maze_env.maze(), maze_env.target_x(),
                                                                   maze_env.target_y(), result.trajectories, title));
}


xt::xtensor<float, 3> maze_true_paths(const envs::Maze& maze, const xt::xtensor<float, 2>& starts, std::size_t steps,
                                      const StepPolicy& act) {
    const std::size_t K = starts.shape()[0];
    DYDIFF_CHECK(starts.shape()[1] == 4 && steps >= 1,
                 "maze_true_paths: starts (" << K << ", " << starts.shape()[1] << "), steps " << steps
                                             << "; expected (K, 4) maze2d observations and steps >= 1");
    std::vector<envs::PointMassState> state(K);
    for (std::size_t b = 0; b < K; ++b) {
        state[b] = {starts(b, 0), starts(b, 1), starts(b, 2), starts(b, 3)};
        DYDIFF_CHECK(std::isfinite(state[b].x) && std::isfinite(state[b].y) && std::isfinite(state[b].vx) &&
                         std::isfinite(state[b].vy) && envs::wall_clearance(maze, state[b].x, state[b].y) >= 0.0,
                     "maze_true_paths: start " << b << " (" << state[b].x << ", " << state[b].y
                                               << ") is not a free position of maze " << maze.name);
    }
    xt::xtensor<float, 3> out = xt::empty<float>({K, steps, std::size_t{4}});
    Obs obs = starts;
    for (std::size_t t = 0;; ++t) {
        for (std::size_t b = 0; b < K; ++b) std::copy_n(&obs(b, 0), 4, &out(b, t, 0));
        if (t + 1 == steps) break;
        const Actions a = act(obs, t);
        DYDIFF_CHECK(a.dimension() == 2 && a.shape()[0] == K && a.shape()[1] == 2,
                     "maze_true_paths: the policy returned (" << a.shape()[0] << ", " << a.shape()[1]
                                                              << ") actions at step " << t << ", expected (" << K
                                                              << ", 2)");
        for (std::size_t b = 0; b < K; ++b) {
            envs::point_mass_step(maze, state[b], a(b, 0), a(b, 1));
            obs(b, 0) = static_cast<float>(state[b].x);
            obs(b, 1) = static_cast<float>(state[b].y);
            obs(b, 2) = static_cast<float>(state[b].vx);
            obs(b, 3) = static_cast<float>(state[b].vy);
        }
    }
    return out;
}

std::string render_imagined_vs_true_svg(const envs::Maze& maze, double target_x, double target_y,
                                        const std::vector<PathPair>& pairs, const std::string& title) {
    DYDIFF_CHECK(!pairs.empty(), "maze plot: no imagined/true pairs to draw");
    MazeCanvas canvas(maze, target_x, target_y, title, kCaptionHeight);
    for (std::size_t k = 0; k < pairs.size(); ++k) {
        canvas.path(pairs[k].imagined, series_colour(k), true, false, "imagined path " + std::to_string(k));
        canvas.path(pairs[k].truth, series_colour(k), false, true, "true path " + std::to_string(k));
    }
    canvas.caption("dashed: imagined by the models; solid: the true env from the same start (hollow dot)");
    return canvas.finish();
}

void write_imagined_vs_true_svg(const std::string& svg_path, const std::string& env_name,
                                const std::vector<PathPair>& pairs, const std::string& title) {
    DYDIFF_CHECK(has_maze_layout(env_name),
                 svg_path << ": '" << env_name << "' has no maze layout (maze2d-{umaze,medium,large}[-dense] only)");
    const auto env = envs::make_env(env_name);
    const auto& maze_env = dynamic_cast<const envs::Maze2dEnv&>(*env);
    data::write_file_atomic(svg_path, render_imagined_vs_true_svg(maze_env.maze(), maze_env.target_x(),
                                                                  maze_env.target_y(), pairs, title));
}

}  // namespace dydiff::eval
