// The error-vs-horizon experiment (see rollout_error.hpp).
#include "dydiff/eval/rollout_error.hpp"

#include "autograd/error.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace dydiff {

void RolloutErrorConfig::fields(ConfigFields& f) {
    f.add("starts", &starts, "start states N (env resets)").at_least(1);
    f.add("refinements", &refinements, "DyDiff refinement iterations M reported (dydiff_m1 .. dydiff_mM)")
        .in_range(1, 100);
    f.add("seed", &seed, "starts, policy noise, elite draws, latents and sampler noise");
    f.add("policy", &policy,
          "rolled policy: auto (random for maze2d, medium for pendulum: not the dataset's), expert, medium, random")
        .one_of({"auto", "expert", "medium", "random"});
    f.add("action_noise", &action_noise, "std of Gaussian noise added to the policy's actions, then clipped")
        .in_range(0, 100);
    f.table_with("sampler", "Algorithm 3, the conditional stochastic Heun sampler (§4.3, §6.2)",
                 [this](ConfigFields& t) { sampler.sampler_fields(t); });
}

// ---- the experiment ---------------------------------------------------------------------------------------------

Trajectory true_rollout(const std::function<std::unique_ptr<envs::Env>()>& make, std::size_t starts,
                        std::size_t horizon, const RawPolicyFn& policy, const data::Rng& root) {
    DYDIFF_CHECK(starts >= 1 && horizon >= 1, "true_rollout: starts " << starts << ", horizon " << horizon);
    std::vector<std::unique_ptr<envs::Env>> envs;
    envs.reserve(starts);
    for (std::size_t b = 0; b < starts; ++b) envs.push_back(make());
    const std::size_t S = envs[0]->obs_dim(), A = envs[0]->action_dim();
    Array2 s = xt::empty<float>({starts, S});
    for (std::size_t b = 0; b < starts; ++b) {
        data::Rng rng = root.fork(b);
        const std::vector<float> obs = envs[b]->reset(rng);
        std::copy(obs.begin(), obs.end(), s.data() + b * S);
    }
    Trajectory out{xt::empty<float>({starts, horizon, S}), xt::empty<float>({starts, horizon, A})};
    std::vector<float> action(A);
    for (std::size_t t = 0; t < horizon; ++t) {
        set_step(out.states, t, s);
        const Array2 a = policy(s, t);
        set_step(out.actions, t, a);
        if (t + 1 == horizon) break;
        for (std::size_t b = 0; b < starts; ++b) {
            std::copy_n(a.data() + b * A, A, action.begin());
            const envs::StepResult r = envs[b]->step(action);
            DYDIFF_CHECK(!r.terminated && !r.truncated,
                         "true_rollout: " << envs[b]->name() << " ended an episode at step " << t + 1
                                          << ", inside the horizon " << horizon);
            std::copy(r.obs.begin(), r.obs.end(), s.data() + b * S);
        }
    }
    return out;
}

std::vector<double> mean_l2_error(const Array3& a, const Array3& b, const std::vector<float>& scale) {
    DYDIFF_CHECK(a.shape() == b.shape(), "mean_l2_error: shapes differ");
    const std::size_t B = a.shape()[0], H = a.shape()[1], S = a.shape()[2];
    DYDIFF_CHECK(scale.empty() || scale.size() == S, "mean_l2_error: " << scale.size() << " scales for " << S << " dims");
    std::vector<double> out(H, 0.0);
    for (std::size_t i = 0; i < B; ++i)
        for (std::size_t t = 0; t < H; ++t) {
            double sq = 0.0;
            for (std::size_t k = 0; k < S; ++k) {
                double d = static_cast<double>(a(i, t, k)) - static_cast<double>(b(i, t, k));
                if (!scale.empty()) d /= static_cast<double>(scale[k]);
                sq += d * d;
            }
            out[t] += std::sqrt(sq) / static_cast<double>(B);
        }
    return out;
}

RolloutErrorResult rollout_error(const std::function<std::unique_ptr<envs::Env>()>& make_env, const ModelScale& scale,
                                 std::size_t horizon, const RawPolicyFn& policy, const RawStepFn& step,
                                 const ConditionalSampler& sample, const std::vector<float>& obs_std,
                                 const RolloutErrorConfig& config) {
    DYDIFF_CHECK(config.refinements >= 1, "rollout_error: refinements must be >= 1 (the diffusion column is the "
                                          "first refinement's sample)");
    const data::Rng root(config.seed);
    RolloutErrorResult out;
    out.truth = true_rollout(make_env, config.starts, horizon, policy, root.fork(0));
    const std::size_t B = config.starts, S = scale.obs_dim(), A = scale.action_dim();
    DYDIFF_CHECK(out.truth.states.shape()[2] == S && out.truth.actions.shape()[2] == A,
                 "rollout_error: the env has obs/action dims " << out.truth.states.shape()[2] << "/"
                                                               << out.truth.actions.shape()[2]
                                                               << ", the model scale " << S << "/" << A);
    const Array2 x0 = scale.states_to_model(at_step(out.truth.states, 0));
    Array xi = xt::empty<float>({B, horizon, S + A});
    data::Rng latent_rng = root.fork(1);
    latent_rng.fill_normal(xi.data(), xi.size());
    data::Rng sampler_rng = root.fork(2);
    const DyDiffRollout roll = dydiff_rollout(x0, horizon, config.refinements, model_policy_fn(policy, scale),
                                              model_step_fn(step, scale), sample, xi, sampler_rng);

    out.methods.push_back("ensemble");
    out.rollouts.push_back(to_raw(roll.initial, scale));
    out.methods.push_back("diffusion");
    out.rollouts.push_back(to_raw({roll.refinements[0].diffusion_states, roll.initial.actions}, scale));
    for (std::size_t m = 0; m < roll.refinements.size(); ++m) {
        out.methods.push_back("dydiff_m" + std::to_string(m + 1));
        out.rollouts.push_back(to_raw(roll.refinements[m].refined, scale));
    }
    for (const Trajectory& r : out.rollouts) {
        out.error.push_back(mean_l2_error(r.states, out.truth.states));
        out.error_z.push_back(mean_l2_error(r.states, out.truth.states, obs_std));
    }
    return out;
}

std::string rollout_error_csv(const std::vector<std::string>& methods, const std::vector<std::vector<double>>& error) {
    DYDIFF_CHECK(methods.size() == error.size() && !error.empty(), "rollout_error_csv: " << methods.size()
                                                                    << " methods, " << error.size() << " columns");
    std::ostringstream os;
    os << "step";
    for (const auto& m : methods) os << "," << m;
    os << "\n";
    char buf[32];
    for (std::size_t t = 0; t < error[0].size(); ++t) {
        os << t;
        for (const auto& col : error) {
            std::snprintf(buf, sizeof buf, "%.6g", col[t]);
            os << "," << buf;
        }
        os << "\n";
    }
    return os.str();
}

}  // namespace dydiff
