// Private to nn/simd: what one instruction set provides to the run-time dispatch of nn/simd/arch.cpp. Each set's
// translation unit defines one constant KernelSet: the baseline in nn/simd/gemm.cpp, AVX-512 in
// nn/simd/gemm_avx512.cpp (compiled only when the build defines DYDIFF_SIMD_AVX512 = 1), each pointing at the table
// of its elementwise and norm kernels (VectorKernels: nn/simd/kernels.cpp, nn/simd/kernels_avx512.cpp). Plain data
// and function pointers, constant-initialised: no code of a variant runs before the CPU check chooses it.
#pragma once

#include "nn/simd/gemm.hpp"

#include <cstddef>

namespace dydiff::nn::simd::gemm_detail {

/// C (M, N) = alpha op(A) op(B) + beta C, as passed to nn::simd::gemm (nn/simd/gemm.hpp).
struct Problem {
    bool trans_a, trans_b;
    std::size_t M, N, K;
    float alpha;
    const float* A;
    std::size_t lda;
    const float* B;
    std::size_t ldb;
    float beta;
    float* C;
    std::size_t ldc;
};

/// Independent FMA chains of the peak loop (gemm_kernel.hpp, fma_peak_chains): enough to cover the FMA latency
/// times the FMA pipes of the cores we know (4 cycles x 2 pipes = 8) with room to spare, few enough to stay in the
/// 16 registers of AVX2.
inline constexpr std::size_t kPeakChains = 12;

/// C[i_begin : i_end, j_begin : j_end] of the product on the calling thread. Region corners lie on the set's
/// micro-tile grid (multiples of gemm_mr, gemm_nr) except at the matrix edge.
using GemmRegion = void (*)(const Problem& p, std::size_t i_begin, std::size_t i_end, std::size_t j_begin,
                            std::size_t j_end) noexcept;

/// C = A B + beta C with gathered rows and B in slivers, as passed to nn::simd::gemm_slivered_rows (gemm.hpp).
struct RowsProblem {
    std::size_t M, N, K;
    const float* A;
    GemmRows a_rows;
    const float* B;  // slivers of the set's width
    float beta;
    float* C;
    GemmRows c_rows;
};

/// Rows [i_begin, i_end) of a RowsProblem's C on the calling thread; i_begin is a multiple of gemm_mr.
using GemmRowsRegion = void (*)(const RowsProblem& p, std::size_t i_begin, std::size_t i_end) noexcept;

}  // namespace dydiff::nn::simd::gemm_detail

namespace dydiff::nn::simd {

/// The kernels of nn/simd/kernels.hpp with a variant per set (nn/simd/kernels_impl.hpp), same signatures.
struct VectorKernels {
    void (*mish_forward)(std::size_t n, const float* x, float* y) noexcept;
    void (*mish_backward)(std::size_t n, const float* x, const float* dout, float* dx) noexcept;
    void (*group_norm_mish_rows)(std::size_t B, std::size_t H, std::size_t C, std::size_t G, std::size_t ld,
                                 const float* x, const float* bias, const float* gamma, const float* beta, float eps,
                                 const float* add, std::size_t add_ld, const float* res, float* y, float* mean,
                                 float* rstd) noexcept;
    void (*adam_update)(std::size_t n, float* param, const float* grad, float* m, float* v, float lr, float beta1,
                        float beta2, float eps, float weight_decay, float bias_correction1, float bias_correction2,
                        bool decoupled) noexcept;
};

struct KernelSet {
    const char* name;                // as xsimd names the architecture: "fma3+avx2", "avx512f", "scalar", ...
    const char* alias;               // a shorter spelling DYDIFF_SIMD also accepts ("avx2", "avx512"), or ""
    std::size_t lanes;               // floats per register
    std::size_t gemm_mr, gemm_nr;    // micro-tile: threads split C into runs of whole tiles
    gemm_detail::GemmRegion gemm_region;
    gemm_detail::GemmRowsRegion gemm_rows_region;
    float (*fma_peak)(std::size_t steps, const float* seeds) noexcept;  // kPeakChains seeds: fma_peak_chains
    std::size_t fma_peak_flops_per_step;
    const VectorKernels* vector;     // nullptr in a scalar build, where the twins are the kernels (kernels.hpp)
};

/// The set in use (nn/simd/arch.cpp): the first call makes the choice, as arch_name() documents, and may throw.
const KernelSet& kernel_set();

/// The baseline set, always compiled (nn/simd/gemm.cpp).
extern const KernelSet kBaselineSet;
#if DYDIFF_HAVE_SIMD
/// The baseline set's vector kernels (nn/simd/kernels.cpp).
extern const VectorKernels kBaselineVectorKernels;
#endif
#if DYDIFF_SIMD_AVX512
/// The AVX-512 set (nn/simd/gemm_avx512.cpp) and its vector kernels (nn/simd/kernels_avx512.cpp).
extern const KernelSet kAvx512Set;
extern const VectorKernels kAvx512VectorKernels;
#endif

}  // namespace dydiff::nn::simd
