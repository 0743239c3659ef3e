// Single-precision matrix multiply, the workhorse of linear, matmul and conv1d (through im2col).
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

namespace ref {
void gemm(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K, float alpha, const float* A,
          std::size_t lda, const float* B, std::size_t ldb, float beta, float* C, std::size_t ldc) noexcept;
}  // namespace ref

}  // namespace dydiff::nn::simd
