// IQL, Implicit Q-Learning (Kostrikov, Nair & Levine 2021), with the CORL defaults. Per update, in CORL's order:
//   v'  = V(ŝ')                                           (before V's step, as CORL)
//   V   ← expectile regression on the target twin-Q:     L_V = mean(|τ − 1[u < 0]| u²),  u = min(Q̄1, Q̄2)(ŝ, a) − V(ŝ)
//   Q   ← mean of MSE(Q_i(ŝ, a), r + γ (1 − d) v') over i = 1, 2; then Q̄ ← (1 − τ_soft) Q̄ + τ_soft Q
//   π   ← advantage-weighted regression: L_π = mean(w · ℓ),  w = min(exp(β u), 100) with u from the V step (detached),
//         ℓ = −log π(a | ŝ) (gaussian actor) or ‖π(ŝ) − a‖² (deterministic actor);
//         the actor's learning rate follows a cosine from actor_lr at update 1 to 0 at update max_steps + 1.
// Expectile 0.7, β = 3, τ_soft = 0.005, γ = 0.99, lr 3e-4, networks 256-256 ReLU, PyTorch default init (CORL;
// docs/algorithm.md §5.4.6).
// The gaussian actor is CORL's: N(tanh(MLP(ŝ)), σ) with a learned state-independent log σ clamped to [−20, 2]; its
// deterministic action is the mean. IQL is not in the official DyDiff code. Layering: dydiff/learners.
// Shapes: B batch, S observation dim, A action dim.
#include "autograd/ops.hpp"
#include "dydiff/learners/common.hpp"
#include "dydiff/learners/configs.hpp"

#include <algorithm>
#include <cmath>
#include <memory>

namespace dydiff::learners {

namespace {

/// CORL's GaussianPolicy: mean tanh(MLP(ŝ)) (B, A), log σ a parameter (A) starting at 0, clamped to [−20, 2].
class GaussianActor : public nn::Module {
public:
    static constexpr float kLogStdMin = -20.0f;  // CORL LOG_STD_MIN
    static constexpr float kLogStdMax = 2.0f;    // CORL LOG_STD_MAX

    GaussianActor(std::size_t obs_dim, std::size_t action_dim, std::size_t hidden, std::size_t layers,
                  data::Rng& rng)
        : net_(mlp_widths(obs_dim, hidden, layers, action_dim), nn::Activation::relu, rng, nn::Init::torch_default,
               nn::Activation::tanh) {
        register_module("net", net_);
        log_std_ = register_parameter("log_std", xt::zeros<float>({action_dim}));
    }
    Tensor mean(const Tensor& obs) const { return net_.forward(obs); }
    Tensor log_std() const { return autograd::clamp(log_std_, kLogStdMin, kLogStdMax); }

private:
    nn::MLP net_;
    Tensor log_std_;  // (A)
};

class IqlLearner final : public Learner {
public:
    IqlLearner(const IqlConfig& config, const LearnerSpec& spec)
        : IqlLearner(validated(config), checked(spec, "iql"), data::Rng(spec.seed).fork(kInitStream)) {}

    std::string name() const override { return "iql"; }

    Stats update(const data::Transitions& transitions) override {
        const TensorBatch b = make_batch(spec_, transitions, config_.reward_scale, config_.reward_bias);
        ++steps_;

        Tensor next_v, target_q;  // (B, 1) each, constants
        {
            const autograd::NoGradGuard no_grad;
            next_v = value_->forward(b.next_obs);
            target_q = critic_target_->min(b.obs, b.actions);
        }

        // ---- V: expectile regression toward the target twin-Q ----
        const Tensor u = target_q - value_->forward(b.obs);  // (B, 1) advantage estimate
        const Array advantage = u.value();
        const float value_loss = minimize(expectile_loss(u, config_.expectile), *value_adam_, "iql", "value_loss",
                                          steps_);

        // ---- Q: regression on r + γ (1 − d) V(ŝ'), then the target copy ----
        const Tensor y = td_target(b, next_v, config_.discount);
        const auto [q1, q2] = critic_->forward(b.obs, b.actions);
        const Tensor q_loss = 0.5f * (autograd::mean(autograd::square(q1 - y)) +
                                      autograd::mean(autograd::square(q2 - y)));
        const float q_loss_value = minimize(q_loss, *critic_adam_, "iql", "q_loss", steps_);
        nn::soft_update(critic_target_->parameters(), critic_->parameters(), config_.tau);

        // ---- π: advantage-weighted regression with the cosine learning rate ----
        const Tensor weights(advantage_weights(advantage, config_.beta, config_.max_weight));  // (B, 1)
        Tensor per_row;  // (B, 1) ℓ
        if (gaussian_) {
            per_row = -gaussian_log_prob(b.actions, gauss_actor_->mean(b.obs), gauss_actor_->log_std());
        } else {
            per_row = autograd::sum(autograd::square(det_actor_->forward(b.obs) - b.actions), {1}, true);
        }
        const float lr = actor_lr(steps_);
        actor_adam_->set_lr(lr);
        const float actor_loss = minimize(autograd::mean(weights * per_row), *actor_adam_, "iql", "actor_loss",
                                          steps_);

        double adv_sum = 0.0;
        for (const float v : advantage) adv_sum += v;
        return {{"value_loss", value_loss},
                {"q_loss", q_loss_value},
                {"actor_loss", actor_loss},
                {"adv_mean", adv_sum / static_cast<double>(b.size)},
                {"actor_lr", lr}};
    }

    /// deterministic: the mean (gaussian) or π(ŝ); otherwise, gaussian: mean + σ ε clipped to [−1, 1] with ε from the
    /// learner's Rng, deterministic actor: π(ŝ).
    Array2 act(const Array2& obs, bool deterministic) override {
        return act_in_box(spec_, obs, [&](const Tensor& s) {
            if (!gaussian_) return det_actor_->forward(s);
            const Tensor mean = gauss_actor_->mean(s);
            if (deterministic) return mean;
            Array a = mean.value();
            const Array log_std = gauss_actor_->log_std().value();
            const std::size_t A = spec_.action_dim;
            for (std::size_t i = 0; i < a.size(); ++i)
                a.data()[i] = std::clamp(a.data()[i] + std::exp(log_std(i % A)) * rng_.normal(), -1.0f, 1.0f);
            return Tensor(std::move(a));
        });
    }

    std::int64_t steps() const override { return steps_; }

    void save(nn::Checkpoint& ckpt) const override { save_learner(ckpt, name(), spec_, parts_, rng_, steps_); }
    void load(const nn::Checkpoint& ckpt) override { steps_ = load_learner(ckpt, name(), spec_, parts_, rng_); }
    void save_actor(nn::Checkpoint& ckpt) const override { save_actor_part(ckpt, name(), spec_, actor(), "tanh"); }

private:
    IqlLearner(const IqlConfig& config, const LearnerSpec& spec, data::Rng init_rng)
        : config_(config), spec_(spec), gaussian_(config.actor == "gaussian"),
          rng_(data::Rng(spec.seed).fork(kDrawStream)) {
        const std::size_t S = spec.obs_dim, A = spec.action_dim, H = config.hidden, L = config.layers;
        if (gaussian_)
            gauss_actor_ = std::make_unique<GaussianActor>(S, A, H, L, init_rng);
        else
            det_actor_ = std::make_unique<TanhActor>(S, A, H, L, nn::Init::torch_default, init_rng);
        critic_ = std::make_unique<TwinQ>(S, A, H, L, nn::Init::torch_default, init_rng);
        critic_target_ = std::make_unique<TwinQ>(S, A, H, L, nn::Init::zeros, init_rng);
        copy_parameters(*critic_, *critic_target_);
        value_ = std::make_unique<nn::MLP>(mlp_widths(S, H, L, 1), nn::Activation::relu, init_rng);
        actor_adam_ = std::make_unique<nn::Adam>(actor().named_parameters(), nn::AdamConfig{config.actor_lr});
        critic_adam_ = std::make_unique<nn::Adam>(critic_->named_parameters(), nn::AdamConfig{config.critic_lr});
        value_adam_ = std::make_unique<nn::Adam>(value_->named_parameters(), nn::AdamConfig{config.value_lr});
        parts_ = {{{"actor", &actor()}, {"critic", critic_.get()}, {"critic_target", critic_target_.get()},
                   {"value", value_.get()}},
                  {{"actor_adam", actor_adam_.get()}, {"critic_adam", critic_adam_.get()},
                   {"value_adam", value_adam_.get()}},
                  {}};
    }

    nn::Module& actor() const {
        return gaussian_ ? static_cast<nn::Module&>(*gauss_actor_) : static_cast<nn::Module&>(*det_actor_);
    }

    /// PyTorch's CosineAnnealingLR(T_max = max_steps, η_min = 0) as CORL steps it (after each actor step): update k
    /// (1-based) uses actor_lr (1 + cos(π min(k − 1, T) / T)) / 2; held at 0 past T instead of rising again.
    float actor_lr(std::int64_t k) const {
        const double t = static_cast<double>(std::min(k - 1, config_.max_steps));
        const double T = static_cast<double>(config_.max_steps);
        return static_cast<float>(config_.actor_lr * 0.5 * (1.0 + std::cos(M_PI * t / T)));
    }

    IqlConfig config_;
    LearnerSpec spec_;
    bool gaussian_;
    // Exactly one actor is built: CORL's Gaussian (default) or the deterministic tanh MLP.
    std::unique_ptr<GaussianActor> gauss_actor_;
    std::unique_ptr<TanhActor> det_actor_;
    std::unique_ptr<TwinQ> critic_, critic_target_;
    std::unique_ptr<nn::MLP> value_;  // V(ŝ) (B, 1)
    std::unique_ptr<nn::Adam> actor_adam_, critic_adam_, value_adam_;
    data::Rng rng_;  // samples of act(obs, false)
    std::int64_t steps_ = 0;
    LearnerParts parts_;  // what save() and load() walk
};

}  // namespace

std::unique_ptr<Learner> make_iql(const IqlConfig& config, const LearnerSpec& spec) {
    return std::make_unique<IqlLearner>(config, spec);
}

}  // namespace dydiff::learners
