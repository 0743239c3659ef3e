// The DyDiff rollout pieces (dydiff_algorithm.md §4.2 Algorithm 2) as reusable functions, and the error-vs-horizon
// experiment built from them: a policy rolled from the same start states through the true env, the one-step
// ensemble, one diffusion pass, and M = 1, 2, 3 DyDiff refinements; per-step L2 state error against the truth.
// Scales (§2): trajectories live in MODEL scale (min-max over [s, a], D = S + A) as in Algorithm 2; the policy and
// the env act on RAW states and actions; the ensemble on z-scored observations and raw actions. The wrappers below
// convert at every call and clip to [-1, 1] on every model -> raw path (§11 P9).
// Layering: dydiff/ (on dydiff/edm, dydiff/dynamics_ensemble, dydiff/envs, data/normalizer).
// Shapes: B starts (batch), H horizon, S observation dim, A action dim, D = S + A.
#pragma once

#include "data/normalizer.hpp"
#include "data/rng.hpp"
#include "dydiff/dynamics_ensemble.hpp"
#include "dydiff/edm.hpp"
#include "dydiff/envs/controllers.hpp"
#include "dydiff/envs/env.hpp"

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

// ---- the error-vs-horizon experiment ----------------------------------------------------------------------------

/// The truth: B copies of env (made by `make`), start b reset from root.fork(b), H - 1 steps with the policy.
/// Returns raw states s_0..s_{H-1} and actions a_0..a_{H-1} (a_{H-1} = pi(s_{H-1}), never stepped).
/// NOTE: an env that ends an episode within H - 1 steps is an error (maze2d and pendulum never terminate, and their
/// limits, 300 and 200, exceed the horizons used here).
Trajectory true_rollout(const std::function<std::unique_ptr<envs::Env>()>& make, std::size_t starts,
                        std::size_t horizon, const RawPolicyFn& policy, const data::Rng& root);

/// Per-step mean over starts of the L2 norm of (a[b, t] - b[b, t]) over the S state dims, each dim divided by
/// scale[k] first (scale empty: 1). a, b (B, H, S) -> (H).
std::vector<double> mean_l2_error(const Array3& a, const Array3& b, const std::vector<float>& scale = {});

struct RolloutErrorConfig {
    std::size_t starts = 64;         // N start states: env resets from Rng(seed).fork(0).fork(b)
    std::size_t refinements = 3;     // M: DyDiff refinement iterations reported (dydiff_m1 .. dydiff_mM)
    std::uint64_t seed = 0;          // starts, policy noise, ensemble elite draws, latents and churn noise
    EdmConfig sampler;               // Algorithm 3's settings (§6.2 defaults)
};

/// Every method's trajectory in raw scale and its per-step error against the truth.
struct RolloutErrorResult {
    std::vector<std::string> methods;              // "ensemble", "diffusion", "dydiff_m1", ...
    std::vector<std::vector<double>> error;        // (methods, H): raw L2, mean over starts
    std::vector<std::vector<double>> error_z;      // (methods, H): L2 after dividing each dim by the obs std
    Trajectory truth;                              // raw
    std::vector<Trajectory> rollouts;              // per method, raw (clipped to the model box, as Algorithm 2)
};

/// Runs the experiment. `sample` is Algorithm 3 (diffusion_sampler over the EMA denoiser in the command; tests
/// inject others); `step` the raw one-step model and `policy` the raw policy, each owning its random stream;
/// `obs_std` (S) for error_z. Streams of Rng(config.seed): fork(0) the starts (true_rollout), fork(1) the first
/// latent, fork(2) the sampler's churn noise and the later latents.
RolloutErrorResult rollout_error(const std::function<std::unique_ptr<envs::Env>()>& make_env, const ModelScale& scale,
                                 std::size_t horizon, const RawPolicyFn& policy, const RawStepFn& step,
                                 const ConditionalSampler& sample, const std::vector<float>& obs_std,
                                 const RolloutErrorConfig& config);

/// "step,<method>,..." then one row per step; 6 significant digits.
std::string rollout_error_csv(const std::vector<std::string>& methods, const std::vector<std::vector<double>>& error);

}  // namespace dydiff
