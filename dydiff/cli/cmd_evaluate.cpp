// `dydiff evaluate-controller`: runs the scripted expert and the random policy (and, for pendulum, the medium
// controller; for the MuJoCo locomotion envs the random policy only) on a built-in env and prints raw returns and
// normalized scores (mean +- std over episodes). For maze2d and pendulum its random and expert means are the
// reference returns of dydiff/envs/scores.cpp; the locomotion envs use D4RL's. The episodes run batched through
// eval::evaluate_policy, with the same seeding as envs::run_episodes. With --against, a maze2d env is instead compared
// with a second simulator of the same maze (dydiff/eval/maze_divergence.hpp): the same starts and the same actions of
// three action sources through both, and their state divergence per horizon.
#include "autograd/error.hpp"
#include "dydiff/cli/args.hpp"
#include "dydiff/cli/commands.hpp"
#include "dydiff/envs/controllers.hpp"
#include "dydiff/envs/env.hpp"
#include "dydiff/envs/scores.hpp"
#include "dydiff/eval/maze_divergence.hpp"
#include "dydiff/eval/policy_eval.hpp"

#include <cstdio>
#include <iostream>

namespace dydiff::cli {
CommandDoc evaluate_controller_doc() {
    return {"evaluate-controller",
            "--env NAME [--episodes N] [--seed S] [--against NAME2 [--steps H]]",
            "Runs the scripted expert and the random policy (and, for pendulum, the medium controller) on a built-in\n"
            "env and prints raw returns and normalized scores (mean +- std over episodes) and success rates. The\n"
            "MuJoCo locomotion envs have no scripted expert: the random policy only, scored with D4RL's constants.\n"
            "With --against, a maze2d env is compared with another simulator of the same maze instead (typically\n"
            "ours against MuJoCo's: --env maze2d-umaze --against maze2d-umaze-mujoco): both reset to the same\n"
            "starts and step the same actions of three sources (waypoint: the D4RL recipe's controller steering by\n"
            "--env's state; saturated: each axis +-1 held for ~10 steps; uniform: U(-1, 1)^2); printed per source are\n"
            "the share of steps in contact, the deepest penetration into a wall, and per horizon the mean and max\n"
            "position and velocity divergence over all episodes, over those still in free space, and over those\n"
            "that touched a wall (docs/environments.md, \"maze2d on MuJoCo\").",
            {{"--env NAME",
              "maze2d-{umaze,medium,large}[-dense], pendulum, or (built with MuJoCo) hopper, halfcheetah, walker2d "
              "(D4RL names such as hopper-medium-v2 too) and maze2d-{umaze,medium,large}[-dense]-mujoco"},
             {"--episodes N", "episodes per policy (default 100)"},
             {"--seed S", "episode e resets from Rng(S).fork(e) (default 0); every policy sees the same starts"},
             {"--against NAME2", "maze2d only: compare --env with NAME2, the same maze on another simulator"},
             {"--steps H", "with --against: steps per episode (default: the episode limit, umaze 300)"},
             {"-h, --help", "this help"}},
            {}};
}

std::vector<Page> evaluate_controller_pages() { return {{evaluate_controller_doc()}}; }

int run_evaluate_controller(const Words& words) {
    Args args("evaluate-controller", words);
    if (args.help()) {
        std::cout << help_text(evaluate_controller_doc());
        return 0;
    }
    const auto name = args.value("env");
    const auto episodes = static_cast<std::size_t>(args.integer("episodes", 100, 1, 100000000));
    const auto seed = static_cast<std::uint64_t>(args.integer("seed", 0, 0, INT64_MAX));
    const auto against = args.value("against");
    const auto steps = static_cast<std::size_t>(args.integer("steps", 0, 1, 100000000));
    args.finish(0);
    if (!name) args.fail("--env is required");
    if (!against && steps != 0) args.fail("--steps needs --against");
    if (against) {
        MazeDivergenceConfig config;
        config.episodes = episodes;
        config.seed = seed;
        config.steps = steps;
        std::cout << maze_divergence_text(maze_divergence(*name, *against, config));
        return 0;
    }
    auto env = envs::make_env(*name);
    const auto ref = envs::reference_scores(*name);
    std::printf("%s: %zu episodes of at most %zu steps, seed %llu\n", name->c_str(), episodes,
                env->max_episode_steps(), static_cast<unsigned long long>(seed));
    DYDIFF_USER_CHECK(ref, "evaluate-controller: no reference returns for '" << *name << "'");
    std::printf("reference returns: random %.6g, expert %.6g (%s)\n", ref->ref_min, ref->ref_max, ref->source.c_str());
    std::printf("%-8s %24s %22s %10s\n", "policy", "return (mean +- std)", "normalized", "success");
    eval::PolicyEvalOptions options;
    options.episodes = episodes;
    options.seed = seed;
    for (const auto& kind : envs::policy_kinds(*env)) {
        auto policy = envs::make_policy(*env, kind);
        const eval::PolicyEvalResult r = eval::evaluate_policy(*name, eval::scripted_policy(*policy), options);
        char norm[64], success[32] = "-";
        std::snprintf(norm, sizeof norm, "%.2f +- %.2f", r.score_mean(), r.score_std());
        if (const auto rate = r.success_rate()) std::snprintf(success, sizeof success, "%.1f%%", 100.0 * *rate);
        std::printf("%-8s %12.4f +- %9.4f %22s %10s\n", kind.c_str(), r.return_mean(), r.return_std(), norm, success);
    }
    return 0;
}

}  // namespace dydiff::cli
