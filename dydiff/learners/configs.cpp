// The learners' config keys, their docs (with sources) and their checks.
#include "dydiff/learners/configs.hpp"

#include "autograd/error.hpp"

#include <cmath>

namespace dydiff::learners {

namespace {

void check_network(const char* algo, std::size_t hidden, std::size_t layers) {
    DYDIFF_CHECK(hidden > 0 && layers > 0, algo << " config: hidden = " << hidden << ", layers = " << layers
                                                << " (both must be > 0)");
}

void check_positive(const char* algo, const char* key, float value) {
    DYDIFF_CHECK(std::isfinite(value) && value > 0.0f, algo << " config: " << key << " = " << value
                                                            << " (a finite value > 0 expected)");
}

void check_unit(const char* algo, const char* key, float value, bool closed_high) {
    DYDIFF_CHECK(std::isfinite(value) && value >= 0.0f && (closed_high ? value <= 1.0f : value < 1.0f),
                 algo << " config: " << key << " = " << value << " (expected in [0, 1" << (closed_high ? "]" : ")")
                      << ")");
}

void check_finite(const char* algo, const char* key, float value) {
    DYDIFF_CHECK(std::isfinite(value), algo << " config: " << key << " = " << value << " (a finite value expected)");
}

}  // namespace

// ---- bc ---------------------------------------------------------------------------------------------------------

void BcConfig::fields(ConfigFields& f) {
    f.add("hidden", &hidden, "width of each hidden layer of the tanh MLP actor (CORL: 256)").at_least(1);
    f.add("layers", &layers, "hidden layers (CORL: 2)").at_least(1);
    f.add("lr", &lr, "Adam learning rate (CORL: 3e-4)").positive();
    f.add("batch", &batch, "rows per update (CORL: 256)").at_least(1);
}

void BcConfig::validate() const {
    check_network("bc", hidden, layers);
    check_positive("bc", "lr", lr);
    DYDIFF_CHECK(batch > 0, "bc config: batch = 0 (must be > 0)");
}

// ---- td3bc ------------------------------------------------------------------------------------------------------

void Td3BcConfig::fields(ConfigFields& f) {
    f.add("variant", &variant,
          "canonical (Fujimoto & Gu 2021: deterministic actor, smoothing noise) or official (official code: "
          "Tanh-Gaussian actor, docs/algorithm.md §5.4.2)").one_of({"canonical", "official"});
    f.add("hidden", &hidden, "width of each hidden layer, actor and critics (Fujimoto & Gu 2021, official code: 256)").at_least(1);
    f.add("layers", &layers, "hidden layers (Fujimoto & Gu 2021, official code: 2)").at_least(1);
    f.add("actor_lr", &actor_lr, "actor Adam learning rate (Fujimoto & Gu 2021, official code: 3e-4)").positive();
    f.add("critic_lr", &critic_lr, "critic Adam learning rate (Fujimoto & Gu 2021, official code: 3e-4)").positive();
    f.add("discount", &discount, "discount γ (Fujimoto & Gu 2021, official code: 0.99)").in_range(0, 1);
    f.add("tau", &tau, "target soft-update rate (Fujimoto & Gu 2021, official code: 0.005)").in_range(0, 1);
    f.add("alpha", &alpha, "λ = alpha / mean|Q| weighs Q against BC (Fujimoto & Gu 2021, official code: 2.5)").positive();
    f.add("policy_noise", &policy_noise,
          "canonical only: std of the target smoothing noise in [-1, 1] action units (Fujimoto & Gu 2021: 0.2)").at_least(0);
    f.add("noise_clip", &noise_clip, "canonical only: clip of the smoothing noise (Fujimoto & Gu 2021: 0.5)").at_least(0);
    f.add("policy_freq", &policy_freq,
          "actor and targets updated on every policy_freq-th step (Fujimoto & Gu 2021, official code: 2)").at_least(1);
    f.add("batch", &batch, "rows per update (Fujimoto & Gu 2021, official code: 256)").at_least(1);
    f.add("reward_scale", &reward_scale, "rewards become reward_scale * r + reward_bias (official code: raw, 1)").finite();
    f.add("reward_bias", &reward_bias, "see reward_scale (official code: 0)").finite();
}

void Td3BcConfig::validate() const {
    DYDIFF_CHECK(variant == "canonical" || variant == "official",
                 "td3bc config: variant = '" << variant << "' (expected canonical or official)");
    check_network("td3bc", hidden, layers);
    check_positive("td3bc", "actor_lr", actor_lr);
    check_positive("td3bc", "critic_lr", critic_lr);
    check_unit("td3bc", "discount", discount, true);
    check_unit("td3bc", "tau", tau, true);
    check_positive("td3bc", "alpha", alpha);
    DYDIFF_CHECK(std::isfinite(policy_noise) && policy_noise >= 0.0f,
                 "td3bc config: policy_noise = " << policy_noise << " (expected >= 0)");
    DYDIFF_CHECK(std::isfinite(noise_clip) && noise_clip >= 0.0f,
                 "td3bc config: noise_clip = " << noise_clip << " (expected >= 0)");
    DYDIFF_CHECK(policy_freq >= 1, "td3bc config: policy_freq = " << policy_freq << " (expected >= 1)");
    DYDIFF_CHECK(batch > 0, "td3bc config: batch = 0 (must be > 0)");
    check_finite("td3bc", "reward_scale", reward_scale);
    check_finite("td3bc", "reward_bias", reward_bias);
}

// ---- iql --------------------------------------------------------------------------------------------------------

void IqlConfig::fields(ConfigFields& f) {
    f.add("actor", &actor,
          "gaussian (CORL default: N(tanh(MLP(s)), sigma), learned state-independent log sigma) or deterministic "
          "(tanh MLP)").one_of({"gaussian", "deterministic"});
    f.add("hidden", &hidden, "width of each hidden layer, actor, Q and V (CORL: 256)").at_least(1);
    f.add("layers", &layers, "hidden layers (CORL: 2)").at_least(1);
    f.add("actor_lr", &actor_lr, "actor Adam learning rate at step 0, cosine-decayed to 0 at max_steps (CORL: 3e-4)").positive();
    f.add("critic_lr", &critic_lr, "twin-Q Adam learning rate (CORL qf_lr: 3e-4)").positive();
    f.add("value_lr", &value_lr, "V Adam learning rate (CORL vf_lr: 3e-4)").positive();
    f.add("discount", &discount, "discount γ (CORL: 0.99)").in_range(0, 1);
    f.add("tau", &tau, "target-Q soft-update rate (CORL: 0.005)").in_range(0, 1);
    f.add("expectile", &expectile, "expectile of the V loss (CORL iql_tau: 0.7)").in_range(0, 1);
    f.add("beta", &beta, "inverse temperature of the advantage weights exp(beta A) (CORL: 3)").at_least(0);
    f.add("max_weight", &max_weight, "clip of the advantage weights (CORL EXP_ADV_MAX: 100)").positive();
    f.add("max_steps", &max_steps, "length of the actor's cosine schedule in updates (CORL max_timesteps: 1e6)").at_least(1);
    f.add("batch", &batch, "rows per update (CORL: 256)").at_least(1);
    f.add("reward_scale", &reward_scale,
          "rewards become reward_scale * r + reward_bias (CORL: 1000 / (max - min return) on locomotion; 1 = raw)").finite();
    f.add("reward_bias", &reward_bias, "see reward_scale (CORL: -1 on antmaze; 0 = raw)").finite();
}

void IqlConfig::validate() const {
    DYDIFF_CHECK(actor == "gaussian" || actor == "deterministic",
                 "iql config: actor = '" << actor << "' (expected gaussian or deterministic)");
    check_network("iql", hidden, layers);
    check_positive("iql", "actor_lr", actor_lr);
    check_positive("iql", "critic_lr", critic_lr);
    check_positive("iql", "value_lr", value_lr);
    check_unit("iql", "discount", discount, true);
    check_unit("iql", "tau", tau, true);
    DYDIFF_CHECK(std::isfinite(expectile) && expectile > 0.0f && expectile < 1.0f,
                 "iql config: expectile = " << expectile << " (expected in (0, 1))");
    check_finite("iql", "beta", beta);
    check_positive("iql", "max_weight", max_weight);
    DYDIFF_CHECK(max_steps >= 1, "iql config: max_steps = " << max_steps << " (expected >= 1)");
    DYDIFF_CHECK(batch > 0, "iql config: batch = 0 (must be > 0)");
    check_finite("iql", "reward_scale", reward_scale);
    check_finite("iql", "reward_bias", reward_bias);
}

// ---- cql --------------------------------------------------------------------------------------------------------

void CqlConfig::fields(ConfigFields& f) {
    f.add("hidden", &hidden, "width of each hidden layer, actor and critics (official code: 256)").at_least(1);
    f.add("layers", &layers, "hidden layers, ReLU (official code: 2)").at_least(1);
    f.add("actor_lr", &actor_lr, "actor Adam learning rate (official code: 3e-5)").positive();
    f.add("critic_lr", &critic_lr, "twin-critic Adam learning rate (official code: 3e-4)").positive();
    f.add("alpha_lr", &alpha_lr, "log alpha Adam learning rate (official code: 3e-5)").positive();
    f.add("discount", &discount, "discount γ (official code: 0.99)").in_range(0, 1);
    f.add("tau", &tau, "target-critic soft-update rate, every step (official code: 0.005)").in_range(0, 1);
    f.add("cql_weight", &cql_weight, "weight of the CQL regulariser (official code: 10)").at_least(0);
    f.add("cql_temperature", &cql_temperature, "temperature of the regulariser's logsumexp (official code: 1)").positive();
    f.add("num_random", &num_random,
          "samples per state in each proposal set: uniform, pi(.|s'), pi(.|s) (official code: 10)").at_least(1);
    f.add("target_entropy_per_dim", &target_entropy_per_dim,
          "target entropy = target_entropy_per_dim * A (official code: -1, i.e. -A)").finite();
    f.add("log_alpha_min", &log_alpha_min,
          "alpha = exp(clamp(log alpha, log_alpha_min, log_alpha_max)) (official code: -10)").finite();
    f.add("log_alpha_max", &log_alpha_max, "see log_alpha_min (official code: 0.5)").finite();
    f.add("batch", &batch, "rows per update (official code: 256)").at_least(1);
    f.add("reward_scale", &reward_scale, "rewards become reward_scale * r + reward_bias (official code: raw, 1)").finite();
    f.add("reward_bias", &reward_bias, "see reward_scale (official code: 0)").finite();
}

void CqlConfig::validate() const {
    check_network("cql", hidden, layers);
    check_positive("cql", "actor_lr", actor_lr);
    check_positive("cql", "critic_lr", critic_lr);
    check_positive("cql", "alpha_lr", alpha_lr);
    check_unit("cql", "discount", discount, true);
    check_unit("cql", "tau", tau, true);
    DYDIFF_CHECK(std::isfinite(cql_weight) && cql_weight >= 0.0f,
                 "cql config: cql_weight = " << cql_weight << " (expected >= 0)");
    check_positive("cql", "cql_temperature", cql_temperature);
    DYDIFF_CHECK(num_random > 0, "cql config: num_random = 0 (must be > 0)");
    check_finite("cql", "target_entropy_per_dim", target_entropy_per_dim);
    check_finite("cql", "log_alpha_min", log_alpha_min);
    check_finite("cql", "log_alpha_max", log_alpha_max);
    DYDIFF_CHECK(log_alpha_min <= log_alpha_max, "cql config: log_alpha_min = " << log_alpha_min
                                                     << " > log_alpha_max = " << log_alpha_max);
    DYDIFF_CHECK(batch > 0, "cql config: batch = 0 (must be > 0)");
    check_finite("cql", "reward_scale", reward_scale);
    check_finite("cql", "reward_bias", reward_bias);
}

// ---- sac --------------------------------------------------------------------------------------------------------

void SacConfig::fields(ConfigFields& f) {
    f.add("hidden", &hidden, "width of each hidden layer, actor and critics (SAC: 256)").at_least(1);
    f.add("layers", &layers, "hidden layers, ReLU (SAC: 2)").at_least(1);
    f.add("actor_lr", &actor_lr, "actor Adam learning rate (SAC: 3e-4)").positive();
    f.add("critic_lr", &critic_lr, "twin-critic Adam learning rate (SAC: 3e-4)").positive();
    f.add("alpha_lr", &alpha_lr, "log alpha Adam learning rate (SAC: 3e-4)").positive();
    f.add("discount", &discount, "discount γ (SAC: 0.99)").in_range(0, 1);
    f.add("tau", &tau, "target-critic soft-update rate, every step (SAC: 0.005)").in_range(0, 1);
    f.add("target_entropy_per_dim", &target_entropy_per_dim,
          "target entropy = target_entropy_per_dim * A (SAC: -1, i.e. -A)").finite();
    f.add("batch", &batch, "rows per update (SAC: 256)").at_least(1);
    f.add("reward_scale", &reward_scale, "rewards become reward_scale * r + reward_bias (SAC: raw, 1)").finite();
    f.add("reward_bias", &reward_bias, "see reward_scale (SAC: 0)").finite();
}

void SacConfig::validate() const {
    check_network("sac", hidden, layers);
    check_positive("sac", "actor_lr", actor_lr);
    check_positive("sac", "critic_lr", critic_lr);
    check_positive("sac", "alpha_lr", alpha_lr);
    check_unit("sac", "discount", discount, true);
    check_unit("sac", "tau", tau, true);
    check_finite("sac", "target_entropy_per_dim", target_entropy_per_dim);
    DYDIFF_CHECK(batch > 0, "sac config: batch = 0 (must be > 0)");
    check_finite("sac", "reward_scale", reward_scale);
    check_finite("sac", "reward_bias", reward_bias);
}

// ---- diffql -----------------------------------------------------------------------------------------------------

void DiffQlConfig::fields(ConfigFields& f) {
    f.add("actor_hidden", &actor_hidden, "noise network width (official code: 256)").at_least(1);
    f.add("actor_layers", &actor_layers, "noise network hidden layers, Mish (official code: 3)").at_least(1);
    f.add("time_dim", &time_dim, "sinusoidal time embedding width; time MLP dim -> 2 dim -> dim (official code: 16)").at_least(2);
    f.add("critic_hidden", &critic_hidden, "width of each Q hidden layer (official code: 256)").at_least(1);
    f.add("critic_layers", &critic_layers, "Q hidden layers, ReLU (official code: 2)").at_least(1);
    f.add("actor_lr", &actor_lr, "noise network Adam learning rate, no decay (official code: 3e-4)").positive();
    f.add("critic_lr", &critic_lr, "twin-critic Adam learning rate, no decay (official code: 3e-4)").positive();
    f.add("discount", &discount, "discount γ (official code: 0.99)").in_range(0, 1);
    f.add("tau", &tau, "target-critic soft-update rate, every step (official code: 0.005)").in_range(0, 1);
    f.add("diffusion_steps", &diffusion_steps, "T of the DDPM actor (official code: 5)").at_least(1);
    f.add("beta_min", &beta_min, "VP schedule beta_min (official code: 0.1)").positive();
    f.add("beta_max", &beta_max, "VP schedule beta_max (official code: 10)").positive();
    f.add("eta", &eta, "weight of the Q loss in the actor loss (official code: 1)").at_least(0);
    f.add("grad_norm", &grad_norm,
          "global L2 gradient-norm clip of the actor and of the twin critic (official code: 5)").positive();
    f.add("ema_decay", &ema_decay,
          "decay of the EMA actor that samples the TD target's actions (official code: 0.995)").in_range(0, 1);
    f.add("ema_every", &ema_every, "EMA update period in steps (official code: 5)").at_least(1);
    f.add("ema_start", &ema_start,
          "first step of EMA updates; before it the EMA actor is the initial actor (official code: 1000)").at_least(0);
    f.add("eval_samples", &eval_samples, "candidate actions per state of the evaluation action (official code: 50)").at_least(1);
    f.add("batch", &batch, "rows per update (official code: 256)").at_least(1);
    f.add("reward_scale", &reward_scale, "rewards become reward_scale * r + reward_bias (official code: raw, 1)").finite();
    f.add("reward_bias", &reward_bias, "see reward_scale (official code: 0)").finite();
}

void DiffQlConfig::validate() const {
    check_network("diffql", actor_hidden, actor_layers);
    check_network("diffql", critic_hidden, critic_layers);
    DYDIFF_CHECK(time_dim >= 4 && time_dim % 2 == 0,
                 "diffql config: time_dim = " << time_dim << " (even, >= 4 expected)");
    check_positive("diffql", "actor_lr", actor_lr);
    check_positive("diffql", "critic_lr", critic_lr);
    check_unit("diffql", "discount", discount, true);
    check_unit("diffql", "tau", tau, true);
    DYDIFF_CHECK(diffusion_steps > 0, "diffql config: diffusion_steps = 0 (must be > 0)");
    check_positive("diffql", "beta_min", beta_min);
    DYDIFF_CHECK(std::isfinite(beta_max) && beta_max >= beta_min,
                 "diffql config: beta_max = " << beta_max << " (expected >= beta_min = " << beta_min << ")");
    DYDIFF_CHECK(std::isfinite(eta) && eta >= 0.0f, "diffql config: eta = " << eta << " (expected >= 0)");
    check_positive("diffql", "grad_norm", grad_norm);
    check_unit("diffql", "ema_decay", ema_decay, true);
    DYDIFF_CHECK(ema_every > 0, "diffql config: ema_every = 0 (must be > 0)");
    DYDIFF_CHECK(ema_start >= 0, "diffql config: ema_start = " << ema_start << " (expected >= 0)");
    DYDIFF_CHECK(eval_samples > 0, "diffql config: eval_samples = 0 (must be > 0)");
    DYDIFF_CHECK(batch > 0, "diffql config: batch = 0 (must be > 0)");
    check_finite("diffql", "reward_scale", reward_scale);
    check_finite("diffql", "reward_bias", reward_bias);
}

}  // namespace dydiff::learners
