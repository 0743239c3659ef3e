// Batched policy evaluation (see policy_eval.hpp).
#include "dydiff/eval/policy_eval.hpp"

#include "autograd/error.hpp"
#include "dydiff/envs/controllers.hpp"
#include "dydiff/envs/env.hpp"
#include "dydiff/envs/scores.hpp"

#include <cmath>
#include <memory>

namespace dydiff::eval {

void mean_std(const std::vector<double>& xs, double& mean, double& std) {
    mean = 0.0;
    std = 0.0;
    if (xs.empty()) return;
    for (double x : xs) mean += x;
    mean /= static_cast<double>(xs.size());
    double var = 0.0;
    for (double x : xs) var += (x - mean) * (x - mean);
    std = std::sqrt(var / static_cast<double>(xs.size()));
}

namespace {

template <class Field>
std::vector<double> collect(const std::vector<EpisodeResult>& episodes, Field field) {
    std::vector<double> out;
    out.reserve(episodes.size());
    for (const auto& e : episodes) out.push_back(field(e));
    return out;
}

double mean_of(const std::vector<double>& xs) {
    double m, s;
    mean_std(xs, m, s);
    return m;
}

double std_of(const std::vector<double>& xs) {
    double m, s;
    mean_std(xs, m, s);
    return s;
}

}  // namespace

double PolicyEvalResult::return_mean() const {
    return mean_of(collect(episodes, [](const EpisodeResult& e) { return e.episode_return; }));
}
double PolicyEvalResult::return_std() const {
    return std_of(collect(episodes, [](const EpisodeResult& e) { return e.episode_return; }));
}
double PolicyEvalResult::score_mean() const {
    return mean_of(collect(episodes, [](const EpisodeResult& e) { return e.score; }));
}
double PolicyEvalResult::score_std() const {
    return std_of(collect(episodes, [](const EpisodeResult& e) { return e.score; }));
}
double PolicyEvalResult::length_mean() const {
    return mean_of(collect(episodes, [](const EpisodeResult& e) { return static_cast<double>(e.length); }));
}

std::optional<double> PolicyEvalResult::success_rate() const {
    std::size_t with = 0, successes = 0;
    for (const auto& e : episodes)
        if (e.success) {
            ++with;
            successes += *e.success ? 1 : 0;
        }
    if (with == 0) return std::nullopt;
    return static_cast<double>(successes) / static_cast<double>(with);
}

EpisodeRngPolicy scripted_policy(envs::Policy& policy) {
    return [&policy](const Obs& obs, const std::vector<data::Rng*>& rngs) {
        const std::size_t b = obs.shape()[0], s = obs.shape()[1];
        Actions out;
        std::vector<float> row(s);
        for (std::size_t r = 0; r < b; ++r) {
            std::copy(&obs(r, 0), &obs(r, 0) + s, row.begin());
            const std::vector<float> a = policy.act(row, *rngs[r]);
            if (r == 0) out = Actions::from_shape({b, a.size()});
            std::copy(a.begin(), a.end(), &out(r, 0));
        }
        return out;
    };
}

PolicyEvalResult evaluate_policy(const std::string& env_name, const BatchPolicy& policy,
                                 const PolicyEvalOptions& options) {
    DYDIFF_CHECK(static_cast<bool>(policy), "evaluate_policy(" << env_name << "): empty policy function");
    return evaluate_policy(
        env_name, EpisodeRngPolicy([&policy](const Obs& obs, const std::vector<data::Rng*>&) { return policy(obs); }),
        options);
}

PolicyEvalResult evaluate_policy(const std::string& env_name, const EpisodeRngPolicy& policy,
                                 const PolicyEvalOptions& options) {
    DYDIFF_CHECK(static_cast<bool>(policy), "evaluate_policy(" << env_name << "): empty policy function");
    DYDIFF_CHECK(options.episodes > 0, "evaluate_policy(" << env_name << "): needs at least one episode");
    DYDIFF_CHECK(envs::reference_scores(env_name).has_value(),
                 "evaluate_policy: no reference returns for '" << env_name << "', so no normalised score");
    const std::size_t n = options.episodes;

    // One env and one Rng per episode; every env is reset before the first step, each from its own stream.
    std::vector<std::unique_ptr<envs::Env>> envs;
    std::vector<data::Rng> rngs;
    envs.reserve(n);
    rngs.reserve(n);
    const data::Rng root(options.seed);
    for (std::size_t e = 0; e < n; ++e) {
        envs.push_back(envs::make_env(env_name));
        rngs.push_back(root.fork(e));
    }
    const std::size_t obs_dim = envs[0]->obs_dim(), action_dim = envs[0]->action_dim();

    PolicyEvalResult result;
    result.env = env_name;
    result.episodes.resize(n);
    std::vector<std::vector<float>> obs(n);  // (N) current observation (S) of each episode
    std::vector<std::vector<float>> obs_log(options.record_trajectories ? n : 0);  // (N) (T + 1) * S flat
    std::vector<std::vector<float>> action_log(options.record_trajectories ? n : 0);  // (N) T * A flat
    std::vector<std::vector<double>> reward_log(options.record_trajectories ? n : 0);
    for (std::size_t e = 0; e < n; ++e) {
        obs[e] = envs[e]->reset(rngs[e]);
        if (options.record_trajectories) obs_log[e] = obs[e];
    }

    std::vector<std::size_t> active(n);  // episode index of each batch row
    for (std::size_t e = 0; e < n; ++e) active[e] = e;
    std::vector<float> action(action_dim);
    for (std::size_t step = 0; !active.empty(); ++step) {
        const std::size_t b = active.size();
        Obs batch = Obs::from_shape({b, obs_dim});
        std::vector<data::Rng*> row_rngs(b);
        for (std::size_t r = 0; r < b; ++r) {
            std::copy(obs[active[r]].begin(), obs[active[r]].end(), &batch(r, 0));
            row_rngs[r] = &rngs[active[r]];
        }
        const Actions actions = policy(batch, row_rngs);
        DYDIFF_CHECK(actions.shape()[0] == b && actions.shape()[1] == action_dim,
                     "evaluate_policy(" << env_name << "): the policy returned actions of shape (" << actions.shape()[0]
                                        << ", " << actions.shape()[1] << ") for " << b << " observations, expected ("
                                        << b << ", " << action_dim << ")");
        std::vector<std::size_t> still;
        still.reserve(b);
        for (std::size_t r = 0; r < b; ++r) {
            const std::size_t e = active[r];
            for (std::size_t k = 0; k < action_dim; ++k) {
                action[k] = actions(r, k);
                DYDIFF_CHECK(std::isfinite(action[k]), "evaluate_policy(" << env_name << "): non-finite action "
                                                                          << action[k] << " at step " << step
                                                                          << " of episode " << e << ", dim " << k);
            }
            envs::StepResult s = envs[e]->step(action);
            EpisodeResult& out = result.episodes[e];
            out.episode_return += s.reward;
            ++out.length;
            if (options.record_trajectories) {
                obs_log[e].insert(obs_log[e].end(), s.obs.begin(), s.obs.end());
                action_log[e].insert(action_log[e].end(), action.begin(), action.end());
                reward_log[e].push_back(s.reward);
            }
            obs[e] = std::move(s.obs);
            if (s.terminated || s.truncated)
                out.success = envs[e]->success();
            else
                still.push_back(e);
        }
        active = std::move(still);
    }

    for (auto& e : result.episodes) e.score = *envs::normalized_score(env_name, e.episode_return);
    if (options.record_trajectories) {
        result.trajectories.resize(n);
        for (std::size_t e = 0; e < n; ++e) {
            const std::size_t t = result.episodes[e].length;
            Trajectory& tr = result.trajectories[e];
            tr.observations = xt::adapt(obs_log[e], std::vector<std::size_t>{t + 1, obs_dim});
            tr.actions = xt::adapt(action_log[e], std::vector<std::size_t>{t, action_dim});
            tr.rewards = std::move(reward_log[e]);
        }
    }
    return result;
}

}  // namespace dydiff::eval
