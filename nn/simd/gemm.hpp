// Single-precision matrix multiply, the workhorse of linear, matmul and conv1d (through im2col).
//   C (M, N) = alpha * op(A) (M, K) * op(B) (K, N) + beta * C,   row-major, op(X) = X or X^T.
// Leading dimensions are row strides in elements. With beta == 0, C is written without being read (NaN-safe).
// nn::simd::gemm is the fast path (packed panels, register-blocked xsimd micro-kernel, threads through
// nn::parallel_for, results independent of the thread count); ref::gemm is its scalar twin and test oracle.
#pragma once

#include "nn/simd/batch.hpp"

#include <cstddef>

namespace dydiff::nn::simd {

/// Products whose C region has at most this many columns (4 micro-tile widths) read a plain op(A) in place instead
/// of packing it. Wider products on unpacked A rows (gemm_slivered_rows in the rows convolutions of
/// nn/simd/conv1d.hpp) are split into column groups of this width: at N = 128, two groups of 64 ran 5-15% faster
/// than one product with packed A.
inline constexpr std::size_t kGemmInPlaceAMaxCols = 8 * kFloatWidth;

void gemm(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K, float alpha, const float* A,
          std::size_t lda, const float* B, std::size_t ldb, float beta, float* C, std::size_t ldc) noexcept;

// ---- B stored in slivers, A and C rows gathered from runs: the rows convolutions of nn/simd/conv1d.hpp ---------
/// Columns per sliver: the micro-kernel's tile width (16 with AVX2, 8 with SSE2/NEON, 2 when scalar).
inline constexpr std::size_t kGemmSliverCols = 2 * kFloatWidth;
/// B (K, N) in slivers: sliver s holds columns [s w, (s + 1) w) of all K rows, row after row (K x w floats, the
/// columns past N zero), w = kGemmSliverCols. It is the layout gemm packs B into, so gemm_slivered_rows reads it in
/// place: a layer's weight arranged once is not packed again on each call. Columns [s w, N) of a slivered B start
/// at sliver s, so a product over a column range of it is again a slivered B.
inline std::size_t gemm_sliver_floats(std::size_t K, std::size_t N) noexcept {
    return K * ((N + kGemmSliverCols - 1) / kGemmSliverCols) * kGemmSliverCols;
}
/// Index of entry (k, n) of B (K, N) in its slivers.
inline std::size_t gemm_sliver_index(std::size_t K, std::size_t k, std::size_t n) noexcept {
    return ((n / kGemmSliverCols) * K + k) * kGemmSliverCols + n % kGemmSliverCols;
}
/// Where the rows of a matrix are: row i starts (i / run) * run_stride + (i % run) * row_stride floats from its
/// first row. {M, 0, ld} is a plain row-major matrix; the rows convolutions use runs of one sample's positions.
struct GemmRows {
    std::size_t run;         // rows per run (>= 1)
    std::size_t run_stride;  // floats from the first row of one run to the first row of the next
    std::size_t row_stride;  // floats between consecutive rows of a run
};
/// C (M, N) = A (M, K) B (K, N) + beta C with A's and C's rows placed as a_rows and c_rows say (rows may overlap in
/// A, never in C) and B in slivers (gemm_sliver_index). A is read in place and B is not packed; threads split M.
/// Each entry sees gemm's chain of fused multiply-adds: the result equals gemm on the gathered rows bitwise.
void gemm_slivered_rows(std::size_t M, std::size_t N, std::size_t K, const float* A, GemmRows a_rows,
                        const float* B_slivers, float beta, float* C, GemmRows c_rows) noexcept;

namespace ref {
void gemm(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K, float alpha, const float* A,
          std::size_t lda, const float* B, std::size_t ldb, float beta, float* C, std::size_t ldc) noexcept;
}  // namespace ref

}  // namespace dydiff::nn::simd
