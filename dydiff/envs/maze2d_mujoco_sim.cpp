// MuJoCo's point-mass simulator of a maze (see maze2d_mujoco.hpp): maze_mjcf compiled once per maze and process
// (compile_mjcf), one mjData per simulator, D4RL's MazeEnv.step around one mj_step. Built only with the `mujoco`
// feature (dydiff/meson.build).
#include "dydiff/envs/maze2d_mujoco.hpp"

#include "autograd/error.hpp"
#include "dydiff/envs/mujoco_model.hpp"

#include <algorithm>

namespace dydiff::envs {
namespace {

class MujocoPointMass : public PointMassSimulator {
public:
    explicit MujocoPointMass(const Maze& maze)
        : model_(compile_mjcf("maze2d-" + maze.name, maze_mjcf(maze))), data_(mj_makeData(model_.get())) {
        DYDIFF_CHECK(model_->nq == 2 && model_->nv == 2 && model_->nu == 2,
                     "maze2d-" << maze.name << " MJCF: nq/nv/nu " << model_->nq << "/" << model_->nv << "/"
                               << model_->nu << ", expected 2/2/2");
        DYDIFF_CHECK(data_ != nullptr, "maze2d-" << maze.name << ": mj_makeData failed");
    }

    std::string kind() const override { return "mujoco"; }
    double penetration_bound() const override { return MujocoMaze::kPenetrationBound; }
    double speed_bound() const override { return MujocoMaze::kSpeedBound; }

    void set_state(const PointMassState& s) override {
        mjData* d = data_.get();
        mj_resetData(model_.get(), d);  // also clears the solver's warm start: a reset does not depend on history
        d->qpos[0] = s.x;
        d->qpos[1] = s.y;
        d->qvel[0] = s.vx;
        d->qvel[1] = s.vy;
        mj_forward(model_.get(), d);
    }

    PointMassState step(double ux, double uy) override {
        mjData* d = data_.get();
        // D4RL's MazeEnv.step: clip the action, clip qvel and set the state back (set_state runs mj_forward), then
        // do_simulation: ctrl and frame_skip = 1 mj_step.
        for (int k = 0; k < 2; ++k) d->qvel[k] = std::clamp(d->qvel[k], -PointMass::kVelocityLimit, PointMass::kVelocityLimit);
        mj_forward(model_.get(), d);
        d->ctrl[0] = std::clamp(ux, -PointMass::kActionLimit, PointMass::kActionLimit);
        d->ctrl[1] = std::clamp(uy, -PointMass::kActionLimit, PointMass::kActionLimit);
        mj_step(model_.get(), d);
        return {d->qpos[0], d->qpos[1], d->qvel[0], d->qvel[1]};
    }

private:
    std::shared_ptr<const mjModel> model_;
    MjDataPtr data_;
};

}  // namespace

std::unique_ptr<PointMassSimulator> make_mujoco_point_mass(const Maze& maze) {
    return std::make_unique<MujocoPointMass>(maze);
}

}  // namespace dydiff::envs
