// EDM (Karras et al. 2022) as DyDiff uses it: preconditioning, the denoiser D(x; sigma), the training loss with
// in-painting, and the conditional stochastic Heun sampler (docs/algorithm.md §4.3 Algorithm 3, §5.1, §6.1-6.2).
// Layering: dydiff/diffusion (on dydiff/diffusion/temporal_unet.hpp, nn/, autograd/, data/rng.hpp).
// Shapes: B batch, H horizon, D = S + A channels, S observation dim, A action dim, N sampler steps.
// In-painting pins the conditioned entries of a (B, H, D) window: the first state x[:, 0, :S] and every action
// channel x[:, :, S:].
#pragma once

#include "autograd/tensor.hpp"
#include "data/rng.hpp"
#include "dydiff/diffusion/temporal_unet.hpp"
#include "dydiff/run/config.hpp"

#include <functional>
#include <string>
#include <vector>

namespace dydiff {

/// sigma_data of EDM's preconditioning (§5.1).
constexpr double kSigmaData = 0.5;

struct EdmConfig {
    double sigma_data = kSigmaData;        // data std assumed by the preconditioning (§5.1, EDM's default)
    double P_mean = -1.2;                  // training: ln sigma ~ N(P_mean, P_std^2) (§5.1 step 1, §6.1)
    double P_std = 1.2;                    // training: std of ln sigma (§5.1 step 1, §6.1)
    std::size_t num_steps = 34;            // sampler N (§4.3, §6.2 `num_steps`)
    double sigma_min = 0.002;              // sampler smallest noise level t_{N-1} (§4.3, §6.2)
    double sigma_max = 80.0;               // sampler largest noise level t_0 (§4.3, §6.2)
    double rho = 7.0;                      // sampler time-step exponent (§4.3, §6.2)
    double S_churn = 60.0;                 // stochasticity: gamma = min(S_churn / N, sqrt 2 - 1) (§4.3, §6.2)
    double S_min = 0.3699492132558657;     // churn only where S_min <= t_i <= S_max (§4.3, §6.2)
    double S_max = 52.241950650433864;     // (§4.3, §6.2)
    double S_noise = 1.002;                // churn noise inflation (§4.3, §6.2)

    /// The keys training reads (sigma_data, P_mean, P_std); sigma_data is part of the model (--resume refuses a
    /// change, and sampling reads it from the model).
    void training_fields(ConfigFields& f);
    /// The keys the sampler reads (num_steps .. S_noise), Algorithm 3.
    void sampler_fields(ConfigFields& f);
    /// Throws dydiff::Error on a non-positive sigma_data / P_std / sigma range, N < 1 or rho <= 0.
    void validate() const;
    /// One line, every field, for run logs.
    std::string describe() const;
};

// ---- preconditioning (§5.1) -------------------------------------------------------------------------------------
/// c_skip = sigma_d^2 / (sigma^2 + sigma_d^2)
double c_skip(double sigma, double sigma_data = kSigmaData);
/// c_out = sigma sigma_d / sqrt(sigma^2 + sigma_d^2)
double c_out(double sigma, double sigma_data = kSigmaData);
/// c_in = 1 / sqrt(sigma^2 + sigma_d^2)
double c_in(double sigma, double sigma_data = kSigmaData);
/// c_noise = ln(sigma) / 4
double c_noise(double sigma);
/// lambda(sigma) = (sigma^2 + sigma_d^2) / (sigma sigma_d)^2, the loss weight (§5.1 step 4).
double loss_weight(double sigma, double sigma_data = kSigmaData);

/// D(x; sigma) = c_skip x + c_out F(c_in x, c_noise) with per-sample sigma, over a TemporalUNet F (not owned).
class Denoiser {
public:
    Denoiser(const TemporalUNet& net, EdmConfig config = {});
    /// x (B, H, D) noisy model-space windows, sigma (B) per-sample noise levels (constants) -> (B, H, D).
    /// Differentiable in x and in the network's parameters; float32 throughout (as EDM's EDMPrecond).
    Tensor forward(const Tensor& x, const Array& sigma) const;

    const TemporalUNet& net() const { return net_; }
    const EdmConfig& config() const { return config_; }

private:
    const TemporalUNet& net_;
    EdmConfig config_;
};

// ---- training loss (§5.1 steps 1-6) -----------------------------------------------------------------------------
/// A differentiable denoiser: x (B, H, D), sigma (B) -> (B, H, D). Denoiser::forward is one; tests pass others.
using TensorDenoiseFn = std::function<Tensor(const Tensor& x, const Array& sigma)>;

/// The EDM loss with in-painting: per sample b, ln sigma_b ~ N(P_mean, P_std^2); x_in = y + sigma_b n with
/// n ~ N(0, I), then x_in[b, 0, :S] and x_in[b, :, S:] reset to y (clean s0 and actions);
/// loss = (1/B) sum_b lambda(sigma_b) sum_{h,c} (D(x_in; sigma_b) - y)^2, unmasked (§11 P4, P5).
/// y (B, H, D) clean model-space windows; state_dim = S (0 <= S <= D). Draws B normals (ln sigma) then B H D
/// normals (n), in that order, from rng. Returns a scalar Tensor.
Tensor edm_loss(const TensorDenoiseFn& denoise, const Array& y, std::size_t state_dim, const EdmConfig& config,
                data::Rng& rng);
/// The same with `denoiser` (its config supplies sigma_data, P_mean, P_std).
Tensor edm_loss(const Denoiser& denoiser, const Array& y, std::size_t state_dim, data::Rng& rng);

// ---- sampler (§4.3 Algorithm 3) ---------------------------------------------------------------------------------
using SamplerState = xt::xtensor<double, 3>;  // (B, H, D), float64 as in the official code (§11 P8)

/// t_0 .. t_{N-1} = (sigma_max^(1/rho) + i/(N-1) (sigma_min^(1/rho) - sigma_max^(1/rho)))^rho, then t_N = 0:
/// N + 1 entries. N = 1 gives {sigma_max, 0}.
std::vector<double> sigma_steps(const EdmConfig& config);
/// gamma_i = min(S_churn / N, sqrt 2 - 1) when S_min <= t_i <= S_max, else 0.
double churn_gamma(const EdmConfig& config, double t_i);

/// One network evaluation of the sampler: x (B, H, D) at noise level sigma (the same for every sample) -> the
/// denoised estimate D(x; sigma), (B, H, D).
using SamplerDenoiseFn = std::function<SamplerState(const SamplerState& x, double sigma)>;
/// Called after step i (0-based) with the in-painted state x_{i+1}.
using SamplerStepFn = std::function<void(std::size_t step, const SamplerState& x)>;

/// Wraps a Denoiser for the sampler: the state is cast to float32, the preconditioning is Denoiser::forward's, the
/// network runs without the graph (TemporalUNet::infer, with a workspace the function owns and reuses), and the
/// result is cast back to float64. Equal to Denoiser::forward up to float round-off (test_edm). Copies of the
/// function share the workspace; concurrent calls take turns.
SamplerDenoiseFn sampler_denoise_fn(const Denoiser& denoiser);

/// Conditional stochastic Heun sampling with in-painting (Algorithm 3), batched.
///   xi (B, H, D) standard-normal latents; cond_state (B, S) the start state x0; cond_actions (B, H, A) the action
///   sequence; D = S + A. Returns the float64 sample (B, H, D).
/// Churn noise is added to every channel, including the in-painted ones, before the network call (§11 P7), and
/// in-painting is re-applied after every update; the last step is Euler only (§11 P8). Draws B H D normals from rng
/// on each step with gamma > 0 and none on the others.
SamplerState edm_sample(const SamplerDenoiseFn& denoise, const Array& xi, const Array& cond_state,
                        const Array& cond_actions, const EdmConfig& config, data::Rng& rng,
                        const SamplerStepFn& on_step = {});
/// The same with `denoiser` through sampler_denoise_fn.
SamplerState edm_sample(const Denoiser& denoiser, const Array& xi, const Array& cond_state, const Array& cond_actions,
                        const EdmConfig& config, data::Rng& rng, const SamplerStepFn& on_step = {});

}  // namespace dydiff
