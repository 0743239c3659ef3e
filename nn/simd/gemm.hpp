// Single-precision matrix multiply, the workhorse of linear, matmul and conv1d (through im2col).
//   C (M, N) = alpha * op(A) (M, K) * op(B) (K, N) + beta * C,   row-major, op(X) = X or X^T.
// Leading dimensions are row strides in elements. With beta == 0, C is written without being read (NaN-safe).
// nn::simd::gemm is the fast path (packed panels, register-blocked xsimd micro-kernel, threads through
// nn::parallel_for, results independent of the thread count); ref::gemm is its scalar twin and test oracle.
#pragma once

#include <cstddef>

namespace dydiff::nn::simd {

void gemm(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K, float alpha, const float* A,
          std::size_t lda, const float* B, std::size_t ldb, float beta, float* C, std::size_t ldc) noexcept;

namespace ref {
void gemm(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K, float alpha, const float* A,
          std::size_t lda, const float* B, std::size_t ldb, float beta, float* C, std::size_t ldc) noexcept;
}  // namespace ref

}  // namespace dydiff::nn::simd
