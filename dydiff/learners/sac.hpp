// Soft Actor-Critic (Haarnoja et al. 2018, the automatic-temperature version; docs/algorithm.md §5.4.8), the learner
// that trains behaviour policies online (dydiff/agent/online.hpp) and also runs offline like any learner. Each step:
//   α:      loss −mean(log α · (log π(ã|s) + target_entropy)), ã ~ π(·|s) reparameterised, the bracket detached;
//   actor:  loss mean(α log π(ã|s) − min_j Q_j(s, ã)), the critics frozen;
//   critics: y = r + γ (1 − d) (min_j Q̄_j(s′, a′) − α log π(a′|s′)), a′ ~ π(·|s′); loss MSE(Q₁, y) + MSE(Q₂, y);
//   targets: Q̄ <- τ Q + (1 − τ) Q̄.
// Every sampled action comes from the actor as it was at the start of the step; the α of the actor loss and of the
// target is the updated one (as CQL's order, §5.4.4, which is SAC's with a regulariser added).
// Layering: dydiff/learners (on learners/common, learners/cql for the temperature, nn/).
#pragma once

#include "dydiff/learners/common.hpp"
#include "dydiff/learners/configs.hpp"
#include "dydiff/learners/cql.hpp"
#include "dydiff/learners/learner.hpp"
#include "nn/optim.hpp"

#include <cstdint>

namespace dydiff::learners {

/// SAC's TD target r + γ (1 − d) (min_q_next − α log_pi_next) (B, 1), no graph; min_q_next, log_pi_next (B, 1).
Tensor sac_td_target(const TensorBatch& batch, const Tensor& min_q_next, const Tensor& log_pi_next, float alpha,
                     float discount);

class Sac : public Learner {
public:
    Sac(const LearnerSpec& spec, const SacConfig& config);

    std::string name() const override { return "sac"; }
    /// α, then the actor, then the critics and their targets. Stats: critic_loss, actor_loss, alpha_loss, alpha,
    /// log_pi, q_mean.
    Stats update(const data::Transitions& batch) override;
    /// deterministic: tanh(μ) (evaluation); otherwise a tanh-Gaussian sample (exploration).
    Array2 act(const Array2& obs, bool deterministic) override;
    std::int64_t steps() const override { return step_; }
    void save(nn::Checkpoint& ckpt) const override;
    void load(const nn::Checkpoint& ckpt) override;
    void save_actor(nn::Checkpoint& ckpt) const override;

    const SacConfig& config() const { return config_; }
    /// exp(log α).
    float alpha() const;

private:
    Sac(const LearnerSpec& spec, const SacConfig& config, data::Rng init_rng);

    LearnerSpec spec_;
    SacConfig config_;
    TanhGaussianActor actor_;
    TwinQ critic_, critic_target_;  // PyTorch default init; the target starts as a copy
    LogAlpha log_alpha_;
    nn::Adam actor_opt_, critic_opt_, alpha_opt_;
    data::Rng rng_;  // every draw of update() and act()
    std::int64_t step_ = 0;
    LearnerParts parts_;  // what save() and load() walk
};

}  // namespace dydiff::learners
