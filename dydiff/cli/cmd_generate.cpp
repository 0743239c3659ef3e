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
#include <vector>

namespace dydiff::cli {

CommandDoc dataset_generate_doc() {
    return {
        "dataset generate",
        "--env NAME [--kind KIND] [--steps N] [--seed S] --out FILE.npz",
        "Writes a dataset of a built-in env in D4RL layout as .npz, from the scripted recipes (docs/environments.md).\n"
        "The same flags and build give identical files.",
        {{"--env NAME", "maze2d-{umaze,medium,large}[-dense], pendulum, or (built with MuJoCo) hopper, halfcheetah, "
                        "walker2d and maze2d-{umaze,medium,large}[-dense]-mujoco (the maze recipes on MuJoCo's physics)"},
         {"--kind KIND",
          "maze2d: waypoint (D4RL recipe, default), random; pendulum: random, medium, expert, "
          "medium-replay, medium-expert; hopper, halfcheetah, walker2d: random (D4RL's uniform-action recipe); any "
          "env: policy (rollouts of --policy, D4RL's medium and expert recipe), replay (the first --steps rows of "
          "--replay, D4RL's medium-replay recipe), concat (--parts joined row-wise, D4RL's medium-expert)"},
         {"--steps N",
          "rows (default: maze2d umaze 1M, medium 2M, large 4M; pendulum 100k, medium-expert 200k; locomotion 1M)"},
         {"--seed S", "random seed (default 0)"},
         {"--policy FILE", "kind policy: a train-online policies/step_N.npz (a Tanh-Gaussian actor)"},
         {"--deterministic", "kind policy: act with tanh(mu) instead of sampling the policy (default: sample)"},
         {"--replay FILE", "kind replay: a train-online replay.npz; --steps = the env steps of the chosen policy"},
         {"--parts A.npz,B.npz", "kind concat: datasets of --env joined row-wise in this order (medium, expert)"},
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

/// The flags of the behaviour-policy kinds.
struct BehaviourFlags {
    std::optional<std::string> policy;  // kind policy
    std::optional<std::string> replay;  // kind replay
    std::optional<std::string> parts;   // kind concat: FILE,FILE[,...]
    bool deterministic = false;         // kind policy
};

std::vector<std::string> split_commas(const std::string& text) {
    std::vector<std::string> out;
    std::size_t from = 0;
    for (std::size_t at; (at = text.find(',', from)) != std::string::npos; from = at + 1)
        out.push_back(text.substr(from, at - from));
    out.push_back(text.substr(from));
    return out;
}

/// D4RL's medium-expert: the parts' rows one after the other (each part ends its last episode with a flag, so no
/// transition crosses from one part into the next). Every part must record --env and have the same dims; infos
/// and next_observations are kept when every part has them.
data::Dataset concat_parts(const std::string& env, const std::vector<std::string>& paths) {
    DYDIFF_USER_CHECK(paths.size() >= 2, "dataset generate --kind concat needs at least two files in --parts");
    std::vector<data::Dataset> parts;
    std::size_t n = 0;
    for (const auto& path : paths) {
        parts.push_back(data::load_dataset(path));
        const data::Dataset& p = parts.back();
        DYDIFF_USER_CHECK(p.env == env, path << " records env '" << p.env << "', not --env " << env);
        DYDIFF_USER_CHECK(p.obs_dim() == parts[0].obs_dim() && p.action_dim() == parts[0].action_dim(),
                          path << " has obs/action dims " << p.obs_dim() << "/" << p.action_dim() << ", "
                               << paths[0] << " " << parts[0].obs_dim() << "/" << parts[0].action_dim());
        DYDIFF_USER_CHECK(p.terminals(p.size() - 1) != 0.0f || p.timeouts(p.size() - 1) != 0.0f,
                          path << ": its last row carries no terminal or timeout, so its last episode would run "
                                  "into the next file");
        n += p.size();
    }
    const std::size_t S = parts[0].obs_dim(), A = parts[0].action_dim();
    bool with_next = true;
    for (const auto& p : parts) with_next = with_next && p.next_observations.has_value();
    data::Dataset d = data::Dataset::zeros(n, S, A);
    xt::xtensor<float, 2> next = xt::empty<float>({with_next ? n : 0, S});
    std::size_t at = 0;
    for (std::size_t i = 0; i < parts.size(); ++i) {
        const data::Dataset& p = parts[i];
        // Row-major arrays: part i fills rows [at, at + size) contiguously.
        std::copy(p.observations.begin(), p.observations.end(), d.observations.data() + at * S);
        std::copy(p.actions.begin(), p.actions.end(), d.actions.data() + at * A);
        std::copy(p.rewards.begin(), p.rewards.end(), d.rewards.data() + at);
        std::copy(p.terminals.begin(), p.terminals.end(), d.terminals.data() + at);
        std::copy(p.timeouts.begin(), p.timeouts.end(), d.timeouts.data() + at);
        if (with_next) std::copy(p.next_observations->begin(), p.next_observations->end(), next.data() + at * S);
        at += p.size();
        d.provenance["part" + std::to_string(i)] = paths[i] + " (sha256 " + file_sha256(paths[i]) + ")";
        for (const auto& [key, text] : p.provenance) d.provenance["part" + std::to_string(i) + "_" + key] = text;
    }
    if (with_next) d.next_observations = std::move(next);
    d.provenance["recipe"] = "concat";
    d.env = env;
    return d;
}

/// Kinds policy, replay and concat: a behaviour policy's rollouts, the head of an online run's replay, files joined.
int run_behaviour_recipe(const envs::GenerateConfig& config, const std::string& out, const BehaviourFlags& flags) {
    const auto& [policy, replay, parts, deterministic] = flags;
    const auto start = std::chrono::steady_clock::now();
    data::Dataset d;
    if (config.kind == "concat") {
        DYDIFF_USER_CHECK(parts && !policy && !replay && !deterministic,
                          "dataset generate --kind concat needs --parts FILE,FILE (and no --policy, --replay or "
                          "--deterministic)");
        d = concat_parts(config.env, split_commas(*parts));
    } else if (config.kind == "policy") {
        DYDIFF_USER_CHECK(policy && !replay && !parts,
                          "dataset generate --kind policy needs --policy FILE (and no --replay or --parts)");
        const std::size_t rows = config.steps ? config.steps : 1000000;  // D4RL's medium and expert files: 1M rows
        d = agent::policy_dataset(config.env, agent::BehaviourPolicy::load(*policy), rows, config.seed,
                                  deterministic);
        d.provenance = {{"recipe", std::string("policy, ") + (deterministic ? "deterministic" : "sampled")},
                        {"seed", std::to_string(config.seed)},
                        {"policy", *policy},
                        {"policy_sha256", file_sha256(*policy)}};
    } else {
        DYDIFF_USER_CHECK(replay && !policy && !parts && !deterministic,
                          "dataset generate --kind replay needs --replay FILE (and no --policy, --parts or "
                          "--deterministic)");
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
    BehaviourFlags behaviour{args.value("policy"), args.value("replay"), args.value("parts"),
                             args.flag("deterministic")};
    args.finish(0);
    if (!env) args.fail("--env is required");
    if (!out) args.fail("--out is required");
    config.env = *env;
    if (config.kind == "policy" || config.kind == "replay" || config.kind == "concat")
        return run_behaviour_recipe(config, *out, behaviour);
    if (behaviour.policy || behaviour.replay || behaviour.parts || behaviour.deterministic)
        args.fail("--policy, --replay, --parts and --deterministic belong to kinds policy, replay and concat");

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
