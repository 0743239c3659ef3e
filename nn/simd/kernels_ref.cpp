// Scalar twins of the kernels in nn/simd/kernels.hpp: the obvious loops, statistics and reductions in double.
// They are the oracle of test/nn/test_kernels.cpp and the whole implementation of a scalar build (-Dsimd=none).
// The math of each kernel is written next to its declaration in kernels.hpp.
#include "nn/simd/kernels.hpp"

#include <algorithm>
#include <cmath>

namespace dydiff::nn::simd::ref {

namespace {

// e^-|x|, shared by softplus and sigmoid so that neither overflows.
inline float exp_neg_abs(float x) { return std::exp(-std::fabs(x)); }

inline float softplus(float x, float e) { return std::max(x, 0.0f) + std::log1p(e); }

inline float sigmoid(float x, float e) { return (x >= 0.0f ? 1.0f : e) / (1.0f + e); }

}  // namespace

// ---- activations -------------------------------------------------------------------------------------------------

void mish_forward(std::size_t n, const float* x, float* y) noexcept {
    for (std::size_t i = 0; i < n; ++i) {
        const float e = std::exp(std::min(x[i], kMishExpCap));
        const float p = e * (e + 2.0f);
        y[i] = x[i] * (p / (p + 2.0f));
    }
}

void mish_backward(std::size_t n, const float* x, const float* dout, float* dx) noexcept {
    for (std::size_t i = 0; i < n; ++i) {
        const float xc = std::min(x[i], kMishExpCap);
        const float e = std::exp(xc);
        const float p = e * (e + 2.0f);
        const float r = 1.0f / (p + 2.0f);
        dx[i] += dout[i] * (p * r + 4.0f * xc * e * (e + 1.0f) * r * r);
    }
}

void silu_forward(std::size_t n, const float* x, float* y) noexcept {
    for (std::size_t i = 0; i < n; ++i) y[i] = x[i] * sigmoid(x[i], exp_neg_abs(x[i]));
}

void silu_backward(std::size_t n, const float* x, const float* dout, float* dx) noexcept {
    for (std::size_t i = 0; i < n; ++i) {
        const float s = sigmoid(x[i], exp_neg_abs(x[i]));
        dx[i] += dout[i] * s * (1.0f + x[i] * (1.0f - s));
    }
}

void relu_forward(std::size_t n, const float* x, float* y) noexcept {
    for (std::size_t i = 0; i < n; ++i) y[i] = std::max(x[i], 0.0f);
}

void relu_backward(std::size_t n, const float* x, const float* dout, float* dx) noexcept {
    for (std::size_t i = 0; i < n; ++i)
        if (x[i] > 0.0f) dx[i] += dout[i];
}

void tanh_forward(std::size_t n, const float* x, float* y) noexcept {
    for (std::size_t i = 0; i < n; ++i) y[i] = std::tanh(x[i]);
}

void tanh_backward(std::size_t n, const float* x, const float* dout, float* dx) noexcept {
    for (std::size_t i = 0; i < n; ++i) {
        const float t = std::tanh(x[i]);
        dx[i] += dout[i] * (1.0f - t * t);
    }
}

void softplus_forward(std::size_t n, const float* x, float* y) noexcept {
    for (std::size_t i = 0; i < n; ++i) y[i] = softplus(x[i], exp_neg_abs(x[i]));
}

void softplus_backward(std::size_t n, const float* x, const float* dout, float* dx) noexcept {
    for (std::size_t i = 0; i < n; ++i) dx[i] += dout[i] * sigmoid(x[i], exp_neg_abs(x[i]));
}

// ---- normalisation -----------------------------------------------------------------------------------------------
// GroupNorm and LayerNorm share one shape: `rows` spans of `len` contiguous floats, each normalised on its own,
// with the affine parameter index of element j of a span given by `channel_of`. GroupNorm: a span is one (b, g),
// and element j belongs to channel g*C/G + j/H. LayerNorm: a span is one row, and element j is channel j.

namespace {

void normalize_stats(std::size_t len, const float* x, float eps, float* mean, float* rstd) {
    double sum = 0.0;
    for (std::size_t j = 0; j < len; ++j) sum += x[j];
    const double mu = sum / static_cast<double>(len);
    double ss = 0.0;
    for (std::size_t j = 0; j < len; ++j) ss += (x[j] - mu) * (x[j] - mu);
    *mean = static_cast<float>(mu);
    *rstd = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(len) + eps));
}

template <class ChannelOf>
void normalize_forward(std::size_t rows, std::size_t len, const float* x, const float* gamma, const float* beta,
                       float eps, float* y, float* mean, float* rstd, ChannelOf channel_of) {
    for (std::size_t r = 0; r < rows; ++r) {
        const float* xr = x + r * len;
        float* yr = y + r * len;
        normalize_stats(len, xr, eps, &mean[r], &rstd[r]);
        for (std::size_t j = 0; j < len; ++j) {
            const std::size_t c = channel_of(r, j);
            yr[j] = (xr[j] - mean[r]) * rstd[r] * gamma[c] + beta[c];
        }
    }
}

template <class ChannelOf>
void normalize_backward(std::size_t rows, std::size_t len, const float* dout, const float* x, const float* mean,
                        const float* rstd, const float* gamma, float* dx, float* dgamma, float* dbeta,
                        ChannelOf channel_of) {
    for (std::size_t r = 0; r < rows; ++r) {
        const float* xr = x + r * len;
        const float* dr = dout + r * len;
        double sum_g = 0.0, sum_gx = 0.0;  // sums of g and g * xhat over the span
        for (std::size_t j = 0; j < len; ++j) {
            const std::size_t c = channel_of(r, j);
            const double xhat = (static_cast<double>(xr[j]) - mean[r]) * rstd[r];
            const double g = static_cast<double>(dr[j]) * gamma[c];
            sum_g += g;
            sum_gx += g * xhat;
            if (dgamma != nullptr) dgamma[c] += static_cast<float>(dr[j] * xhat);
            if (dbeta != nullptr) dbeta[c] += dr[j];
        }
        if (dx == nullptr) continue;
        const double mean_g = sum_g / static_cast<double>(len);
        const double mean_gx = sum_gx / static_cast<double>(len);
        float* dxr = dx + r * len;
        for (std::size_t j = 0; j < len; ++j) {
            const double xhat = (static_cast<double>(xr[j]) - mean[r]) * rstd[r];
            const double g = static_cast<double>(dr[j]) * gamma[channel_of(r, j)];
            dxr[j] += static_cast<float>(rstd[r] * (g - mean_g - xhat * mean_gx));
        }
    }
}

}  // namespace

void group_norm_forward(std::size_t B, std::size_t C, std::size_t H, std::size_t G, const float* x,
                        const float* gamma, const float* beta, float eps, float* y, float* mean,
                        float* rstd) noexcept {
    const std::size_t cg = C / G;  // channels per group
    normalize_forward(B * G, cg * H, x, gamma, beta, eps, y, mean, rstd,
                      [=](std::size_t r, std::size_t j) { return (r % G) * cg + j / H; });
}

void group_norm_backward(std::size_t B, std::size_t C, std::size_t H, std::size_t G, const float* dout,
                         const float* x, const float* mean, const float* rstd, const float* gamma, float* dx,
                         float* dgamma, float* dbeta) noexcept {
    const std::size_t cg = C / G;
    normalize_backward(B * G, cg * H, dout, x, mean, rstd, gamma, dx, dgamma, dbeta,
                       [=](std::size_t r, std::size_t j) { return (r % G) * cg + j / H; });
}

void group_norm_mish_rows(std::size_t B, std::size_t H, std::size_t C, std::size_t G, std::size_t ld, const float* x,
                          const float* bias, const float* gamma, const float* beta, float eps, const float* add,
                          std::size_t add_ld, const float* res, float* y, float* mean, float* rstd) noexcept {
    const std::size_t cg = C / G;
    for (std::size_t b = 0; b < B; ++b) {
        const float* xb = x + b * ld;
        const auto v = [&](std::size_t t, std::size_t c) { return double{xb[t * C + c]} + (bias ? bias[c] : 0.0); };
        for (std::size_t g = 0; g < G; ++g) {
            double sum = 0.0;
            for (std::size_t t = 0; t < H; ++t)
                for (std::size_t c = g * cg; c < (g + 1) * cg; ++c) sum += v(t, c);
            const double mu = sum / static_cast<double>(H * cg);
            double ss = 0.0;
            for (std::size_t t = 0; t < H; ++t)
                for (std::size_t c = g * cg; c < (g + 1) * cg; ++c) ss += (v(t, c) - mu) * (v(t, c) - mu);
            mean[b * G + g] = static_cast<float>(mu);
            rstd[b * G + g] = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(H * cg) + eps));
        }
        for (std::size_t t = 0; t < H; ++t)
            for (std::size_t c = 0; c < C; ++c) {
                const std::size_t g = c / cg;
                float z = static_cast<float>((v(t, c) - mean[b * G + g]) * rstd[b * G + g] * gamma[c] + beta[c]);
                mish_forward(1, &z, &z);
                if (add) z += add[b * add_ld + c];
                if (res) z += res[b * ld + t * C + c];
                y[b * ld + t * C + c] = z;
            }
    }
}

void layer_norm_forward(std::size_t N, std::size_t D, const float* x, const float* gamma, const float* beta,
                        float eps, float* y, float* mean, float* rstd) noexcept {
    normalize_forward(N, D, x, gamma, beta, eps, y, mean, rstd, [](std::size_t, std::size_t j) { return j; });
}

void layer_norm_backward(std::size_t N, std::size_t D, const float* dout, const float* x, const float* mean,
                         const float* rstd, const float* gamma, float* dx, float* dgamma, float* dbeta) noexcept {
    normalize_backward(N, D, dout, x, mean, rstd, gamma, dx, dgamma, dbeta,
                       [](std::size_t, std::size_t j) { return j; });
}

// ---- channel bias ------------------------------------------------------------------------------------------------

void bias_add(std::size_t B, std::size_t C, std::size_t H, const float* bias, float* y) noexcept {
    for (std::size_t b = 0; b < B; ++b)
        for (std::size_t c = 0; c < C; ++c)
            for (std::size_t h = 0; h < H; ++h) y[(b * C + c) * H + h] += bias[c];
}

void bias_reduce(std::size_t B, std::size_t C, std::size_t H, const float* dout, float* dbias) noexcept {
    for (std::size_t c = 0; c < C; ++c) {
        double sum = 0.0;
        for (std::size_t b = 0; b < B; ++b)
            for (std::size_t h = 0; h < H; ++h) sum += dout[(b * C + c) * H + h];
        dbias[c] += static_cast<float>(sum);
    }
}

// ---- optimizer ---------------------------------------------------------------------------------------------------

void adam_update(std::size_t n, float* param, const float* grad, float* m, float* v, float lr, float beta1,
                 float beta2, float eps, float weight_decay, float bias_correction1, float bias_correction2,
                 bool decoupled) noexcept {
    const float step_size = lr / bias_correction1;
    const float bc2_sqrt = std::sqrt(bias_correction2);
    for (std::size_t i = 0; i < n; ++i) {
        float g = grad[i];
        if (decoupled) {
            param[i] *= 1.0f - lr * weight_decay;
        } else {
            g += weight_decay * param[i];
        }
        m[i] = beta1 * m[i] + (1.0f - beta1) * g;
        v[i] = beta2 * v[i] + (1.0f - beta2) * g * g;
        param[i] -= step_size * m[i] / (std::sqrt(v[i]) / bc2_sqrt + eps);
    }
}

// ---- vector helpers ----------------------------------------------------------------------------------------------

double sum_squares(std::size_t n, const float* x) noexcept {
    double sum = 0.0;
    for (std::size_t i = 0; i < n; ++i) sum += static_cast<double>(x[i]) * x[i];
    return sum;
}

void scale(std::size_t n, float alpha, float* x) noexcept {
    for (std::size_t i = 0; i < n; ++i) x[i] *= alpha;
}

void axpby(std::size_t n, float a, const float* x, float b, float* y) noexcept {
    for (std::size_t i = 0; i < n; ++i) y[i] = a * x[i] + b * y[i];
}

bool all_finite(std::size_t n, const float* x) noexcept {
    for (std::size_t i = 0; i < n; ++i)
        if (!std::isfinite(x[i])) return false;
    return true;
}

}  // namespace dydiff::nn::simd::ref
