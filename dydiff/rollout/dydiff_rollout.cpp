// Algorithm 2's pieces (see dydiff_rollout.hpp; docs/algorithm.md).
#include "dydiff/rollout/dydiff_rollout.hpp"

#include "autograd/error.hpp"

#include <algorithm>
#include <cmath>

namespace dydiff {

namespace {

xt::xtensor<float, 1> slice(const xt::xtensor<float, 1>& v, std::size_t begin, std::size_t end) {
    xt::xtensor<float, 1> out = xt::empty<float>({end - begin});
    std::copy(v.begin() + static_cast<std::ptrdiff_t>(begin), v.begin() + static_cast<std::ptrdiff_t>(end),
              out.begin());
    return out;
}

// (B, H, K) -> (B H, K) and back; contiguous copies.
Array2 flatten(const Array3& x) {
    Array2 out = xt::empty<float>({x.shape()[0] * x.shape()[1], x.shape()[2]});
    std::copy(x.begin(), x.end(), out.begin());
    return out;
}

Array3 unflatten(const Array2& x, std::size_t B, std::size_t H) {
    Array3 out = xt::empty<float>({B, H, x.shape()[1]});
    std::copy(x.begin(), x.end(), out.begin());
    return out;
}

// x[:, t, :] of (B, H, K) as (B, K), and its write-back.


Array to_array(const Array2& x) {
    Array out = xt::empty<float>({x.shape()[0], x.shape()[1]});
    std::copy(x.begin(), x.end(), out.begin());
    return out;
}

Array to_array(const Array3& x) {
    Array out = xt::empty<float>({x.shape()[0], x.shape()[1], x.shape()[2]});
    std::copy(x.begin(), x.end(), out.begin());
    return out;
}

Array2 to_array2(const Array& x) {
    DYDIFF_CHECK(x.dimension() == 2, "rollout: expected a (B, K) array, got rank " << x.dimension());
    Array2 out = xt::empty<float>({x.shape()[0], x.shape()[1]});
    std::copy(x.begin(), x.end(), out.begin());
    return out;
}


}  // namespace

Array2 at_step(const Array3& x, std::size_t t) {
    const std::size_t B = x.shape()[0], H = x.shape()[1], K = x.shape()[2];
    Array2 out = xt::empty<float>({B, K});
    for (std::size_t b = 0; b < B; ++b)
        std::copy_n(x.data() + (b * H + t) * K, K, out.data() + b * K);
    return out;
}

void set_step(Array3& x, std::size_t t, const Array2& v) {
    const std::size_t B = x.shape()[0], H = x.shape()[1], K = x.shape()[2];
    DYDIFF_CHECK(v.shape()[0] == B && v.shape()[1] == K,
                 "rollout: a step function returned (" << v.shape()[0] << ", " << v.shape()[1] << "), expected ("
                                                        << B << ", " << K << ")");
    for (std::size_t b = 0; b < B; ++b)
        std::copy_n(v.data() + b * K, K, x.data() + (b * H + t) * K);
}


// ---- scales -----------------------------------------------------------------------------------------------------

ModelScale::ModelScale(const data::MinMaxNormalizer& model_norm, std::size_t obs_dim) {
    const std::size_t D = model_norm.dim();
    DYDIFF_CHECK(obs_dim > 0 && obs_dim < D,
                 "ModelScale: obs_dim " << obs_dim << " must leave at least one action column of " << D);
    states_ = data::MinMaxNormalizer(slice(model_norm.min(), 0, obs_dim), slice(model_norm.max(), 0, obs_dim));
    actions_ = data::MinMaxNormalizer(slice(model_norm.min(), obs_dim, D), slice(model_norm.max(), obs_dim, D));
}

Array2 ModelScale::states_to_model(const Array2& raw) const { return states_.apply(raw); }
Array2 ModelScale::states_to_raw(const Array2& model) const { return states_.invert(model); }
Array2 ModelScale::actions_to_model(const Array2& raw) const { return actions_.apply(raw); }
Array2 ModelScale::actions_to_raw(const Array2& model) const { return actions_.invert(model); }

// ---- policies and one-step models -------------------------------------------------------------------------------

RawPolicyFn policy_fn(envs::Policy& policy, const envs::Box& action_box, std::uint64_t seed, double action_noise) {
    DYDIFF_CHECK(action_noise >= 0.0, "policy_fn: action_noise " << action_noise << " < 0");
    const data::Rng root(seed);
    return [&policy, action_box, root, action_noise](const Array2& states, std::size_t t) {
        const std::size_t B = states.shape()[0], S = states.shape()[1], A = action_box.dim();
        Array2 out = xt::empty<float>({B, A});
        std::vector<float> obs(S);
        for (std::size_t b = 0; b < B; ++b) {
            data::Rng rng = root.fork(b).fork(t);
            std::copy_n(states.data() + b * S, S, obs.begin());
            std::vector<float> a = policy.act(obs, rng);
            DYDIFF_CHECK(a.size() == A, "policy_fn: the policy returned " << a.size() << " actions, the box has " << A);
            for (std::size_t k = 0; k < A; ++k) {
                if (action_noise > 0.0)
                    a[k] = std::clamp(a[k] + static_cast<float>(action_noise) * rng.normal(), action_box.low[k],
                                      action_box.high[k]);
                out(b, k) = a[k];
            }
        }
        return out;
    };
}

RawStepFn ensemble_step_fn(const DynamicsEnsemble& ensemble, const data::ZScoreNormalizer& obs_norm, data::Rng& rng) {
    DYDIFF_CHECK(obs_norm.dim() == ensemble.obs_dim(),
                 "ensemble_step_fn: obs normaliser of dim " << obs_norm.dim() << ", ensemble obs_dim "
                                                            << ensemble.obs_dim());
    return [&ensemble, obs_norm, &rng](const Array2& states, const Array2& actions) {
        const Array next_z = ensemble.predict(to_array(obs_norm.apply(states)), to_array(actions), rng);
        return obs_norm.invert(to_array2(next_z));
    };
}

ModelPolicyFn model_policy_fn(const RawPolicyFn& policy, const ModelScale& scale) {
    return [policy, scale](const Array2& states, std::size_t t) {
        return scale.actions_to_model(policy(scale.states_to_raw(states), t));
    };
}

ModelStepFn model_step_fn(const RawStepFn& step, const ModelScale& scale) {
    return [step, scale](const Array2& states, const Array2& actions) {
        return scale.states_to_model(step(scale.states_to_raw(states), scale.actions_to_raw(actions)));
    };
}

// ---- Algorithm 2 ------------------------------------------------------------------------------------------------

Trajectory ensemble_rollout(const Array2& x0, std::size_t horizon, const ModelPolicyFn& policy,
                            const ModelStepFn& step) {
    DYDIFF_CHECK(horizon >= 1, "ensemble_rollout: horizon must be >= 1");
    const std::size_t B = x0.shape()[0], S = x0.shape()[1];
    Trajectory out;
    out.states = xt::empty<float>({B, horizon, S});
    Array2 s = x0;
    for (std::size_t t = 0; t < horizon; ++t) {
        set_step(out.states, t, s);
        const Array2 a = policy(s, t);
        if (t == 0) out.actions = xt::empty<float>({B, horizon, a.shape()[1]});
        set_step(out.actions, t, a);
        if (t + 1 < horizon) s = step(s, a);
    }
    return out;
}

ConditionalSampler diffusion_sampler(SamplerDenoiseFn denoise, EdmConfig config, SamplerStepFn on_step) {
    config.validate();
    return [denoise = std::move(denoise), config, on_step = std::move(on_step)](
               const Array& xi, const Array& cond_state, const Array& cond_actions, data::Rng& rng) {
        return edm_sample(denoise, xi, cond_state, cond_actions, config, rng, on_step);
    };
}

Refinement diffusion_refine(const Trajectory& current, const Array& xi, const ConditionalSampler& sample,
                            const ModelPolicyFn& policy, data::Rng& rng) {
    const std::size_t B = current.states.shape()[0], H = current.states.shape()[1];
    const std::size_t S = current.states.shape()[2], A = current.actions.shape()[2];
    const Array2 x0 = at_step(current.states, 0);
    const SamplerState x = sample(xi, to_array(x0), to_array(current.actions), rng);  // (B, H, S + A)
    DYDIFF_CHECK(x.dimension() == 3 && x.shape()[0] == B && x.shape()[1] == H && x.shape()[2] == S + A,
                 "diffusion_refine: the sampler returned a sample not of shape (" << B << ", " << H << ", " << S + A
                                                                                  << ")");
    Refinement r;
    r.diffusion_states = xt::empty<float>({B, H, S});
    r.refined.states = xt::empty<float>({B, H, S});
    for (std::size_t i = 0; i < B * H; ++i)
        for (std::size_t k = 0; k < S; ++k) {
            const float dm = static_cast<float>(x.data()[i * (S + A) + k]);
            r.diffusion_states.data()[i * S + k] = dm;
            r.refined.states.data()[i * S + k] = 0.5f * (dm + current.states.data()[i * S + k]);  // §11 P11
        }
    set_step(r.refined.states, 0, x0);
    r.refined.actions = xt::empty<float>({B, H, A});
    for (std::size_t t = 0; t < H; ++t) set_step(r.refined.actions, t, policy(at_step(r.refined.states, t), t));
    return r;
}

DyDiffRollout dydiff_rollout(const Array2& x0, std::size_t horizon, std::size_t iterations,
                             const ModelPolicyFn& policy, const ModelStepFn& step, const ConditionalSampler& sample,
                             const Array& xi, data::Rng& rng) {
    DyDiffRollout out;
    out.initial = ensemble_rollout(x0, horizon, policy, step);
    const Trajectory* current = &out.initial;
    Array latent = xi;
    out.refinements.reserve(iterations);
    for (std::size_t m = 0; m < iterations; ++m) {
        if (m > 0) {
            latent = xt::empty<float>(xi.shape());  // fresh latent for every later iteration (§11 P12)
            rng.fill_normal(latent.data(), latent.size());
        }
        out.refinements.push_back(diffusion_refine(*current, latent, sample, policy, rng));
        current = &out.refinements.back().refined;
    }
    return out;
}


Trajectory to_raw(const Trajectory& model, const ModelScale& scale) {
    const std::size_t B = model.states.shape()[0], H = model.states.shape()[1];
    return {unflatten(scale.states_to_raw(flatten(model.states)), B, H),
            unflatten(scale.actions_to_raw(flatten(model.actions)), B, H)};
}

}  // namespace dydiff
