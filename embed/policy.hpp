// dydiff::embed::Policy: a trained actor, loaded from the exported policy file (embed/policy_format.hpp,
// docs/embedding.md), mapping one raw observation to one action. For a robot controller or a game loop: no autograd,
// no optimiser, no training code, no dependency but the C++17 standard library (libdydiff_embed.a).
//
//   auto policy = dydiff::embed::Policy::load("policy.npz");
//   policy.act(obs, action);   // obs: obs_dim() floats, action: action_dim() floats
//
// Every buffer is allocated by load(); act() allocates nothing and never throws. Kinds: "mlp" (deterministic:
// action = post(MLP(norm(obs)))) and "ddpm" (Diffusion-QL: K denoised candidates, one drawn by the critics' softmax;
// its noise comes from the policy's own seeded generator, the xoshiro256** stream of data::Rng).
// A Policy is not thread-safe (act() writes its scratch buffers): use one per thread.
#pragma once

#include "embed/npz_view.hpp"

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dydiff::embed {

enum class Activation { relu, silu, mish, tanh, identity };

/// A dense network y = act_L(W_L ... act(W_1 x + b_1) ...), weights stored transposed (I, O) for the row update.
class Mlp {
public:
    /// Reads "<net>/<l>/weight" (O, I), "<net>/<l>/bias" (O) for l = 0, 1, ... and the two activations.
    static Mlp read(const NpzView& file, const std::string& net);

    std::size_t in_features() const { return layers_.front().in; }
    std::size_t out_features() const { return layers_.back().out; }
    std::size_t max_width() const { return max_width_; }
    /// x (rows, in) -> y (rows, out). scratch: two buffers of rows * max_width() floats each. noexcept: shapes are
    /// the caller's contract.
    void forward(const float* x, std::size_t rows, float* y, float* scratch_a, float* scratch_b) const noexcept;

private:
    struct Layer {
        std::size_t in = 0, out = 0;
        std::vector<float> weight_t;  // (I, O): weight_t[i * O + o] = W[o][i]
        std::vector<float> bias;      // (O)
    };
    std::vector<Layer> layers_;
    Activation hidden_ = Activation::relu, output_ = Activation::identity;
    std::size_t max_width_ = 0;
};

/// xoshiro256** seeded by SplitMix64 with Marsaglia polar normals: bitwise the stream of dydiff::data::Rng, so a
/// sampled action can be reproduced by the training library (the tests check this).
class Rng {
public:
    explicit Rng(std::uint64_t seed);
    std::uint64_t next_u64() noexcept;
    double uniform_double() noexcept;  // [0, 1) on the 2^53 grid
    float normal() noexcept;           // N(0, 1), pairs cached as data::Rng does

private:
    std::array<std::uint64_t, 4> s_{};
    bool has_cached_ = false;
    double cached_ = 0.0;
};

class Policy {
public:
    /// Reads a policy file; a PolicyError names the file and the entry on anything unexpected.
    static Policy load(const std::string& path);
    /// The same from bytes already in memory (a file baked into firmware); `name` appears in errors.
    static Policy load_from_memory(const void* bytes, std::size_t size, const std::string& name = "<memory>");

    const std::string& kind() const { return kind_; }
    std::size_t obs_dim() const { return obs_mean_.size(); }
    std::size_t action_dim() const { return action_low_.size(); }
    /// ddpm: denoising steps T and candidates K; mlp: 0 and 1.
    std::size_t diffusion_steps() const { return coef_x0_.size(); }
    std::size_t candidates() const { return samples_; }

    /// action (A) for the raw observation obs (S): the obs is normalised with the training data's statistics, the
    /// action lies in [low, high]. Allocation-free. obs must be finite (a NaN propagates into the action).
    void act(const float* obs, float* action) noexcept;
    /// Restarts the ddpm kind's noise stream (the load() default is seed 0). No effect on the mlp kind.
    void seed(std::uint64_t seed) noexcept { rng_ = Rng(seed); }

private:
    Policy() : rng_(0) {}
    void act_ddpm(float* y) noexcept;  // y (A) in [-1, 1] for the normalised obs in z_

    std::string kind_;
    bool ddpm_ = false;
    std::vector<float> obs_mean_, obs_std_;  // (S): std + eps, as the divisor
    std::vector<float> action_low_, action_high_, action_half_;  // (A); half = (high - low) / 2
    Mlp actor_;                                   // mlp: the actor; ddpm: the noise network
    // ddpm only.
    Mlp time_net_, q1_, q2_;
    std::size_t samples_ = 1;                     // K
    std::vector<float> time_emb_;                 // (T, Dt): time_net(sinusoid(t)), computed at load
    // (T) each, per step t: x0 = clip(coef_x0 x_t - coef_eps eps, -1, 1); x_{t-1} = post_x0 x0 + post_xt x_t
    // + post_std noise (policy.cpp has the formulas).
    std::vector<float> coef_x0_, coef_eps_, post_x0_, post_xt_, post_std_;
    Rng rng_;
    // Scratch, sized at load.
    std::vector<float> z_;           // (S) normalised observation
    std::vector<float> y_;           // (A) network action in [-1, 1]
    std::vector<float> in_;          // (K, in) network input rows
    std::vector<float> x_, eps_;     // (K, A) candidates, predicted noise
    std::vector<float> q_a_, q_b_;   // (K) critic values
    std::vector<float> scratch_a_, scratch_b_;  // (K * max width)
};

}  // namespace dydiff::embed
