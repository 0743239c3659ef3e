// The pieces every learner of dydiff/learners/ shares, so that each learner file reads as its algorithm alone:
//   - the spec's maps: observation z-score, actions between [-1, 1] (the networks' scale) and the env's box;
//   - a minibatch of RAW transitions as network-scale tensors, and the TD target r + γ (1 − d) v';
//   - networks: TwinQ (two Q MLPs on concat(ŝ, a)), TanhGaussianActor (μ and log σ, tanh-squashed samples with the
//     change-of-variables log-probability), TanhActor (a deterministic tanh MLP), parameter copies and a guard that
//     freezes a network while a loss backpropagates through it;
//   - save/load of a learner's whole state (spec, networks, optimisers, Rng, step, scalars) from one list of parts.
// Layering: dydiff/learners (on nn/, data/, autograd/). Shapes: B batch, S observation dim, A action dim.
// Sources: docs/algorithm.md §5.4.1 (critics, TD target with terminal masking), §5.4.2 (the Tanh-Gaussian actor),
// §5.4.4 (the tanh log-probability).
#pragma once

#include "autograd/tensor.hpp"
#include "data/rng.hpp"
#include "data/transitions.hpp"
#include "dydiff/learners/learner.hpp"
#include "nn/checkpoint.hpp"
#include "nn/init.hpp"
#include "nn/mlp.hpp"
#include "nn/optim.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace dydiff::learners {

using autograd::Array;
using autograd::Tensor;

/// A learner's two random streams, forks of data::Rng(spec.seed): network initialisation, and every draw of
/// update() and act() (the stream saved with the state).
constexpr std::uint64_t kInitStream = 0;
constexpr std::uint64_t kDrawStream = 1;

// ---- the spec: observation z-score, action box ------------------------------------------------------------------

/// Fails unless the spec is usable: S, A > 0, every vector of its size, std > 0, low < high, all finite.
/// `who` names the learner in the message.
void check_spec(const LearnerSpec& spec, const std::string& who);
/// The spec of a dataset: z-score statistics of its RAW observations (M, S) as docs/algorithm.md §7.3 has them
/// (population mean; population std + 1e-6, a constant column's std taken as 1 first, data::ZScoreNormalizer::fit),
/// the env's action box, and the seed.
LearnerSpec make_spec(const Array2& observations, const std::vector<float>& action_low,
                      const std::vector<float>& action_high, std::uint64_t seed);
/// `spec` after check_spec, for a constructor's member-initialiser list.
const LearnerSpec& checked(const LearnerSpec& spec, const std::string& who);
/// `config` after config.validate(), for a constructor's member-initialiser list.
template <class Config>
const Config& validated(const Config& config) {
    config.validate();
    return config;
}
/// (obs − mean) / std per column: RAW obs (B, S) -> z-scored (B, S).
Array2 normalize_obs(const LearnerSpec& spec, const Array2& obs);
/// Network actions u ∈ [−1, 1] (B, A) -> the box: low + (u + 1)(high − low)/2.
Array2 to_box_action(const LearnerSpec& spec, const Array2& u);
/// Box actions (B, A) -> [−1, 1]: 2(a − low)/(high − low) − 1, clipped to [−1, 1] (a data action on or past a bound
/// maps to ±1 exactly).
Array2 to_unit_action(const LearnerSpec& spec, const Array2& a);

// ---- batches ----------------------------------------------------------------------------------------------------

/// One minibatch at the networks' scale; every tensor is a constant (no gradient).
struct TensorBatch {
    Tensor obs;       // (B, S) z-scored
    Tensor actions;   // (B, A) in [−1, 1]
    Tensor rewards;   // (B, 1) reward_scale · r + reward_bias
    Tensor next_obs;  // (B, S) z-scored
    Tensor not_done;  // (B, 1) 1 − done: 0 masks the bootstrap of a true termination
    std::size_t size = 0;  // B
};

/// RAW transitions -> TensorBatch. Fails on a width other than the spec's or an empty batch.
/// The reward affine map is the per-env-family reward handling written in each learner's config.
TensorBatch make_batch(const LearnerSpec& spec, const data::Transitions& batch, float reward_scale,
                       float reward_bias);

/// y = r + γ (1 − d) v' (B, 1), with v' (B, 1) the bootstrap value of s' (min of target Qs, or V(s')); no graph.
Tensor td_target(const TensorBatch& batch, const Tensor& next_value, float discount);

// ---- losses and their pieces (each checked in closed form in test/dydiff/learners) -------------------------------

/// IQL's expectile loss (Kostrikov et al. 2021, eq. 5; CORL asymmetric_l2_loss): mean(|τ − 1[u < 0]| u²) over all
/// entries of u = Q̄(s, a) − V(s). τ = 0.5 is half the MSE; τ > 0.5 weighs underestimates of Q̄ by V more.
Tensor expectile_loss(const Tensor& u, float expectile);

/// TD3+BC's λ = α / mean|Q| over the entries of q (Fujimoto & Gu 2021 eq. 3), a constant (detached).
double td3bc_lambda(float alpha, const Array& q);

/// IQL's advantage weights min(exp(β A), max_weight) elementwise (CORL), constants (B, 1) from A (B, 1).
Array advantage_weights(const Array& advantage, float beta, float max_weight);

/// log N(x; μ, σ) summed over the last axis: (B, 1) from x, μ (B, A) and log σ (B, A) or (A).
Tensor gaussian_log_prob(const Tensor& x, const Tensor& mean, const Tensor& log_std);

/// The loss's value; fails naming the learner, the loss and the step when it is NaN or Inf.
float checked_loss(const Tensor& loss, const std::string& who, const char* loss_name, std::int64_t step);

/// One optimiser step on `loss`: zero the optimiser's gradients, backward, step. Returns the loss value
/// (checked finite first, so a NaN never reaches the weights).
float minimize(const Tensor& loss, nn::Adam& optimizer, const std::string& who, const char* loss_name,
               std::int64_t step);

// ---- networks ---------------------------------------------------------------------------------------------------

/// {in, hidden × layers, out}.
std::vector<std::size_t> mlp_widths(std::size_t in, std::size_t hidden, std::size_t layers, std::size_t out);

/// target <- source, parameter by parameter (same architecture, checked).
void copy_parameters(const nn::Module& source, nn::Module& target);

/// While alive, `module`'s parameters take no gradient: a loss that backpropagates through it (the actor loss
/// through Q(s, π(s))) reaches the inputs only, and the module's weight gradients are neither computed nor
/// accumulated. Restores each parameter's flag on destruction.
/// NOTE: the backward reads the flags when it runs, not when the graph was built: keep the guard alive until after
/// backward() (the optimiser step), or the frozen module's weight gradients are computed after all.
class FreezeGuard {
public:
    explicit FreezeGuard(const nn::Module& module);
    ~FreezeGuard();
    FreezeGuard(const FreezeGuard&) = delete;
    FreezeGuard& operator=(const FreezeGuard&) = delete;

private:
    std::vector<Tensor> params_;
    std::vector<bool> was_trainable_;
};

/// Two Q networks Q_i(ŝ, a) = MLP_i(concat(ŝ, a)), {S + A, hidden × layers, 1}, ReLU (§5.4.1). Parameters "q1.*",
/// "q2.*". The learners hold a second TwinQ as the target copy (built with Init::zeros, then copy_parameters).
class TwinQ : public nn::Module {
public:
    TwinQ(std::size_t obs_dim, std::size_t action_dim, std::size_t hidden, std::size_t layers, nn::Init init,
          data::Rng& rng);
    /// (Q1, Q2), each (B, 1), from obs (B, S) and actions (B, A) (one concat for both).
    std::pair<Tensor, Tensor> forward(const Tensor& obs, const Tensor& actions) const;
    /// Q1 alone (B, 1).
    Tensor q1(const Tensor& obs, const Tensor& actions) const;
    /// min(Q1, Q2) (B, 1).
    Tensor min(const Tensor& obs, const Tensor& actions) const;

private:
    std::size_t obs_dim_, action_dim_;
    nn::MLP q1_, q2_;
};

/// log π(tanh(u)) of the tanh-squashed Gaussian (§5.4.4), summed over the A dims: (B, 1) from u, μ, log σ (B, A):
///   gaussian_log_prob(u, μ, log σ) − Σ 2 (ln 2 − u − softplus(−2u)),
/// where the bracket is log(1 − tanh²u) written stably. Composed of autograd ops (no hand-written backward).
Tensor tanh_gaussian_log_prob(const Tensor& u, const Tensor& mean, const Tensor& log_std);

/// The Tanh-Gaussian actor of the official code (§5.4.2): MLP {S, hidden × layers, 2A}, ReLU, output [μ, log σ],
/// log σ clamped to [−20, 2]. Actions in (−1, 1); the learner scales them to the box.
class TanhGaussianActor : public nn::Module {
public:
    static constexpr float kLogStdMin = -20.0f;  // official code (rlkit/policy.py LOG_SIG_MIN), §5.4.2
    static constexpr float kLogStdMax = 2.0f;    // official code (LOG_SIG_MAX), §5.4.2

    struct Head {
        Tensor mean;     // (B, A) μ
        Tensor log_std;  // (B, A) clamped log σ
    };
    struct Sample {
        Tensor action;    // (B, A) tanh(u), u = μ + σ ε: reparameterised, gradients reach μ and σ
        Tensor log_prob;  // (B, 1) log π(action | s)
    };

    TanhGaussianActor(std::size_t obs_dim, std::size_t action_dim, std::size_t hidden, std::size_t layers,
                      nn::Init init, data::Rng& rng);
    Head forward(const Tensor& obs) const;
    /// A reparameterised sample with its log-probability; ε ~ N(0, 1) (B, A) drawn from rng.
    Sample sample(const Tensor& obs, data::Rng& rng) const;
    /// The deterministic action tanh(μ) (B, A).
    Tensor mode(const Tensor& obs) const;

private:
    std::size_t action_dim_;
    nn::MLP net_;
};

/// The deterministic actor of canonical TD3+BC, BC and CORL: MLP {S, hidden × layers, A}, ReLU, tanh output.
class TanhActor : public nn::Module {
public:
    TanhActor(std::size_t obs_dim, std::size_t action_dim, std::size_t hidden, std::size_t layers, nn::Init init,
              data::Rng& rng);
    /// Actions in [−1, 1] (B, A).
    Tensor forward(const Tensor& obs) const;

private:
    nn::MLP net_;
};

/// Runs `actor` (obs z-scored (B, S) -> unit actions (B, A)) on RAW obs without a graph and scales to the box.
template <class UnitPolicy>
Array2 act_in_box(const LearnerSpec& spec, const Array2& obs, UnitPolicy&& unit_policy) {
    const autograd::NoGradGuard no_grad;
    const Tensor u = unit_policy(Tensor(Array(normalize_obs(spec, obs))));
    Array2 unit = u.value();
    return to_box_action(spec, unit);
}

// ---- save / load ------------------------------------------------------------------------------------------------

/// Everything a learner saves beyond its spec, Rng and step, by name: a learner lists its parts once and both
/// save() and load() walk that list, so nothing can be saved and then forgotten on load.
struct LearnerParts {
    std::vector<std::pair<std::string, nn::Module*>> modules;     // networks and target copies
    std::vector<std::pair<std::string, nn::Adam*>> optimizers;    // moments and step counts
    std::vector<std::pair<std::string, double*>> scalars;         // e.g. the last actor loss reported in Stats
};

/// Keys: "learner/algo" (bytes), "learner/spec/*", "learner/step", "learner/rng", "learner/<module>/<param>",
/// "learner/<optimizer>/m.<param>" / "v.<param>" / "steps", "learner/scalar/<name>".
void save_learner(nn::Checkpoint& ckpt, const std::string& algo, const LearnerSpec& spec, const LearnerParts& parts,
                  const data::Rng& rng, std::int64_t step);
/// The inverse of save_learner. Fails (naming the checkpoint's source) when it holds another algo or a different
/// spec (dims, box, obs statistics: bit for bit), or when a part is missing or mis-shaped. Returns the step.
std::int64_t load_learner(const nn::Checkpoint& ckpt, const std::string& algo, const LearnerSpec& spec,
                          const LearnerParts& parts, data::Rng& rng);

/// The deployable actor (Learner::save_actor). Its MLP is "actor/net.layers.<i>.weight" (O, I) and ".bias" (O),
/// ReLU between layers; the action in [−1, 1] comes from the last layer's output y by "actor/head" (bytes):
///   "tanh"               y has A entries: a = tanh(y) (BC, canonical TD3+BC, IQL's mean);
///   "tanh_gaussian_mean" y = [μ, log σ] has 2A entries: a = tanh(μ) (official TD3+BC, CQL).
/// Then a goes to the box (to_box_action), and observations are z-scored with "learner/spec/obs_mean", "obs_std"
/// first. Other "actor/*" entries (IQL's log_std) are not needed for the deterministic action.
/// "ddpm" (Diffusion-QL) is not an MLP head: "actor/*" is the noise network ("time_mlp.layers.*", "mid.layers.*",
/// Mish), and the sampler's constants, the candidates' count and the target critics that choose among them are
/// under "ddpm/*" (DiffQl::save_actor in diffql.cpp).
void save_actor_part(nn::Checkpoint& ckpt, const std::string& algo, const LearnerSpec& spec,
                     const nn::Module& actor, const std::string& head);

/// The spec stored by save_learner / save_actor_part (to rebuild a learner for evaluation or export).
LearnerSpec load_spec(const nn::Checkpoint& ckpt);
/// The algo name stored by save_learner / save_actor_part.
std::string load_algo(const nn::Checkpoint& ckpt);

}  // namespace dydiff::learners
