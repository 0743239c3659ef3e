// Conservative Q-learning (Kumar et al. 2020) as the DyDiff code runs it (docs/algorithm.md §5.4.4, §11 P22): SAC with
// automatic entropy tuning and a Tanh-Gaussian actor, twin critics whose loss adds the importance-sampled CQL
// regulariser
//   cql_weight · ( T · mean_b logsumexp_k(c_bk / T) − mean_b Q_i(s_b, a_b) ),
//   c_b = {Q_i(s, a_unif) − ln 0.5^A, Q_i(s, a′ ~ π(·|s′)) − log π(a′|s′), Q_i(s, a ~ π(·|s)) − log π(a|s)},
// R = num_random samples of each (the data Q is not in the set), the Lagrange variant off, and no entropy term in
// the TD target. Each step updates α, then the actor, then the critics, every sampled action coming from the actor
// as it was at the start of the step.
// Layering: dydiff/learners (on learners/common, nn/). Shapes: B batch, S observation dim, A action dim,
// R = num_random proposals per state and set.
#pragma once

#include "dydiff/learners/common.hpp"
#include "dydiff/learners/configs.hpp"
#include "dydiff/learners/learner.hpp"
#include "nn/module.hpp"
#include "nn/optim.hpp"

#include <cstddef>
#include <cstdint>

namespace dydiff::learners {

/// The CQL regulariser of one critic (the formula in the header), a () tensor. q_rand, q_next_pi, q_cur_pi (B, R)
/// are Q_i(s_b, ·) of the uniform, π(·|s′) and π(·|s) proposals; log_pi_next, log_pi_cur (B, R) their log-densities
/// (constants); q_data (B, 1) = Q_i(s, a_data). Gradients reach the four Q tensors.
Tensor cql_regularizer(const Tensor& q_rand, const Tensor& q_next_pi, const Tensor& q_cur_pi,
                       const Array& log_pi_next, const Array& log_pi_cur, const Tensor& q_data,
                       std::size_t action_dim, float temperature, float weight);

/// The temperature's loss −mean(log α · (log π + target_entropy)), the bracket detached (§5.4.4). log_alpha (1)
/// trainable, log_pi (B, 1).
Tensor alpha_loss(const Tensor& log_alpha, const Array& log_pi, float target_entropy);

/// log α as a module (one parameter "log_alpha" (1), starting at 0, §5.4.4), so that it saves like the networks.
class LogAlpha : public nn::Module {
public:
    LogAlpha();
    Tensor log_alpha;  // (1)
};

class Cql : public Learner {
public:
    Cql(const LearnerSpec& spec, const CqlConfig& config);

    std::string name() const override { return "cql"; }
    /// α, then the actor, then the critics and their targets (§5.4.4). Stats: critic_loss, td_loss, cql_loss,
    /// actor_loss, alpha_loss, alpha, log_pi, q_mean.
    Stats update(const data::Transitions& batch) override;
    /// deterministic: tanh(μ); otherwise a tanh-Gaussian sample.
    Array2 act(const Array2& obs, bool deterministic) override;
    std::int64_t steps() const override { return step_; }
    void save(nn::Checkpoint& ckpt) const override;
    void load(const nn::Checkpoint& ckpt) override;
    void save_actor(nn::Checkpoint& ckpt) const override;

    const CqlConfig& config() const { return config_; }
    /// exp(clamp(log α, log_alpha_min, log_alpha_max)).
    float alpha() const;

private:
    Cql(const LearnerSpec& spec, const CqlConfig& config, data::Rng init_rng);

    LearnerSpec spec_;
    CqlConfig config_;
    TanhGaussianActor actor_;
    TwinQ critic_, critic_target_;  // weights N(0, 1/fan_in), zero biases (§11 P19); the target starts as a copy
    LogAlpha log_alpha_;
    nn::Adam actor_opt_, critic_opt_, alpha_opt_;
    data::Rng rng_;  // every draw of update() and act()
    std::int64_t step_ = 0;
    LearnerParts parts_;  // what save() and load() walk
};

}  // namespace dydiff::learners
