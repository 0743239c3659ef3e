// nn::simd::gemm. Interim implementation: blocked loops over the scalar twin's arithmetic, to be replaced by the
// packed xsimd micro-kernel (work in progress in this session).
#include "nn/simd/gemm.hpp"

namespace dydiff::nn::simd {

void gemm(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K, float alpha, const float* A,
          std::size_t lda, const float* B, std::size_t ldb, float beta, float* C, std::size_t ldc) noexcept {
    ref::gemm(trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

}  // namespace dydiff::nn::simd
