// Private to nn/simd/gemm.cpp: the register-blocked micro-kernel of the packed sgemm and its tile sizes.
// The micro-kernel multiplies one packed A sliver (kc, kMr) by one packed B sliver (kc, kNr) into kMr x kNr
// accumulators held in registers (kMr * kNrVecs batches, 12 of the 16 vector registers on AVX2, SSE2 and NEON), then
// merges them into C. Tile sizes derive from kFloatWidth; with DYDIFF_HAVE_SIMD == 0 the same loops run on scalars.
// Goto/BLIS idea (pack, then a micro-kernel over contiguous slivers), our own code.
#pragma once

#include "nn/simd/batch.hpp"

#include <cstddef>

namespace dydiff::nn::simd::gemm_detail {

/// Rows of C per micro-tile: 6 rows x kNrVecs vectors = 12 accumulators, plus kNrVecs B loads and one broadcast.
inline constexpr std::size_t kMr = 6;
/// Vectors per micro-tile row.
inline constexpr std::size_t kNrVecs = 2;
/// Columns of C per micro-tile (16 with AVX2, 8 with SSE2/NEON, 2 when scalar).
inline constexpr std::size_t kNr = kNrVecs * kFloatWidth;

/// C (kMr, kNr) <- alpha * a^T b + beta * C, where a is a packed A sliver (kc, kMr) and b a packed B sliver (kc, kNr),
/// both contiguous. beta == 0 writes C without reading it.
/// Preconditions: b is aligned to the batch alignment; C rows have kNr writable floats; kc may be 0.
inline void micro_kernel(std::size_t kc, const float* a, const float* b, float alpha, float beta, float* c,
                         std::size_t ldc) noexcept {
#if DYDIFF_HAVE_SIMD
    FloatBatch acc[kMr][kNrVecs];
    for (std::size_t i = 0; i < kMr; ++i)
        for (std::size_t v = 0; v < kNrVecs; ++v) acc[i][v] = FloatBatch(0.0f);
    for (std::size_t k = 0; k < kc; ++k) {
        FloatBatch bk[kNrVecs];
        for (std::size_t v = 0; v < kNrVecs; ++v) bk[v] = FloatBatch::load_aligned(b + v * kFloatWidth);
        for (std::size_t i = 0; i < kMr; ++i) {
            const FloatBatch ai(a[i]);
            for (std::size_t v = 0; v < kNrVecs; ++v) acc[i][v] = xsimd::fma(ai, bk[v], acc[i][v]);
        }
        a += kMr;
        b += kNr;
    }
    const FloatBatch va(alpha);
    if (beta == 0.0f) {
        for (std::size_t i = 0; i < kMr; ++i)
            for (std::size_t v = 0; v < kNrVecs; ++v) (va * acc[i][v]).store_unaligned(c + i * ldc + v * kFloatWidth);
    } else {
        const FloatBatch vb(beta);
        for (std::size_t i = 0; i < kMr; ++i) {
            for (std::size_t v = 0; v < kNrVecs; ++v) {
                float* p = c + i * ldc + v * kFloatWidth;
                xsimd::fma(va, acc[i][v], vb * FloatBatch::load_unaligned(p)).store_unaligned(p);
            }
        }
    }
#else
    float acc[kMr][kNr] = {};
    for (std::size_t k = 0; k < kc; ++k) {
        for (std::size_t i = 0; i < kMr; ++i)
            for (std::size_t j = 0; j < kNr; ++j) acc[i][j] += a[i] * b[j];
        a += kMr;
        b += kNr;
    }
    for (std::size_t i = 0; i < kMr; ++i) {
        for (std::size_t j = 0; j < kNr; ++j) {
            float& out = c[i * ldc + j];
            out = beta == 0.0f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * out;
        }
    }
#endif
}

}  // namespace dydiff::nn::simd::gemm_detail
