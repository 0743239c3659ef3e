// xsimd versions of the kernels in nn/simd/kernels.hpp (math and preconditions there). Each is a loop over whole
// FloatBatch registers (unaligned loads: row starts are not aligned) followed by a scalar tail; elementwise kernels
// hand their tail to the ref:: twin. Mish, GroupNorm + Mish over rows and Adam have a variant per instruction set
// (nn/simd/kernels_impl.hpp); here they dispatch to the set in use. Compiled only when DYDIFF_HAVE_SIMD is 1
// (nn/meson.build); a scalar build uses the twins directly. xsimd's exp/log1p/tanh are its own polynomial
// approximations, a few ulp from libm.
#include "nn/simd/kernels.hpp"

#include "nn/simd/kernel_set.hpp"
#include "nn/simd/kernels_impl.hpp"

#if !DYDIFF_HAVE_SIMD
#error "kernels.cpp is the SIMD implementation; a scalar build compiles kernels_ref.cpp alone"
#endif

#include <algorithm>
#include <cmath>

namespace dydiff::nn::simd {

namespace {

using Batch = FloatBatch;
constexpr std::size_t W = kFloatWidth;

inline Batch load(const float* p) noexcept { return Batch::load_unaligned(p); }

// ---- the math of the activations on one register (formulas in kernels.hpp) -----------------------------------

inline Batch softplus(const Batch& x, const Batch& e) noexcept {
    return xsimd::max(x, Batch(0.0f)) + xsimd::log1p(e);
}

inline Batch sigmoid(const Batch& x, const Batch& e) noexcept {
    return xsimd::select(x >= Batch(0.0f), Batch(1.0f), e) / (Batch(1.0f) + e);
}

inline Batch exp_neg_abs(const Batch& x) noexcept { return xsimd::exp(-xsimd::abs(x)); }

// y[i] = f(x[i]) over the whole registers of [0, n); returns where the tail starts.
template <class F>
std::size_t map_batches(std::size_t n, const float* x, float* y, F f) noexcept {
    std::size_t i = 0;
    for (; i + W <= n; i += W) f(load(x + i)).store_unaligned(y + i);
    return i;
}

// dx[i] += dout[i] * df(x[i]) over the whole registers of [0, n); returns where the tail starts.
template <class DF>
std::size_t map_backward_batches(std::size_t n, const float* x, const float* dout, float* dx, DF df) noexcept {
    std::size_t i = 0;
    for (; i + W <= n; i += W) xsimd::fma(load(dout + i), df(load(x + i)), load(dx + i)).store_unaligned(dx + i);
    return i;
}

}  // namespace

// ---- activations -------------------------------------------------------------------------------------------------

// Mish, the fused GroupNorm + Mish pass and Adam run the set chosen at run time (kernel_set.hpp); their code is
// nn/simd/kernels_impl.hpp, instantiated here for the baseline and in kernels_avx512.cpp for AVX-512.
// NOTE: kernel_set() throws on an invalid DYDIFF_SIMD at the first call; inside these noexcept kernels that
// terminates, as in gemm (nn/simd/gemm.cpp).
constexpr VectorKernels kBaselineVectorKernels = kernels_detail::make_vector_kernels<FloatBatch>();

void mish_forward(std::size_t n, const float* x, float* y) noexcept { kernel_set().vector->mish_forward(n, x, y); }

void mish_backward(std::size_t n, const float* x, const float* dout, float* dx) noexcept {
    kernel_set().vector->mish_backward(n, x, dout, dx);
}

void silu_forward(std::size_t n, const float* x, float* y) noexcept {
    const std::size_t i = map_batches(n, x, y, [](const Batch& v) { return v * sigmoid(v, exp_neg_abs(v)); });
    ref::silu_forward(n - i, x + i, y + i);
}

void silu_backward(std::size_t n, const float* x, const float* dout, float* dx) noexcept {
    const std::size_t i = map_backward_batches(n, x, dout, dx, [](const Batch& v) {
        const Batch s = sigmoid(v, exp_neg_abs(v));
        return s * xsimd::fma(v, Batch(1.0f) - s, Batch(1.0f));
    });
    ref::silu_backward(n - i, x + i, dout + i, dx + i);
}

void relu_forward(std::size_t n, const float* x, float* y) noexcept {
    const std::size_t i = map_batches(n, x, y, [](const Batch& v) { return xsimd::max(v, Batch(0.0f)); });
    ref::relu_forward(n - i, x + i, y + i);
}

void relu_backward(std::size_t n, const float* x, const float* dout, float* dx) noexcept {
    const std::size_t i = map_backward_batches(n, x, dout, dx, [](const Batch& v) {
        return xsimd::select(v > Batch(0.0f), Batch(1.0f), Batch(0.0f));
    });
    ref::relu_backward(n - i, x + i, dout + i, dx + i);
}

void tanh_forward(std::size_t n, const float* x, float* y) noexcept {
    const std::size_t i = map_batches(n, x, y, [](const Batch& v) { return xsimd::tanh(v); });
    ref::tanh_forward(n - i, x + i, y + i);
}

void tanh_backward(std::size_t n, const float* x, const float* dout, float* dx) noexcept {
    const std::size_t i = map_backward_batches(n, x, dout, dx, [](const Batch& v) {
        const Batch t = xsimd::tanh(v);
        return xsimd::fnma(t, t, Batch(1.0f));
    });
    ref::tanh_backward(n - i, x + i, dout + i, dx + i);
}

void softplus_forward(std::size_t n, const float* x, float* y) noexcept {
    const std::size_t i = map_batches(n, x, y, [](const Batch& v) { return softplus(v, exp_neg_abs(v)); });
    ref::softplus_forward(n - i, x + i, y + i);
}

void softplus_backward(std::size_t n, const float* x, const float* dout, float* dx) noexcept {
    const std::size_t i =
        map_backward_batches(n, x, dout, dx, [](const Batch& v) { return sigmoid(v, exp_neg_abs(v)); });
    ref::softplus_backward(n - i, x + i, dout + i, dx + i);
}

// ---- normalisation -----------------------------------------------------------------------------------------------
// Building blocks on one contiguous span; GroupNorm calls them per (b, g) span and per channel run of H floats,
// LayerNorm per row with gamma/beta as vectors.

namespace {

// Two-pass statistics of x[0, len): mean first, then the mean squared deviation (biased variance). The first pass
// sums x - x[0], not x: with a mean far from zero (|mean| >> std) the float sum of x would lose the low bits that
// the normalised output depends on, the sum of deviations does not.
void span_stats(std::size_t len, const float* x, float eps, float* mean, float* rstd) noexcept {
    const float pivot = x[0];
    const Batch vpivot(pivot);
    Batch acc(0.0f);
    std::size_t j = 0;
    for (; j + W <= len; j += W) acc += load(x + j) - vpivot;
    float sum = reduce_sum(acc);
    for (; j < len; ++j) sum += x[j] - pivot;
    const float mu = pivot + sum / static_cast<float>(len);

    const Batch vmu(mu);
    Batch acc2(0.0f);
    j = 0;
    for (; j + W <= len; j += W) {
        const Batch d = load(x + j) - vmu;
        acc2 = xsimd::fma(d, d, acc2);
    }
    float ss = reduce_sum(acc2);
    for (; j < len; ++j) ss += (x[j] - mu) * (x[j] - mu);
    *mean = mu;
    *rstd = 1.0f / std::sqrt(ss / static_cast<float>(len) + eps);
}

// Sums over x[0, len) of dout * (x - mu) * rs (into *s_dxhat) and of dout (into *s_dout).
void span_backward_sums(std::size_t len, const float* dout, const float* x, float mu, float rs, float* s_dxhat,
                        float* s_dout) noexcept {
    const Batch vmu(mu);
    Batch acc_dx(0.0f), acc_d(0.0f);
    std::size_t j = 0;
    for (; j + W <= len; j += W) {
        const Batch d = load(dout + j);
        acc_dx = xsimd::fma(d, load(x + j) - vmu, acc_dx);
        acc_d += d;
    }
    float sdx = reduce_sum(acc_dx), sd = reduce_sum(acc_d);
    for (; j < len; ++j) {
        sdx += dout[j] * (x[j] - mu);
        sd += dout[j];
    }
    *s_dxhat = sdx * rs;
    *s_dout = sd;
}

}  // namespace

void group_norm_forward(std::size_t B, std::size_t C, std::size_t H, std::size_t G, const float* x,
                        const float* gamma, const float* beta, float eps, float* y, float* mean,
                        float* rstd) noexcept {
    const std::size_t cg = C / G;  // channels per group
    for (std::size_t r = 0; r < B * G; ++r) {  // r = b * G + g: the span of group g in sample b
        const float* xr = x + r * cg * H;
        float* yr = y + r * cg * H;
        span_stats(cg * H, xr, eps, &mean[r], &rstd[r]);
        const float mu = mean[r];
        const Batch vmu(mu);
        for (std::size_t k = 0; k < cg; ++k) {
            const std::size_t c = (r % G) * cg + k;
            // y = (x - mean) * (rstd * gamma) + beta: subtract first, so a large mean cancels exactly.
            const float a = rstd[r] * gamma[c];
            const Batch va(a), vb(beta[c]);
            const float* xc = xr + k * H;
            float* yc = yr + k * H;
            std::size_t h = 0;
            for (; h + W <= H; h += W) xsimd::fma(load(xc + h) - vmu, va, vb).store_unaligned(yc + h);
            for (; h < H; ++h) yc[h] = (xc[h] - mu) * a + beta[c];
        }
    }
}

void group_norm_backward(std::size_t B, std::size_t C, std::size_t H, std::size_t G, const float* dout,
                         const float* x, const float* mean, const float* rstd, const float* gamma, float* dx,
                         float* dgamma, float* dbeta) noexcept {
    const std::size_t cg = C / G;
    const float len = static_cast<float>(cg * H);
    for (std::size_t r = 0; r < B * G; ++r) {
        const std::size_t c0 = (r % G) * cg;
        const float* xr = x + r * cg * H;
        const float* dr = dout + r * cg * H;
        const float mu = mean[r], rs = rstd[r];
        // Pass 1, per channel: s_dxhat = sum_h dout * xhat and s_dout = sum_h dout give dgamma, dbeta, and (times
        // gamma[c]) the group sums of g and g * xhat.
        float sum_g = 0.0f, sum_gx = 0.0f;
        for (std::size_t k = 0; k < cg; ++k) {
            float s_dxhat = 0.0f, s_dout = 0.0f;
            span_backward_sums(H, dr + k * H, xr + k * H, mu, rs, &s_dxhat, &s_dout);
            sum_g += gamma[c0 + k] * s_dout;
            sum_gx += gamma[c0 + k] * s_dxhat;
            if (dgamma != nullptr) dgamma[c0 + k] += s_dxhat;
            if (dbeta != nullptr) dbeta[c0 + k] += s_dout;
        }
        if (dx == nullptr) continue;
        // Pass 2: dx += rstd * (dout * gamma - mean(g) - (x - mean) * rstd * mean(g * xhat))
        //             = dout * k1 - (x - mean) * k2 - k0.
        const float k0 = rs * sum_g / len;
        const float k2 = rs * rs * sum_gx / len;
        const Batch vmu(mu), vk0(k0), vk2(k2);
        float* dxr = dx + r * cg * H;
        for (std::size_t k = 0; k < cg; ++k) {
            const float k1 = rs * gamma[c0 + k];
            const Batch vk1(k1);
            const float* xc = xr + k * H;
            const float* dc = dr + k * H;
            float* dxc = dxr + k * H;
            std::size_t h = 0;
            for (; h + W <= H; h += W) {
                const Batch t = xsimd::fnma(load(xc + h) - vmu, vk2, xsimd::fms(load(dc + h), vk1, vk0));
                (load(dxc + h) + t).store_unaligned(dxc + h);
            }
            for (; h < H; ++h) dxc[h] += dc[h] * k1 - (xc[h] - mu) * k2 - k0;
        }
    }
}

void group_norm_mish_rows(std::size_t B, std::size_t H, std::size_t C, std::size_t G, std::size_t ld, const float* x,
                          const float* bias, const float* gamma, const float* beta, float eps, const float* add,
                          std::size_t add_ld, const float* res, float* y, float* mean, float* rstd) noexcept {
    kernel_set().vector->group_norm_mish_rows(B, H, C, G, ld, x, bias, gamma, beta, eps, add, add_ld, res, y, mean,
                                              rstd);
}

void layer_norm_forward(std::size_t N, std::size_t D, const float* x, const float* gamma, const float* beta,
                        float eps, float* y, float* mean, float* rstd) noexcept {
    for (std::size_t i = 0; i < N; ++i) {
        const float* xr = x + i * D;
        float* yr = y + i * D;
        span_stats(D, xr, eps, &mean[i], &rstd[i]);
        const float mu = mean[i], rs = rstd[i];
        const Batch vmu(mu), vrs(rs);
        std::size_t d = 0;
        for (; d + W <= D; d += W)
            xsimd::fma((load(xr + d) - vmu) * vrs, load(gamma + d), load(beta + d)).store_unaligned(yr + d);
        for (; d < D; ++d) yr[d] = (xr[d] - mu) * rs * gamma[d] + beta[d];
    }
}

void layer_norm_backward(std::size_t N, std::size_t D, const float* dout, const float* x, const float* mean,
                         const float* rstd, const float* gamma, float* dx, float* dgamma, float* dbeta) noexcept {
    for (std::size_t i = 0; i < N; ++i) {
        const float* xr = x + i * D;
        const float* dr = dout + i * D;
        const float mu = mean[i], rs = rstd[i];
        const Batch vmu(mu), vrs(rs);
        // Pass 1: sums of g = dout * gamma and g * xhat over the row; dgamma and dbeta per column.
        Batch acc_g(0.0f), acc_gx(0.0f);
        std::size_t d = 0;
        for (; d + W <= D; d += W) {
            const Batch dd = load(dr + d);
            const Batch xhat = (load(xr + d) - vmu) * vrs;
            const Batch g = dd * load(gamma + d);
            acc_g += g;
            acc_gx = xsimd::fma(g, xhat, acc_gx);
            if (dgamma != nullptr) xsimd::fma(dd, xhat, load(dgamma + d)).store_unaligned(dgamma + d);
            if (dbeta != nullptr) (load(dbeta + d) + dd).store_unaligned(dbeta + d);
        }
        float sum_g = reduce_sum(acc_g), sum_gx = reduce_sum(acc_gx);
        for (; d < D; ++d) {
            const float xhat = (xr[d] - mu) * rs;
            const float g = dr[d] * gamma[d];
            sum_g += g;
            sum_gx += g * xhat;
            if (dgamma != nullptr) dgamma[d] += dr[d] * xhat;
            if (dbeta != nullptr) dbeta[d] += dr[d];
        }
        if (dx == nullptr) continue;
        // Pass 2: dx += rstd * (g - mean(g) - xhat * mean(g * xhat)).
        const float mean_g = sum_g / static_cast<float>(D);
        const float mean_gx = sum_gx / static_cast<float>(D);
        const Batch vmg(mean_g), vmgx(mean_gx);
        float* dxr = dx + i * D;
        d = 0;
        for (; d + W <= D; d += W) {
            const Batch xhat = (load(xr + d) - vmu) * vrs;
            const Batch g = load(dr + d) * load(gamma + d);
            xsimd::fma(vrs, xsimd::fnma(xhat, vmgx, g - vmg), load(dxr + d)).store_unaligned(dxr + d);
        }
        for (; d < D; ++d) {
            const float xhat = (xr[d] - mu) * rs;
            dxr[d] += rs * (dr[d] * gamma[d] - mean_g - xhat * mean_gx);
        }
    }
}

// ---- channel bias ------------------------------------------------------------------------------------------------
// H == 1 (a (B, C) matrix) vectorises along C with bias as a vector; otherwise along H with bias[c] broadcast.

void bias_add(std::size_t B, std::size_t C, std::size_t H, const float* bias, float* y) noexcept {
    for (std::size_t b = 0; b < B; ++b) {
        if (H == 1) {
            float* yr = y + b * C;
            std::size_t c = 0;
            for (; c + W <= C; c += W) (load(yr + c) + load(bias + c)).store_unaligned(yr + c);
            for (; c < C; ++c) yr[c] += bias[c];
            continue;
        }
        for (std::size_t c = 0; c < C; ++c) {
            float* yc = y + (b * C + c) * H;
            const Batch vb(bias[c]);
            std::size_t h = 0;
            for (; h + W <= H; h += W) (load(yc + h) + vb).store_unaligned(yc + h);
            for (; h < H; ++h) yc[h] += bias[c];
        }
    }
}

void bias_reduce(std::size_t B, std::size_t C, std::size_t H, const float* dout, float* dbias) noexcept {
    for (std::size_t b = 0; b < B; ++b) {
        if (H == 1) {
            const float* dr = dout + b * C;
            std::size_t c = 0;
            for (; c + W <= C; c += W) (load(dbias + c) + load(dr + c)).store_unaligned(dbias + c);
            for (; c < C; ++c) dbias[c] += dr[c];
            continue;
        }
        for (std::size_t c = 0; c < C; ++c) {
            const float* dc = dout + (b * C + c) * H;
            Batch acc(0.0f);
            std::size_t h = 0;
            for (; h + W <= H; h += W) acc += load(dc + h);
            float sum = reduce_sum(acc);
            for (; h < H; ++h) sum += dc[h];
            dbias[c] += sum;
        }
    }
}

// ---- optimizer ---------------------------------------------------------------------------------------------------

void adam_update(std::size_t n, float* param, const float* grad, float* m, float* v, float lr, float beta1,
                 float beta2, float eps, float weight_decay, float bias_correction1, float bias_correction2,
                 bool decoupled) noexcept {
    kernel_set().vector->adam_update(n, param, grad, m, v, lr, beta1, beta2, eps, weight_decay, bias_correction1,
                                     bias_correction2, decoupled);
}

// ---- vector helpers ----------------------------------------------------------------------------------------------

double sum_squares(std::size_t n, const float* x) noexcept {
    constexpr std::size_t kBlock = 64 * W;  // floats summed in float lanes before the block total goes to double
    double total = 0.0;
    std::size_t i = 0;
    while (i + W <= n) {
        const std::size_t end = std::min(n - n % W, i + kBlock);
        Batch acc(0.0f);
        for (; i < end; i += W) {
            const Batch b = load(x + i);
            acc = xsimd::fma(b, b, acc);
        }
        total += reduce_sum(acc);
    }
    return total + ref::sum_squares(n - i, x + i);
}

void scale(std::size_t n, float alpha, float* x) noexcept {
    const Batch va(alpha);
    std::size_t i = 0;
    for (; i + W <= n; i += W) (load(x + i) * va).store_unaligned(x + i);
    ref::scale(n - i, alpha, x + i);
}

void axpby(std::size_t n, float a, const float* x, float b, float* y) noexcept {
    const Batch va(a), vb(b);
    std::size_t i = 0;
    for (; i + W <= n; i += W) xsimd::fma(va, load(x + i), vb * load(y + i)).store_unaligned(y + i);
    ref::axpby(n - i, a, x + i, b, y + i);
}

bool all_finite(std::size_t n, const float* x) noexcept {
    std::size_t i = 0;
    for (; i + W <= n; i += W)
        if (!xsimd::all(xsimd::isfinite(load(x + i)))) return false;
    return ref::all_finite(n - i, x + i);
}

}  // namespace dydiff::nn::simd
