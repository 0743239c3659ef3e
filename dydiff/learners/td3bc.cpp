// TD3+BC (Fujimoto & Gu 2021, "A Minimalist Approach to Offline Reinforcement Learning") in two variants, chosen
// by the `variant` key (docs/algorithm.md §5.4.2, §5.4.3, §11 P21):
//   canonical  the paper and its code: deterministic tanh actor; target action clip(π̄(ŝ') + clip(ε, ±c), ±1) with
//              ε ~ N(0, σ²) (target policy smoothing, σ = 0.2, c = 0.5); critic loss MSE(Q1, y) + MSE(Q2, y);
//              actor loss −λ mean Q1(ŝ, π(ŝ)) + MSE(π(ŝ), a); PyTorch default init.
//   official   the DyDiff code: Tanh-Gaussian actor; target action a sample of the target actor (no smoothing);
//              critic loss ½ MSE per critic; actor loss −λ mean Q1(ŝ, ã) + ½ MSE(ã, a) with ã a reparameterised
//              sample; weights N(0, 1/fan_in), biases 0 (§11 P19).
// Both: y = r + γ (1 − d) min(Q̄1, Q̄2)(ŝ', a'); λ = α / mean|Q1(ŝ, ã)| with the mean detached; the step counter is
// incremented before the check, so the actor and then all three targets (τ = 0.005) update on steps 2, 4, 6, ...
// Actions live in [−1, 1] inside (the data's are mapped there, so the noise σ and clip c are in the paper's units
// for max_action = 1); act() scales to the box. Layering: dydiff/learners. Shapes: B batch, S obs dim, A action dim.
#include "autograd/ops.hpp"
#include "dydiff/learners/common.hpp"
#include "dydiff/learners/configs.hpp"

#include <algorithm>
#include <cmath>
#include <memory>

namespace dydiff::learners {

namespace {

class Td3BcLearner final : public Learner {
public:
    Td3BcLearner(const Td3BcConfig& config, const LearnerSpec& spec)
        : Td3BcLearner(validated(config), checked(spec, "td3bc"), data::Rng(spec.seed).fork(kInitStream)) {}

    std::string name() const override { return "td3bc"; }

    Stats update(const data::Transitions& transitions) override {
        const TensorBatch b = make_batch(spec_, transitions, config_.reward_scale, config_.reward_bias);
        ++steps_;

        // ---- critics: y = r + γ (1 − d) min_j Q̄_j(ŝ', a') ----
        Tensor y;
        {
            const autograd::NoGradGuard no_grad;
            y = td_target(b, critic_target_->min(b.next_obs, target_action(b.next_obs)), config_.discount);
        }
        const auto [q1, q2] = critic_->forward(b.obs, b.actions);  // (B, 1) each
        const Tensor critic_loss = critic_weight_ * (autograd::mean(autograd::square(q1 - y)) +
                                                     autograd::mean(autograd::square(q2 - y)));
        const float critic_loss_value = minimize(critic_loss, *critic_adam_, "td3bc", "critic_loss", steps_);

        // ---- actor on its delay: −λ mean Q1(ŝ, ã) + w_bc MSE(ã, a), then the targets ----
        if (steps_ % config_.policy_freq == 0) {
            const FreezeGuard frozen(*critic_);  // the actor loss reaches the critic's input, not its weights
            const Tensor a_pi = policy_action(b.obs);
            const Tensor q = critic_->q1(b.obs, a_pi);                                   // (B, 1)
            lambda_ = td3bc_lambda(config_.alpha, q.value());                          // detached
            const Tensor actor_loss = -static_cast<float>(lambda_) * autograd::mean(q) +
                                      bc_weight_ * autograd::mean(autograd::square(a_pi - b.actions));
            actor_loss_ = minimize(actor_loss, *actor_adam_, "td3bc", "actor_loss", steps_);
            nn::soft_update(actor_target().parameters(), actor().parameters(), config_.tau);
            nn::soft_update(critic_target_->parameters(), critic_->parameters(), config_.tau);
        }
        return {{"critic_loss", critic_loss_value},
                {"actor_loss", actor_loss_},  // the last actor update's (0 before the first)
                {"lambda", lambda_},
                {"q_mean", mean_of(q1.value())}};
    }

    /// canonical: π(ŝ) for both flags (the policy is deterministic). official: tanh(μ) when deterministic, else a
    /// sample drawn from the learner's Rng.
    Array2 act(const Array2& obs, bool deterministic) override {
        return act_in_box(spec_, obs, [&](const Tensor& s) {
            if (canonical_) return det_actor_->forward(s);
            return deterministic ? gauss_actor_->mode(s) : gauss_actor_->sample(s, rng_).action;
        });
    }

    std::int64_t steps() const override { return steps_; }

    void save(nn::Checkpoint& ckpt) const override { save_learner(ckpt, name(), spec_, parts_, rng_, steps_); }
    void load(const nn::Checkpoint& ckpt) override { steps_ = load_learner(ckpt, name(), spec_, parts_, rng_); }
    void save_actor(nn::Checkpoint& ckpt) const override {
        save_actor_part(ckpt, name(), spec_, actor(), canonical_ ? "tanh" : "tanh_gaussian_mean");
    }

private:
    Td3BcLearner(const Td3BcConfig& config, const LearnerSpec& spec, data::Rng init_rng)
        : config_(config),
          spec_(spec),
          canonical_(config.variant == "canonical"),
          critic_weight_(canonical_ ? 1.0f : 0.5f),  // Fujimoto & Gu 2021: MSE1 + MSE2; official code: ½ each
          bc_weight_(canonical_ ? 1.0f : 0.5f),      // Fujimoto & Gu 2021: MSE; official code: ½ MSE
          rng_(data::Rng(spec.seed).fork(kDrawStream)) {
        const std::size_t S = spec.obs_dim, A = spec.action_dim, H = config.hidden, L = config.layers;
        const nn::Init init = canonical_ ? nn::Init::torch_default : nn::Init::normal_fan_in;
        if (canonical_) {
            det_actor_ = std::make_unique<TanhActor>(S, A, H, L, init, init_rng);
            det_actor_target_ = std::make_unique<TanhActor>(S, A, H, L, nn::Init::zeros, init_rng);
        } else {
            gauss_actor_ = std::make_unique<TanhGaussianActor>(S, A, H, L, init, init_rng);
            gauss_actor_target_ = std::make_unique<TanhGaussianActor>(S, A, H, L, nn::Init::zeros, init_rng);
        }
        critic_ = std::make_unique<TwinQ>(S, A, H, L, init, init_rng);
        critic_target_ = std::make_unique<TwinQ>(S, A, H, L, nn::Init::zeros, init_rng);
        copy_parameters(actor(), actor_target());
        copy_parameters(*critic_, *critic_target_);
        actor_adam_ = std::make_unique<nn::Adam>(actor().named_parameters(), nn::AdamConfig{config.actor_lr});
        critic_adam_ = std::make_unique<nn::Adam>(critic_->named_parameters(), nn::AdamConfig{config.critic_lr});
        parts_ = {{{"actor", &actor()}, {"actor_target", &actor_target()}, {"critic", critic_.get()},
                   {"critic_target", critic_target_.get()}},
                  {{"actor_adam", actor_adam_.get()}, {"critic_adam", critic_adam_.get()}},
                  {{"actor_loss", &actor_loss_}, {"lambda", &lambda_}}};
    }

    nn::Module& actor() const {
        return canonical_ ? static_cast<nn::Module&>(*det_actor_) : static_cast<nn::Module&>(*gauss_actor_);
    }
    nn::Module& actor_target() const {
        return canonical_ ? static_cast<nn::Module&>(*det_actor_target_)
                          : static_cast<nn::Module&>(*gauss_actor_target_);
    }

    /// a' for the TD target, no graph. canonical: clip(π̄(ŝ') + clip(σ ε, ±c), ±1); official: tanh(u), u ~ N(μ̄, σ̄).
    Tensor target_action(const Tensor& next_obs) {
        if (!canonical_) return gauss_actor_target_->sample(next_obs, rng_).action;
        Array a = det_actor_target_->forward(next_obs).value();  // (B, A)
        for (float& v : a) {
            const float noise = std::clamp(config_.policy_noise * rng_.normal(), -config_.noise_clip,
                                           config_.noise_clip);
            v = std::clamp(v + noise, -1.0f, 1.0f);
        }
        return Tensor(std::move(a));
    }

    /// ã for the actor loss, with its graph. canonical: π(ŝ); official: a reparameterised sample tanh(μ + σ ε).
    Tensor policy_action(const Tensor& obs) {
        if (canonical_) return det_actor_->forward(obs);
        return gauss_actor_->sample(obs, rng_).action;
    }

    static double mean_of(const Array& a) {
        double s = 0.0;
        for (const float v : a) s += v;
        return s / static_cast<double>(a.size());
    }

    Td3BcConfig config_;
    LearnerSpec spec_;
    bool canonical_;
    float critic_weight_, bc_weight_;
    // Exactly one actor pair is built: the deterministic one (canonical) or the Tanh-Gaussian one (official).
    std::unique_ptr<TanhActor> det_actor_, det_actor_target_;
    std::unique_ptr<TanhGaussianActor> gauss_actor_, gauss_actor_target_;
    std::unique_ptr<TwinQ> critic_, critic_target_;
    std::unique_ptr<nn::Adam> actor_adam_, critic_adam_;
    data::Rng rng_;             // target smoothing noise / actor samples
    std::int64_t steps_ = 0;
    double actor_loss_ = 0.0;   // of the last actor update, reported on every step
    double lambda_ = 0.0;       // of the last actor update
    LearnerParts parts_;        // what save() and load() walk
};

}  // namespace

std::unique_ptr<Learner> make_td3bc(const Td3BcConfig& config, const LearnerSpec& spec) {
    return std::make_unique<Td3BcLearner>(config, spec);
}

}  // namespace dydiff::learners
