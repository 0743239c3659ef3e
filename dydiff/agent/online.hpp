// Online SAC in a built-in env: the trainer of the behaviour policies behind the locomotion dataset recipes
// (docs/environments.md, "Behaviour policies"; docs/algorithm.md §5.4.8). start_steps uniform random actions fill
// the replay buffer first and give the learner its observation statistics (the z-score is then frozen); from then
// on each env step takes a stochastic policy action and updates_per_step gradient steps on uniform minibatches of
// the replay. A true termination stores done = 1; the time limit stores done = 0 (bootstrapped) and starts a new
// episode. Every transition is also kept in env-step order, as a D4RL-layout dataset (the medium-replay recipe).
// Layering: dydiff/agent (on envs/, learners/, eval/, data/, run/).
#pragma once

#include "data/dataset.hpp"
#include "data/replay_buffer.hpp"
#include "data/rng.hpp"
#include "dydiff/envs/env.hpp"
#include "dydiff/learners/common.hpp"
#include "dydiff/learners/configs.hpp"
#include "dydiff/learners/learner.hpp"
#include "dydiff/run/config.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace dydiff::agent {

struct OnlineConfig {
    std::string env;                     // a built-in env (envs::make_env), e.g. "hopper"
    std::int64_t steps = 1000000;        // env steps in total (SAC's MuJoCo budget: 1M)
    std::int64_t start_steps = 10000;    // uniform random actions first (SAC reference code: 10 000)
    std::int64_t updates_per_step = 1;   // gradient steps per env step after start_steps (SAC: 1)
    std::size_t buffer = 1000000;        // replay capacity, FIFO (SAC: 1M)
    std::int64_t eval_every = 10000;     // env steps between evaluations of the deterministic policy, and at the end
    std::size_t eval_episodes = 10;      // episodes per evaluation
    std::uint64_t seed = 0;              // env resets and exploration, minibatches, the learner, evaluations
    learners::SacConfig sac;             // the learner

    void fields(ConfigFields& f);
    /// Fails naming the key: start_steps must cover one minibatch, steps at least start_steps.
    void validate() const;
};

/// One evaluation of the deterministic policy.
struct OnlineEval {
    std::int64_t env_steps = 0;   // env steps taken before it
    std::int64_t updates = 0;     // gradient steps taken before it
    double return_mean = 0.0, return_std = 0.0;
    double score_mean = 0.0, score_std = 0.0;  // normalised (envs::normalized_score)
    double length_mean = 0.0;
    double train_return_mean = 0.0;  // mean return of the exploration episodes finished since the last evaluation
};

class OnlineTrainer {
public:
    using EvalFn = std::function<void(const OnlineEval&, const learners::Learner&)>;
    using ProgressFn = std::function<void(std::int64_t env_steps, std::int64_t total)>;

    explicit OnlineTrainer(const OnlineConfig& config);
    ~OnlineTrainer();

    /// Runs all config.steps env steps; on_eval after each evaluation (every eval_every steps and at the end),
    /// progress about every 1000 steps.
    void run(const EvalFn& on_eval, const ProgressFn& progress = {});

    /// Every transition so far in env-step order as a D4RL-layout dataset: observations, actions, rewards,
    /// terminals, timeouts (the time limit, and the last row when the run stops mid-episode), next_observations;
    /// env = config.env. `rows` limits it to the first rows (0 = all).
    data::Dataset history(std::size_t rows = 0) const;
    std::int64_t env_steps() const { return env_steps_; }
    /// Null until start_steps have been taken.
    const learners::Learner* learner() const { return learner_.get(); }
    learners::Learner* learner() { return learner_.get(); }

private:
    void env_step();
    OnlineEval evaluate();

    OnlineConfig config_;
    std::unique_ptr<envs::Env> env_;
    envs::Box box_;
    data::Rng explore_rng_, batch_rng_;
    std::unique_ptr<learners::Learner> learner_;
    std::unique_ptr<data::ReplayBuffer> buffer_;
    std::vector<float> obs_;                  // (S) the current observation
    std::int64_t env_steps_ = 0;
    std::int64_t evaluations_ = 0;
    double episode_return_ = 0.0;
    std::vector<double> finished_returns_;    // exploration episodes finished since the last evaluation
    // The history, row-major: (T, S), (T, A), (T), (T), (T), (T, S).
    std::vector<float> h_obs_, h_act_, h_rew_, h_term_, h_timeout_, h_next_;
};

/// A behaviour policy from a policy file of `train-online` (policies/step_<N>.npz: the Tanh-Gaussian actor and its
/// spec as learners::save_actor_part writes them, head "tanh_gaussian_mean": SAC, CQL, official TD3+BC).
class BehaviourPolicy {
public:
    /// Fails naming the file and key on another head or a malformed actor.
    static BehaviourPolicy load(const std::string& path);
    /// Actions (B, A) in the box for RAW observations (B, S): tanh(μ) when deterministic, else a tanh-Gaussian
    /// sample with noise from rng.
    learners::Array2 act(const learners::Array2& obs, data::Rng& rng, bool deterministic) const;
    const learners::LearnerSpec& spec() const { return spec_; }

private:
    BehaviourPolicy(learners::LearnerSpec spec, std::shared_ptr<learners::TanhGaussianActor> actor)
        : spec_(std::move(spec)), actor_(std::move(actor)) {}
    learners::LearnerSpec spec_;
    std::shared_ptr<learners::TanhGaussianActor> actor_;
};

/// The policy recipe (D4RL's medium and expert datasets: a fixed policy's own rollouts): whole episodes of `policy`
/// in `env` from the env's resets, `rows` rows; episode e resets and samples from Rng(seed).fork(e). terminals =
/// the env's terminations, timeouts = the time limit and the last row; next_observations stored; env = `env`.
data::Dataset policy_dataset(const std::string& env, const BehaviourPolicy& policy, std::size_t rows,
                             std::uint64_t seed, bool deterministic);

}  // namespace dydiff::agent
