// Raw float kernels behind the fused layer ops and the optimizers: activations, GroupNorm, LayerNorm, bias,
// Adam/AdamW, and the vector helpers of gradient clipping and EMA. Layering: nn/simd (raw pointers, no Tensor).
// Letters: B batch, C channels, H length (horizon), G groups, N rows, D row length, n a flat element count.
// Every kernel is noexcept and checks nothing: preconditions are stated next to it. Backward kernels accumulate
// (+=) into their gradient outputs. nn::simd::X is the xsimd version (kernels.cpp); ref::X is its scalar twin
// (kernels_ref.cpp), the test oracle, and, in a scalar build (DYDIFF_HAVE_SIMD == 0), the implementation itself:
// the using-declarations at the bottom make nn::simd::X name ref::X, and kernels.cpp is not compiled.
// Unless stated, distinct arrays must not overlap; forward outputs may alias their input exactly (y == x).
#pragma once

#include "nn/simd/batch.hpp"

#include <cstddef>

namespace dydiff::nn::simd {

// ---- activations, elementwise over n floats ----------------------------------------------------------------------
// softplus(x) = log(1 + e^x) = max(x, 0) + log1p(e^-|x|)          (stable: e^-|x| <= 1 never overflows)
// sigmoid(x)  = 1 / (1 + e^-|x|) for x >= 0, e^-|x| / (1 + e^-|x|) for x < 0   (same e^-|x|, no overflow)
// mish(x)     = x * tanh(softplus(x))              mish'(x) = t + x * sigmoid(x) * (1 - t^2),  t = tanh(softplus(x))
//                                                  (d softplus / dx = sigmoid, d tanh(u) / du = 1 - tanh(u)^2)
//   computed with one exponential: n = e^x gives e^softplus = 1 + n, so t = ((1+n)^2 - 1) / ((1+n)^2 + 1)
//   = p / w with p = n (n + 2), w = p + 2; sigmoid = n / (n + 1) and 1 - t^2 = 4 (n + 1)^2 / w^2, so
//   mish(x) = x (p / w) and mish'(x) = p / w + 4 x n (n + 1) / w^2. All terms are positive: no cancellation. x is
//   capped at kMishExpCap inside the exponential (and in the x of the derivative's second term), where t and
//   mish' are 1 to float precision and w^2 is still finite; for x -> -inf, n underflows to 0 and mish -> 0.
// silu(x)     = x * sigmoid(x)                     silu'(x) = s * (1 + x * (1 - s)),  s = sigmoid(x)
// relu(x)     = max(x, 0)                          relu'(x) = 1 if x > 0 else 0
// tanh(x)                                          tanh'(x) = 1 - tanh(x)^2
// Forward: y = f(x). Backward: dx += dout * f'(x), recomputed from x (nothing cached).

/// The largest argument of Mish's exponential: at n = e^20, w^2 ~ 5.5e34 < FLT_MAX and 1 - t = 2 / w ~ 8e-18 is far
/// below float's epsilon, so min(x, 20) changes nothing but overflow.
inline constexpr float kMishExpCap = 20.0f;

#if DYDIFF_HAVE_SIMD
void mish_forward(std::size_t n, const float* x /*(n)*/, float* y /*(n)*/) noexcept;
void mish_backward(std::size_t n, const float* x /*(n)*/, const float* dout /*(n)*/, float* dx /*(n)*/) noexcept;
void silu_forward(std::size_t n, const float* x /*(n)*/, float* y /*(n)*/) noexcept;
void silu_backward(std::size_t n, const float* x /*(n)*/, const float* dout /*(n)*/, float* dx /*(n)*/) noexcept;
void relu_forward(std::size_t n, const float* x /*(n)*/, float* y /*(n)*/) noexcept;
void relu_backward(std::size_t n, const float* x /*(n)*/, const float* dout /*(n)*/, float* dx /*(n)*/) noexcept;
void tanh_forward(std::size_t n, const float* x /*(n)*/, float* y /*(n)*/) noexcept;
void tanh_backward(std::size_t n, const float* x /*(n)*/, const float* dout /*(n)*/, float* dx /*(n)*/) noexcept;
void softplus_forward(std::size_t n, const float* x /*(n)*/, float* y /*(n)*/) noexcept;
void softplus_backward(std::size_t n, const float* x /*(n)*/, const float* dout /*(n)*/, float* dx /*(n)*/) noexcept;

// ---- GroupNorm (PyTorch semantics) -------------------------------------------------------------------------------
// Channels split into G consecutive groups of C/G; group (b, g) is the contiguous span of (C/G)*H floats
// x[b, g*C/G : (g+1)*C/G, :], with mean and biased variance over it:
//   y[b,c,h] = (x[b,c,h] - mean[b,g]) * rstd[b,g] * gamma[c] + beta[c],   rstd = 1 / sqrt(var + eps).
// Statistics: two passes in float (the mean, shifted by the span's first entry, then the sum of squared deviations)
// with kFloatWidth lane-parallel partial sums, so each lane adds at most (C/G)*H / W terms (3200 / 8 = 400 in the
// U-Net); the twin accumulates in double.
// Preconditions: C >= G >= 1, C % G == 0, H >= 1, eps > 0. mean/rstd are the forward's cache for the backward.
void group_norm_forward(std::size_t B, std::size_t C, std::size_t H, std::size_t G,
                        const float* x,      // (B, C, H)
                        const float* gamma,  // (C)
                        const float* beta,   // (C)
                        float eps,
                        float* y,            // (B, C, H)
                        float* mean,         // (B, G)
                        float* rstd) noexcept;  // (B, G)
// With xhat = (x - mean) * rstd and g = dout * gamma[c], per group (n = (C/G)*H elements):
//   dx += rstd * (g - mean_n(g) - xhat * mean_n(g * xhat)),   dgamma[c] += sum_{b,h} dout * xhat,
//   dbeta[c] += sum_{b,h} dout.   dx, dgamma and dbeta may each be nullptr (that gradient is not wanted).
void group_norm_backward(std::size_t B, std::size_t C, std::size_t H, std::size_t G,
                         const float* dout,   // (B, C, H)
                         const float* x,      // (B, C, H)
                         const float* mean,   // (B, G)
                         const float* rstd,   // (B, G)
                         const float* gamma,  // (C)
                         float* dx,           // (B, C, H) or nullptr
                         float* dgamma,       // (C) or nullptr
                         float* dbeta) noexcept;  // (C) or nullptr

// ---- GroupNorm + Mish over channels-last rows (the U-Net's inference path) -----------------------------------------
// Sample b's H positions are H consecutive rows of C floats starting at x + b ld (ld >= H C skips the pad rows of a
// rows layout, nn/simd/conv1d.hpp). With v = x + bias[c] (the conv bias, nullptr = 0), per group (b, g) over its
// H x C/G entries, biased variance as group_norm_forward:
//   y[b,t,c] = mish((v - mean[b,g]) rstd[b,g] gamma[c] + beta[c]) + add[b,c] + res[b,t,c]
// add (rows of C at add + b add_ld; add_ld = 0 shares one row) and res (same layout as x) may each be nullptr (0).
// One call does the statistics pass (one pass, relative to an entry of each group: kernels.cpp) and the output pass
// per sample, which stays in cache in between.
// Preconditions: C >= G >= 1, C % G == 0, H >= 1, eps > 0. y may alias x exactly (not res or add).
void group_norm_mish_rows(std::size_t B, std::size_t H, std::size_t C, std::size_t G, std::size_t ld,
                          const float* x,      // (B, H, C) rows
                          const float* bias,   // (C) or nullptr
                          const float* gamma,  // (C)
                          const float* beta,   // (C)
                          float eps,
                          const float* add, std::size_t add_ld,  // (B, C) or nullptr
                          const float* res,    // (B, H, C) rows or nullptr
                          float* y,            // (B, H, C) rows
                          float* mean,         // (B, G)
                          float* rstd) noexcept;  // (B, G)

// ---- LayerNorm over the last dimension ---------------------------------------------------------------------------
// Each of the N rows of D floats is normalised on its own (biased variance, same two-pass statistics as GroupNorm):
//   y[i,d] = (x[i,d] - mean[i]) * rstd[i] * gamma[d] + beta[d].   Preconditions: D >= 1, eps > 0.
void layer_norm_forward(std::size_t N, std::size_t D,
                        const float* x,      // (N, D)
                        const float* gamma,  // (D)
                        const float* beta,   // (D)
                        float eps,
                        float* y,            // (N, D)
                        float* mean,         // (N)
                        float* rstd) noexcept;  // (N)
// g = dout * gamma[d]: dx += rstd * (g - mean_D(g) - xhat * mean_D(g * xhat)), dgamma[d] += sum_i dout * xhat,
// dbeta[d] += sum_i dout. dx, dgamma and dbeta may each be nullptr.
void layer_norm_backward(std::size_t N, std::size_t D,
                         const float* dout,   // (N, D)
                         const float* x,      // (N, D)
                         const float* mean,   // (N)
                         const float* rstd,   // (N)
                         const float* gamma,  // (D)
                         float* dx,           // (N, D) or nullptr
                         float* dgamma,       // (D) or nullptr
                         float* dbeta) noexcept;  // (D) or nullptr

// ---- channel bias ------------------------------------------------------------------------------------------------
// y[b,c,h] += bias[c]; with H == 1 this is the row bias of a (B, C) matrix.
void bias_add(std::size_t B, std::size_t C, std::size_t H, const float* bias /*(C)*/, float* y /*(B, C, H)*/) noexcept;
// dbias[c] += sum_{b,h} dout[b,c,h]: the backward of bias_add with respect to the bias.
void bias_reduce(std::size_t B, std::size_t C, std::size_t H, const float* dout /*(B, C, H)*/,
                 float* dbias /*(C)*/) noexcept;

// ---- optimizer ---------------------------------------------------------------------------------------------------
// One Adam / AdamW step on n parameters, exactly torch.optim.Adam / AdamW (non-amsgrad, non-foreach):
//   coupled (Adam, L2):      g = grad + weight_decay * p
//   decoupled (AdamW):       g = grad;  p *= 1 - lr * weight_decay
//   m = beta1 * m + (1 - beta1) * g
//   v = beta2 * v + (1 - beta2) * g^2
//   p -= lr / bias_correction1 * m / (sqrt(v) / sqrt(bias_correction2) + eps)
// with bias_correction1 = 1 - beta1^t and bias_correction2 = 1 - beta2^t for step t >= 1 (the caller counts t).
// grad is read only. Preconditions: bias corrections in (0, 1], eps > 0.
void adam_update(std::size_t n,
                 float* param,       // (n)
                 const float* grad,  // (n)
                 float* m,           // (n) first moment
                 float* v,           // (n) second moment
                 float lr, float beta1, float beta2, float eps, float weight_decay,
                 float bias_correction1, float bias_correction2, bool decoupled) noexcept;

// ---- vector helpers ----------------------------------------------------------------------------------------------
/// sum_i x[i]^2 in double (for the global gradient norm): float lanes over blocks of a few hundred elements,
/// each block's total added in double, so the error does not grow with n.
double sum_squares(std::size_t n, const float* x /*(n)*/) noexcept;
/// x *= alpha.
void scale(std::size_t n, float alpha, float* x /*(n)*/) noexcept;
/// y = a * x + b * y (EMA / Polyak averaging: a = tau, b = 1 - tau). x and y must not overlap.
void axpby(std::size_t n, float a, const float* x /*(n)*/, float b, float* y /*(n)*/) noexcept;
/// True when no entry is NaN or +-inf.
bool all_finite(std::size_t n, const float* x /*(n)*/) noexcept;
#endif  // DYDIFF_HAVE_SIMD

namespace ref {
void mish_forward(std::size_t n, const float* x, float* y) noexcept;
void mish_backward(std::size_t n, const float* x, const float* dout, float* dx) noexcept;
void silu_forward(std::size_t n, const float* x, float* y) noexcept;
void silu_backward(std::size_t n, const float* x, const float* dout, float* dx) noexcept;
void relu_forward(std::size_t n, const float* x, float* y) noexcept;
void relu_backward(std::size_t n, const float* x, const float* dout, float* dx) noexcept;
void tanh_forward(std::size_t n, const float* x, float* y) noexcept;
void tanh_backward(std::size_t n, const float* x, const float* dout, float* dx) noexcept;
void softplus_forward(std::size_t n, const float* x, float* y) noexcept;
void softplus_backward(std::size_t n, const float* x, const float* dout, float* dx) noexcept;
void group_norm_forward(std::size_t B, std::size_t C, std::size_t H, std::size_t G, const float* x,
                        const float* gamma, const float* beta, float eps, float* y, float* mean,
                        float* rstd) noexcept;
void group_norm_backward(std::size_t B, std::size_t C, std::size_t H, std::size_t G, const float* dout,
                         const float* x, const float* mean, const float* rstd, const float* gamma, float* dx,
                         float* dgamma, float* dbeta) noexcept;
void group_norm_mish_rows(std::size_t B, std::size_t H, std::size_t C, std::size_t G, std::size_t ld, const float* x,
                          const float* bias, const float* gamma, const float* beta, float eps, const float* add,
                          std::size_t add_ld, const float* res, float* y, float* mean, float* rstd) noexcept;
void layer_norm_forward(std::size_t N, std::size_t D, const float* x, const float* gamma, const float* beta,
                        float eps, float* y, float* mean, float* rstd) noexcept;
void layer_norm_backward(std::size_t N, std::size_t D, const float* dout, const float* x, const float* mean,
                         const float* rstd, const float* gamma, float* dx, float* dgamma, float* dbeta) noexcept;
void bias_add(std::size_t B, std::size_t C, std::size_t H, const float* bias, float* y) noexcept;
void bias_reduce(std::size_t B, std::size_t C, std::size_t H, const float* dout, float* dbias) noexcept;
void adam_update(std::size_t n, float* param, const float* grad, float* m, float* v, float lr, float beta1,
                 float beta2, float eps, float weight_decay, float bias_correction1, float bias_correction2,
                 bool decoupled) noexcept;
double sum_squares(std::size_t n, const float* x) noexcept;
void scale(std::size_t n, float alpha, float* x) noexcept;
void axpby(std::size_t n, float a, const float* x, float b, float* y) noexcept;
bool all_finite(std::size_t n, const float* x) noexcept;
}  // namespace ref

#if !DYDIFF_HAVE_SIMD
// Scalar build: the twins are the implementation (see the file header).
using ref::adam_update;
using ref::all_finite;
using ref::axpby;
using ref::bias_add;
using ref::bias_reduce;
using ref::group_norm_backward;
using ref::group_norm_forward;
using ref::group_norm_mish_rows;
using ref::layer_norm_backward;
using ref::layer_norm_forward;
using ref::mish_backward;
using ref::mish_forward;
using ref::relu_backward;
using ref::relu_forward;
using ref::scale;
using ref::silu_backward;
using ref::silu_forward;
using ref::softplus_backward;
using ref::softplus_forward;
using ref::sum_squares;
using ref::tanh_backward;
using ref::tanh_forward;
#endif

}  // namespace dydiff::nn::simd
