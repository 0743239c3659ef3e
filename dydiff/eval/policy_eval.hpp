// Policy evaluation in the built-in environments (issue 8 item 2): N seeded episodes of a policy, all N envs stepped
// together with one policy call per step, raw returns and normalised scores on the 0-100 scale (dydiff/envs/scores).
// The policy is a plain function of raw observations, so this file knows nothing of learners: a learner is passed
// as `[&](const Obs& o) { return learner.act(o, true); }`, a scripted controller through the per-episode-Rng form.
// Seeding: episode e resets from Rng(seed).fork(e), exactly as envs::run_episodes, so a scripted policy gets the same
// episodes here as there, and the same (policy, env, seed, N) always gives the same numbers.
// Layering: dydiff/eval (on dydiff/envs, data/rng). Shapes: B active episodes, S observation dim, A action dim,
// T steps of an episode.
#pragma once

#include "autograd/xt.hpp"
#include "data/rng.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace dydiff::envs {
class Policy;
}

namespace dydiff::eval {

using Obs = xt::xtensor<float, 2>;      // (B, S) raw observations, one row per active episode
using Actions = xt::xtensor<float, 2>;  // (B, A)

/// A deterministic policy: raw observations (B, S) -> actions (B, A). B shrinks when episodes end at different steps.
using BatchPolicy = std::function<Actions(const Obs& obs)>;
/// A policy that also draws from each row's episode Rng (rngs[b] is the stream the env of row b was reset from, so
/// a scripted random policy reproduces envs::run_episodes). rngs.size() == B.
using EpisodeRngPolicy = std::function<Actions(const Obs& obs, const std::vector<data::Rng*>& rngs)>;

struct PolicyEvalOptions {
    std::size_t episodes = 10;          // N episodes, stepped together
    std::uint64_t seed = 0;             // episode e resets from Rng(seed).fork(e)
    bool record_trajectories = false;   // keep every episode's observations, actions and rewards
};

/// One episode's states and actions, in the env's raw units.
struct Trajectory {
    xt::xtensor<float, 2> observations;  // (T + 1, S): the reset observation, then one per step
    xt::xtensor<float, 2> actions;       // (T, A) as the policy returned them (the env clips when stepping)
    std::vector<double> rewards;         // (T)
};

struct EpisodeResult {
    double episode_return = 0.0;  // undiscounted sum of rewards
    double score = 0.0;           // envs::normalized_score: 0 = random policy, 100 = expert
    std::size_t length = 0;       // steps
    std::optional<bool> success;  // Env::success() at the end (maze2d: the ball came within 0.5 of the goal)
};

struct PolicyEvalResult {
    std::string env;                      // the env name
    std::vector<EpisodeResult> episodes;  // (N), in episode order
    std::vector<Trajectory> trajectories; // (N) when record_trajectories, else empty

    /// Mean and population standard deviation (divide by N) over the episodes.
    double return_mean() const;
    double return_std() const;
    double score_mean() const;
    double score_std() const;
    double length_mean() const;
    /// Fraction of episodes with success() == true, or nullopt when the env reports no success.
    std::optional<double> success_rate() const;
};

/// A scripted controller (envs::make_policy) as a batched policy: each row calls policy.act with that row's episode
/// Rng. `policy` must outlive the returned function.
EpisodeRngPolicy scripted_policy(envs::Policy& policy);

/// Mean and population standard deviation (divide by n) of xs; (0, 0) for an empty list.
void mean_std(const std::vector<double>& xs, double& mean, double& std);

/// Evaluates `policy` for options.episodes episodes of the built-in env `env_name` (envs::make_env), batched. Fails
/// (dydiff::Error) on an unknown env, an env without reference scores, zero episodes, or a policy that returns a
/// wrong shape or a non-finite action (naming the step and the row).
PolicyEvalResult evaluate_policy(const std::string& env_name, const BatchPolicy& policy,
                                 const PolicyEvalOptions& options);
PolicyEvalResult evaluate_policy(const std::string& env_name, const EpisodeRngPolicy& policy,
                                 const PolicyEvalOptions& options);

}  // namespace dydiff::eval
