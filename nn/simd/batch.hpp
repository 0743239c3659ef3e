// The one place that includes xsimd (8.x). Every kernel file includes this header, never <xsimd/...> directly.
// DYDIFF_HAVE_SIMD is set by the build (meson option `simd`); 0 means the scalar twins are the implementation.
// A translation unit of a run-time variant (nn/simd/gemm_avx512.cpp, built with DYDIFF_SIMD_VARIANT_TU = 1 and its
// own -m flags) sees only its set's names (namespace avx512), never FloatBatch or kFloatWidth: those are the
// baseline's, and one name with two meanings in one program is an ODR violation the linker resolves silently.
#pragma once

#ifndef DYDIFF_HAVE_SIMD
#error "DYDIFF_HAVE_SIMD must be defined by the build (see meson.build)"
#endif

#include <cstddef>

#if !DYDIFF_SIMD_VARIANT_TU
#include "nn/simd/arch.hpp"  // arch_name(): which set is in use
#endif

#if DYDIFF_HAVE_SIMD
#include <xsimd/xsimd.hpp>
#endif

#if DYDIFF_HAVE_SIMD && !DYDIFF_SIMD_VARIANT_TU

namespace dydiff::nn::simd {

using FloatBatch = xsimd::batch<float>;
/// Lanes per SIMD register for float in the baseline set: 4 with SSE2/NEON, 8 with AVX2. Never hard-code it.
inline constexpr std::size_t kFloatWidth = FloatBatch::size;

/// Horizontal sum of a batch (xsimd 8 calls it hadd; 9+ renamed it reduce_add).
inline float reduce_sum(const FloatBatch& x) noexcept { return xsimd::hadd(x); }

/// x * y + z with one rounding (xsimd's fma: the FMA instruction where the set has one).
inline FloatBatch fused_multiply_add(const FloatBatch& x, const FloatBatch& y, const FloatBatch& z) noexcept {
    return xsimd::fma(x, y, z);
}

}  // namespace dydiff::nn::simd

#elif DYDIFF_HAVE_SIMD && DYDIFF_SIMD_VARIANT_TU && defined(__AVX512F__)

namespace dydiff::nn::simd {

namespace avx512 {
/// The AVX-512 set's float register: 16 lanes of a zmm register (xsimd's avx512f architecture).
using FloatBatch = xsimd::batch<float, xsimd::avx512f>;
}  // namespace avx512

/// x * y + z with one rounding. NOTE: xsimd 8.1 has no avx512f fma; its generic x * y + z fuses only while the
/// compiler contracts, so the intrinsic is spelled out here.
inline avx512::FloatBatch fused_multiply_add(const avx512::FloatBatch& x, const avx512::FloatBatch& y,
                                             const avx512::FloatBatch& z) noexcept {
    return _mm512_fmadd_ps(x, y, z);
}

}  // namespace dydiff::nn::simd

#elif !DYDIFF_HAVE_SIMD

namespace dydiff::nn::simd {
inline constexpr std::size_t kFloatWidth = 1;
}  // namespace dydiff::nn::simd

#else
#error "a DYDIFF_SIMD_VARIANT_TU translation unit must be compiled for its set (nn/meson.build)"
#endif
