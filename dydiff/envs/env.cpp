// Env base (episode bookkeeping, boundary checks) and the make_env factory (see env.hpp).
#include "dydiff/envs/env.hpp"

#include "autograd/error.hpp"
#include "dydiff/envs/locomotion.hpp"
#include "dydiff/envs/maze2d.hpp"
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
#endif
    return names;
}

std::unique_ptr<Env> make_env(const std::string& name) {
    if (name == "pendulum") return std::make_unique<PendulumEnv>();
    if (!locomotion_task_of(name).empty()) return make_locomotion_env(name);
    for (const char* size : {"umaze", "medium", "large"}) {
        const std::string base = std::string("maze2d-") + size;
        if (name == base) return std::make_unique<Maze2dEnv>(maze_by_name(size), false);
        if (name == base + "-dense") return std::make_unique<Maze2dEnv>(maze_by_name(size), true);
    }
    std::string known;
    for (const auto& n : known_env_names()) known += (known.empty() ? "" : ", ") + n;
    DYDIFF_USER_FAIL("unknown environment '" << name << "' (known: " << known
                                              << "; a locomotion env also takes its D4RL names, hopper-medium-v2 ...)");
}

}  // namespace dydiff::envs
