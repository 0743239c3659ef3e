// `dydiff dataset generate`: writes a dataset of a built-in env (maze2d, pendulum; hopper, halfcheetah, walker2d with
// the `mujoco` feature) in D4RL layout as .npz, from the
// scripted recipes of dydiff/envs/generate.hpp. Progress goes to stderr through dydiff::Progress: a live line on a
// terminal, plain lines about every 5% otherwise (logs, CI).
#include "autograd/error.hpp"
#include "data/sha256.hpp"
#include "dydiff/agent/online.hpp"
#include "dydiff/cli/args.hpp"
#include "dydiff/cli/commands.hpp"
#include "dydiff/envs/env.hpp"
#include "dydiff/envs/generate.hpp"
#include "dydiff/run/run_dir.hpp"

#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <functional>
#include <fstream>
#include <iostream>
#include <iterator>
#include <optional>

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
          "medium-replay, medium-expert; hopper, halfcheetah, walker2d: random (D4RL's uniform-action recipe); any "
          "env: policy (rollouts of --policy, D4RL's medium and expert recipe), replay (the first --steps rows of "
          "--replay, D4RL's medium-replay recipe)"},
         {"--steps N",
          "rows (default: maze2d umaze 1M, medium 2M, large 4M; pendulum 100k, medium-expert 200k; locomotion 1M)"},
         {"--seed S", "random seed (default 0)"},
         {"--policy FILE", "kind policy: a train-online policies/step_N.npz (a Tanh-Gaussian actor)"},
         {"--deterministic", "kind policy: act with tanh(mu) instead of sampling the policy (default: sample)"},
         {"--replay FILE", "kind replay: a train-online replay.npz; --steps = the env steps of the chosen policy"},
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

namespace {

std::string file_sha256(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    DYDIFF_USER_CHECK(in.good(), path << ": cannot open the file");
    const std::string bytes{std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
    return data::sha256_hex(bytes.data(), bytes.size());
}

/// Kinds policy and replay: a behaviour policy's rollouts, or the head of an online run's replay.
int run_behaviour_recipe(const envs::GenerateConfig& config, const std::string& out,
                         const std::optional<std::string>& policy, const std::optional<std::string>& replay,
                         bool deterministic) {
    const auto start = std::chrono::steady_clock::now();
    data::Dataset d;
    if (config.kind == "policy") {
        DYDIFF_USER_CHECK(policy && !replay, "dataset generate --kind policy needs --policy FILE (and no --replay)");
        const std::size_t rows = config.steps ? config.steps : 1000000;  // D4RL's medium and expert files: 1M rows
        d = agent::policy_dataset(config.env, agent::BehaviourPolicy::load(*policy), rows, config.seed,
                                  deterministic);
        d.provenance = {{"recipe", std::string("policy, ") + (deterministic ? "deterministic" : "sampled")},
                        {"seed", std::to_string(config.seed)},
                        {"policy", *policy},
                        {"policy_sha256", file_sha256(*policy)}};
    } else {
        DYDIFF_USER_CHECK(replay && !policy && !deterministic,
                          "dataset generate --kind replay needs --replay FILE (and no --policy or --deterministic)");
        DYDIFF_USER_CHECK(config.steps > 0, "dataset generate --kind replay needs --steps N: the env steps of the "
                                            "policy the replay runs up to (eval.csv's env_steps)");
        const data::Dataset all = data::load_dataset(*replay);
        DYDIFF_USER_CHECK(all.env == config.env, *replay << " records env '" << all.env << "', not --env "
                                                         << config.env);
        DYDIFF_USER_CHECK(config.steps <= all.size(), *replay << " holds " << all.size() << " rows, fewer than --steps "
                                                              << config.steps);
        const std::size_t n = config.steps;
        d.observations = xt::view(all.observations, xt::range(0, n), xt::all());
        d.actions = xt::view(all.actions, xt::range(0, n), xt::all());
        d.rewards = xt::view(all.rewards, xt::range(0, n));
        d.terminals = xt::view(all.terminals, xt::range(0, n));
        d.timeouts = xt::view(all.timeouts, xt::range(0, n));
        DYDIFF_USER_CHECK(all.next_observations.has_value(), *replay << " has no next_observations");
        d.next_observations = xt::xtensor<float, 2>(xt::view(*all.next_observations, xt::range(0, n), xt::all()));
        if (d.terminals(n - 1) == 0.0f) d.timeouts(n - 1) = 1.0f;  // the cut ends an episode
        d.env = config.env;
        d.provenance = {{"recipe", "replay, first " + std::to_string(n) + " rows"},
                        {"replay", *replay},
                        {"replay_sha256", file_sha256(*replay)}};
        for (const auto& [key, text] : all.provenance) d.provenance["replay_" + key] = text;
    }
    data::save_dataset_npz(d, out);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    double sum = 0.0, episode = 0.0;
    std::size_t episodes = 0;
    for (std::size_t i = 0; i < d.size(); ++i) {
        episode += d.rewards(i);
        if (d.terminals(i) != 0.0f || d.timeouts(i) != 0.0f) {
            sum += episode;
            episode = 0.0;
            ++episodes;
        }
    }
    std::cout << "wrote " << out << ": " << d.size() << " rows, " << episodes << " episodes, mean episode return "
              << (episodes ? sum / static_cast<double>(episodes) : 0.0) << ", in " << seconds << " s\n"
              << "provenance:";
    for (const auto& [key, text] : d.provenance) std::cout << " " << key << " = " << text << ";";
    std::cout << "\n";
    return 0;
}

}  // namespace

int run_dataset_generate(const Words& words) {
    Args args("dataset generate", words, {"deterministic"});
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
    const auto policy = args.value("policy");
    const auto replay = args.value("replay");
    const bool deterministic = args.flag("deterministic");
    args.finish(0);
    if (!env) args.fail("--env is required");
    if (!out) args.fail("--out is required");
    config.env = *env;
    if (config.kind == "policy" || config.kind == "replay")
        return run_behaviour_recipe(config, *out, policy, replay, deterministic);
    if (policy || replay || deterministic) args.fail("--policy, --replay and --deterministic belong to kinds policy and replay");

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
