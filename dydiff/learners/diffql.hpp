// Diffusion-QL (Wang, Hunt & Zhou 2023) as the DyDiff code runs it, the "pred-start" variant (docs/algorithm.md
// §5.4.5, §6.5, §11 P16): a 5-step VP DDPM policy over actions with ε-prediction, trained with
//   L_actor = ‖ε̂ − ε‖² (behaviour cloning at a random step t) + η · q_loss(x̂₀),
// where x̂₀ is the one-step reconstruction of the data action from that same noised action, and twin critics whose
// TD target bootstraps on actions sampled from an EMA copy of the actor. Evaluation samples 50 actions per state and
// picks one by sampling softmax(min(Q̄₁, Q̄₂)) under the target critics.
// The pieces a test needs on their own come first (schedule, noise network, sampler), then the learner.
// Layering: dydiff/learners (on learners/common, nn/). Shapes: B batch, S observation dim, A action dim, N = T
// diffusion steps (indices t = 0..T−1 here; the paper's t = 1..T).
#pragma once

#include "dydiff/learners/common.hpp"
#include "dydiff/learners/configs.hpp"
#include "dydiff/learners/learner.hpp"
#include "nn/embedding.hpp"
#include "nn/mlp.hpp"
#include "nn/optim.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dydiff::learners {

/// The VP β schedule of §5.4.5 and the DDPM coefficients derived from it, indexed t = 0..T−1, in double:
///   β_t = 1 − exp(−β_min/T − ½(β_max − β_min)(2(t+1) − 1)/T²),   ᾱ_t = Π_{k≤t} (1 − β_k).
/// For T = 5: β = [0.195875, 0.458818, 0.635781, 0.754878, 0.835031], ᾱ = [0.804125, …, 0.006409].
struct VpSchedule {
    VpSchedule(std::size_t steps, double beta_min, double beta_max);
    std::size_t steps() const { return beta.size(); }

    std::vector<double> beta;                  // β_t
    std::vector<double> alpha_bar;             // ᾱ_t
    std::vector<double> alpha_bar_prev;        // ᾱ_{t−1}, 1 at t = 0
    std::vector<double> sqrt_recip_alpha_bar;  // 1/√ᾱ_t        x̂₀ = x_t/√ᾱ_t − √(1/ᾱ_t − 1) ε̂
    std::vector<double> sqrt_recipm1_alpha_bar;  // √(1/ᾱ_t − 1)
    std::vector<double> posterior_mean_x0;     // β_t √ᾱ_{t−1} / (1 − ᾱ_t)          q(x_{t−1} | x_t, x₀) mean
    std::vector<double> posterior_mean_xt;     // (1 − ᾱ_{t−1}) √(1 − β_t) / (1 − ᾱ_t)
    std::vector<double> posterior_std;         // exp(½ log max(β_t (1 − ᾱ_{t−1}) / (1 − ᾱ_t), 1e-20)); the
                                               // sampler adds no noise at t = 0 whatever this is
};

/// The ε-network of §5.4.5 (PyTorch default init): time t -> Sinusoid(time_dim) -> Linear 2·time_dim -> Mish ->
/// Linear time_dim; then concat(x_t, t_emb, ŝ) -> layers × (Linear hidden + Mish) -> Linear A.
/// Parameters "time_mlp.layers.*", "mid.layers.*".
class NoiseNet : public nn::Module {
public:
    NoiseNet(std::size_t obs_dim, std::size_t action_dim, std::size_t time_dim, std::size_t hidden,
             std::size_t layers, data::Rng& rng);
    /// ε̂ (B, A) from x_t (B, A), step indices t (B) and z-scored observations (B, S).
    Tensor forward(const Tensor& x_t, const std::vector<std::size_t>& t, const Tensor& obs) const;

    std::size_t obs_dim() const { return obs_dim_; }
    std::size_t action_dim() const { return action_dim_; }

private:
    std::size_t obs_dim_, action_dim_;
    nn::SinusoidalEmbedding time_embedding_;
    nn::MLP time_mlp_;
    nn::MLP mid_;
};

/// Full ancestral sampling, no graph: x_{T−1} ~ N(0, I), then for t = T−1..0
///   x̂₀ = clip(x_t/√ᾱ_t − √(1/ᾱ_t − 1) ε̂(x_t, t, ŝ), −1, 1),
///   x_{t−1} = posterior_mean_x0[t] x̂₀ + posterior_mean_xt[t] x_t + [t > 0] posterior_std[t] z,  z ~ N(0, I),
/// and the result clipped to [−1, 1] (§5.4.5). obs (B, S) z-scored -> actions (B, A) in [−1, 1].
Array2 ddpm_sample(const NoiseNet& net, const VpSchedule& schedule, const Array2& obs, data::Rng& rng);

/// The two halves of the actor loss, from one noised data action per row.
struct DenoiseTerms {
    Tensor bc_loss;  // () mean over B × A of (ε̂ − ε)²
    Tensor x0_hat;   // (B, A) clip(x_t/√ᾱ_t − √(1/ᾱ_t − 1) ε̂, −1, 1), differentiable through ε̂
};
/// Draws t ~ U{0..T−1} and ε ~ N(0, I) per row, noises x_t = √ᾱ_t a + √(1 − ᾱ_t) ε, predicts ε̂ (§5.4.5).
/// obs (B, S) z-scored, actions (B, A) in [−1, 1].
DenoiseTerms denoise_terms(const NoiseNet& net, const VpSchedule& schedule, const Tensor& obs,
                           const Tensor& actions, data::Rng& rng);

/// The Q loss of the actor, −mean(lead) / mean|other| with the denominator detached (a scale, no gradient), both
/// (B, 1); the learner draws which critic leads (§5.4.5).
Tensor diffql_q_loss(const Tensor& lead, const Tensor& other);

/// Which row of `q` (M, 1) to take: index j with probability softmax(q)_j (the evaluation rule of §5.4.5), drawn
/// from one uniform of rng by inverse CDF.
std::size_t sample_softmax_index(const float* q, std::size_t m, data::Rng& rng);

class DiffQl : public Learner {
public:
    DiffQl(const LearnerSpec& spec, const DiffQlConfig& config);

    std::string name() const override { return "diffql"; }
    /// Critic (TD to the EMA actor's samples), then the actor (BC + η q_loss), then the EMA actor on its period,
    /// then the target critics. Stats: critic_loss, bc_loss, q_loss, actor_loss, q_mean, critic_grad_norm,
    /// actor_grad_norm.
    Stats update(const data::Transitions& batch) override;
    /// deterministic: per state, eval_samples actions of the live actor (not the EMA one: the official code's
    /// sample_action), one picked by sampling softmax(min(Q̄₁, Q̄₂)) with the target critics; otherwise one plain
    /// sample of the live actor, which is what the official code's rollouts use whatever their flag (§5.4.5, §11 P16).
    Array2 act(const Array2& obs, bool deterministic) override;
    std::int64_t steps() const override { return step_; }
    void save(nn::Checkpoint& ckpt) const override;
    void load(const nn::Checkpoint& ckpt) override;
    void save_actor(nn::Checkpoint& ckpt) const override;

    const DiffQlConfig& config() const { return config_; }
    const VpSchedule& schedule() const { return schedule_; }

private:
    DiffQl(const LearnerSpec& spec, const DiffQlConfig& config, data::Rng init_rng);

    LearnerSpec spec_;
    DiffQlConfig config_;
    VpSchedule schedule_;
    NoiseNet actor_, ema_actor_;    // the EMA actor starts as a copy and moves from step ema_start on
    TwinQ critic_, critic_target_;  // N(0, 1/fan_in), zero biases (§5.4.1); the target starts as a copy
    nn::Adam actor_opt_, critic_opt_;
    data::Rng rng_;  // every draw of update() and act()
    std::int64_t step_ = 0;
    LearnerParts parts_;  // what save() and load() walk
};

}  // namespace dydiff::learners
