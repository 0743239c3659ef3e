// Private to the kernel translation units (nn/simd/kernels.cpp, nn/simd/kernels_avx512.cpp): the kernels of
// nn/simd/kernels.hpp that have a run-time variant per instruction set (nn/simd/arch.hpp), as templates on the
// register type: Mish forward and backward, the fused GroupNorm + Mish pass of the U-Net's inference path, and Adam's
// update. kernels.cpp instantiates them for the baseline set, kernels_avx512.cpp for AVX-512; the math and the
// preconditions are in kernels.hpp, the scalar twins (kernels_ref.cpp) are the tests' reference.
// The sets give the same bits, as gemm's do: every element goes through the same operations whatever the register
// width. Multiply-adds are fused through fused_multiply_add, the elements past the last whole register run the
// batch loop's arithmetic on a zero-padded register (load_partial), not the scalar twin's, and sums run per channel
// (lane) in the same order on every set. NOTE: xsimd's exp fuses its multiply-adds with fma3 on AVX2, and on
// avx512f through its generic x * y + z, which g++ contracts by default (batch.hpp); test/nn/test_kernels.cpp
// (variants_agree_with_the_baseline) compares the bits and would catch a compiler that does not.
// NOTE: templates on the register type only, for the reason given at the top of gemm_kernel.hpp.
#pragma once

#include "nn/simd/batch.hpp"
#include "nn/simd/kernel_set.hpp"
#include "nn/simd/kernels.hpp"

#include <cmath>
#include <cstddef>
#include <cstdint>

namespace dydiff::nn::simd::kernels_detail {

template <class Batch>
inline Batch load(const float* p) noexcept {
    return Batch::load_unaligned(p);
}

/// A register holding the r < Batch::size floats at p, the other lanes zero.
template <class Batch>
inline Batch load_partial(const float* p, std::size_t r) noexcept {
    alignas(64) float buf[Batch::size] = {};
    for (std::size_t k = 0; k < r; ++k) buf[k] = p[k];
    return Batch::load_aligned(buf);
}

/// Stores the first r lanes of b at p.
template <class Batch>
inline void store_partial(const Batch& b, float* p, std::size_t r) noexcept {
    alignas(64) float buf[Batch::size];
    b.store_aligned(buf);
    for (std::size_t k = 0; k < r; ++k) p[k] = buf[k];
}

// Mish through one exponential (kernels.hpp): n = e^min(x, kMishExpCap), p = n (n + 2), w = p + 2, t = p / w.
template <class Batch>
struct MishTerms {
    Batch n, p, w;
};

template <class Batch>
inline MishTerms<Batch> mish_terms(const Batch& x) noexcept {
    const Batch n = xsimd::exp(xsimd::min(x, Batch(kMishExpCap)));
    const Batch p = n * (n + Batch(2.0f));
    return {n, p, p + Batch(2.0f)};
}

template <class Batch>
inline Batch mish(const Batch& x) noexcept {
    const MishTerms<Batch> m = mish_terms(x);
    return x * (m.p / m.w);
}

template <class Batch>
void mish_forward(std::size_t n, const float* x, float* y) noexcept {
    constexpr std::size_t W = Batch::size;
    std::size_t i = 0;
    for (; i + W <= n; i += W) mish(load<Batch>(x + i)).store_unaligned(y + i);
    if (i < n) store_partial(mish(load_partial<Batch>(x + i, n - i)), y + i, n - i);
}

/// mish'(x): t + 4 x n (n + 1) / w^2 (kernels.hpp).
template <class Batch>
inline Batch mish_derivative(const Batch& x) noexcept {
    const MishTerms<Batch> m = mish_terms(x);
    const Batch r = Batch(1.0f) / m.w;
    const Batch xc = xsimd::min(x, Batch(kMishExpCap));
    return fused_multiply_add(Batch(4.0f) * xc * m.n * (m.n + Batch(1.0f)), r * r, m.p * r);
}

template <class Batch>
void mish_backward(std::size_t n, const float* x, const float* dout, float* dx) noexcept {
    constexpr std::size_t W = Batch::size;
    std::size_t i = 0;
    for (; i + W <= n; i += W)
        fused_multiply_add(load<Batch>(dout + i), mish_derivative(load<Batch>(x + i)), load<Batch>(dx + i))
            .store_unaligned(dx + i);
    if (i < n) {
        const std::size_t r = n - i;
        const Batch d = mish_derivative(load_partial<Batch>(x + i, r));
        const Batch g = fused_multiply_add(load_partial<Batch>(dout + i, r), d, load_partial<Batch>(dx + i, r));
        store_partial(g, dx + i, r);
    }
}

// Channels-last rows: the channels of a sample are walked in blocks of up to kRowBlockVecs registers, each block
// summed down its H rows in lane-parallel accumulators (every lane adds H terms); channels past the last whole
// register go through one zero-padded register. The statistics take one pass: sums of d = v - ref[g] and d^2 per
// group, where the reference ref[g] is the group's first entry (an entry of the group, so |mean - ref| is a few
// standard deviations at most and var = E[d^2] - E[d]^2 loses only a few bits, however large the mean).
inline constexpr std::size_t kRowBlockVecs = 4;

// s1[j] += sum_t (x[t, c0 + j] - shift[j]), s2[j] += sum_t (x[t, c0 + j] - shift[j])^2 for j < n, over H rows of
// stride C. n <= kRowBlockVecs * Batch::size.
template <class Batch>
void column_moments(std::size_t H, std::size_t C, const float* x, std::size_t c0, std::size_t n, const float* shift,
                    float* s1, float* s2) noexcept {
    constexpr std::size_t W = Batch::size;
    const std::size_t nv = n / W;
    Batch acc1[kRowBlockVecs], acc2[kRowBlockVecs], sh[kRowBlockVecs];
    for (std::size_t v = 0; v < nv; ++v) {
        acc1[v] = acc2[v] = Batch(0.0f);
        sh[v] = load<Batch>(shift + v * W);
    }
    for (std::size_t t = 0; t < H; ++t) {
        const float* row = x + t * C + c0;
        for (std::size_t v = 0; v < nv; ++v) {
            const Batch d = load<Batch>(row + v * W) - sh[v];
            acc1[v] += d;
            acc2[v] = fused_multiply_add(d, d, acc2[v]);
        }
    }
    for (std::size_t v = 0; v < nv; ++v) {
        acc1[v].store_unaligned(s1 + v * W);
        acc2[v].store_unaligned(s2 + v * W);
    }
    if (const std::size_t r = n - nv * W; r > 0) {  // the channels past the last whole register
        const std::size_t j = nv * W;
        const Batch sht = load_partial<Batch>(shift + j, r);
        Batch a1(0.0f), a2(0.0f);
        for (std::size_t t = 0; t < H; ++t) {
            const Batch d = load_partial<Batch>(x + t * C + c0 + j, r) - sht;
            a1 += d;
            a2 = fused_multiply_add(d, d, a2);
        }
        store_partial(a1, s1 + j, r);
        store_partial(a2, s2 + j, r);
    }
}

template <class Batch>
void group_norm_mish_rows(std::size_t B, std::size_t H, std::size_t C, std::size_t G, std::size_t ld, const float* x,
                          const float* bias, const float* gamma, const float* beta, float eps, const float* add,
                          std::size_t add_ld, const float* res, float* y, float* mean, float* rstd) noexcept {
    constexpr std::size_t W = Batch::size;
    constexpr std::size_t kRowBlock = kRowBlockVecs * W;
    const std::size_t cg = C / G;
    const float n_group = static_cast<float>(cg * H);
    alignas(64) float shift[kRowBlock], s1[kRowBlock], s2[kRowBlock], scale[kRowBlock], offset[kRowBlock],
        post[kRowBlock];
    for (std::size_t b = 0; b < B; ++b) {
        const float* xb = x + b * ld;
        float* mb = mean + b * G;  // S1 of the group, then its mean
        float* rb = rstd + b * G;  // S2 of the group, then its rstd
        for (std::size_t g = 0; g < G; ++g) mb[g] = rb[g] = 0.0f;
        // The statistics pass: d = v - ref[g] = x - (ref[g] - bias[c]), with ref[g] = v at (t = 0, c = g cg).
        const auto ref = [&](std::size_t g) { return xb[g * cg] + (bias ? bias[g * cg] : 0.0f); };
        for (std::size_t c0 = 0; c0 < C; c0 += kRowBlock) {
            const std::size_t n = C - c0 < kRowBlock ? C - c0 : kRowBlock;
            for (std::size_t j = 0; j < n; ++j) shift[j] = ref((c0 + j) / cg) - (bias ? bias[c0 + j] : 0.0f);
            column_moments<Batch>(H, C, xb, c0, n, shift, s1, s2);
            for (std::size_t j = 0; j < n; ++j) {
                mb[(c0 + j) / cg] += s1[j];
                rb[(c0 + j) / cg] += s2[j];
            }
        }
        for (std::size_t g = 0; g < G; ++g) {
            const float m1 = mb[g] / n_group, m2 = rb[g] / n_group;
            const float var = m2 - m1 * m1;
            mb[g] = ref(g) + m1;
            rb[g] = 1.0f / std::sqrt((var < 0.0f ? 0.0f : var) + eps);  // std::max(var, 0), spelled out (NOTE above)
        }
        // The output pass: y = mish((x - shift) * scale + offset) + post (+ res), with shift = mean - bias,
        // scale = rstd gamma, offset = beta, post = add.
        const float* ab = add ? add + b * add_ld : nullptr;
        const float* resb = res ? res + b * ld : nullptr;
        float* yb = y + b * ld;
        for (std::size_t c0 = 0; c0 < C; c0 += kRowBlock) {
            const std::size_t n = C - c0 < kRowBlock ? C - c0 : kRowBlock, nv = n / W;
            for (std::size_t j = 0; j < n; ++j) {
                const std::size_t c = c0 + j, g = c / cg;
                shift[j] = mb[g] - (bias ? bias[c] : 0.0f);
                scale[j] = rb[g] * gamma[c];
                offset[j] = beta[c];
                post[j] = ab ? ab[c] : 0.0f;
            }
            // One register of channels at a time down the H rows, its four parameter vectors held in registers.
            for (std::size_t j = 0; j < nv * W; j += W) {
                const Batch vs = load<Batch>(shift + j), va = load<Batch>(scale + j), vo = load<Batch>(offset + j),
                            vp = load<Batch>(post + j);
                const float* xc = xb + c0 + j;
                float* yc = yb + c0 + j;
                if (resb) {
                    const float* rc = resb + c0 + j;
                    for (std::size_t t = 0; t < H; ++t)
                        (mish(fused_multiply_add(load<Batch>(xc + t * C) - vs, va, vo)) + vp + load<Batch>(rc + t * C))
                            .store_unaligned(yc + t * C);
                } else {
                    for (std::size_t t = 0; t < H; ++t)
                        (mish(fused_multiply_add(load<Batch>(xc + t * C) - vs, va, vo)) + vp)
                            .store_unaligned(yc + t * C);
                }
            }
            if (const std::size_t r = n - nv * W; r > 0) {  // the channels past the last whole register
                const std::size_t j = nv * W;
                const Batch vs = load_partial<Batch>(shift + j, r), va = load_partial<Batch>(scale + j, r),
                            vo = load_partial<Batch>(offset + j, r), vp = load_partial<Batch>(post + j, r);
                for (std::size_t t = 0; t < H; ++t) {
                    const float* xc = xb + t * C + c0 + j;
                    Batch z = mish(fused_multiply_add(load_partial<Batch>(xc, r) - vs, va, vo)) + vp;
                    if (resb) z += load_partial<Batch>(resb + t * C + c0 + j, r);
                    store_partial(z, yb + t * C + c0 + j, r);
                }
            }
        }
    }
}

template <class Batch>
void adam_update(std::size_t n, float* param, const float* grad, float* m, float* v, float lr, float beta1,
                 float beta2, float eps, float weight_decay, float bias_correction1, float bias_correction2,
                 bool decoupled) noexcept {
    constexpr std::size_t W = Batch::size;
    const float step_size = lr / bias_correction1;
    const float bc2_sqrt = std::sqrt(bias_correction2);
    const float shrink = decoupled ? 1.0f - lr * weight_decay : 1.0f;  // AdamW: p *= 1 - lr * wd
    const float l2 = decoupled ? 0.0f : weight_decay;                   // Adam:  g += wd * p
    const Batch vb1(beta1), vb2(beta2), v1mb1(1.0f - beta1), v1mb2(1.0f - beta2);
    const Batch vneg_step(-step_size), vbc2(bc2_sqrt), veps(eps), vshrink(shrink), vl2(l2);
    // One register of parameters: p, g, m, v in, the new p, m, v out.
    const auto step = [&](Batch& p, const Batch& grad_in, Batch& mi, Batch& vi) {
        const Batch g = fused_multiply_add(vl2, p, grad_in);
        p *= vshrink;
        mi = fused_multiply_add(vb1, mi, v1mb1 * g);
        vi = fused_multiply_add(vb2, vi, v1mb2 * g * g);
        p = fused_multiply_add(vneg_step, mi / (xsimd::sqrt(vi) / vbc2 + veps), p);  // p - step * m / (...)
    };
    // A head of fewer than W elements as one partial register, so that the batch loop's stores to param (and to m
    // and v, which come from the same allocator and share its offset as a rule) start on a register-sized boundary.
    // NOTE: measured on 4M floats at a 32-byte offset (xtensor's AVX2 alignment), AVX-512 stores that straddle
    // cache lines made the update 3x slower than AVX2's; aligned, it is not (docs/performance.md).
    const std::size_t misaligned = reinterpret_cast<std::uintptr_t>(param) % sizeof(Batch);
    std::size_t i = 0;
    if (misaligned % sizeof(float) == 0 && misaligned != 0) {
        const std::size_t to_boundary = (sizeof(Batch) - misaligned) / sizeof(float);
        const std::size_t head = n < to_boundary ? n : to_boundary;
        Batch p = load_partial<Batch>(param, head), mi = load_partial<Batch>(m, head),
              vi = load_partial<Batch>(v, head);
        step(p, load_partial<Batch>(grad, head), mi, vi);
        store_partial(mi, m, head);
        store_partial(vi, v, head);
        store_partial(p, param, head);
        i = head;
    }
    for (; i + W <= n; i += W) {
        Batch p = load<Batch>(param + i), mi = load<Batch>(m + i), vi = load<Batch>(v + i);
        step(p, load<Batch>(grad + i), mi, vi);
        mi.store_unaligned(m + i);
        vi.store_unaligned(v + i);
        p.store_unaligned(param + i);
    }
    if (const std::size_t r = n - i; r > 0) {
        Batch p = load_partial<Batch>(param + i, r), mi = load_partial<Batch>(m + i, r),
              vi = load_partial<Batch>(v + i, r);
        step(p, load_partial<Batch>(grad + i, r), mi, vi);
        store_partial(mi, m + i, r);
        store_partial(vi, v + i, r);
        store_partial(p, param + i, r);
    }
}

/// The table of one set's instantiations (kernel_set.hpp).
template <class Batch>
constexpr VectorKernels make_vector_kernels() noexcept {
    return {&mish_forward<Batch>, &mish_backward<Batch>, &group_norm_mish_rows<Batch>, &adam_update<Batch>};
}

}  // namespace dydiff::nn::simd::kernels_detail
