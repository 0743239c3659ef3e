// CQL, top to bottom: the regulariser and the temperature loss on their own (tested on hand-made numbers), then the
// learner: update (α, actor, critics), act, save/load. docs/algorithm.md §5.4.4 is the source of every rule; the config
// keys are in configs.cpp.
#include "dydiff/learners/cql.hpp"

#include "autograd/error.hpp"
#include "autograd/ops.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace dydiff::learners {

namespace ag = autograd;

std::unique_ptr<Learner> make_cql(const CqlConfig& config, const LearnerSpec& spec) {
    return std::make_unique<Cql>(spec, config);
}

// ---- the regulariser and the temperature loss ---------------------------------------------------------------------

Tensor cql_regularizer(const Tensor& q_rand, const Tensor& q_next_pi, const Tensor& q_cur_pi,
                       const Array& log_pi_next, const Array& log_pi_cur, const Tensor& q_data,
                       std::size_t action_dim, float temperature, float weight) {
    const auto B = q_data.dim() == 2 ? q_data.size(0) : 0;
    const autograd::Shape bn = q_rand.shape();
    DYDIFF_CHECK(q_data.dim() == 2 && q_data.size(1) == 1 && bn.size() == 2 && bn[0] == B &&
                     q_next_pi.shape() == bn && q_cur_pi.shape() == bn && log_pi_next.shape() == bn &&
                     log_pi_cur.shape() == bn,
                 "cql_regularizer: q_rand " << shape_str(bn) << ", q_next_pi " << shape_str(q_next_pi.shape())
                                            << ", q_cur_pi " << shape_str(q_cur_pi.shape()) << ", log_pi_next "
                                            << shape_str(log_pi_next.shape()) << ", log_pi_cur "
                                            << shape_str(log_pi_cur.shape()) << " must all be (B, R), q_data "
                                            << shape_str(q_data.shape()) << " (B, 1)");
    // Uniform proposals on [−1, 1]^A have density 0.5^A: subtract its log (importance sampling, §5.4.4).
    const float log_uniform_density = static_cast<float>(action_dim) * std::log(0.5f);
    const Tensor set = ag::concat({q_rand - log_uniform_density, q_next_pi - Tensor(log_pi_next),
                                   q_cur_pi - Tensor(log_pi_cur)},
                                  1);                                                   // (B, 3N)
    const Tensor lse = ag::logsumexp(set / temperature, 1);                               // (B)
    return ag::mean(lse) * (weight * temperature) - ag::mean(q_data) * weight;
}

Tensor alpha_loss(const Tensor& log_alpha, const Array& log_pi, float target_entropy) {
    DYDIFF_CHECK(log_alpha.numel() == 1, "alpha_loss: log_alpha " << shape_str(log_alpha.shape()) << " is not (1)");
    const Tensor bracket(Array(log_pi + target_entropy));  // (B, 1), detached
    return -ag::mean(log_alpha * bracket);
}

LogAlpha::LogAlpha() { log_alpha = register_parameter("log_alpha", xt::zeros<float>({std::size_t{1}})); }

// ---- the learner --------------------------------------------------------------------------------------------------

namespace {

// Rows of `x` (B, K) each repeated n times: row b·n + k is x[b] (rlkit's repeat-then-view order).
Array repeat_rows(const Array& x, std::size_t n) {
    const std::size_t B = x.shape()[0], K = x.shape()[1];
    Array out = xt::empty<float>({B * n, K});
    for (std::size_t b = 0; b < B; ++b)
        for (std::size_t k = 0; k < n; ++k)
            std::memcpy(out.data() + (b * n + k) * K, x.data() + b * K, K * sizeof(float));
    return out;
}

}  // namespace

Cql::Cql(const LearnerSpec& spec, const CqlConfig& config)
    : Cql(checked(spec, "cql"), validated(config), data::Rng(spec.seed).fork(kInitStream)) {}

Cql::Cql(const LearnerSpec& spec, const CqlConfig& config, data::Rng init_rng)
    : spec_(spec),
      config_(config),
      actor_(spec.obs_dim, spec.action_dim, config.hidden, config.layers, nn::Init::normal_fan_in, init_rng),
      critic_(spec.obs_dim, spec.action_dim, config.hidden, config.layers, nn::Init::normal_fan_in, init_rng),
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

float Cql::alpha() const {
    return std::exp(std::clamp(log_alpha_.log_alpha.item(), config_.log_alpha_min, config_.log_alpha_max));
}

Stats Cql::update(const data::Transitions& raw) {
    const TensorBatch b = make_batch(spec_, raw, config_.reward_scale, config_.reward_bias);
    const std::size_t B = b.size, A = spec_.action_dim, R = config_.num_random;

    // 1. The temperature, on log π of a reparameterised sample at s (the same sample drives the actor loss).
    const TanhGaussianActor::Sample pi = actor_.sample(b.obs, rng_);  // action (B, A), log_prob (B, 1)
    const double log_pi_mean = xt::mean(pi.log_prob.value())();
    const float target_entropy = config_.target_entropy_per_dim * static_cast<float>(A);
    const float loss_alpha = minimize(alpha_loss(log_alpha_.log_alpha, pi.log_prob.value(), target_entropy),
                                      alpha_opt_, "cql", "alpha_loss", step_);
    const float alpha = this->alpha();  // the updated α drives this step's actor loss, as in the official code

    // Every action the critics see comes from the actor as it was at the start of the step: draw them now.
    Tensor y;                          // (B, 1) TD target, no entropy term (§5.4.4)
    Array a_rand, a_next, a_cur;       // (B·R, A) uniform, π(·|s′), π(·|s) proposals, row b·R + k for state b
    Array log_pi_next, log_pi_cur;     // (B, R)
    {
        const ag::NoGradGuard no_grad;
        const TanhGaussianActor::Sample next = actor_.sample(b.next_obs, rng_);
        y = td_target(b, critic_target_.min(b.next_obs, next.action), config_.discount);
        a_rand = xt::empty<float>({B * R, A});
        rng_.fill_uniform(a_rand.data(), a_rand.size(), -1.0f, 1.0f);
        const TanhGaussianActor::Sample pn = actor_.sample(Tensor(repeat_rows(b.next_obs.value(), R)), rng_);
        const TanhGaussianActor::Sample pc = actor_.sample(Tensor(repeat_rows(b.obs.value(), R)), rng_);
        a_next = pn.action.value();
        a_cur = pc.action.value();
        log_pi_next = pn.log_prob.value();
        log_pi_next.reshape({B, R});
        log_pi_cur = pc.log_prob.value();
        log_pi_cur.reshape({B, R});
    }

    // 2. The actor: mean(α log π − min_j Q_j(s, ã)), the critics frozen (their weights take no gradient here).
    float loss_actor = 0.0f;
    {
        const FreezeGuard freeze(critic_);
        const Tensor q_new = critic_.min(b.obs, pi.action);  // (B, 1)
        loss_actor = minimize(ag::mean(alpha * pi.log_prob - q_new), actor_opt_, "cql", "actor_loss", step_);
    }

    // 3. The critics: MSE to y plus the CQL regulariser of each, all three proposal sets in one forward pass.
    const auto [q1, q2] = critic_.forward(b.obs, b.actions);  // (B, 1) each
    const double q_mean = xt::mean(q1.value())();
    const Tensor td = ag::mean(ag::square(q1 - y)) + ag::mean(ag::square(q2 - y));
    const Tensor obs_rep(repeat_rows(b.obs.value(), R));                                 // (B·R, S)
    const Tensor obs3 = ag::concat({obs_rep, obs_rep, obs_rep}, 0);                       // (3·B·R, S)
    const Tensor act3 = ag::concat({Tensor(a_rand), Tensor(a_next), Tensor(a_cur)}, 0);   // (3·B·R, A)
    const auto [p1, p2] = critic_.forward(obs3, act3);                                    // (3·B·R, 1) each
    auto proposals = [&](const Tensor& q, std::size_t set) {  // set 0, 1, 2 -> (B, R)
        return ag::reshape(ag::slice(q, 0, set * B * R, (set + 1) * B * R),
                           {static_cast<std::int64_t>(B), static_cast<std::int64_t>(R)});
    };
    const Tensor cql1 = cql_regularizer(proposals(p1, 0), proposals(p1, 1), proposals(p1, 2), log_pi_next,
                                        log_pi_cur, q1, A, config_.cql_temperature, config_.cql_weight);
    const Tensor cql2 = cql_regularizer(proposals(p2, 0), proposals(p2, 1), proposals(p2, 2), log_pi_next,
                                        log_pi_cur, q2, A, config_.cql_temperature, config_.cql_weight);
    const Tensor cql = cql1 + cql2;
    const float loss_td = checked_loss(td, "cql", "td_loss", step_);
    const float loss_cql = checked_loss(cql, "cql", "cql_loss", step_);
    const float loss_critic = minimize(td + cql, critic_opt_, "cql", "critic_loss", step_);
    nn::soft_update(critic_target_.parameters(), critic_.parameters(), config_.tau);
    ++step_;

    return {{"critic_loss", loss_critic},
            {"td_loss", loss_td},
            {"cql_loss", loss_cql},
            {"actor_loss", loss_actor},
            {"alpha_loss", loss_alpha},
            {"alpha", alpha},
            {"log_pi", log_pi_mean},
            {"q_mean", q_mean}};
}

Array2 Cql::act(const Array2& obs, bool deterministic) {
    return act_in_box(spec_, obs, [&](const Tensor& obs_hat) {
        return deterministic ? actor_.mode(obs_hat) : actor_.sample(obs_hat, rng_).action;
    });
}

void Cql::save(nn::Checkpoint& ckpt) const { save_learner(ckpt, name(), spec_, parts_, rng_, step_); }

void Cql::load(const nn::Checkpoint& ckpt) { step_ = load_learner(ckpt, name(), spec_, parts_, rng_); }

void Cql::save_actor(nn::Checkpoint& ckpt) const {
    save_actor_part(ckpt, name(), spec_, actor_, "tanh_gaussian_mean");
}

}  // namespace dydiff::learners
