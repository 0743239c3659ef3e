// `dydiff dataset generate`: writes a dataset of a built-in env (maze2d, pendulum; hopper, halfcheetah, walker2d with
// the `mujoco` feature) in D4RL layout as .npz, from the
// scripted recipes of dydiff/envs/generate.hpp. Progress goes to stderr through dydiff::Progress: a live line on a
// terminal, plain lines about every 5% otherwise (logs, CI).
#include "dydiff/cli/args.hpp"
#include "dydiff/cli/commands.hpp"
#include "dydiff/envs/env.hpp"
#include "dydiff/envs/generate.hpp"
#include "dydiff/run/run_dir.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>

namespace dydiff::cli {

CommandDoc dataset_generate_doc() {
    return {
        "dataset generate",
        "--env NAME [--kind KIND] [--steps N] [--seed S] --out FILE.npz",
        "Writes a dataset of a built-in env in D4RL layout as .npz, from the scripted recipes (docs/environments.md).\n"
        "The same flags and build give identical files.",
        {{"--env NAME", "maze2d-{umaze,medium,large}[-dense], pendulum, or (built with MuJoCo) hopper, halfcheetah, "
                        "walker2d"},
         {"--kind KIND",
          "maze2d: waypoint (D4RL recipe, default), random; pendulum: random, medium, expert, "
          "medium-replay, medium-expert; hopper, halfcheetah, walker2d: random (D4RL's uniform-action recipe)"},
         {"--steps N",
          "rows (default: maze2d umaze 1M, medium 2M, large 4M; pendulum 100k, medium-expert 200k; locomotion 1M)"},
         {"--seed S", "random seed (default 0)"},
         {"--out FILE.npz", "output (np.load gives the D4RL keys)"},
         {"--action-noise X", "maze2d: std of the Gaussian action noise (default 0.5)"},
         {"--reward-goal G",
          "maze2d: eval (the env's fixed target, as D4RL's files; default) or waypoint "
          "(infos/goal)"},
         {"--reward-timing T",
          "maze2d: pre (from observations[t], as D4RL's files, issue #194; default) or post "
          "(next state, as the env's step reward)"},
         {"--expert-noise X", "pendulum: torque noise std of the expert controller (default 0.1)"},
         {"--medium-noise X", "pendulum: torque noise std of the medium controller (default 0.5)"},
         {"-h, --help", "this help"}},
        {{"FILE.npz",
          "observations, actions, rewards, terminals, timeouts, next_observations and infos/* "
          "(locomotion: infos/qpos, infos/qvel; docs/data_format.md)"}}};
}

int run_dataset_generate(const Words& words) {
    Args args("dataset generate", words);
    if (args.help()) {
        std::cout << help_text(dataset_generate_doc());
        return 0;
    }
    envs::GenerateConfig config;
    const auto env = args.value("env");
    const auto out = args.value("out");
    config.kind = args.value_or("kind", "");
    config.steps = static_cast<std::size_t>(args.integer("steps", 0, 1, std::int64_t{1} << 40));
    config.seed = static_cast<std::uint64_t>(args.integer("seed", 0, 0, INT64_MAX));
    config.maze_action_noise = args.real("action-noise", config.maze_action_noise, 0.0, 10.0);
    config.maze_reward_goal = args.value_or("reward-goal", config.maze_reward_goal);
    config.maze_reward_timing = args.value_or("reward-timing", config.maze_reward_timing);
    config.pendulum_expert_noise = args.real("expert-noise", config.pendulum_expert_noise, 0.0, 10.0);
    config.pendulum_medium_noise = args.real("medium-noise", config.pendulum_medium_noise, 0.0, 10.0);
    args.finish(0);
    if (!env) args.fail("--env is required");
    if (!out) args.fail("--out is required");
    config.env = *env;

    const auto start = std::chrono::steady_clock::now();
    const std::string kind = config.kind.empty() ? envs::dataset_kinds(config.env).at(0) : config.kind;
    const std::size_t rows = config.steps ? config.steps : envs::default_steps(config.env, kind);
    Progress progress(config.env + " " + kind, static_cast<std::int64_t>(rows), nullptr, std::cerr, "row");
    const data::Dataset dataset = envs::generate_dataset(
        config, [&](std::size_t done, std::size_t) { progress.update(static_cast<std::int64_t>(done), ""); });
    const double gen_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    data::save_dataset_npz(dataset, *out);
    const double all_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::size_t segments = 0;
    for (std::size_t i = 0; i < dataset.size(); ++i) segments += dataset.timeouts(i) != 0.0f || dataset.terminals(i) != 0.0f;
    std::cout << "wrote " << *out << ": " << dataset.size() << " rows, " << segments
              << " episode ends (terminals | timeouts), generated in " << gen_seconds << " s ("
              << static_cast<double>(dataset.size()) / gen_seconds << " steps/s), written in "
              << all_seconds - gen_seconds << " s\n";
    return 0;
}

}  // namespace dydiff::cli
