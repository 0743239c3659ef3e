// Online SAC (see online.hpp).
#include "dydiff/agent/online.hpp"

#include "autograd/error.hpp"
#include "dydiff/eval/policy_eval.hpp"
#include "dydiff/learners/common.hpp"
#include "dydiff/learners/registry.hpp"
#include "nn/checkpoint.hpp"

#include <algorithm>
#include <cmath>
#include <numeric>

namespace dydiff::agent {

namespace {

// The run's random streams, forks of Rng(seed).
constexpr std::uint64_t kExploreStream = 0;  // env resets and the uniform actions of start_steps
constexpr std::uint64_t kBatchStream = 1;    // minibatch draws
constexpr std::uint64_t kEvalStream = 2;     // evaluation i resets its episodes from fork(2).fork(i)
constexpr std::int64_t kProgressEvery = 1000;

}  // namespace

void OnlineConfig::fields(ConfigFields& f) {
    f.add("env", &env, "the built-in env to train in (e.g. hopper, halfcheetah, walker2d, pendulum)");
    f.add("steps", &steps, "env steps in total (SAC's MuJoCo budget: 1000000)").at_least(1);
    f.add("start_steps", &start_steps,
          "uniform random actions first; their observations give the learner's z-score statistics (SAC: 10000)")
        .at_least(1);
    f.add("updates_per_step", &updates_per_step, "gradient steps per env step after start_steps (SAC: 1)").at_least(1);
    f.add("buffer", &buffer, "replay capacity in transitions, FIFO (SAC: 1000000)").at_least(1);
    f.add("eval_every", &eval_every, "env steps between evaluations (deterministic policy), and at the end")
        .at_least(1);
    f.add("eval_episodes", &eval_episodes, "episodes per evaluation").at_least(1);
    f.add("seed", &seed, "env resets and exploration, minibatches, the learner's draws, evaluation episodes");
    f.table("sac", "the SAC learner (docs/algorithm.md §5.4.8)", sac);
}

void OnlineConfig::validate() const {
    DYDIFF_USER_CHECK(!env.empty(), "train-online: key 'env' is empty (give a built-in env, e.g. hopper)");
    DYDIFF_USER_CHECK(start_steps >= static_cast<std::int64_t>(sac.batch),
                      "train-online: start_steps = " << start_steps << " must cover one minibatch (sac.batch = "
                                                     << sac.batch << ")");
    DYDIFF_USER_CHECK(steps >= start_steps,
                      "train-online: steps = " << steps << " must be at least start_steps = " << start_steps);
    sac.validate();
}

OnlineTrainer::OnlineTrainer(const OnlineConfig& config)
    : config_(config),
      env_(envs::make_env(config.env)),
      box_(env_->action_space()),
      explore_rng_(data::Rng(config.seed).fork(kExploreStream)),
      batch_rng_(data::Rng(config.seed).fork(kBatchStream)) {
    config_.validate();
    buffer_ = std::make_unique<data::ReplayBuffer>(config_.buffer, env_->obs_dim(), env_->action_dim());
    obs_ = env_->reset(explore_rng_);
}

OnlineTrainer::~OnlineTrainer() = default;

void OnlineTrainer::env_step() {
    const std::size_t S = env_->obs_dim(), A = env_->action_dim();
    std::vector<float> action(A);
    if (learner_) {
        learners::Array2 o = xt::empty<float>({std::size_t{1}, S});
        std::copy(obs_.begin(), obs_.end(), o.data());
        const learners::Array2 a = learner_->act(o, false);
        std::copy(a.data(), a.data() + A, action.begin());
    } else {
        for (std::size_t k = 0; k < A; ++k)
            action[k] = static_cast<float>(box_.low[k] + (box_.high[k] - box_.low[k]) * explore_rng_.uniform_double());
    }
    const envs::StepResult r = env_->step(action);
    ++env_steps_;
    episode_return_ += r.reward;
    const bool last = env_steps_ == config_.steps;
    h_obs_.insert(h_obs_.end(), obs_.begin(), obs_.end());
    h_act_.insert(h_act_.end(), action.begin(), action.end());
    h_rew_.push_back(static_cast<float>(r.reward));
    h_term_.push_back(r.terminated ? 1.0f : 0.0f);
    h_timeout_.push_back(!r.terminated && (r.truncated || last) ? 1.0f : 0.0f);
    h_next_.insert(h_next_.end(), r.obs.begin(), r.obs.end());

    data::Transitions t = data::Transitions::zeros(1, S, A);
    std::copy(obs_.begin(), obs_.end(), t.observations.data());
    std::copy(action.begin(), action.end(), t.actions.data());
    t.rewards(0) = static_cast<float>(r.reward);
    std::copy(r.obs.begin(), r.obs.end(), t.next_observations.data());
    t.dones(0) = r.terminated ? 1.0f : 0.0f;  // the time limit bootstraps
    buffer_->add_batch(t);

    if (r.terminated || r.truncated) {
        finished_returns_.push_back(episode_return_);
        episode_return_ = 0.0;
        obs_ = env_->reset(explore_rng_);
    } else {
        obs_ = r.obs;
    }
}

OnlineEval OnlineTrainer::evaluate() {
    eval::PolicyEvalOptions options;
    options.episodes = config_.eval_episodes;
    options.seed = data::Rng(config_.seed).fork(kEvalStream).fork(static_cast<std::uint64_t>(evaluations_)).next_u64();
    ++evaluations_;
    const eval::PolicyEvalResult r = eval::evaluate_policy(
        config_.env, [&](const eval::Obs& o) { return learner_->act(o, true); }, options);
    OnlineEval e;
    e.env_steps = env_steps_;
    e.updates = learner_->steps();
    e.return_mean = r.return_mean();
    e.return_std = r.return_std();
    e.score_mean = r.score_mean();
    e.score_std = r.score_std();
    e.length_mean = r.length_mean();
    e.train_return_mean = finished_returns_.empty()
                              ? std::nan("")
                              : std::accumulate(finished_returns_.begin(), finished_returns_.end(), 0.0) /
                                    static_cast<double>(finished_returns_.size());
    finished_returns_.clear();
    return e;
}

void OnlineTrainer::run(const EvalFn& on_eval, const ProgressFn& progress) {
    DYDIFF_CHECK(env_steps_ == 0, "OnlineTrainer::run: called twice");
    while (env_steps_ < config_.steps) {
        env_step();
        if (!learner_ && env_steps_ == config_.start_steps) {
            // The learner's z-score statistics: the observations of the random phase (then frozen).
            const std::size_t S = env_->obs_dim();
            learners::Array2 seen = xt::empty<float>({h_obs_.size() / S, S});
            std::copy(h_obs_.begin(), h_obs_.end(), seen.data());
            learners::LearnerConfigs configs;
            configs.sac = config_.sac;
            learner_ = learners::make_learner("sac", configs,
                                              learners::make_spec(seen, box_.low, box_.high, config_.seed));
        }
        if (learner_)
            for (std::int64_t u = 0; u < config_.updates_per_step; ++u)
                learner_->update(buffer_->sample(batch_rng_, config_.sac.batch));
        if (progress && (env_steps_ % kProgressEvery == 0 || env_steps_ == config_.steps))
            progress(env_steps_, config_.steps);
        if (learner_ && (env_steps_ % config_.eval_every == 0 || env_steps_ == config_.steps))
            on_eval(evaluate(), *learner_);
    }
}

data::Dataset OnlineTrainer::history(std::size_t rows) const {
    const std::size_t S = env_->obs_dim(), A = env_->action_dim(), T = h_rew_.size();
    const std::size_t n = rows == 0 ? T : rows;
    DYDIFF_CHECK(n <= T, "OnlineTrainer::history: " << n << " rows asked, " << T << " taken");
    data::Dataset d = data::Dataset::zeros(n, S, A);
    xt::xtensor<float, 2> next = xt::empty<float>({n, S});
    std::copy(h_obs_.begin(), h_obs_.begin() + static_cast<std::ptrdiff_t>(n * S), d.observations.data());
    std::copy(h_act_.begin(), h_act_.begin() + static_cast<std::ptrdiff_t>(n * A), d.actions.data());
    std::copy(h_rew_.begin(), h_rew_.begin() + static_cast<std::ptrdiff_t>(n), d.rewards.data());
    std::copy(h_term_.begin(), h_term_.begin() + static_cast<std::ptrdiff_t>(n), d.terminals.data());
    std::copy(h_timeout_.begin(), h_timeout_.begin() + static_cast<std::ptrdiff_t>(n), d.timeouts.data());
    std::copy(h_next_.begin(), h_next_.begin() + static_cast<std::ptrdiff_t>(n * S), next.data());
    // A cut inside an episode ends it as a timeout, so no row pairs with a next row of another episode.
    if (d.terminals(n - 1) == 0.0f) d.timeouts(n - 1) = 1.0f;
    d.next_observations = std::move(next);
    d.env = config_.env;
    d.source = "online sac " + config_.env + " seed " + std::to_string(config_.seed) + ", first " + std::to_string(n) +
               " env steps";
    d.provenance = {{"recipe", "online sac replay"}, {"seed", std::to_string(config_.seed)},
                    {"env_steps", std::to_string(n)}};
    return d;
}

BehaviourPolicy BehaviourPolicy::load(const std::string& path) {
    const nn::Checkpoint ckpt = nn::Checkpoint::load(path);
    const std::string head = ckpt.get_text("actor/head");
    DYDIFF_USER_CHECK(head == "tanh_gaussian_mean", path << ": actor/head is '" << head
                                                         << "', a behaviour policy needs a Tanh-Gaussian actor "
                                                            "(tanh_gaussian_mean: sac, cql, td3bc official)");
    learners::LearnerSpec spec = learners::load_spec(ckpt);
    // The MLP's depth and width from its stored layers: net.layers.0 .. net.layers.L (hidden layers = L).
    std::size_t linear = 0;
    while (ckpt.contains("actor/net.layers." + std::to_string(linear) + ".weight")) ++linear;
    DYDIFF_USER_CHECK(linear >= 2, path << ": actor/net.layers.* holds " << linear << " layers, expected >= 2");
    const std::size_t hidden = ckpt.get("actor/net.layers.0.weight").shape()[0];
    data::Rng unused(0);
    auto actor = std::make_shared<learners::TanhGaussianActor>(spec.obs_dim, spec.action_dim, hidden, linear - 1,
                                                               nn::Init::zeros, unused);
    // "actor/head" sits beside the parameters, so the parameters are read one by one (load_module wants them alone).
    for (auto& [name, param] : actor->named_parameters()) {
        const autograd::Array value = ckpt.get("actor/" + name);
        DYDIFF_USER_CHECK(value.shape() == param.shape(), path << ": actor/" << name << " is "
                                                               << shape_str(value.shape()) << ", expected "
                                                               << shape_str(param.shape()));
        param.mutable_value() = value;
    }
    return BehaviourPolicy(std::move(spec), std::move(actor));
}

learners::Array2 BehaviourPolicy::act(const learners::Array2& obs, data::Rng& rng, bool deterministic) const {
    return learners::act_in_box(spec_, obs, [&](const learners::Tensor& obs_hat) {
        return deterministic ? actor_->mode(obs_hat) : actor_->sample(obs_hat, rng).action;
    });
}

data::Dataset policy_dataset(const std::string& env_name, const BehaviourPolicy& policy, std::size_t rows,
                             std::uint64_t seed, bool deterministic) {
    DYDIFF_USER_CHECK(rows > 0, "policy_dataset: rows must be > 0");
    auto env = envs::make_env(env_name);
    const std::size_t S = env->obs_dim(), A = env->action_dim();
    DYDIFF_USER_CHECK(policy.spec().obs_dim == S && policy.spec().action_dim == A,
                      "the policy's obs/action dims " << policy.spec().obs_dim << "/" << policy.spec().action_dim
                                                      << " are not " << env_name << "'s " << S << "/" << A);
    data::Dataset d;
    d.observations = xt::zeros<float>({rows, S});
    d.actions = xt::zeros<float>({rows, A});
    d.rewards = xt::zeros<float>({rows});
    d.terminals = xt::zeros<float>({rows});
    d.timeouts = xt::zeros<float>({rows});
    xt::xtensor<float, 2> next = xt::zeros<float>({rows, S});
    const data::Rng root(seed);
    learners::Array2 o = xt::empty<float>({std::size_t{1}, S});
    std::size_t t = 0;
    for (std::size_t e = 0; t < rows; ++e) {
        data::Rng rng = root.fork(e);
        std::vector<float> obs = env->reset(rng);
        for (bool done = false; !done && t < rows; ++t) {
            std::copy(obs.begin(), obs.end(), o.data());
            const learners::Array2 a = policy.act(o, rng, deterministic);
            const std::vector<float> action(a.data(), a.data() + A);
            const envs::StepResult r = env->step(action);
            std::copy(obs.begin(), obs.end(), &d.observations(t, 0));
            std::copy(action.begin(), action.end(), &d.actions(t, 0));
            std::copy(r.obs.begin(), r.obs.end(), &next(t, 0));
            d.rewards(t) = static_cast<float>(r.reward);
            d.terminals(t) = r.terminated ? 1.0f : 0.0f;
            d.timeouts(t) = !r.terminated && (r.truncated || t + 1 == rows) ? 1.0f : 0.0f;
            done = r.terminated || r.truncated;
            obs = r.obs;
        }
    }
    d.next_observations = std::move(next);
    d.env = env_name;
    d.source = "policy rollouts " + env_name;
    return d;
}

}  // namespace dydiff::agent
