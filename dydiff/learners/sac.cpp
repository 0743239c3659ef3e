// SAC: the TD target on its own (tested on hand-made numbers), then the learner (see sac.hpp).
#include "dydiff/learners/sac.hpp"

#include "autograd/error.hpp"
#include "autograd/ops.hpp"

#include <cmath>

namespace dydiff::learners {

namespace ag = autograd;

std::unique_ptr<Learner> make_sac(const SacConfig& config, const LearnerSpec& spec) {
    return std::make_unique<Sac>(spec, config);
}

Tensor sac_td_target(const TensorBatch& batch, const Tensor& min_q_next, const Tensor& log_pi_next, float alpha,
                     float discount) {
    DYDIFF_CHECK(min_q_next.shape() == log_pi_next.shape(),
                 "sac_td_target: min_q_next " << shape_str(min_q_next.shape()) << " and log_pi_next "
                                              << shape_str(log_pi_next.shape()) << " must both be (B, 1)");
    const ag::NoGradGuard no_grad;
    return td_target(batch, Tensor(Array(min_q_next.value() - alpha * log_pi_next.value())), discount);
}

Sac::Sac(const LearnerSpec& spec, const SacConfig& config)
    : Sac(checked(spec, "sac"), validated(config), data::Rng(spec.seed).fork(kInitStream)) {}

Sac::Sac(const LearnerSpec& spec, const SacConfig& config, data::Rng init_rng)
    : spec_(spec),
      config_(config),
      actor_(spec.obs_dim, spec.action_dim, config.hidden, config.layers, nn::Init::torch_default, init_rng),
      critic_(spec.obs_dim, spec.action_dim, config.hidden, config.layers, nn::Init::torch_default, init_rng),
      critic_target_(spec.obs_dim, spec.action_dim, config.hidden, config.layers, nn::Init::zeros, init_rng),
      actor_opt_(actor_.named_parameters(), nn::AdamConfig{config.actor_lr}),
      critic_opt_(critic_.named_parameters(), nn::AdamConfig{config.critic_lr}),
      alpha_opt_(log_alpha_.named_parameters(), nn::AdamConfig{config.alpha_lr}),
      rng_(data::Rng(spec.seed).fork(kDrawStream)),
      parts_{{{"actor", &actor_}, {"critic", &critic_}, {"critic_target", &critic_target_}, {"log_alpha", &log_alpha_}},
             {{"actor_adam", &actor_opt_}, {"critic_adam", &critic_opt_}, {"alpha_adam", &alpha_opt_}},
             {}} {
    copy_parameters(critic_, critic_target_);
}

float Sac::alpha() const { return std::exp(log_alpha_.log_alpha.item()); }

Stats Sac::update(const data::Transitions& raw) {
    const TensorBatch b = make_batch(spec_, raw, config_.reward_scale, config_.reward_bias);

    // 1. The temperature, on log π of a reparameterised sample at s (the same sample drives the actor loss).
    const TanhGaussianActor::Sample pi = actor_.sample(b.obs, rng_);  // action (B, A), log_prob (B, 1)
    const double log_pi_mean = xt::mean(pi.log_prob.value())();
    const float target_entropy = config_.target_entropy_per_dim * static_cast<float>(spec_.action_dim);
    const float loss_alpha = minimize(alpha_loss(log_alpha_.log_alpha, pi.log_prob.value(), target_entropy),
                                      alpha_opt_, "sac", "alpha_loss", step_);
    const float alpha = this->alpha();

    // The TD target from the actor as it was at the start of the step.
    Tensor y;  // (B, 1)
    {
        const ag::NoGradGuard no_grad;
        const TanhGaussianActor::Sample next = actor_.sample(b.next_obs, rng_);
        y = sac_td_target(b, critic_target_.min(b.next_obs, next.action), next.log_prob, alpha, config_.discount);
    }

    // 2. The actor: mean(α log π − min_j Q_j(s, ã)), the critics frozen.
    float loss_actor = 0.0f;
    {
        const FreezeGuard freeze(critic_);
        const Tensor q_new = critic_.min(b.obs, pi.action);  // (B, 1)
        loss_actor = minimize(ag::mean(alpha * pi.log_prob - q_new), actor_opt_, "sac", "actor_loss", step_);
    }

    // 3. The critics, then their targets.
    const auto [q1, q2] = critic_.forward(b.obs, b.actions);  // (B, 1) each
    const double q_mean = xt::mean(q1.value())();
    const float loss_critic = minimize(ag::mean(ag::square(q1 - y)) + ag::mean(ag::square(q2 - y)), critic_opt_,
                                       "sac", "critic_loss", step_);
    nn::soft_update(critic_target_.parameters(), critic_.parameters(), config_.tau);
    ++step_;

    return {{"critic_loss", loss_critic}, {"actor_loss", loss_actor}, {"alpha_loss", loss_alpha},
            {"alpha", alpha},             {"log_pi", log_pi_mean},    {"q_mean", q_mean}};
}

Array2 Sac::act(const Array2& obs, bool deterministic) {
    return act_in_box(spec_, obs, [&](const Tensor& obs_hat) {
        return deterministic ? actor_.mode(obs_hat) : actor_.sample(obs_hat, rng_).action;
    });
}

void Sac::save(nn::Checkpoint& ckpt) const { save_learner(ckpt, name(), spec_, parts_, rng_, step_); }

void Sac::load(const nn::Checkpoint& ckpt) { step_ = load_learner(ckpt, name(), spec_, parts_, rng_); }

void Sac::save_actor(nn::Checkpoint& ckpt) const {
    save_actor_part(ckpt, name(), spec_, actor_, "tanh_gaussian_mean");
}

}  // namespace dydiff::learners
