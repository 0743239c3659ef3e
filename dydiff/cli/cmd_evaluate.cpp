// `dydiff evaluate-controller`: runs the scripted expert and the random policy (and, for pendulum, the medium
// controller) on a built-in env and prints raw returns and normalized scores (mean +- std over episodes). Its
// random and expert means are the reference returns of dydiff/envs/scores.cpp.
#include "dydiff/cli/args.hpp"
#include "dydiff/cli/commands.hpp"
#include "dydiff/envs/controllers.hpp"
#include "dydiff/envs/env.hpp"
#include "dydiff/envs/scores.hpp"

#include <cmath>
#include <cstdio>
#include <iostream>

namespace dydiff::cli {
namespace {

void mean_std(const std::vector<double>& xs, double& mean, double& sd) {
    mean = 0.0;
    for (double x : xs) mean += x;
    mean /= static_cast<double>(xs.size());
    double var = 0.0;
    for (double x : xs) var += (x - mean) * (x - mean);
    sd = std::sqrt(var / static_cast<double>(xs.size()));
}

}  // namespace

CommandDoc evaluate_controller_doc() {
    return {"evaluate-controller",
            "--env NAME [--episodes N] [--seed S]",
            "Runs the scripted expert and the random policy (and, for pendulum, the medium controller) on a built-in\n"
            "env and prints raw returns and normalized scores (mean +- std over episodes) and success rates.",
            {{"--env NAME", "maze2d-{umaze,medium,large}[-dense] or pendulum"},
             {"--episodes N", "episodes per policy (default 100)"},
             {"--seed S", "episode e resets from Rng(S).fork(e) (default 0); every policy sees the same starts"},
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
    args.finish(0);
    if (!name) args.fail("--env is required");
    auto env = envs::make_env(*name);
    const auto ref = envs::reference_scores(*name);
    std::printf("%s: %zu episodes of at most %zu steps, seed %llu\n", name->c_str(), episodes,
                env->max_episode_steps(), static_cast<unsigned long long>(seed));
    if (ref)
        std::printf("reference returns: random %.6g, expert %.6g (%s)\n", ref->ref_min, ref->ref_max, ref->source.c_str());
    else
        std::printf("no reference returns for %s: raw returns only\n", name->c_str());
    std::printf("%-8s %24s %22s %10s\n", "policy", "return (mean +- std)", "normalized", "success");
    for (const auto& kind : envs::policy_kinds(*env)) {
        auto policy = envs::make_policy(*env, kind);
        const auto stats = envs::run_episodes(*env, *policy, episodes, seed);
        std::vector<double> returns, scores;
        std::size_t successes = 0, with_success = 0;
        for (const auto& s : stats) {
            returns.push_back(s.episode_return);
            if (ref) scores.push_back(*envs::normalized_score(*name, s.episode_return));
            if (s.success) {
                ++with_success;
                successes += *s.success ? 1 : 0;
            }
        }
        double rm, rs;
        mean_std(returns, rm, rs);
        char norm[64] = "-", success[32] = "-";
        if (ref) {
            double sm, ss;
            mean_std(scores, sm, ss);
            std::snprintf(norm, sizeof norm, "%.2f +- %.2f", sm, ss);
        }
        if (with_success)
            std::snprintf(success, sizeof success, "%.1f%%", 100.0 * static_cast<double>(successes) / static_cast<double>(with_success));
        std::printf("%-8s %12.4f +- %9.4f %22s %10s\n", kind.c_str(), rm, rs, norm, success);
    }
    return 0;
}

}  // namespace dydiff::cli
