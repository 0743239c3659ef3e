// The DyDiff rollout pieces (docs/algorithm.md, Algorithm 2) as reusable functions: the model <-> raw scale
// wrappers, the policy-consistent ensemble rollout, one diffusion refinement, and Algorithm 2 in full.
// Scales: trajectories live in MODEL scale (min-max over [s, a], D = S + A) as in Algorithm 2; the policy and
// the env act on RAW states and actions; the ensemble on z-scored observations and raw actions. The wrappers below
// convert at every call and clip to [-1, 1] on every model -> raw path.
// Layering: dydiff/rollout (on dydiff/diffusion/edm, dydiff/models/dynamics_ensemble, dydiff/envs, data/normalizer).
// Shapes: B starts (batch), H horizon, S observation dim, A action dim, D = S + A.
#pragma once

#include "data/normalizer.hpp"
#include "data/rng.hpp"
#include "dydiff/diffusion/edm.hpp"
#include "dydiff/envs/controllers.hpp"
#include "dydiff/envs/env.hpp"
#include "dydiff/models/dynamics_ensemble.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace dydiff {


using Array2 = xt::xtensor<float, 2>;
using Array3 = xt::xtensor<float, 3>;

// ---- scales (§2) ------------------------------------------------------------------------------------------------

/// The model <-> raw maps of Algorithm 2's wrappers, from the diffusion model's min-max normaliser over [s, a].
class ModelScale {
public:
    /// `model_norm` covers D = obs_dim + action_dim columns, states first.
    ModelScale(const data::MinMaxNormalizer& model_norm, std::size_t obs_dim);

    std::size_t obs_dim() const { return states_.dim(); }
    std::size_t action_dim() const { return actions_.dim(); }
    /// Raw (M, S) -> model scale, no clip (out-of-box states map outside [-1, 1]).
    Array2 states_to_model(const Array2& raw) const;
    /// Model (M, S) -> raw: clip to [-1, 1], then the min-max inverse (§2).
    Array2 states_to_raw(const Array2& model) const;
    Array2 actions_to_model(const Array2& raw) const;  // (M, A)
    Array2 actions_to_raw(const Array2& model) const;  // (M, A), clipped first

private:
    data::MinMaxNormalizer states_, actions_;
};

// ---- policies and one-step models -------------------------------------------------------------------------------

/// A policy on raw states: states (B, S) raw, time step t -> actions (B, A) raw. Row b is start b.
using RawPolicyFn = std::function<Array2(const Array2& states, std::size_t t)>;
/// A one-step model on raw states and actions: (B, S), (B, A) -> next states (B, S) raw.
using RawStepFn = std::function<Array2(const Array2& states, const Array2& actions)>;
/// The same in model scale (what Algorithm 2 calls pi and f).
using ModelPolicyFn = std::function<Array2(const Array2& states, std::size_t t)>;
using ModelStepFn = std::function<Array2(const Array2& states, const Array2& actions)>;

/// An envs::Policy as a RawPolicyFn. Row b at step t calls policy.act with Rng(seed).fork(b).fork(t), so a
/// stochastic policy's draws depend on (start, step) only: the same on the true env and on every model rollout, and
/// the same again when Algorithm 2 relabels. With action_noise > 0, N(0, action_noise^2) is added per action entry
/// (drawn after the policy's own draws from the same stream) and the result clipped to `action_box`.
RawPolicyFn policy_fn(envs::Policy& policy, const envs::Box& action_box, std::uint64_t seed, double action_noise = 0.0);

/// The ensemble as a raw step: z-score (its obs normaliser), predict (a random elite per sample, its mean; draws from
/// rng), back to raw with the z-score inverse (§2).
RawStepFn ensemble_step_fn(const DynamicsEnsemble& ensemble, const data::ZScoreNormalizer& obs_norm, data::Rng& rng);

/// Algorithm 2's wrappers: model-scale states -> raw (clip + inverse) -> pi -> model scale.
ModelPolicyFn model_policy_fn(const RawPolicyFn& policy, const ModelScale& scale);
/// model-scale (s, a) -> raw (clip + inverse) -> f -> model scale.
ModelStepFn model_step_fn(const RawStepFn& step, const ModelScale& scale);

// ---- Algorithm 2 ------------------------------------------------------------------------------------------------

/// A trajectory in one scale: states (B, H, S), actions (B, H, A).
struct Trajectory {
    Array3 states;
    Array3 actions;
};

/// The initial, policy-consistent rollout of Algorithm 2: S[:,0] = x0; A[:,t] = pi(S[:,t]); S[:,t+1] = f(S[:,t],
/// A[:,t]); A[:,H-1] = pi(S[:,H-1]). x0 (B, S); any consistent scale (model scale in Algorithm 2). H >= 1.
Trajectory ensemble_rollout(const Array2& x0, std::size_t horizon, const ModelPolicyFn& policy,
                            const ModelStepFn& step);

/// The conditional sampler of Algorithm 3: latent xi (B, H, D), cond_state (B, S), cond_actions (B, H, A) -> the
/// sample (B, H, D), model scale. edm_sample with a fixed denoiser and EdmConfig is one (see diffusion_sampler).
using ConditionalSampler = std::function<SamplerState(const Array& xi, const Array& cond_state,
                                                      const Array& cond_actions, data::Rng& rng)>;
/// edm_sample(denoise, ..., config, rng, on_step) as a ConditionalSampler.
ConditionalSampler diffusion_sampler(SamplerDenoiseFn denoise, EdmConfig config, SamplerStepFn on_step = {});

/// What one refinement iteration produced.
struct Refinement {
    Array3 diffusion_states;  // (B, H, S) S_dm: the sampler's state channels, before averaging
    Trajectory refined;       // S = (S_dm + S_prev) / 2, A = pi(S) relabelled at every step
};

/// One iteration of Algorithm 2's loop (model scale): S_dm = sample(xi, S[:,0], A); S <- (S_dm + S) / 2;
/// A <- pi(S) at all H steps. S[:,0] is kept bit for bit (the average of two equal floats, S_dm[:,0] = x0 by
/// in-painting, is exact; we copy it anyway so a sampler returning anything else cannot move it).
Refinement diffusion_refine(const Trajectory& current, const Array& xi, const ConditionalSampler& sample,
                            const ModelPolicyFn& policy, data::Rng& rng);

/// Algorithm 2 in full, keeping every intermediate: the initial ensemble rollout and the M refinements. The first
/// refinement uses `xi` (the caller's latent, §11 P12); later ones draw a fresh N(0, I) latent from rng, after the
/// previous sampler call's draws.
struct DyDiffRollout {
    Trajectory initial;                   // model scale
    std::vector<Refinement> refinements;  // M entries, model scale
};
DyDiffRollout dydiff_rollout(const Array2& x0, std::size_t horizon, std::size_t iterations,
                             const ModelPolicyFn& policy, const ModelStepFn& step, const ConditionalSampler& sample,
                             const Array& xi, data::Rng& rng);

// ---- trajectory helpers shared with the experiments -------------------------------------------------------------

/// x[:, t, :] of (B, H, K) as (B, K), and its write-back (v must be (B, K)).
Array2 at_step(const Array3& x, std::size_t t);
void set_step(Array3& x, std::size_t t, const Array2& v);
/// A model-scale trajectory in raw scale (clip + inverse on states and actions).
Trajectory to_raw(const Trajectory& model, const ModelScale& scale);

}  // namespace dydiff
