// The error-vs-horizon experiment built from the rollout pieces (dydiff/rollout/dydiff_rollout.hpp): a policy
// rolled from the same start states through the true env, the one-step ensemble, one diffusion pass, and
// M = 1, 2, 3 DyDiff refinements; per-step L2 state error against the truth.
// Layering: dydiff/eval (on dydiff/rollout, dydiff/envs).
// Shapes: B starts (batch), H horizon, S observation dim, A action dim, D = S + A.
#pragma once

#include "dydiff/rollout/dydiff_rollout.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace dydiff {

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

/// Every setting of the error-vs-horizon experiment (the `rollout-error` command's keys).
struct RolloutErrorConfig {
    std::size_t starts = 64;         // N start states: env resets from Rng(seed).fork(0).fork(b)
    std::size_t refinements = 3;     // M: DyDiff refinement iterations reported (dydiff_m1 .. dydiff_mM)
    std::uint64_t seed = 0;          // starts, policy noise, ensemble elite draws, latents and churn noise
    std::string policy = "auto";     // the rolled policy (envs::make_policy kind); auto: one that differs from the
                                     // dataset's (random for maze2d, medium for pendulum)
    double action_noise = 0.0;       // std of Gaussian noise added to the policy's actions, then clipped
    EdmConfig sampler;               // Algorithm 3's settings (docs/algorithm.md §6.2 defaults); sigma_data comes from the model

    void fields(ConfigFields& f);
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
