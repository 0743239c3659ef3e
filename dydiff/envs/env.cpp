// Env base (episode bookkeeping, boundary checks) and the make_env factory (see env.hpp).
#include "dydiff/envs/env.hpp"

#include "autograd/error.hpp"
#include "dydiff/envs/locomotion.hpp"
#include "dydiff/envs/maze2d.hpp"
#include "dydiff/envs/maze2d_mujoco.hpp"
#include "dydiff/envs/pendulum.hpp"

#include <algorithm>

namespace dydiff::envs {

std::vector<float> Env::reset(data::Rng& rng) {
    elapsed_ = 0;
    needs_reset_ = false;
    return reset_impl(rng);
}

std::vector<float> Env::reset(std::uint64_t seed) {
    data::Rng rng(seed);
    return reset(rng);
}

StepResult Env::step(const std::vector<float>& action) {
    DYDIFF_CHECK(!needs_reset_, name() << ": step() called before reset() or after the episode ended (step "
                                       << elapsed_ << " of " << max_episode_steps() << ")");
    DYDIFF_CHECK(action.size() == action_dim(),
                 name() << ": action has " << action.size() << " values, expected " << action_dim());
    StepResult out = step_impl(action.data());
    ++elapsed_;
    out.truncated = !out.terminated && elapsed_ >= max_episode_steps();
    if (out.terminated || out.truncated) needs_reset_ = true;
    return out;
}

std::vector<std::string> known_env_names() {
    std::vector<std::string> names{"maze2d-umaze",        "maze2d-medium",      "maze2d-large", "maze2d-umaze-dense",
                                   "maze2d-medium-dense", "maze2d-large-dense", "pendulum"};
#if DYDIFF_HAVE_MUJOCO
    for (const auto& task : locomotion_task_names()) names.push_back(task);
    for (const char* size : {"umaze", "medium", "large"}) names.push_back(std::string("maze2d-") + size + "-mujoco");
    for (const char* size : {"umaze", "medium", "large"})
        names.push_back(std::string("maze2d-") + size + "-dense-mujoco");
#endif
    return names;
}

std::unique_ptr<Env> make_env(const std::string& name) {
    if (name == "pendulum") return std::make_unique<PendulumEnv>();
    if (!locomotion_task_of(name).empty()) return make_locomotion_env(name);
    if (const auto maze = parse_maze_env_name(name)) {
        const Maze& layout = maze_by_name(maze->size);
        // -mujoco: MuJoCo's simulator; without the `mujoco` feature make_mujoco_point_mass says how to build it.
        return std::make_unique<Maze2dEnv>(layout, maze->dense,
                                           maze->mujoco ? make_mujoco_point_mass(layout) : make_our_point_mass(layout));
    }
    std::string known;
    for (const auto& n : known_env_names()) known += (known.empty() ? "" : ", ") + n;
    DYDIFF_USER_FAIL("unknown environment '" << name << "' (known: " << known
                                              << "; a locomotion env also takes its D4RL names, hopper-medium-v2 ...; "
                                                 "maze2d-<size>[-dense]-mujoco runs a maze in MuJoCo)");
}

}  // namespace dydiff::envs
