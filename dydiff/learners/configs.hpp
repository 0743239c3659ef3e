// The hyperparameters of every learner: one plain struct per algorithm, every field a key with its source
// ("official code" = the DyDiff code, docs/algorithm.md §5.4.1-5.4.2; "Fujimoto & Gu 2021" = TD3+BC's paper and
// code, §5.4.3; "CORL" = the CORL single-file baselines, §5.4.6-5.4.7). Keys are flat inside each struct; a config
// file puts them in a table named after the algorithm ([td3bc] alpha = 2.5). fields() only lists the keys (no
// checks); validate() checks the values and is called by each learner's constructor. Each struct is followed by the
// factory its learner file defines; dydiff/learners/registry.hpp maps algorithm names to them.
// Layering: dydiff/learners (on dydiff/run/config.hpp).
#pragma once

#include "dydiff/learners/learner.hpp"
#include "dydiff/run/config.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace dydiff::learners {

/// Behaviour cloning: a deterministic tanh MLP regressed on the data actions (CORL any_percent_bc with frac = 1,
/// which is also the brief's BC: 256-256 ReLU, MSE, Adam 3e-4).
struct BcConfig {
    std::size_t hidden = 256;  // width of each hidden layer (CORL)
    std::size_t layers = 2;    // hidden layers (CORL)
    float lr = 3e-4f;          // Adam learning rate (CORL)
    std::size_t batch = 256;   // rows per update, sampled by the caller (CORL)

    void fields(ConfigFields& f);
    void validate() const;
};
/// Defined in bc.cpp.
std::unique_ptr<Learner> make_bc(const BcConfig& config, const LearnerSpec& spec);

/// TD3+BC. variant "canonical" = Fujimoto & Gu 2021 (deterministic tanh actor, target policy smoothing, PyTorch
/// default init, critic loss MSE1 + MSE2, BC term MSE); "official" = the DyDiff code (§5.4.2: Tanh-Gaussian actor,
/// stochastic target action without smoothing, reparameterised sample in λ and the actor loss, ½ MSE critics,
/// ½ MSE BC term, weights N(0, 1/fan_in) with zero biases). Both update the actor on steps 2, 4, 6, ... (the step
/// counter is incremented before the check) and then soft-update all targets.
struct Td3BcConfig {
    std::string variant = "canonical";  // "canonical" (Fujimoto & Gu 2021) or "official" (official code, §5.4.2)
    std::size_t hidden = 256;           // width of each hidden layer, actor and critics (Fujimoto & Gu 2021; §5.4.2)
    std::size_t layers = 2;             // hidden layers (Fujimoto & Gu 2021; §5.4.2)
    float actor_lr = 3e-4f;             // Adam learning rate of the actor (Fujimoto & Gu 2021; §5.4.2)
    float critic_lr = 3e-4f;            // Adam learning rate of the critics (Fujimoto & Gu 2021; §5.4.2)
    float discount = 0.99f;             // γ (Fujimoto & Gu 2021; §5.4.2)
    float tau = 0.005f;                 // target soft-update rate (Fujimoto & Gu 2021; §5.4.2)
    float alpha = 2.5f;                 // λ = α / mean|Q| (Fujimoto & Gu 2021; §5.4.2)
    float policy_noise = 0.2f;          // canonical: std of the target smoothing noise, [-1, 1] units (Fujimoto & Gu)
    float noise_clip = 0.5f;            // canonical: clip of that noise (Fujimoto & Gu 2021)
    std::int64_t policy_freq = 2;       // actor and targets every policy_freq steps (Fujimoto & Gu 2021; §5.4.2)
    std::size_t batch = 256;            // rows per update, sampled by the caller (Fujimoto & Gu 2021; §5.4.2)
    float reward_scale = 1.0f;          // r <- reward_scale r + reward_bias (official code: raw rewards, §5.4.1)
    float reward_bias = 0.0f;           // see reward_scale

    void fields(ConfigFields& f);
    void validate() const;
};
/// Defined in td3bc.cpp.
std::unique_ptr<Learner> make_td3bc(const Td3BcConfig& config, const LearnerSpec& spec);

/// IQL (Kostrikov et al. 2021) with the CORL defaults: expectile regression of V on the target twin-Q, Q on
/// r + γ (1 − d) V(s'), advantage-weighted regression of the actor with weights min(exp(β A), 100), a cosine schedule
/// of the actor's learning rate over max_steps.
struct IqlConfig {
    std::string actor = "gaussian";   // "gaussian" (CORL default: N(tanh(MLP(s)), σ), state-independent log σ)
                                      // or "deterministic" (tanh MLP, squared-error weights) (CORL)
    std::size_t hidden = 256;         // width of each hidden layer, actor, Q and V (CORL)
    std::size_t layers = 2;           // hidden layers (CORL)
    float actor_lr = 3e-4f;           // Adam learning rate of the actor at step 0 (CORL)
    float critic_lr = 3e-4f;          // Adam learning rate of the twin Q (CORL qf_lr)
    float value_lr = 3e-4f;           // Adam learning rate of V (CORL vf_lr)
    float discount = 0.99f;           // γ (CORL)
    float tau = 0.005f;               // target-Q soft-update rate (CORL)
    float expectile = 0.7f;           // expectile τ of the V loss (CORL iql_tau)
    float beta = 3.0f;                // inverse temperature of the advantage weights (CORL)
    float max_weight = 100.0f;        // clip of exp(β A) (CORL EXP_ADV_MAX)
    std::int64_t max_steps = 1000000; // length of the actor's cosine schedule, in updates (CORL max_timesteps)
    std::size_t batch = 256;          // rows per update, sampled by the caller (CORL)
    float reward_scale = 1.0f;        // r <- reward_scale r + reward_bias (CORL: 1000 / (max − min return) for
                                      // locomotion, −1 bias for antmaze; 1, 0 = raw)
    float reward_bias = 0.0f;         // see reward_scale

    void fields(ConfigFields& f);
    void validate() const;
};
/// Defined in iql.cpp.
std::unique_ptr<Learner> make_iql(const IqlConfig& config, const LearnerSpec& spec);

/// CQL as the official code runs it (docs/algorithm.md §5.4.4, §11 P22): SAC with automatic entropy tuning, the
/// Tanh-Gaussian actor, twin critics with the importance-sampled logsumexp regulariser (Lagrange off), no entropy
/// term in the TD target, updates in the order α, actor, critics. Weights N(0, 1/fan_in), zero biases (§11 P19).
struct CqlConfig {
    std::size_t hidden = 256;              // width of each hidden layer, actor and critics (official code, §5.4.1)
    std::size_t layers = 2;                // hidden layers, ReLU (official code, §5.4.1)
    float actor_lr = 3e-5f;                // Adam learning rate of the actor (official code, §5.4.4)
    float critic_lr = 3e-4f;               // Adam learning rate of the twin critic (official code, §5.4.4)
    float alpha_lr = 3e-5f;                // Adam learning rate of log α (official code, §5.4.4)
    float discount = 0.99f;                // γ (official code, §5.4.1)
    float tau = 0.005f;                    // target-critic soft-update rate, every step (official code, §5.4.1)
    float cql_weight = 10.0f;              // weight of the regulariser (official code, §5.4.4)
    float cql_temperature = 1.0f;          // temperature of its logsumexp (official code, §5.4.4)
    std::size_t num_random = 10;           // samples per state in each of the three proposal sets (official code)
    float target_entropy_per_dim = -1.0f;  // target entropy = this · A (official code, §5.4: −A)
    float log_alpha_min = -10.0f;          // α = exp(clamp(log α, log_alpha_min, log_alpha_max)) (official code)
    float log_alpha_max = 0.5f;            // see log_alpha_min (official code, §5.4.4)
    std::size_t batch = 256;               // rows per update, sampled by the caller (official code, §5.4.1)
    float reward_scale = 1.0f;             // r <- reward_scale r + reward_bias (official code: raw rewards, §5.4.1)
    float reward_bias = 0.0f;              // see reward_scale

    void fields(ConfigFields& f);
    void validate() const;
};
/// Defined in cql.cpp.
std::unique_ptr<Learner> make_cql(const CqlConfig& config, const LearnerSpec& spec);

/// Diffusion-QL as the official code runs it (docs/algorithm.md §5.4.5, §11 P16): a T-step VP DDPM actor with
/// ε-prediction, the Q loss on the one-step x̂₀ reconstruction, critic targets from an EMA actor, gradient-norm
/// clipping, and the evaluation action chosen among eval_samples samples by softmax(min(Q̄₁, Q̄₂)). The noise network
/// has PyTorch's default init (§5.4.5), the critics N(0, 1/fan_in) weights and zero biases (§5.4.1, §11 P19).
struct DiffQlConfig {
    std::size_t actor_hidden = 256;   // noise network width (official code, §5.4: 3 × (Linear 256 + Mish))
    std::size_t actor_layers = 3;     // noise network hidden layers, Mish (official code, §5.4.5)
    std::size_t time_dim = 16;        // sinusoidal time embedding; MLP dim -> 2 dim -> dim (official code, §5.4.5)
    std::size_t critic_hidden = 256;  // width of each Q hidden layer (official code, §5.4.1)
    std::size_t critic_layers = 2;    // Q hidden layers, ReLU (official code, §5.4.1)
    float actor_lr = 3e-4f;           // Adam learning rate of the noise network, no decay (official code, §5.4.5)
    float critic_lr = 3e-4f;          // Adam learning rate of the twin critic, no decay (official code, §5.4.5)
    float discount = 0.99f;           // γ (official code, §5.4.1)
    float tau = 0.005f;               // target-critic soft-update rate, every step (official code, §5.4.1)
    std::size_t diffusion_steps = 5;  // T (official code, §5.4.5)
    float beta_min = 0.1f;            // VP schedule β_min (official code, §5.4.5)
    float beta_max = 10.0f;           // VP schedule β_max (official code, §5.4.5)
    float eta = 1.0f;                 // weight of the Q loss in the actor loss (official code, §5.4.5)
    float grad_norm = 5.0f;           // global L2 gradient clip of the actor and of the twin critic (official code)
    float ema_decay = 0.995f;         // decay of the EMA actor (official code, §5.4.5)
    std::size_t ema_every = 5;        // EMA update period in steps (official code, §5.4.5)
    std::int64_t ema_start = 1000;    // first step of EMA updates; before it the EMA actor is the initial actor
    std::size_t eval_samples = 50;    // candidate actions per state of the evaluation action (official code, §5.4.5)
    std::size_t batch = 256;          // rows per update, sampled by the caller (official code, §5.4.1)
    float reward_scale = 1.0f;        // r <- reward_scale r + reward_bias (official code: raw rewards, §5.4.1)
    float reward_bias = 0.0f;         // see reward_scale

    void fields(ConfigFields& f);
    void validate() const;
};
/// Defined in diffql.cpp.
std::unique_ptr<Learner> make_diffql(const DiffQlConfig& config, const LearnerSpec& spec);

/// SAC (Haarnoja et al. 2018, "Soft Actor-Critic Algorithms and Applications"; docs/algorithm.md §5.4.8), made to
/// train behaviour policies online (dydiff/agent/online.hpp), and usable offline like any learner: Tanh-Gaussian
/// actor, twin critics, automatic entropy temperature, the entropy term in the TD target, updates in the order α,
/// actor, critics, PyTorch's default initialisation.
struct SacConfig {
    std::size_t hidden = 256;              // width of each hidden layer, actor and critics (SAC: 256)
    std::size_t layers = 2;                // hidden layers, ReLU (SAC: 2)
    float actor_lr = 3e-4f;                // Adam learning rate of the actor (SAC)
    float critic_lr = 3e-4f;               // Adam learning rate of the twin critic (SAC)
    float alpha_lr = 3e-4f;                // Adam learning rate of log α (SAC)
    float discount = 0.99f;                // γ (SAC)
    float tau = 0.005f;                    // target-critic soft-update rate, every step (SAC)
    float target_entropy_per_dim = -1.0f;  // target entropy = this · A (SAC: −A)
    std::size_t batch = 256;               // rows per update, sampled by the caller (SAC)
    float reward_scale = 1.0f;             // r <- reward_scale r + reward_bias (SAC with auto-α: raw rewards)
    float reward_bias = 0.0f;              // see reward_scale

    void fields(ConfigFields& f);
    void validate() const;
};
/// Defined in sac.cpp.
std::unique_ptr<Learner> make_sac(const SacConfig& config, const LearnerSpec& spec);

/// One config per algorithm, the registry's input (a run uses only the one of its algo).
struct LearnerConfigs {
    BcConfig bc;
    Td3BcConfig td3bc;
    IqlConfig iql;
    CqlConfig cql;
    DiffQlConfig diffql;
    SacConfig sac;
};

}  // namespace dydiff::learners
