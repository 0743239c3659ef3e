// LocomotionEnv's simulator half (see locomotion.hpp): the embedded MJCF compiled once per task and process
// (compile_mjcf, mujoco_model.hpp), one mjData per env, gym's reset and frame-skipped step. Built only with the
// `mujoco` feature (dydiff/meson.build).
#include "dydiff/envs/locomotion.hpp"

#include "autograd/error.hpp"
#include "dydiff/envs/mjcf_models.hpp"
#include "dydiff/envs/mujoco_model.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace dydiff::envs {
namespace {

/// The compiled embedded MJCF of `task` (shared by every env of the process), checked against the spec's sizes.
std::shared_ptr<const mjModel> task_model(const LocomotionSpec& spec) {
    const MjcfFile* file = nullptr;
    for (const auto& f : embedded_mjcf_files())
        if (f.name == spec.name) file = &f;
    DYDIFF_CHECK(file != nullptr, "no embedded MJCF for task '" << spec.name << "' (dydiff/meson.build lists them)");
    std::shared_ptr<const mjModel> model = compile_mjcf(spec.name, file->xml);
    DYDIFF_CHECK(static_cast<std::size_t>(model->nq) == spec.nq && static_cast<std::size_t>(model->nv) == spec.nv &&
                     static_cast<std::size_t>(model->nu) == spec.nu,
                 spec.name << ".xml: nq/nv/nu " << model->nq << "/" << model->nv << "/" << model->nu
                           << ", the spec says " << spec.nq << "/" << spec.nv << "/" << spec.nu);
    return model;
}

}  // namespace

struct LocomotionEnv::Sim {
    std::shared_ptr<const mjModel> model;
    MjDataPtr data;
};

LocomotionEnv::LocomotionEnv(const std::string& name)
    : name_(name), spec_(&locomotion_spec(name)), sim_(std::make_unique<Sim>()) {
    sim_->model = task_model(*spec_);
    sim_->data.reset(mj_makeData(sim_->model.get()));
    DYDIFF_CHECK(sim_->data != nullptr, name_ << ": mj_makeData failed");
}

LocomotionEnv::~LocomotionEnv() = default;

Box LocomotionEnv::observation_space() const {
    const float inf = std::numeric_limits<float>::infinity();
    return {std::vector<float>(spec_->obs_dim(), -inf), std::vector<float>(spec_->obs_dim(), inf)};
}

Box LocomotionEnv::action_space() const {
    const mjModel* m = sim_->model.get();
    Box box;
    for (int k = 0; k < m->nu; ++k) {
        box.low.push_back(static_cast<float>(m->actuator_ctrlrange[2 * k]));
        box.high.push_back(static_cast<float>(m->actuator_ctrlrange[2 * k + 1]));
    }
    return box;
}

double LocomotionEnv::dt() const { return sim_->model->opt.timestep * spec_->frame_skip; }

std::vector<double> LocomotionEnv::qpos() const { return {sim_->data->qpos, sim_->data->qpos + spec_->nq}; }

std::vector<double> LocomotionEnv::qvel() const { return {sim_->data->qvel, sim_->data->qvel + spec_->nv}; }

std::vector<float> LocomotionEnv::set_state(const std::vector<double>& qpos, const std::vector<double>& qvel) {
    DYDIFF_CHECK(qpos.size() == spec_->nq && qvel.size() == spec_->nv,
                 name_ << ": set_state got qpos " << qpos.size() << " and qvel " << qvel.size() << " values, expected "
                       << spec_->nq << " and " << spec_->nv);
    mjData* d = sim_->data.get();
    std::copy(qpos.begin(), qpos.end(), d->qpos);
    std::copy(qvel.begin(), qvel.end(), d->qvel);
    mj_forward(sim_->model.get(), d);
    return locomotion_observation(*spec_, d->qpos, d->qvel);
}

std::vector<float> LocomotionEnv::reset_impl(data::Rng& rng) {
    const mjModel* m = sim_->model.get();
    mjData* d = sim_->data.get();
    mj_resetData(m, d);
    std::vector<double> qpos(spec_->nq), qvel(spec_->nv);
    const double pn = spec_->reset_qpos_noise, vn = spec_->reset_qvel_noise;
    for (std::size_t k = 0; k < spec_->nq; ++k) qpos[k] = m->qpos0[k] + (2.0 * rng.uniform_double() - 1.0) * pn;
    for (std::size_t k = 0; k < spec_->nv; ++k)
        qvel[k] = spec_->reset_qvel_normal ? vn * rng.normal_double() : (2.0 * rng.uniform_double() - 1.0) * vn;
    return set_state(qpos, qvel);
}

StepResult LocomotionEnv::step_impl(const float* action) {
    const mjModel* m = sim_->model.get();
    mjData* d = sim_->data.get();
    for (std::size_t k = 0; k < spec_->nu; ++k)
        DYDIFF_CHECK(std::isfinite(action[k]), name_ << ": action[" << k << "] is " << action[k]);
    const double x_before = d->qpos[0];
    for (std::size_t k = 0; k < spec_->nu; ++k) d->ctrl[k] = action[k];  // MuJoCo clamps to ctrlrange (ctrllimited)
    for (int i = 0; i < spec_->frame_skip; ++i) mj_step(m, d);
    StepResult out;
    out.reward = locomotion_reward(*spec_, x_before, d->qpos[0], dt(), action);
    out.terminated = locomotion_terminated(*spec_, d->qpos, d->qvel);
    out.obs = locomotion_observation(*spec_, d->qpos, d->qvel);
    return out;
}

}  // namespace dydiff::envs
