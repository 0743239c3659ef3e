// Writing the exported policy file (issue 8, `dydiff export`; format in embed/policy_format.hpp and
// docs/embedding.md), which dydiff::embed::Policy runs with no training code. policy_from_actor() converts what a
// learner's save_actor() writes (learners::save_actor_part); the put_* functions write a policy from dense networks:
//   - an MLP actor (BC, TD3+BC, CQL, IQL): the layers that map the normalised observation to the network action y
//     in [-1, 1] (tanh output) or to an unbounded y that the box clips (identity output); a Tanh-Gaussian actor
//     exports its mean head only (keep_outputs), since its deterministic action is tanh(mu);
//   - Diffusion-QL: the time MLP, the noise network, the beta schedule, the candidate count and both critics.
// The embedded action is clip(low + (y + 1) h, low, high), h = (high - low) / 2, as learners::to_box_action.
// Layering: dydiff/learners (on nn/, embed/policy_format.hpp for the key names).
#pragma once

#include "dydiff/learners/learner.hpp"
#include "nn/activation.hpp"
#include "nn/checkpoint.hpp"

#include <cstddef>
#include <cstdint>
#include <vector>

namespace dydiff::learners {

/// One dense network: y = out_act(W_L ... act(W_1 x + b_1) ...).
struct ExportNet {
    std::vector<autograd::Array> weights;  // (O, I) each, PyTorch layout as nn::Linear
    std::vector<autograd::Array> biases;   // (O) each
    nn::Activation activation = nn::Activation::relu;             // between layers
    nn::Activation output_activation = nn::Activation::identity;  // after the last layer
};

/// The layers of a module built like nn::MLP (parameters "layers.<l>.weight" (O, I), "layers.<l>.bias" (O)).
ExportNet export_net(const nn::Module& mlp, nn::Activation activation, nn::Activation output_activation);
/// `net` with only the first `rows` outputs of its last layer (a Tanh-Gaussian actor's [mu, log sigma] -> mu).
ExportNet keep_outputs(ExportNet net, std::size_t rows);

/// What every exported policy carries: the observation normaliser z = (obs - mean) / (std + eps) and the action box.
struct ExportSpec {
    std::vector<float> obs_mean, obs_std;        // (S)
    float obs_eps = 0.0f;                        // added to obs_std, as data::ZScoreNormalizer does
    std::vector<float> action_low, action_high;  // (A), low < high
};

/// The spec of a learner built from `spec`, whose normaliser divides by obs_std + obs_eps.
ExportSpec export_spec(const LearnerSpec& spec, float obs_eps);

/// The policy file of a learner's deployable actor, `actor_part` as save_actor() writes it (learners/common.hpp,
/// save_actor_part): heads "tanh" and "tanh_gaussian_mean" ("actor/net.layers.<i>.*", ReLU) become kind "mlp" (tanh
/// output, the mu rows for tanh_gaussian_mean); head "ddpm" (Diffusion-QL: "actor/time_mlp.*", "actor/mid.*",
/// "ddpm/*" with the target critic) becomes kind "ddpm". obs_eps is 0 (normalize_obs divides by obs_std alone);
/// "learner/algo" is kept for provenance. Fails naming the key on a part it cannot convert.
nn::Checkpoint policy_from_actor(const nn::Checkpoint& actor_part);

/// kind "mlp": `actor` maps z (S) to y (A). Fails on inconsistent shapes.
void put_mlp_policy(nn::Checkpoint& ckpt, const ExportSpec& spec, const ExportNet& actor);

/// kind "ddpm" (Diffusion-QL, docs/algorithm.md §5.4.5): betas (T), `samples` candidates K, the time MLP
/// sinusoid (D) -> t_emb (Dt), the noise network [x_t (A), t_emb (Dt), z (S)] -> eps (A), and for K > 1 the two
/// critics [z (S), x (A)] -> Q that pick the candidate by softmax(min(Q1, Q2)). Fails on inconsistent shapes.
void put_ddpm_policy(nn::Checkpoint& ckpt, const ExportSpec& spec, const std::vector<double>& betas,
                     std::int64_t samples, const ExportNet& time_net, const ExportNet& noise_net,
                     const ExportNet* q1, const ExportNet* q2);

}  // namespace dydiff::learners
