// Diffusion-QL, top to bottom: the VP schedule, the noise network, sampling, the terms of the actor loss, the
// evaluation choice, then the learner (update, act, save/load). docs/algorithm.md §5.4.5 is the source of every rule;
// the config keys are in configs.cpp.
#include "dydiff/learners/diffql.hpp"

#include "autograd/error.hpp"
#include "autograd/ops.hpp"

#include <algorithm>
#include <cmath>

namespace dydiff::learners {

namespace ag = autograd;

std::unique_ptr<Learner> make_diffql(const DiffQlConfig& config, const LearnerSpec& spec) {
    return std::make_unique<DiffQl>(spec, config);
}

// ---- the VP schedule ----------------------------------------------------------------------------------------------

VpSchedule::VpSchedule(std::size_t steps, double beta_min, double beta_max) {
    DYDIFF_CHECK(steps >= 1, "VpSchedule: diffusion_steps must be >= 1, got " << steps);
    DYDIFF_CHECK(beta_min > 0.0 && beta_max >= beta_min,
                 "VpSchedule: needs 0 < beta_min <= beta_max, got " << beta_min << ", " << beta_max);
    const double T = static_cast<double>(steps);
    double alpha_bar_t = 1.0;
    for (std::size_t i = 0; i < steps; ++i) {
        const double t = static_cast<double>(i + 1);  // the paper's t = 1..T
        const double b = 1.0 - std::exp(-beta_min / T - 0.5 * (beta_max - beta_min) * (2.0 * t - 1.0) / (T * T));
        const double prev = alpha_bar_t;
        alpha_bar_t *= 1.0 - b;
        beta.push_back(b);
        alpha_bar.push_back(alpha_bar_t);
        alpha_bar_prev.push_back(prev);
        sqrt_recip_alpha_bar.push_back(std::sqrt(1.0 / alpha_bar_t));
        sqrt_recipm1_alpha_bar.push_back(std::sqrt(1.0 / alpha_bar_t - 1.0));
        posterior_mean_x0.push_back(b * std::sqrt(prev) / (1.0 - alpha_bar_t));
        posterior_mean_xt.push_back((1.0 - prev) * std::sqrt(1.0 - b) / (1.0 - alpha_bar_t));
        const double variance = b * (1.0 - prev) / (1.0 - alpha_bar_t);
        posterior_std.push_back(std::exp(0.5 * std::log(std::max(variance, 1e-20))));
    }
}

// ---- the noise network --------------------------------------------------------------------------------------------

NoiseNet::NoiseNet(std::size_t obs_dim, std::size_t action_dim, std::size_t time_dim, std::size_t hidden,
                   std::size_t layers, data::Rng& rng)
    : obs_dim_(obs_dim),
      action_dim_(action_dim),
      time_embedding_(time_dim),
      time_mlp_({time_dim, 2 * time_dim, time_dim}, nn::Activation::mish, rng, nn::Init::torch_default),
      mid_(mlp_widths(action_dim + time_dim + obs_dim, hidden, layers, action_dim), nn::Activation::mish, rng,
           nn::Init::torch_default) {
    register_module("time_mlp", time_mlp_);
    register_module("mid", mid_);
}

Tensor NoiseNet::forward(const Tensor& x_t, const std::vector<std::size_t>& t, const Tensor& obs) const {
    const std::size_t B = x_t.dim() == 2 ? x_t.size(0) : 0;
    DYDIFF_CHECK(x_t.dim() == 2 && x_t.size(1) == action_dim_ && obs.dim() == 2 && obs.size(0) == B &&
                     obs.size(1) == obs_dim_ && t.size() == B,
                 "NoiseNet: x_t " << shape_str(x_t.shape()) << ", " << t.size() << " steps and obs "
                                  << shape_str(obs.shape()) << " are not (B, " << action_dim_ << "), B and (B, "
                                  << obs_dim_ << ")");
    Array steps = xt::empty<float>({B});  // (B) the step index as a float, as the official code embeds it
    for (std::size_t b = 0; b < B; ++b) steps(b) = static_cast<float>(t[b]);
    const Tensor t_emb = time_mlp_.forward(time_embedding_.forward(Tensor(std::move(steps))));  // (B, time_dim)
    return mid_.forward(ag::concat({x_t, t_emb, obs}, 1));                                      // (B, A)
}

// ---- sampling -----------------------------------------------------------------------------------------------------

Array2 ddpm_sample(const NoiseNet& net, const VpSchedule& schedule, const Array2& obs, data::Rng& rng) {
    DYDIFF_CHECK(obs.shape()[1] == net.obs_dim(),
                 "ddpm_sample: obs " << shape_str(obs.shape()) << " is not (B, " << net.obs_dim() << ")");
    const ag::NoGradGuard no_grad;
    const std::size_t B = obs.shape()[0];
    const std::size_t A = net.action_dim();
    const Tensor obs_t{Array(obs)};
    Array2 x = xt::empty<float>({B, A});  // (B, A) x_t, starting from x_{T-1} ~ N(0, I)
    rng.fill_normal(x.data(), x.size());
    for (std::size_t k = schedule.steps(); k-- > 0;) {
        const Array eps = net.forward(Tensor(Array(x)), std::vector<std::size_t>(B, k), obs_t).value();  // (B, A)
        const auto recip = static_cast<float>(schedule.sqrt_recip_alpha_bar[k]);
        const auto recipm1 = static_cast<float>(schedule.sqrt_recipm1_alpha_bar[k]);
        const auto c_x0 = static_cast<float>(schedule.posterior_mean_x0[k]);
        const auto c_xt = static_cast<float>(schedule.posterior_mean_xt[k]);
        const auto sigma = static_cast<float>(schedule.posterior_std[k]);
        for (std::size_t i = 0; i < x.size(); ++i) {
            const float x0 = std::clamp(recip * x.data()[i] - recipm1 * eps.data()[i], -1.0f, 1.0f);
            const float mean = c_x0 * x0 + c_xt * x.data()[i];
            x.data()[i] = k > 0 ? mean + sigma * rng.normal() : mean;  // no noise at the last step (t = 0)
        }
    }
    for (float& v : x) v = std::clamp(v, -1.0f, 1.0f);
    return x;
}

// ---- the denoising terms of the actor loss ------------------------------------------------------------------------

DenoiseTerms denoise_terms(const NoiseNet& net, const VpSchedule& schedule, const Tensor& obs, const Tensor& actions,
                           data::Rng& rng) {
    const std::size_t B = actions.size(0);
    const std::size_t A = net.action_dim();
    DYDIFF_CHECK(actions.dim() == 2 && actions.size(1) == A,
                 "denoise_terms: actions " << shape_str(actions.shape()) << " are not (B, " << A << ")");
    std::vector<std::size_t> t(B);
    for (auto& k : t) k = rng.randint(schedule.steps());
    Array eps = xt::empty<float>({B, A});  // (B, A) ε ~ N(0, I)
    rng.fill_normal(eps.data(), eps.size());
    Array x_t = xt::empty<float>({B, A});    // (B, A) √ᾱ_t a + √(1 − ᾱ_t) ε
    Array recip = xt::empty<float>({B, std::size_t{1}});    // (B, 1) 1/√ᾱ_t
    Array recipm1 = xt::empty<float>({B, std::size_t{1}});  // (B, 1) √(1/ᾱ_t − 1)
    const float* a = actions.value().data();
    for (std::size_t b = 0; b < B; ++b) {
        const auto signal = static_cast<float>(std::sqrt(schedule.alpha_bar[t[b]]));
        const auto noise = static_cast<float>(std::sqrt(1.0 - schedule.alpha_bar[t[b]]));
        for (std::size_t j = 0; j < A; ++j) x_t(b, j) = signal * a[b * A + j] + noise * eps(b, j);
        recip(b, 0) = static_cast<float>(schedule.sqrt_recip_alpha_bar[t[b]]);
        recipm1(b, 0) = static_cast<float>(schedule.sqrt_recipm1_alpha_bar[t[b]]);
    }
    const Tensor x_t_tensor(x_t);
    const Tensor eps_hat = net.forward(x_t_tensor, t, obs);  // (B, A)
    DenoiseTerms out;
    out.bc_loss = ag::mean(ag::square(eps_hat - Tensor(std::move(eps))));
    out.x0_hat = ag::clamp(Tensor(std::move(recip)) * x_t_tensor - Tensor(std::move(recipm1)) * eps_hat, -1.0f, 1.0f);
    return out;
}

Tensor diffql_q_loss(const Tensor& lead, const Tensor& other) {
    return -ag::mean(lead) / ag::stop_gradient(ag::mean(ag::abs(other)));
}

std::size_t sample_softmax_index(const float* q, std::size_t m, data::Rng& rng) {
    DYDIFF_CHECK(m > 0, "sample_softmax_index: no candidates");
    for (std::size_t j = 0; j < m; ++j)
        DYDIFF_CHECK(std::isfinite(q[j]), "sample_softmax_index: Q value " << j << " of " << m << " is " << q[j]);
    const float q_max = *std::max_element(q, q + m);
    std::vector<double> cumulative(m);
    double total = 0.0;
    for (std::size_t j = 0; j < m; ++j) {
        total += std::exp(static_cast<double>(q[j]) - static_cast<double>(q_max));
        cumulative[j] = total;
    }
    const double u = rng.uniform_double() * total;
    const auto it = std::upper_bound(cumulative.begin(), cumulative.end(), u);
    return std::min(static_cast<std::size_t>(it - cumulative.begin()), m - 1);
}

// ---- the learner --------------------------------------------------------------------------------------------------

namespace {

// Rows of `x` (B, K) each repeated n times: row b·n + k is x[b].
Array2 repeat_rows(const Array2& x, std::size_t n) {
    const std::size_t B = x.shape()[0], K = x.shape()[1];
    Array2 out = xt::empty<float>({B * n, K});
    for (std::size_t b = 0; b < B; ++b)
        for (std::size_t k = 0; k < n; ++k)
            std::copy(x.data() + b * K, x.data() + (b + 1) * K, out.data() + (b * n + k) * K);
    return out;
}

// One clipped optimiser step: zero, backward, clip the global gradient norm of `params`, step. Returns the norm
// before clipping.
float clipped_step(const Tensor& loss, nn::Adam& optimizer, const std::vector<Tensor>& params, float max_norm) {
    optimizer.zero_grad();
    Tensor(loss).backward();
    const float norm = nn::clip_grad_norm(params, max_norm);
    optimizer.step();
    return norm;
}

}  // namespace

DiffQl::DiffQl(const LearnerSpec& spec, const DiffQlConfig& config)
    : DiffQl(checked(spec, "diffql"), validated(config), data::Rng(spec.seed).fork(kInitStream)) {}

DiffQl::DiffQl(const LearnerSpec& spec, const DiffQlConfig& config, data::Rng init_rng)
    : spec_(spec),
      config_(config),
      schedule_(config.diffusion_steps, config.beta_min, config.beta_max),
      actor_(spec.obs_dim, spec.action_dim, config.time_dim, config.actor_hidden, config.actor_layers, init_rng),
      ema_actor_(spec.obs_dim, spec.action_dim, config.time_dim, config.actor_hidden, config.actor_layers, init_rng),
      critic_(spec.obs_dim, spec.action_dim, config.critic_hidden, config.critic_layers, nn::Init::normal_fan_in,
              init_rng),
      critic_target_(spec.obs_dim, spec.action_dim, config.critic_hidden, config.critic_layers, nn::Init::zeros,
                     init_rng),
      actor_opt_(actor_.named_parameters(), nn::AdamConfig{config.actor_lr}),
      critic_opt_(critic_.named_parameters(), nn::AdamConfig{config.critic_lr}),
      rng_(data::Rng(spec.seed).fork(kDrawStream)),
      parts_{{{"actor", &actor_}, {"ema_actor", &ema_actor_}, {"critic", &critic_}, {"critic_target", &critic_target_}},
             {{"actor_adam", &actor_opt_}, {"critic_adam", &critic_opt_}},
             {}} {
    copy_parameters(actor_, ema_actor_);
    copy_parameters(critic_, critic_target_);
}

Stats DiffQl::update(const data::Transitions& raw) {
    const TensorBatch b = make_batch(spec_, raw, config_.reward_scale, config_.reward_bias);

    // 1. The critics: y = r + γ (1 − d) min_j Q̄_j(s′, a′), a′ sampled from the EMA actor; MSE without ½.
    Tensor y;  // (B, 1)
    {
        const ag::NoGradGuard no_grad;
        const Array2 next_actions = ddpm_sample(ema_actor_, schedule_, b.next_obs.value(), rng_);  // (B, A)
        y = td_target(b, critic_target_.min(b.next_obs, Tensor(Array(next_actions))), config_.discount);
    }
    const auto [q1, q2] = critic_.forward(b.obs, b.actions);  // (B, 1) each
    const double q_mean = xt::mean(q1.value())();
    const Tensor critic_loss = ag::mean(ag::square(q1 - y)) + ag::mean(ag::square(q2 - y));
    const float loss_critic = checked_loss(critic_loss, "diffql", "critic_loss", step_);
    const float critic_norm = clipped_step(critic_loss, critic_opt_, critic_.parameters(), config_.grad_norm);

    // 2. The actor, against the updated critics: BC on ε plus η times the Q loss of the one-step x̂₀. With
    //    probability ½ the roles of Q₁ and Q₂ swap; the denominator is a detached scale (§5.4.5).
    //    The critics stay frozen through the backward too: their weights take no gradient from the actor loss (the
    //    backward reads the flags when it runs, so the guard must outlive clipped_step).
    const DenoiseTerms d = denoise_terms(actor_, schedule_, b.obs, b.actions, rng_);
    float loss_actor = 0.0f, loss_bc = 0.0f, loss_q = 0.0f, actor_norm = 0.0f;
    {
        const FreezeGuard freeze(critic_);
        const auto [q1_new, q2_new] = critic_.forward(b.obs, d.x0_hat);  // (B, 1) each
        const bool q1_leads = rng_.uniform() >= 0.5f;
        const Tensor& lead = q1_leads ? q1_new : q2_new;
        const Tensor& other = q1_leads ? q2_new : q1_new;
        const Tensor q_loss = diffql_q_loss(lead, other);
        const Tensor actor_loss = d.bc_loss + config_.eta * q_loss;
        loss_actor = checked_loss(actor_loss, "diffql", "actor_loss", step_);
        loss_bc = d.bc_loss.item();
        loss_q = q_loss.item();
        actor_norm = clipped_step(actor_loss, actor_opt_, actor_.parameters(), config_.grad_norm);
    }

    // 3. The EMA actor on its period once step >= ema_start (the official code checks its step counter before
    //    incrementing it), then the target critics every step.
    if (step_ >= config_.ema_start && step_ % static_cast<std::int64_t>(config_.ema_every) == 0)
        nn::soft_update(ema_actor_.parameters(), actor_.parameters(), 1.0f - config_.ema_decay);
    nn::soft_update(critic_target_.parameters(), critic_.parameters(), config_.tau);
    ++step_;

    return {{"critic_loss", loss_critic},
            {"bc_loss", loss_bc},
            {"q_loss", loss_q},
            {"actor_loss", loss_actor},
            {"q_mean", q_mean},
            {"critic_grad_norm", critic_norm},
            {"actor_grad_norm", actor_norm}};
}

Array2 DiffQl::act(const Array2& obs, bool deterministic) {
    const Array2 obs_hat = normalize_obs(spec_, obs);  // (B, S)
    if (!deterministic) return to_box_action(spec_, ddpm_sample(actor_, schedule_, obs_hat, rng_));
    // Evaluation: M candidates per state from the live actor, one drawn with probability softmax(min_j Q̄_j).
    const ag::NoGradGuard no_grad;
    const std::size_t B = obs_hat.shape()[0], A = spec_.action_dim, M = config_.eval_samples;
    const Array2 obs_rep = repeat_rows(obs_hat, M);                                          // (B·M, S)
    const Array2 candidates = ddpm_sample(actor_, schedule_, obs_rep, rng_);                  // (B·M, A)
    const Array q = critic_target_.min(Tensor(Array(obs_rep)), Tensor(Array(candidates))).value();  // (B·M, 1)
    Array2 chosen = xt::empty<float>({B, A});
    for (std::size_t i = 0; i < B; ++i) {
        const std::size_t j = sample_softmax_index(q.data() + i * M, M, rng_);
        std::copy(candidates.data() + (i * M + j) * A, candidates.data() + (i * M + j + 1) * A, chosen.data() + i * A);
    }
    return to_box_action(spec_, chosen);
}

void DiffQl::save(nn::Checkpoint& ckpt) const { save_learner(ckpt, name(), spec_, parts_, rng_, step_); }

void DiffQl::load(const nn::Checkpoint& ckpt) { step_ = load_learner(ckpt, name(), spec_, parts_, rng_); }

void DiffQl::save_actor(nn::Checkpoint& ckpt) const {
    // The live noise network under "actor/", and what its sampler and the evaluation rule need: the schedule's
    // constants, the network's shape, the number of candidates and the target critics that choose among them.
    save_actor_part(ckpt, name(), spec_, actor_, "ddpm");
    auto put_float = [&](const std::string& key, float v) { ckpt.put(key, data::NpyArray::from_data<float>({}, &v)); };
    ckpt.put_int64("ddpm/diffusion_steps", static_cast<std::int64_t>(config_.diffusion_steps));
    put_float("ddpm/beta_min", config_.beta_min);
    put_float("ddpm/beta_max", config_.beta_max);
    ckpt.put_int64("ddpm/time_dim", static_cast<std::int64_t>(config_.time_dim));
    ckpt.put_int64("ddpm/actor_hidden", static_cast<std::int64_t>(config_.actor_hidden));
    ckpt.put_int64("ddpm/actor_layers", static_cast<std::int64_t>(config_.actor_layers));
    ckpt.put_int64("ddpm/eval_samples", static_cast<std::int64_t>(config_.eval_samples));
    ckpt.put_int64("ddpm/critic_hidden", static_cast<std::int64_t>(config_.critic_hidden));
    ckpt.put_int64("ddpm/critic_layers", static_cast<std::int64_t>(config_.critic_layers));
    ckpt.put_module("ddpm/critic", critic_target_);
}

}  // namespace dydiff::learners
