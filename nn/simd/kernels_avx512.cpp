// The AVX-512 variants of the vector kernels (nn/simd/kernels_impl.hpp: Mish, the fused GroupNorm + Mish pass of the
// U-Net's inference path, Adam's update) on 16-float zmm registers, for the AVX-512 set of the run-time dispatch
// (nn/simd/arch.hpp). Built with gemm_avx512.cpp into the variant library, with its flags (nn/meson.build); its code
// runs only after nn/simd/arch.cpp has chosen avx512f.
// NOTE: the same rules as gemm_avx512.cpp: nothing that runs before the CPU check, no inline function shared with
// the baseline (test/nn/variant_symbols.sh checks the symbols).
// NOTE: g++ 12.2's avx512fintrin.h passes _mm512_undefined_ps() to builtins that xsimd's exp uses, which
// -Wmaybe-uninitialized reports at every inlined use (GCC bug 105593, fixed in 12.3; batch.hpp silences the same
// bug for its transpose): silenced for this file, before the headers, since the warning points into them.
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"

#include "nn/simd/kernels_impl.hpp"

#if !DYDIFF_SIMD_VARIANT_TU || !defined(__AVX512F__)
#error "nn/simd/kernels_avx512.cpp must be compiled with -mavx512f and DYDIFF_SIMD_VARIANT_TU=1 (nn/meson.build)"
#endif

namespace dydiff::nn::simd {

// constexpr: constant-initialised (declared in kernel_set.hpp).
constexpr VectorKernels kAvx512VectorKernels = kernels_detail::make_vector_kernels<avx512::FloatBatch>();

}  // namespace dydiff::nn::simd
