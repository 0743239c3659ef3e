// The MJCF generator of the MuJoCo maze (see maze2d_mujoco.hpp); builds without MuJoCo. The simulator half is
// maze2d_mujoco_sim.cpp (the `mujoco` feature).
#include "dydiff/envs/maze2d_mujoco.hpp"

#include "autograd/error.hpp"

#include <sstream>

namespace dydiff::envs {

std::string maze_mjcf(const Maze& maze) {
    std::ostringstream os;
    os.precision(15);  // every constant has at most 15 significant digits: each prints as written
    // The ground plane of D4RL's model is left out: it is a contact along z only, where the ball has no joint, so it
    // never acts (and it only draws the floor).
    os << "<mujoco model=\"maze2d-" << maze.name << "\">\n"
       << "  <compiler angle=\"radian\" inertiafromgeom=\"true\"/>\n"
       << "  <option timestep=\"" << PointMass::kTimestep << "\" gravity=\"0 0 0\" integrator=\"Euler\"/>\n"
       << "  <default>\n"
       << "    <joint damping=\"" << PointMass::kDamping << "\" limited=\"false\"/>\n"
       << "    <geom condim=\"1\" density=\"" << MujocoMaze::kDensity << "\" margin=\"" << MujocoMaze::kMargin
       << "\"/>\n"
       << "    <motor gear=\"" << PointMass::kGear << "\" ctrllimited=\"true\" ctrlrange=\"" << -PointMass::kActionLimit
       << " " << PointMass::kActionLimit << "\"/>\n"
       << "  </default>\n"
       << "  <worldbody>\n"
       << "    <body name=\"ball\" pos=\"" << MujocoMaze::kBallWorldOffset << " " << MujocoMaze::kBallWorldOffset
       << " 0\">\n"
       << "      <joint name=\"ball_x\" type=\"slide\" axis=\"1 0 0\"/>\n"
       << "      <joint name=\"ball_y\" type=\"slide\" axis=\"0 1 0\"/>\n"
       << "      <geom name=\"ball\" type=\"sphere\" size=\"" << PointMass::kRadius << "\"/>\n"
       << "    </body>\n";
    for (int i = 0; i < maze.rows; ++i)
        for (int j = 0; j < maze.cols; ++j)
            if (maze.wall(i, j))
                os << "    <geom name=\"wall_" << i << "_" << j << "\" type=\"box\" pos=\"" << i + 1 << " " << j + 1
                   << " 0\" size=\"" << MujocoMaze::kWallHalfSize << " " << MujocoMaze::kWallHalfSize << " "
                   << MujocoMaze::kWallHalfHeight << "\"/>\n";
    os << "  </worldbody>\n"
       << "  <actuator>\n"
       << "    <motor name=\"ball_x\" joint=\"ball_x\"/>\n"
       << "    <motor name=\"ball_y\" joint=\"ball_y\"/>\n"
       << "  </actuator>\n"
       << "</mujoco>\n";
    return os.str();
}

#if !DYDIFF_HAVE_MUJOCO
std::unique_ptr<PointMassSimulator> make_mujoco_point_mass(const Maze& maze) {
    DYDIFF_USER_FAIL("maze2d-" << maze.name << " on MuJoCo needs the `mujoco` feature, which this build lacks: install "
                     "libmujoco-dev (Debian 12: 2.2.2) and run meson setup --reconfigure -Dmujoco=enabled");
}
#endif

}  // namespace dydiff::envs
