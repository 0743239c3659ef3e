// Single-precision matrix multiply, the workhorse of linear, matmul and conv1d (through im2col; gemm_slivered_rows
// for the rows convolutions of inference).
//   C (M, N) = alpha * op(A) (M, K) * op(B) (K, N) + beta * C,   row-major, op(X) = X or X^T.
// Leading dimensions are row strides in elements. With beta == 0, C is written without being read (NaN-safe).
// nn::simd::gemm is the fast path (packed panels, register-blocked xsimd micro-kernel, threads through
// nn::parallel_for, the instruction set chosen at run time: nn/simd/arch.hpp; results independent of the thread
// count and of the set); ref::gemm is its scalar twin and test oracle.
#pragma once

#include <cstddef>
#include <utility>

namespace dydiff::nn::simd {

void gemm(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K, float alpha, const float* A,
          std::size_t lda, const float* B, std::size_t ldb, float beta, float* C, std::size_t ldc) noexcept;

/// The micro-tile of the set in use, (rows, columns) of C: (6, 16) with AVX2, (6, 64) with avx512f, (6, 8) with
/// SSE2 or NEON, (6, 2) when scalar. Threads split C in runs of whole tiles; tests place their edge cases with it.
std::pair<std::size_t, std::size_t> gemm_micro_tile();

// ---- B stored in slivers, A and C rows gathered from runs: the rows convolutions of nn/simd/conv1d.hpp ---------
/// B (K, N) in slivers: sliver s holds columns [s w, (s + 1) w) of all K rows, row after row (K x w floats, the
/// columns past N zero), w = the micro-tile width of the set in use (gemm_micro_tile().second). It is the layout
/// gemm packs B into, so gemm_slivered_rows reads it in place: a layer's weight arranged once is not packed again
/// on each call. Columns [s w, N) of a slivered B start at sliver s, so a product over a column range of it is again
/// a slivered B. NOTE: the layout depends on the instruction set: arrange B with the same process that multiplies.
struct GemmSlivers {
    std::size_t width;  // columns per sliver
    /// Floats of B (K, N) in slivers.
    std::size_t floats(std::size_t K, std::size_t N) const noexcept { return K * ((N + width - 1) / width) * width; }
    /// Index of entry (k, n) of B (K, N) in its slivers.
    std::size_t index(std::size_t K, std::size_t k, std::size_t n) const noexcept {
        return ((n / width) * K + k) * width + n % width;
    }
};
/// The sliver layout of the set in use.
GemmSlivers gemm_slivers();

/// Where the rows of a matrix are: row i starts (i / run) * run_stride + (i % run) * row_stride floats from its
/// first row. {M, 0, ld} is a plain row-major matrix; the rows convolutions use runs of one sample's positions.
struct GemmRows {
    std::size_t run;         // rows per run (>= 1)
    std::size_t run_stride;  // floats from the first row of one run to the first row of the next
    std::size_t row_stride;  // floats between consecutive rows of a run
};
/// C (M, N) = A (M, K) B (K, N) + beta C with A's and C's rows placed as a_rows and c_rows say (rows may overlap in
/// A, never in C) and B in slivers (gemm_slivers). A is read in place and B is not packed; threads split M. Each
/// entry sees gemm's chain of fused multiply-adds: the result equals gemm on the gathered rows bitwise, for every
/// instruction set.
void gemm_slivered_rows(std::size_t M, std::size_t N, std::size_t K, const float* A, GemmRows a_rows,
                        const float* B_slivers, float beta, float* C, GemmRows c_rows) noexcept;

namespace ref {
void gemm(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K, float alpha, const float* A,
          std::size_t lda, const float* B, std::size_t ldb, float beta, float* C, std::size_t ldc) noexcept;
}  // namespace ref

}  // namespace dydiff::nn::simd
