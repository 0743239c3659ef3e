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

std::string render_maze_trajectories_svg(const envs::Maze& maze, double target_x, double target_y,
                                         const std::vector<Trajectory>& trajectories, const std::string& title) {
    const double cell = std::min(kMaxCell, (kMaxWidth - 2 * kMargin) / static_cast<double>(maze.cols));
    const double width = 2 * kMargin + cell * maze.cols;
    const double height = kTitleHeight + 2 * kMargin + cell * maze.rows;
    // Observation (x, y) -> pixels: grid coordinate g = obs + 0.7 puts cell (i, j) at [i, i + 1] x [j, j + 1].
    auto sx = [&](double y) { return kMargin + (y + envs::PointMass::kWallOffset) * cell; };
    auto sy = [&](double x) { return kTitleHeight + kMargin + (x + envs::PointMass::kWallOffset) * cell; };

    std::ostringstream os;
    os << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
       << "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" << num(width) << "\" height=\""
       << num(height) << "\" viewBox=\"0 0 " << num(width) << " " << num(height)
       << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
       << "<rect x=\"0\" y=\"0\" width=\"" << num(width) << "\" height=\"" << num(height) << "\" fill=\"white\"/>\n"
       << "<text x=\"" << num(width / 2) << "\" y=\"20\" text-anchor=\"middle\" font-size=\"14\">" << svg_escape(title)
       << "</text>\n";
    os << "<g fill=\"#888888\" stroke=\"#666666\" stroke-width=\"0.5\">\n";
    for (int i = 0; i < maze.rows; ++i)
        for (int j = 0; j < maze.cols; ++j)
            if (maze.wall(i, j))
                os << "<rect x=\"" << num(kMargin + j * cell) << "\" y=\"" << num(kTitleHeight + kMargin + i * cell)
                   << "\" width=\"" << num(cell) << "\" height=\"" << num(cell) << "\"/>\n";
    os << "</g>\n";
    os << "<circle cx=\"" << num(sx(target_y)) << "\" cy=\"" << num(sy(target_x)) << "\" r=\""
       << num(envs::PointMass::kGoalRadius * cell)
       << "\" fill=\"#009E73\" fill-opacity=\"0.15\" stroke=\"#009E73\" stroke-dasharray=\"4 3\"/>\n";

    for (std::size_t e = 0; e < trajectories.size(); ++e) {
        const auto& obs = trajectories[e].observations;  // (T + 1, S)
        DYDIFF_CHECK(obs.shape()[0] >= 1 && obs.shape()[1] >= 2,
                     "maze plot: trajectory " << e << " has observations of shape (" << obs.shape()[0] << ", "
                                              << obs.shape()[1] << "), expected (T + 1, S >= 2)");
        const char* colour = series_colour(e);
        os << "<polyline fill=\"none\" stroke=\"" << colour << "\" stroke-width=\"1.5\" stroke-opacity=\"0.8\" points=\"";
        for (std::size_t t = 0; t < obs.shape()[0]; ++t) {
            const double x = obs(t, 0), y = obs(t, 1);
            DYDIFF_CHECK(std::isfinite(x) && std::isfinite(y),
                         "maze plot: trajectory " << e << " has a non-finite position at step " << t);
            os << (t ? " " : "") << num(sx(y)) << "," << num(sy(x));
        }
        os << "\"/>\n";
        const std::size_t last = obs.shape()[0] - 1;
        os << "<circle cx=\"" << num(sx(obs(0, 1))) << "\" cy=\"" << num(sy(obs(0, 0))) << "\" r=\"3.5\" fill=\"white\" stroke=\""
           << colour << "\" stroke-width=\"1.5\"/>\n"
           << "<circle cx=\"" << num(sx(obs(last, 1))) << "\" cy=\"" << num(sy(obs(last, 0))) << "\" r=\"3.5\" fill=\""
           << colour << "\"/>\n";
    }
    os << "</svg>\n";
    return os.str();
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

}  // namespace dydiff::eval
