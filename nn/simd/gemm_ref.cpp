// Scalar twin of nn::simd::gemm: the obvious triple loop, accumulated in double. Test oracle only.
#include "nn/simd/gemm.hpp"

namespace dydiff::nn::simd::ref {

void gemm(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K, float alpha, const float* A,
          std::size_t lda, const float* B, std::size_t ldb, float beta, float* C, std::size_t ldc) noexcept {
    for (std::size_t i = 0; i < M; ++i) {
        for (std::size_t j = 0; j < N; ++j) {
            double acc = 0.0;
            for (std::size_t k = 0; k < K; ++k) {
                const float a = trans_a ? A[k * lda + i] : A[i * lda + k];
                const float b = trans_b ? B[j * ldb + k] : B[k * ldb + j];
                acc += static_cast<double>(a) * b;
            }
            const float prior = beta == 0.0f ? 0.0f : beta * C[i * ldc + j];
            C[i * ldc + j] = alpha * static_cast<float>(acc) + prior;
        }
    }
}

}  // namespace dydiff::nn::simd::ref
