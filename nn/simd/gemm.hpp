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
/// of packing it. Callers whose op(A) is cheap to re-read and whose N is a little wider (the rows convolutions of
/// nn/simd/conv1d.hpp, N = 128) split N into groups of this width to stay on that path: measured 5-15% faster.
inline constexpr std::size_t kGemmInPlaceAMaxCols = 8 * kFloatWidth;

void gemm(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K, float alpha, const float* A,
          std::size_t lda, const float* B, std::size_t ldb, float beta, float* C, std::size_t ldc) noexcept;

// ---- B stored in slivers: a weight arranged once, read in place by every product -------------------------------
/// Columns per sliver: the micro-kernel's tile width (16 with AVX2, 8 with SSE2/NEON, 2 when scalar).
inline constexpr std::size_t kGemmSliverCols = 2 * kFloatWidth;
/// B (K, N) in slivers: sliver s holds columns [s w, (s + 1) w) of all K rows, row after row (K x w floats, the
/// columns past N zero), w = kGemmSliverCols. It is the layout gemm packs B into, so gemm_slivered reads it in
/// place: a layer's weight arranged once is not packed again on each call. Columns [s w, N) of a slivered B start
/// at sliver s, so a product over a column range of it is again a slivered B.
inline std::size_t gemm_sliver_floats(std::size_t K, std::size_t N) noexcept {
    return K * ((N + kGemmSliverCols - 1) / kGemmSliverCols) * kGemmSliverCols;
}
/// Index of entry (k, n) of B (K, N) in its slivers.
inline std::size_t gemm_sliver_index(std::size_t K, std::size_t k, std::size_t n) noexcept {
    return ((n / kGemmSliverCols) * K + k) * kGemmSliverCols + n % kGemmSliverCols;
}
/// C (M, N) = alpha op(A) (M, K) B (K, N) + beta C with B in slivers (gemm_sliver_index); bitwise equal to gemm.
void gemm_slivered(bool trans_a, std::size_t M, std::size_t N, std::size_t K, float alpha, const float* A,
                   std::size_t lda, const float* B_slivers, float beta, float* C, std::size_t ldc) noexcept;

namespace ref {
void gemm(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K, float alpha, const float* A,
          std::size_t lda, const float* B, std::size_t ldb, float beta, float* C, std::size_t ldc) noexcept;
}  // namespace ref

}  // namespace dydiff::nn::simd
