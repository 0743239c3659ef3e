// The exported policy file (docs/embedding.md): one NPZ archive, the names of its entries in one place so that the
// writer (dydiff/learners/actor_export.cpp, linked with the training library) and the reader (embed/policy.cpp,
// linked into a user's program) cannot drift apart. Header-only, no dependency.
//
//   format                     uint8 text "dydiff-policy"
//   version                    int64 () = 1
//   kind                       uint8 text "mlp" or "ddpm"
//   obs/mean, obs/std          float32 (S)      z = (obs - mean) / (std + eps)
//   obs/eps                    float32 ()
//   action/low, action/high    float32 (A)      action = clip(low + (y + 1) h, low, high), h = (high - low) / 2,
//                                               y the network's action in [-1, 1] (learners::to_box_action)
//   <net>/activation           uint8 text       hidden activation: relu, silu, mish, tanh, identity
//   <net>/output_activation    uint8 text       after the last layer (tanh or identity)
//   <net>/<l>/weight           float32 (O, I)   layer l = 0, 1, ... (PyTorch layout: y = W x + b)
//   <net>/<l>/bias             float32 (O)
// kind "mlp":  net "actor": z (S) -> y (A).
// kind "ddpm": Diffusion-QL's actor (docs/algorithm.md §5.4.5) and its critics:
//   ddpm/betas     float64 (T)    the VP schedule beta_1..beta_T
//   ddpm/samples   int64 ()       K candidate actions per call (1: one sample, no critic)
//   net "ddpm/time":  sinusoid(t) (D) -> t_emb (Dt); sinusoid as nn::SinusoidalEmbedding, D = the net's input width,
//                     t = 0..T-1 the step index
//   net "ddpm/noise": [x_t (A), t_emb (Dt), z (S)] -> eps (A)
//   nets "critic/q1", "critic/q2" (when K > 1): [z (S), x (A)] -> Q (1); the candidate is drawn from
//                     softmax(min(Q1, Q2)) over the K candidates
#pragma once

#include <cstdint>

namespace dydiff::embed::format {

constexpr const char* kMagic = "dydiff-policy";
constexpr std::int64_t kVersion = 1;

constexpr const char* kFormatKey = "format";
constexpr const char* kVersionKey = "version";
constexpr const char* kKindKey = "kind";
constexpr const char* kObsMean = "obs/mean";
constexpr const char* kObsStd = "obs/std";
constexpr const char* kObsEps = "obs/eps";
constexpr const char* kActionLow = "action/low";
constexpr const char* kActionHigh = "action/high";

constexpr const char* kKindMlp = "mlp";
constexpr const char* kActorNet = "actor";

constexpr const char* kKindDdpm = "ddpm";
constexpr const char* kDdpmBetas = "ddpm/betas";
constexpr const char* kDdpmSamples = "ddpm/samples";
constexpr const char* kDdpmTimeNet = "ddpm/time";
constexpr const char* kDdpmNoiseNet = "ddpm/noise";
constexpr const char* kCriticQ1 = "critic/q1";
constexpr const char* kCriticQ2 = "critic/q2";

// Per network "<net>/...":
constexpr const char* kActivation = "activation";
constexpr const char* kOutputActivation = "output_activation";
constexpr const char* kWeight = "weight";
constexpr const char* kBias = "bias";

}  // namespace dydiff::embed::format
