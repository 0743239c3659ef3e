// The embedded policy (see policy.hpp; the file format in policy_format.hpp, the math in docs/embedding.md).
#include "embed/policy.hpp"

#include "embed/policy_format.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>

namespace dydiff::embed {
namespace {

[[noreturn]] void fail(const NpzView& file, const std::string& what) { throw PolicyError(file.name() + ": " + what); }

Activation parse_activation(const NpzView& file, const std::string& key) {
    const std::string name = file.text(key);
    if (name == "relu") return Activation::relu;
    if (name == "silu") return Activation::silu;
    if (name == "mish") return Activation::mish;
    if (name == "tanh") return Activation::tanh;
    if (name == "identity") return Activation::identity;
    fail(file, "entry '" + key + "' names activation '" + name + "'; expected relu, silu, mish, tanh or identity");
}

// The activations of nn/simd/kernels_ref.cpp, in the same stable forms (softplus and sigmoid via e^-|x|).
inline float activate(float x, Activation a) noexcept {
    switch (a) {
        case Activation::relu: return x > 0.0f ? x : 0.0f;
        case Activation::silu: {
            const float e = std::exp(-std::fabs(x));
            return x * ((x >= 0.0f ? 1.0f : e) / (1.0f + e));
        }
        case Activation::mish: {
            const float e = std::exp(-std::fabs(x));
            return x * std::tanh(std::max(x, 0.0f) + std::log1p(e));
        }
        case Activation::tanh: return std::tanh(x);
        case Activation::identity: return x;
    }
    return x;
}

bool all_finite(const std::vector<float>& v) {
    return std::all_of(v.begin(), v.end(), [](float x) { return std::isfinite(x); });
}

// Rows of a batch that share each loaded row of W^T (8 rows of 256 outputs: 8 KiB of outputs, inside L1).
constexpr std::size_t kRowBlock = 8;

// a b + c, fused when the target has FMA instructions, as xsimd::fma in nn's gemm micro-kernel.
inline float mul_add(float a, float b, float c) noexcept {
#if defined(__FMA__)
    return std::fma(a, b, c);
#else
    return a * b + c;
#endif
}

std::uint64_t rotl(std::uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }

}  // namespace

// ---- Mlp ----

Mlp Mlp::read(const NpzView& file, const std::string& net) {
    Mlp m;
    for (std::size_t l = 0;; ++l) {
        const std::string prefix = net + "/" + std::to_string(l) + "/";
        const NpzArrayView* w = file.find(prefix + format::kWeight);
        if (w == nullptr) break;
        if (w->shape.size() != 2 || w->shape[0] == 0 || w->shape[1] == 0)
            fail(file, "entry '" + prefix + format::kWeight + "' must be a non-empty (O, I) matrix");
        Layer layer;
        layer.out = w->shape[0];
        layer.in = w->shape[1];
        if (!m.layers_.empty() && m.layers_.back().out != layer.in)
            fail(file, "entry '" + prefix + format::kWeight + "' takes " + std::to_string(layer.in) +
                           " inputs, but layer " + std::to_string(l - 1) + " gives " +
                           std::to_string(m.layers_.back().out));
        const std::vector<float> weight = file.floats(prefix + format::kWeight, {layer.out, layer.in});
        layer.bias = file.floats(prefix + format::kBias, {layer.out});
        if (!all_finite(weight) || !all_finite(layer.bias)) fail(file, "network '" + net + "' layer " + std::to_string(l) + " holds non-finite values");
        layer.weight_t.resize(weight.size());
        for (std::size_t o = 0; o < layer.out; ++o)
            for (std::size_t i = 0; i < layer.in; ++i) layer.weight_t[i * layer.out + o] = weight[o * layer.in + i];
        m.max_width_ = std::max({m.max_width_, layer.in, layer.out});
        m.layers_.push_back(std::move(layer));
    }
    if (m.layers_.empty()) fail(file, "missing entry '" + net + "/0/weight' (network '" + net + "' has no layers)");
    m.hidden_ = parse_activation(file, net + "/" + format::kActivation);
    m.output_ = parse_activation(file, net + "/" + format::kOutputActivation);
    return m;
}

void Mlp::forward(const float* x, std::size_t rows, float* y, float* scratch_a, float* scratch_b) const noexcept {
    const float* src = x;
    for (std::size_t l = 0; l < layers_.size(); ++l) {
        const Layer& L = layers_[l];
        const bool last = l + 1 == layers_.size();
        float* dst = last ? y : (l % 2 == 0 ? scratch_a : scratch_b);
        const Activation act = last ? output_ : hidden_;
        // out = sum_i in[i] W[:, i], then + bias: one contiguous row of W^T per input, so the inner loop
        // vectorises without reassociating a sum, and each output's sum runs in nn::simd::gemm's order (from 0,
        // input by input, fused multiply-add where the target has it): the two agree to the last bit up to 256
        // inputs (gemm's depth block). Rows go in blocks of kRowBlock so that a row of W^T, once loaded, serves
        // them all (the ddpm kind's K candidates). Zero inputs (half of a ReLU layer) add exactly nothing: skipped.
        for (std::size_t r0 = 0; r0 < rows; r0 += kRowBlock) {
            const std::size_t r1 = std::min(rows, r0 + kRowBlock);
            std::fill(dst + r0 * L.out, dst + r1 * L.out, 0.0f);
            for (std::size_t i = 0; i < L.in; ++i) {
                const float* w = L.weight_t.data() + i * L.out;  // (O)
                for (std::size_t r = r0; r < r1; ++r) {
                    const float xi = src[r * L.in + i];
                    if (xi == 0.0f) continue;
                    float* out = dst + r * L.out;  // (O)
                    for (std::size_t o = 0; o < L.out; ++o) out[o] = mul_add(xi, w[o], out[o]);
                }
            }
            for (std::size_t r = r0; r < r1; ++r) {
                float* out = dst + r * L.out;
                for (std::size_t o = 0; o < L.out; ++o) out[o] += L.bias[o];
                if (act != Activation::identity)
                    for (std::size_t o = 0; o < L.out; ++o) out[o] = activate(out[o], act);
            }
        }
        src = dst;
    }
}

// ---- Rng: data::Rng's engine and normal method (data/rng.cpp), so streams agree bit for bit ----

Rng::Rng(std::uint64_t seed) {
    std::uint64_t x = seed;
    for (auto& w : s_) {
        // SplitMix64.
        std::uint64_t z = (x += 0x9E3779B97F4A7C15ull);
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
        w = z ^ (z >> 31);
    }
}

std::uint64_t Rng::next_u64() noexcept {
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
}

double Rng::uniform_double() noexcept { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

float Rng::normal() noexcept {
    if (has_cached_) {
        has_cached_ = false;
        return static_cast<float>(cached_);
    }
    double u = 0.0, v = 0.0, s = 0.0;
    do {
        u = 2.0 * uniform_double() - 1.0;
        v = 2.0 * uniform_double() - 1.0;
        s = std::fma(u, u, v * v);  // written as fma, as data::Rng does, so no build contracts it differently
    } while (s >= 1.0 || s == 0.0);
    const double m = std::sqrt(-2.0 * std::log(s) / s);
    cached_ = v * m;
    has_cached_ = true;
    return static_cast<float>(u * m);
}

// ---- Policy ----

Policy Policy::load(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) throw PolicyError(path + ": cannot open the policy file");
    const std::vector<std::uint8_t> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    return load_from_memory(bytes.data(), bytes.size(), path);
}

Policy Policy::load_from_memory(const void* bytes, std::size_t size, const std::string& name) {
    const NpzView file(static_cast<const std::uint8_t*>(bytes), size, name);
    if (file.text(format::kFormatKey) != format::kMagic)
        fail(file, std::string("entry 'format' is not \"") + format::kMagic + "\"");
    const std::int64_t version = file.integer(format::kVersionKey);
    if (version != format::kVersion)
        fail(file, "policy format version " + std::to_string(version) + "; this library reads version " +
                       std::to_string(format::kVersion));
    Policy p;
    p.kind_ = file.text(format::kKindKey);
    const NpzArrayView& mean = file.require(format::kObsMean);
    const NpzArrayView& low = file.require(format::kActionLow);
    if (mean.shape.size() != 1 || mean.shape[0] == 0) fail(file, "entry 'obs/mean' must be a non-empty (S) vector");
    if (low.shape.size() != 1 || low.shape[0] == 0) fail(file, "entry 'action/low' must be a non-empty (A) vector");
    const std::size_t S = mean.shape[0], A = low.shape[0];
    p.obs_mean_ = file.floats(format::kObsMean, {S});
    p.obs_std_ = file.floats(format::kObsStd, {S});
    const float eps = file.floats(format::kObsEps, {})[0];
    for (float& s : p.obs_std_) {
        s += eps;  // the divisor std + eps, in float as data::ZScoreNormalizer computes it
        if (!(s > 0.0f) || !std::isfinite(s)) fail(file, "entry 'obs/std' + 'obs/eps' must be positive and finite");
    }
    p.action_low_ = file.floats(format::kActionLow, {A});
    p.action_high_ = file.floats(format::kActionHigh, {A});
    for (std::size_t k = 0; k < A; ++k) {
        if (!(p.action_low_[k] < p.action_high_[k]))
            fail(file, "action/low[" + std::to_string(k) + "] must be below action/high[" + std::to_string(k) + "]");
        p.action_half_.push_back(0.5f * (p.action_high_[k] - p.action_low_[k]));
    }
    auto check_net = [&](const Mlp& net, const std::string& name, std::size_t in, std::size_t out) {
        if (net.in_features() != in || net.out_features() != out)
            fail(file, "network '" + name + "' maps " + std::to_string(net.in_features()) + " -> " +
                           std::to_string(net.out_features()) + ", expected " + std::to_string(in) + " -> " +
                           std::to_string(out));
    };

    std::size_t rows = 1, max_in = S, max_width = 0;
    if (p.kind_ == format::kKindMlp) {
        p.actor_ = Mlp::read(file, format::kActorNet);
        check_net(p.actor_, format::kActorNet, S, A);
        max_width = p.actor_.max_width();
    } else if (p.kind_ == format::kKindDdpm) {
        p.ddpm_ = true;
        const std::vector<double> betas = file.doubles_1d(format::kDdpmBetas);
        if (betas.empty()) fail(file, "entry 'ddpm/betas' is empty");
        const std::int64_t samples = file.integer(format::kDdpmSamples);
        if (samples < 1 || samples > 100000) fail(file, "entry 'ddpm/samples' is " + std::to_string(samples) + ", expected 1..100000");
        p.samples_ = static_cast<std::size_t>(samples);
        p.time_net_ = Mlp::read(file, format::kDdpmTimeNet);
        const std::size_t D = p.time_net_.in_features(), Dt = p.time_net_.out_features();
        if (D < 4 || D % 2 != 0) fail(file, "network 'ddpm/time' takes " + std::to_string(D) + " inputs; the sinusoid needs an even width >= 4");
        p.actor_ = Mlp::read(file, format::kDdpmNoiseNet);
        check_net(p.actor_, format::kDdpmNoiseNet, A + Dt + S, A);
        max_width = std::max(p.time_net_.max_width(), p.actor_.max_width());
        max_in = A + Dt + S;
        if (p.samples_ > 1) {
            p.q1_ = Mlp::read(file, format::kCriticQ1);
            p.q2_ = Mlp::read(file, format::kCriticQ2);
            check_net(p.q1_, format::kCriticQ1, S + A, 1);
            check_net(p.q2_, format::kCriticQ2, S + A, 1);
            max_width = std::max({max_width, p.q1_.max_width(), p.q2_.max_width()});
        }
        rows = p.samples_;
        // Diffusion-QL's sampler constants (docs/algorithm.md §5.4.5), in double: abar_t = prod_{s <= t} (1 - beta_s),
        // x0 = sqrt(1 / abar_t) x_t - sqrt(1 / abar_t - 1) eps, posterior mean = c0 x0 + ct x_t with
        // c0 = beta_t sqrt(abar_{t-1}) / (1 - abar_t), ct = (1 - abar_{t-1}) sqrt(1 - beta_t) / (1 - abar_t), and
        // posterior variance beta_t (1 - abar_{t-1}) / (1 - abar_t) (abar_{-1} = 1, so step 0 adds no noise).
        double abar_prev = 1.0;
        for (std::size_t t = 0; t < betas.size(); ++t) {
            const double beta = betas[t];
            if (!(beta > 0.0 && beta < 1.0)) fail(file, "ddpm/betas[" + std::to_string(t) + "] must lie in (0, 1)");
            const double abar = abar_prev * (1.0 - beta);
            p.coef_x0_.push_back(static_cast<float>(std::sqrt(1.0 / abar)));
            p.coef_eps_.push_back(static_cast<float>(std::sqrt(1.0 / abar - 1.0)));
            p.post_x0_.push_back(static_cast<float>(beta * std::sqrt(abar_prev) / (1.0 - abar)));
            p.post_xt_.push_back(static_cast<float>((1.0 - abar_prev) * std::sqrt(1.0 - beta) / (1.0 - abar)));
            // sqrt(variance), written as the learner's VpSchedule writes it (with its 1e-20 floor) so both round alike.
            const double variance = beta * (1.0 - abar_prev) / (1.0 - abar);
            p.post_std_.push_back(static_cast<float>(std::exp(0.5 * std::log(std::max(variance, 1e-20)))));
            abar_prev = abar;
        }
        // The time embeddings are constants of the sampler: time_net(sinusoid(t)) for t = 0..T-1, once.
        const std::size_t T = betas.size(), half = D / 2;
        const double step = std::log(10000.0) / static_cast<double>(half - 1);
        std::vector<float> sinusoid(T * D), a(T * max_width), b(T * max_width);
        for (std::size_t t = 0; t < T; ++t)
            for (std::size_t k = 0; k < half; ++k) {
                const double arg = static_cast<double>(t) * std::exp(-static_cast<double>(k) * step);
                sinusoid[t * D + k] = static_cast<float>(std::sin(arg));
                sinusoid[t * D + half + k] = static_cast<float>(std::cos(arg));
            }
        p.time_emb_.resize(T * Dt);
        p.time_net_.forward(sinusoid.data(), T, p.time_emb_.data(), a.data(), b.data());
    } else {
        fail(file, "entry 'kind' is '" + p.kind_ + "'; this library runs 'mlp' and 'ddpm' policies");
    }
    p.z_.resize(S);
    p.y_.resize(A);
    p.in_.resize(rows * max_in);
    p.x_.resize(rows * A);
    p.eps_.resize(rows * A);
    p.q_a_.resize(rows);
    p.q_b_.resize(rows);
    p.scratch_a_.resize(rows * max_width);
    p.scratch_b_.resize(rows * max_width);
    return p;
}

void Policy::act(const float* obs, float* action) noexcept {
    const std::size_t S = obs_dim(), A = action_dim();
    for (std::size_t k = 0; k < S; ++k) z_[k] = (obs[k] - obs_mean_[k]) / obs_std_[k];
    if (ddpm_)
        act_ddpm(y_.data());
    else
        actor_.forward(z_.data(), 1, y_.data(), scratch_a_.data(), scratch_b_.data());
    // The learners' box map (learners::to_box_action), written the same way so that the two agree bit for bit.
    for (std::size_t k = 0; k < A; ++k)
        action[k] = std::min(std::max(action_low_[k] + (y_[k] + 1.0f) * action_half_[k], action_low_[k]),
                             action_high_[k]);
}

void Policy::act_ddpm(float* y) noexcept {
    const std::size_t S = obs_dim(), A = action_dim(), K = samples_, T = diffusion_steps();
    const std::size_t Dt = time_emb_.size() / T, width = A + Dt + S;
    // x_T ~ N(0, I), K rows of A, drawn row by row.
    for (std::size_t i = 0; i < K * A; ++i) x_[i] = rng_.normal();
    for (std::size_t t = T; t-- > 0;) {
        for (std::size_t r = 0; r < K; ++r) {
            float* row = in_.data() + r * width;  // [x_t (A), t_emb (Dt), z (S)]
            std::copy(x_.data() + r * A, x_.data() + (r + 1) * A, row);
            std::copy(time_emb_.data() + t * Dt, time_emb_.data() + (t + 1) * Dt, row + A);
            std::copy(z_.begin(), z_.end(), row + A + Dt);
        }
        actor_.forward(in_.data(), K, eps_.data(), scratch_a_.data(), scratch_b_.data());
        for (std::size_t i = 0; i < K * A; ++i) {
            const float x0 = std::min(std::max(coef_x0_[t] * x_[i] - coef_eps_[t] * eps_[i], -1.0f), 1.0f);
            x_[i] = post_x0_[t] * x0 + post_xt_[t] * x_[i];
            if (t > 0) x_[i] += post_std_[t] * rng_.normal();
        }
    }
    for (std::size_t i = 0; i < K * A; ++i) x_[i] = std::min(std::max(x_[i], -1.0f), 1.0f);
    std::size_t pick = 0;
    if (K > 1) {
        for (std::size_t r = 0; r < K; ++r) {
            float* row = in_.data() + r * (S + A);  // [z (S), x (A)]
            std::copy(z_.begin(), z_.end(), row);
            std::copy(x_.data() + r * A, x_.data() + (r + 1) * A, row + S);
        }
        q1_.forward(in_.data(), K, q_a_.data(), scratch_a_.data(), scratch_b_.data());
        q2_.forward(in_.data(), K, q_b_.data(), scratch_a_.data(), scratch_b_.data());
        // Draw a candidate from softmax(min(Q1, Q2)): the first whose cumulative weight exceeds u * total.
        double q_max = -HUGE_VAL;
        for (std::size_t r = 0; r < K; ++r) {
            q_a_[r] = std::min(q_a_[r], q_b_[r]);
            q_max = std::max(q_max, static_cast<double>(q_a_[r]));
        }
        double total = 0.0;
        for (std::size_t r = 0; r < K; ++r) total += std::exp(static_cast<double>(q_a_[r]) - q_max);
        const double u = rng_.uniform_double() * total;
        double cumulative = 0.0;
        pick = K - 1;
        for (std::size_t r = 0; r < K; ++r) {
            cumulative += std::exp(static_cast<double>(q_a_[r]) - q_max);
            if (cumulative > u) {
                pick = r;
                break;
            }
        }
    }
    std::copy(x_.data() + pick * A, x_.data() + (pick + 1) * A, y);
}

}  // namespace dydiff::embed
