// The one place that includes xsimd (8.x). Every kernel file includes this header, never <xsimd/...> directly.
// DYDIFF_HAVE_SIMD is set by the build (meson option `simd`); 0 means the scalar twins are the implementation.
#pragma once

#ifndef DYDIFF_HAVE_SIMD
#error "DYDIFF_HAVE_SIMD must be defined by the build (see meson.build)"
#endif

#include <cstddef>

#if DYDIFF_HAVE_SIMD
#include <xsimd/xsimd.hpp>

namespace dydiff::nn::simd {

using FloatBatch = xsimd::batch<float>;
/// Lanes per SIMD register for float: 4 with SSE2/NEON, 8 with AVX2. Never hard-code it.
inline constexpr std::size_t kFloatWidth = FloatBatch::size;

/// Horizontal sum of a batch (xsimd 8 calls it hadd; 9+ renamed it reduce_add).
inline float reduce_sum(const FloatBatch& x) noexcept { return xsimd::hadd(x); }

}  // namespace dydiff::nn::simd

#else

namespace dydiff::nn::simd {
inline constexpr std::size_t kFloatWidth = 1;
}  // namespace dydiff::nn::simd

#endif

namespace dydiff::nn::simd {
/// The instruction set the kernels were compiled for ("avx2", "sse2", "scalar", ...).
const char* arch_name() noexcept;
}  // namespace dydiff::nn::simd
