// Private to nn/simd/gemm.cpp: the register-blocked micro-kernel of the packed sgemm and its tile sizes.
// The micro-kernel multiplies one A sliver (kc, kMr) by one B sliver (kc, kNr), each packed or read in place, into
// kMr x kNr accumulators held in registers (kMr * kNrVecs batches: 12 of the 16 vector registers of AVX2 or SSE2),
// then merges them into C. Smaller variants serve the edge tiles. Tile sizes derive from kFloatWidth; with
// DYDIFF_HAVE_SIMD == 0 the same loops run on scalars. Goto/BLIS idea (pack, then a micro-kernel), our own code.
#pragma once

#include "nn/simd/batch.hpp"

#include <array>
#include <cstddef>
#include <utility>

namespace dydiff::nn::simd::gemm_detail {

/// Rows of C per micro-tile: 6 rows x kNrVecs vectors = 12 accumulators, plus kNrVecs B loads and one broadcast.
inline constexpr std::size_t kMr = 6;
/// Vectors per micro-tile row.
inline constexpr std::size_t kNrVecs = 2;
/// Columns of C per micro-tile (16 with AVX2, 8 with SSE2/NEON, 2 when scalar).
inline constexpr std::size_t kNr = kNrVecs * kFloatWidth;

#if DYDIFF_HAVE_SIMD
/// Makes the compiler materialise x in a register here. NOTE: without it g++ 12 folds the B loads of the smaller
/// variants into every FMA as memory operands, doubling the loads per step (measured -25% on a 14-row gemm).
inline void pin_in_register(FloatBatch& x) noexcept {
#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    typename FloatBatch::register_type r = x;
    __asm__("" : "+x"(r));
    x = r;
#elif defined(__GNUC__) && defined(__aarch64__)
    typename FloatBatch::register_type r = x;
    __asm__("" : "+w"(r));
    x = r;
#else
    static_cast<void>(x);  // other compilers: no known folding problem, nothing to pin
#endif
}
#else
/// Makes the compiler forget what it knows about a and b at each k step of the scalar micro-kernel. NOTE: without it
/// g++ 12 (-O2 and -O3, SSE2) vectorizes the k loop of the 2-column variants and fills each 4-float vector from the
/// 2 operand floats of this k step and of the next one, using only the first pair: the last step reads a_stride or
/// b_stride floats past the sliver. The results stay exact, but a B read in place (ldb = 150000 in conv1d's col2im
/// gemm) then faults one row past the end of the matrix. With a and b opaque the k loop is not vectorized; the 12
/// multiply-adds of one step still are.
inline void hide_from_vectorizer(const float*& a, const float*& b) noexcept {
#if defined(__GNUC__)
    __asm__("" : "+r"(a), "+r"(b));
#else
    static_cast<void>(a), static_cast<void>(b);  // other compilers: no known over-read, nothing to hide
#endif
}
#endif

/// How the micro-kernel walks its A sliver: element (k, i) is at a[k * a_stride + i] (kKMajor: a packed sliver,
/// a_stride = kMr, or a transposed A read in place, a_stride = lda) or at a[i * a_stride + k] (kRowMajor: a plain A
/// read in place, a_stride = lda).
enum class ALayout { kKMajor, kRowMajor };

/// C (MR, NV * kFloatWidth) <- alpha * a^T b + beta * C, where a is an A sliver (kc, MR) laid out as `Layout` says
/// and b a B sliver (kc, NV * kFloatWidth) with row stride b_stride (kNr when packed, ldb when read in place).
/// beta == 0 writes C without reading it. MR < kMr and NV < kNrVecs serve the edge tiles; every element sees the
/// same chain of fused multiply-adds whatever the variant, so all variants agree bitwise.
/// Preconditions: 1 <= MR <= kMr, 1 <= NV <= kNrVecs; kc >= 1; C has MR rows of NV * kFloatWidth writable floats.
/// No alignment is required.
template <ALayout Layout, std::size_t MR, std::size_t NV>
void micro_kernel(std::size_t kc, const float* a, std::size_t a_stride, const float* b, std::size_t b_stride,
                  float alpha, float beta, float* c, std::size_t ldc) noexcept {
    constexpr bool kRowMajor = Layout == ALayout::kRowMajor;
    // The C tile is touched only after the K loop: start fetching its lines now (C is often beyond L2).
    for (std::size_t i = 0; i < MR; ++i) {
        __builtin_prefetch(c + i * ldc, 1);
        __builtin_prefetch(c + i * ldc + NV * kFloatWidth - 1, 1);
    }
#if DYDIFF_HAVE_SIMD
    FloatBatch acc[MR][NV];
    for (std::size_t i = 0; i < MR; ++i)
        for (std::size_t v = 0; v < NV; ++v) acc[i][v] = FloatBatch(0.0f);
    // NOTE: a do-while (kc >= 1) lets g++ 12 keep acc in registers through the epilogue; a for loop that may run
    // zero times makes it spill acc to the stack around the loop, which costs ~10% at kc = 14.
    std::size_t k = kc;
    do {
        FloatBatch bk[NV];
        for (std::size_t v = 0; v < NV; ++v) {
            bk[v] = FloatBatch::load_unaligned(b + v * kFloatWidth);
            pin_in_register(bk[v]);
        }
        for (std::size_t i = 0; i < MR; ++i) {
            const FloatBatch ai(kRowMajor ? a[i * a_stride] : a[i]);
            for (std::size_t v = 0; v < NV; ++v) acc[i][v] = xsimd::fma(ai, bk[v], acc[i][v]);
        }
        a += kRowMajor ? 1 : a_stride;
        b += b_stride;
    } while (--k != 0);
    const FloatBatch va(alpha);
    if (beta == 0.0f) {
        for (std::size_t i = 0; i < MR; ++i)
            for (std::size_t v = 0; v < NV; ++v) (va * acc[i][v]).store_unaligned(c + i * ldc + v * kFloatWidth);
    } else {
        const FloatBatch vb(beta);
        for (std::size_t i = 0; i < MR; ++i) {
            for (std::size_t v = 0; v < NV; ++v) {
                float* p = c + i * ldc + v * kFloatWidth;
                xsimd::fma(va, acc[i][v], vb * FloatBatch::load_unaligned(p)).store_unaligned(p);
            }
        }
    }
#else
    constexpr std::size_t kCols = NV * kFloatWidth;
    float acc[MR][kCols] = {};
    for (std::size_t k = 0; k < kc; ++k) {
        for (std::size_t i = 0; i < MR; ++i)
            for (std::size_t j = 0; j < kCols; ++j) acc[i][j] += (kRowMajor ? a[i * a_stride] : a[i]) * b[j];
        a += kRowMajor ? 1 : a_stride;
        b += b_stride;
        hide_from_vectorizer(a, b);
    }
    for (std::size_t i = 0; i < MR; ++i) {
        for (std::size_t j = 0; j < kCols; ++j) {
            float& out = c[i * ldc + j];
            out = beta == 0.0f ? alpha * acc[i][j] : alpha * acc[i][j] + beta * out;
        }
    }
#endif
}

using MicroKernel = void (*)(std::size_t, const float*, std::size_t, const float*, std::size_t, float, float, float*,
                             std::size_t) noexcept;
using KernelTable = std::array<std::array<MicroKernel, kMr>, kNrVecs>;

template <ALayout Layout, std::size_t NV, std::size_t... R>
constexpr std::array<MicroKernel, kMr> row_variants(std::index_sequence<R...>) noexcept {
    return {&micro_kernel<Layout, R + 1, NV>...};
}

template <ALayout Layout, std::size_t... V>
constexpr KernelTable all_variants(std::index_sequence<V...>) noexcept {
    return {row_variants<Layout, V + 1>(std::make_index_sequence<kMr>{})...};
}

/// kMicroKernels[layout][nv - 1][mr - 1] is micro_kernel<layout, mr, nv>.
inline constexpr std::array<KernelTable, 2> kMicroKernels = {
    all_variants<ALayout::kKMajor>(std::make_index_sequence<kNrVecs>{}),
    all_variants<ALayout::kRowMajor>(std::make_index_sequence<kNrVecs>{}),
};

/// The same tile with its rows anywhere: row i of A starts at a[i] (this K block's first entry, read in place) and
/// row i of C at c[i]; b is a sliver (kc, NV * kFloatWidth) with row stride kNr; alpha is 1. The chain of fused
/// multiply-adds per element is micro_kernel's, so a product through it equals gemm's bitwise.
/// Preconditions: as micro_kernel's, each c[i] with NV * kFloatWidth writable floats.
template <std::size_t MR, std::size_t NV>
void micro_kernel_rows(std::size_t kc, const float* const* a, const float* b, float beta, float* const* c) noexcept {
    for (std::size_t i = 0; i < MR; ++i) {
        __builtin_prefetch(c[i], 1);
        __builtin_prefetch(c[i] + NV * kFloatWidth - 1, 1);
    }
#if DYDIFF_HAVE_SIMD
    FloatBatch acc[MR][NV];
    for (std::size_t i = 0; i < MR; ++i)
        for (std::size_t v = 0; v < NV; ++v) acc[i][v] = FloatBatch(0.0f);
    std::size_t k = 0;  // NOTE: a do-while keeps acc in registers (see micro_kernel)
    do {
        FloatBatch bk[NV];
        for (std::size_t v = 0; v < NV; ++v) {
            bk[v] = FloatBatch::load_unaligned(b + v * kFloatWidth);
            pin_in_register(bk[v]);
        }
        for (std::size_t i = 0; i < MR; ++i) {
            const FloatBatch ai(a[i][k]);
            for (std::size_t v = 0; v < NV; ++v) acc[i][v] = xsimd::fma(ai, bk[v], acc[i][v]);
        }
        b += kNr;
    } while (++k != kc);
    const FloatBatch one(1.0f);
    for (std::size_t i = 0; i < MR; ++i) {
        for (std::size_t v = 0; v < NV; ++v) {
            float* p = c[i] + v * kFloatWidth;
            if (beta == 0.0f)
                (one * acc[i][v]).store_unaligned(p);
            else
                xsimd::fma(one, acc[i][v], FloatBatch(beta) * FloatBatch::load_unaligned(p)).store_unaligned(p);
        }
    }
#else
    constexpr std::size_t kCols = NV * kFloatWidth;
    float acc[MR][kCols] = {};
    const float* a0 = a[0];
    for (std::size_t k = 0; k < kc; ++k) {
        for (std::size_t i = 0; i < MR; ++i)
            for (std::size_t j = 0; j < kCols; ++j) acc[i][j] += a[i][k] * b[j];
        b += kNr;
        hide_from_vectorizer(a0, b);
    }
    for (std::size_t i = 0; i < MR; ++i) {
        for (std::size_t j = 0; j < kCols; ++j) {
            float& out = c[i][j];
            out = beta == 0.0f ? 1.0f * acc[i][j] : 1.0f * acc[i][j] + beta * out;
        }
    }
#endif
}

using RowsMicroKernel = void (*)(std::size_t, const float* const*, const float*, float, float* const*) noexcept;
using RowsKernelTable = std::array<std::array<RowsMicroKernel, kMr>, kNrVecs>;

template <std::size_t NV, std::size_t... R>
constexpr std::array<RowsMicroKernel, kMr> rows_row_variants(std::index_sequence<R...>) noexcept {
    return {&micro_kernel_rows<R + 1, NV>...};
}

template <std::size_t... V>
constexpr RowsKernelTable rows_all_variants(std::index_sequence<V...>) noexcept {
    return {rows_row_variants<V + 1>(std::make_index_sequence<kMr>{})...};
}

/// kRowsMicroKernels[nv - 1][mr - 1] is micro_kernel_rows<mr, nv>.
inline constexpr RowsKernelTable kRowsMicroKernels = rows_all_variants(std::make_index_sequence<kNrVecs>{});

}  // namespace dydiff::nn::simd::gemm_detail
