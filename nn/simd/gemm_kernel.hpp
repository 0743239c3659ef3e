// Private to the gemm translation units (nn/simd/gemm.cpp, nn/simd/gemm_avx512.cpp): the register-blocked
// micro-kernel of the packed sgemm, its tile shape per instruction set, and the FMA peak loop it is measured against.
// The micro-kernel multiplies one A sliver (kc, Mr) by one B sliver (kc, Nr), each packed or read in place, into
// Mr x NrVecs accumulator registers, then merges them into C. Smaller variants serve the edge tiles. With
// DYDIFF_HAVE_SIMD == 0 the same loops run on scalars. Goto/BLIS idea (pack, then a micro-kernel), our own code.
// NOTE: everything here is a template on the Tile, so each instruction set's translation unit instantiates its own
// copies under its own names: an inline non-template function compiled with -mavx512f in one translation unit and
// without it in another is one weak symbol to the linker, which may keep the AVX-512 copy for every caller.
#pragma once

#include "nn/simd/batch.hpp"
#include "nn/simd/kernel_set.hpp"

#include <array>
#include <cstddef>
#include <utility>

namespace dydiff::nn::simd::gemm_detail {

/// The micro-tile of one instruction set: Mr rows of C x NrVecs registers of Lanes floats (Batch: the register
/// type, a plain float when scalar).
template <class Batch, std::size_t Lanes, std::size_t Mr, std::size_t NrVecs>
struct Tile {
    using batch_type = Batch;
    /// Floats per register.
    static constexpr std::size_t kLanes = Lanes;
    /// Rows of C per micro-tile.
    static constexpr std::size_t kMr = Mr;
    /// Registers per micro-tile row.
    static constexpr std::size_t kNrVecs = NrVecs;
    /// Columns of C per micro-tile.
    static constexpr std::size_t kNr = NrVecs * Lanes;
};

#if DYDIFF_HAVE_SIMD
/// Makes the compiler materialise x in a register here. NOTE: without it g++ 12 folds the B loads of the smaller
/// variants into every FMA as memory operands, doubling the loads per step (measured -25% on a 14-row gemm).
template <class Batch>
void pin_in_register(Batch& x) noexcept {
#if defined(__GNUC__) && defined(__AVX512F__)
    typename Batch::register_type r = x;
    __asm__("" : "+v"(r));  // any of the 32 vector registers
    x = r;
#elif defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
    typename Batch::register_type r = x;
    __asm__("" : "+x"(r));
    x = r;
#elif defined(__GNUC__) && defined(__aarch64__)
    typename Batch::register_type r = x;
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
template <class T>
void hide_from_vectorizer(const float*& a, const float*& b) noexcept {
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

/// C (MR, NV * T::kLanes) <- alpha * a^T b + beta * C, where a is an A sliver (kc, MR) laid out as `Layout` says
/// and b a B sliver (kc, NV * T::kLanes) with row stride b_stride (T::kNr when packed, ldb when read in place).
/// beta == 0 writes C without reading it. MR < T::kMr and NV < T::kNrVecs serve the edge tiles; every element sees
/// the same chain of fused multiply-adds whatever the variant and whatever the tile (so whatever the instruction
/// set): all agree bitwise.
/// Preconditions: 1 <= MR <= T::kMr, 1 <= NV <= T::kNrVecs; kc >= 1; C has MR rows of NV * T::kLanes writable
/// floats. No alignment is required.
template <class T, ALayout Layout, std::size_t MR, std::size_t NV>
void micro_kernel(std::size_t kc, const float* a, std::size_t a_stride, const float* b, std::size_t b_stride,
                  float alpha, float beta, float* c, std::size_t ldc) noexcept {
    constexpr bool kRowMajor = Layout == ALayout::kRowMajor;
    constexpr std::size_t W = T::kLanes;
    // The C tile is touched only after the K loop: start fetching its lines now (C is often beyond L2).
    for (std::size_t i = 0; i < MR; ++i) {
        __builtin_prefetch(c + i * ldc, 1);
        __builtin_prefetch(c + i * ldc + NV * W - 1, 1);
    }
#if DYDIFF_HAVE_SIMD
    using Batch = typename T::batch_type;
    Batch acc[MR][NV];
    for (std::size_t i = 0; i < MR; ++i)
        for (std::size_t v = 0; v < NV; ++v) acc[i][v] = Batch(0.0f);
    // NOTE: a do-while (kc >= 1) lets g++ 12 keep acc in registers through the epilogue; a for loop that may run
    // zero times makes it spill acc to the stack around the loop, which costs ~10% at kc = 14.
    std::size_t k = kc;
    do {
        Batch bk[NV];
        for (std::size_t v = 0; v < NV; ++v) {
            bk[v] = Batch::load_unaligned(b + v * W);
            pin_in_register(bk[v]);
        }
        for (std::size_t i = 0; i < MR; ++i) {
            const Batch ai(kRowMajor ? a[i * a_stride] : a[i]);
            for (std::size_t v = 0; v < NV; ++v) acc[i][v] = fused_multiply_add(ai, bk[v], acc[i][v]);
        }
        a += kRowMajor ? 1 : a_stride;
        b += b_stride;
    } while (--k != 0);
    const Batch va(alpha);
    if (beta == 0.0f) {
        for (std::size_t i = 0; i < MR; ++i)
            for (std::size_t v = 0; v < NV; ++v) (va * acc[i][v]).store_unaligned(c + i * ldc + v * W);
    } else {
        const Batch vb(beta);
        for (std::size_t i = 0; i < MR; ++i) {
            for (std::size_t v = 0; v < NV; ++v) {
                float* p = c + i * ldc + v * W;
                fused_multiply_add(va, acc[i][v], vb * Batch::load_unaligned(p)).store_unaligned(p);
            }
        }
    }
#else
    constexpr std::size_t kCols = NV * W;
    float acc[MR][kCols] = {};
    for (std::size_t k = 0; k < kc; ++k) {
        for (std::size_t i = 0; i < MR; ++i)
            for (std::size_t j = 0; j < kCols; ++j) acc[i][j] += (kRowMajor ? a[i * a_stride] : a[i]) * b[j];
        a += kRowMajor ? 1 : a_stride;
        b += b_stride;
        hide_from_vectorizer<T>(a, b);
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

/// The micro-kernel variants of one tile and one A layout: table[nv - 1][mr - 1] is micro_kernel<T, L, mr, nv>.
template <class T>
using KernelTable = std::array<std::array<MicroKernel, T::kMr>, T::kNrVecs>;

template <class T, ALayout Layout, std::size_t NV, std::size_t... R>
constexpr std::array<MicroKernel, T::kMr> row_variants(std::index_sequence<R...>) noexcept {
    return {&micro_kernel<T, Layout, R + 1, NV>...};
}

template <class T, ALayout Layout, std::size_t... V>
constexpr KernelTable<T> all_variants(std::index_sequence<V...>) noexcept {
    return {row_variants<T, Layout, V + 1>(std::make_index_sequence<T::kMr>{})...};
}

/// kMicroKernels<T>[layout][nv - 1][mr - 1] is micro_kernel<T, layout, mr, nv>.
template <class T>
inline constexpr std::array<KernelTable<T>, 2> kMicroKernels = {
    all_variants<T, ALayout::kKMajor>(std::make_index_sequence<T::kNrVecs>{}),
    all_variants<T, ALayout::kRowMajor>(std::make_index_sequence<T::kNrVecs>{}),
};

/// The same tile with its rows anywhere (gemm_slivered_rows): row i of A starts at a[i] (this K block's first entry,
/// read in place) and row i of C at c[i]; b is a sliver (kc, NV * T::kLanes) with row stride T::kNr; alpha is 1.
/// Each element sees micro_kernel's chain of fused multiply-adds, so the product equals gemm's bitwise.
/// Preconditions: as micro_kernel's, each c[i] with NV * T::kLanes writable floats.
template <class T, std::size_t MR, std::size_t NV>
void micro_kernel_rows(std::size_t kc, const float* const* a, const float* b, float beta, float* const* c) noexcept {
    constexpr std::size_t W = T::kLanes;
    for (std::size_t i = 0; i < MR; ++i) {
        __builtin_prefetch(c[i], 1);
        __builtin_prefetch(c[i] + NV * W - 1, 1);
    }
#if DYDIFF_HAVE_SIMD
    using Batch = typename T::batch_type;
    Batch acc[MR][NV];
    for (std::size_t i = 0; i < MR; ++i)
        for (std::size_t v = 0; v < NV; ++v) acc[i][v] = Batch(0.0f);
    std::size_t k = 0;  // NOTE: a do-while keeps acc in registers, as in micro_kernel
    do {
        Batch bk[NV];
        for (std::size_t v = 0; v < NV; ++v) {
            bk[v] = Batch::load_unaligned(b + v * W);
            pin_in_register(bk[v]);
        }
        for (std::size_t i = 0; i < MR; ++i) {
            const Batch ai(a[i][k]);
            for (std::size_t v = 0; v < NV; ++v) acc[i][v] = fused_multiply_add(ai, bk[v], acc[i][v]);
        }
        b += T::kNr;
    } while (++k != kc);
    const Batch one(1.0f);  // alpha, applied as micro_kernel does
    for (std::size_t i = 0; i < MR; ++i) {
        for (std::size_t v = 0; v < NV; ++v) {
            float* p = c[i] + v * W;
            if (beta == 0.0f)
                (one * acc[i][v]).store_unaligned(p);
            else
                fused_multiply_add(one, acc[i][v], Batch(beta) * Batch::load_unaligned(p)).store_unaligned(p);
        }
    }
#else
    constexpr std::size_t kCols = NV * W;
    float acc[MR][kCols] = {};
    const float* a0 = a[0];
    for (std::size_t k = 0; k < kc; ++k) {
        for (std::size_t i = 0; i < MR; ++i)
            for (std::size_t j = 0; j < kCols; ++j) acc[i][j] += a[i][k] * b[j];
        b += T::kNr;
        hide_from_vectorizer<T>(a0, b);
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

/// The row-gathering variants of one tile: table[nv - 1][mr - 1] is micro_kernel_rows<T, mr, nv>.
template <class T>
using RowsKernelTable = std::array<std::array<RowsMicroKernel, T::kMr>, T::kNrVecs>;

template <class T, std::size_t NV, std::size_t... R>
constexpr std::array<RowsMicroKernel, T::kMr> rows_row_variants(std::index_sequence<R...>) noexcept {
    return {&micro_kernel_rows<T, R + 1, NV>...};
}

template <class T, std::size_t... V>
constexpr RowsKernelTable<T> rows_all_variants(std::index_sequence<V...>) noexcept {
    return {rows_row_variants<T, V + 1>(std::make_index_sequence<T::kMr>{})...};
}

/// kRowsMicroKernels<T>[nv - 1][mr - 1] is micro_kernel_rows<T, mr, nv>.
template <class T>
inline constexpr RowsKernelTable<T> kRowsMicroKernels = rows_all_variants<T>(std::make_index_sequence<T::kNrVecs>{});

/// `steps` rounds of kPeakChains independent register-resident FMAs on T's registers, starting from seeds
/// (kPeakChains floats, unknown to the compiler, so it cannot merge chains); returns the sum of the first lane of
/// each chain. Floating-point operations: steps * kPeakChains * T::kLanes * 2.
template <class T>
float fma_peak_chains(std::size_t steps, const float* seeds) noexcept {
#if DYDIFF_HAVE_SIMD
    using Batch = typename T::batch_type;
    Batch acc[kPeakChains];
    for (std::size_t i = 0; i < kPeakChains; ++i) acc[i] = Batch(seeds[i]);
    // |x * 0.999 + 1e-4| stays near 0.1 forever: no overflow, no denormals, no constant the compiler could fold.
    const Batch scale(0.999f), shift(1e-4f);
    for (std::size_t s = 0; s < steps; ++s)
        for (std::size_t i = 0; i < kPeakChains; ++i) acc[i] = fused_multiply_add(acc[i], scale, shift);
    float sum = 0.0f;
    for (std::size_t i = 0; i < kPeakChains; ++i) sum += acc[i].get(0);
    return sum;
#else
    float acc[kPeakChains];
    for (std::size_t i = 0; i < kPeakChains; ++i) acc[i] = seeds[i];
    for (std::size_t s = 0; s < steps; ++s)
        for (std::size_t i = 0; i < kPeakChains; ++i) acc[i] = acc[i] * 0.999f + 1e-4f;
    float sum = 0.0f;
    for (std::size_t i = 0; i < kPeakChains; ++i) sum += acc[i];
    return sum;
#endif
}

}  // namespace dydiff::nn::simd::gemm_detail
