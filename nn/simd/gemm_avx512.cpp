// The AVX-512 set of the run-time dispatch (nn/simd/arch.hpp): gemm's blocked product and the FMA peak loop on
// 16-float zmm registers (its vector kernels: nn/simd/kernels_avx512.cpp). Built only in -Dsimd=native builds on
// x86-64, as its own small library with its own flags (-march=x86-64-v3 -mavx512f, DYDIFF_SIMD_VARIANT_TU = 1:
// nn/meson.build), linked into libdydiff; its code runs only after nn/simd/arch.cpp has seen avx512f in CPUID and
// the zmm state enabled in XCR0.
// NOTE: keep this file free of anything that runs before that check (no namespace-scope object with a dynamic
// initialiser, no <iostream>) and of inline functions shared with the baseline (see gemm_kernel.hpp).
#include "nn/simd/batch.hpp"
#include "nn/simd/gemm_blocked.hpp"
#include "nn/simd/kernel_set.hpp"

#if !DYDIFF_SIMD_VARIANT_TU || !defined(__AVX512F__)
#error "nn/simd/gemm_avx512.cpp must be compiled with -mavx512f and DYDIFF_SIMD_VARIANT_TU=1 (nn/meson.build)"
#endif

namespace dydiff::nn::simd {

namespace {
/// 6 rows x 4 zmm registers (6 x 64 floats): 24 accumulators, 4 B loads and a broadcast of the 32 registers, 24
/// FMAs per step of k against 10 loads. Measured against 6 x 2, 8 x 2, 10 x 2, 12 x 2, 14 x 2, 8 x 3 and 4 x 4 on
/// the gemm shapes of the learners (docs/performance.md, "AVX-512 kernels"): best or within noise of the best on
/// all but the narrow-output products (N <= 14), where 14 x 2 is ahead; 12 x 2 makes g++ 12 spill a B register.
using Avx512Tile = gemm_detail::Tile<avx512::FloatBatch, avx512::FloatBatch::size, 6, 4>;
}  // namespace

// constexpr: constant-initialised, no code runs for it at start-up (declared in kernel_set.hpp).
constexpr KernelSet kAvx512Set = gemm_detail::make_kernel_set<Avx512Tile>("avx512f", "avx512", &kAvx512VectorKernels);

}  // namespace dydiff::nn::simd
