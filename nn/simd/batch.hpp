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

namespace dydiff::nn::simd {
/// Square blocks of floats a set transposes in registers, for gemm's packing of a transposed operand: kSize = 0
/// means none (the scalar copy serves). A set with one specialises this for its batch type with kSize and
/// `static void transpose(const float* src, std::size_t ld_src, float* dst, std::size_t ld_dst) noexcept`, which
/// sets dst[k * ld_dst + c] = src[c * ld_src + k] for c, k < kSize.
template <class Batch>
struct BlockTranspose {
    static constexpr std::size_t kSize = 0;
};
}  // namespace dydiff::nn::simd

#if DYDIFF_HAVE_SIMD && !DYDIFF_SIMD_VARIANT_TU

namespace dydiff::nn::simd {

using FloatBatch = xsimd::batch<float>;
/// Lanes per SIMD register for float in the baseline set: 4 with SSE2/NEON, 8 with AVX2. Never hard-code it.
inline constexpr std::size_t kFloatWidth = FloatBatch::size;

/// Horizontal sum of a batch (xsimd 8 calls it hadd; 9+ renamed it reduce_add).
inline float reduce_sum(const FloatBatch& x) noexcept { return xsimd::hadd(x); }

/// x * y + z (xsimd's fma): one rounding where the set has an FMA instruction (AVX2, NEON), two on plain SSE2.
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

// NOTE: g++ 12.2's avx512fintrin.h passes _mm512_undefined_ps() to the unpack builtins, which -Wuninitialized
// reports at every use (GCC bug 105593, fixed in 12.3): silenced for this one block.
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
/// 16 x 16 floats transposed in zmm registers (xsimd 8.1 has no transpose nor 128-bit lane shuffle): 16 loads, four
/// rounds of 16 shuffles (32-bit and 64-bit interleaves within 128-bit lanes, then two rounds of 128-bit lane
/// shuffles), 16 stores; against 256 scalar loads and strided stores.
template <>
struct BlockTranspose<avx512::FloatBatch> {
    static constexpr std::size_t kSize = 16;
    static void transpose(const float* src, std::size_t ld_src, float* dst, std::size_t ld_dst) noexcept {
        __m512 v[16];
        for (std::size_t g = 0; g < 4; ++g) {
            // Rows a b c d = 4g .. 4g + 3; in each 128-bit lane j, v[4g + m] ends up holding column 4j + m of them.
            const __m512 a = _mm512_loadu_ps(src + (4 * g) * ld_src), b = _mm512_loadu_ps(src + (4 * g + 1) * ld_src);
            const __m512 c = _mm512_loadu_ps(src + (4 * g + 2) * ld_src), d = _mm512_loadu_ps(src + (4 * g + 3) * ld_src);
            const __m512d ab_lo = _mm512_castps_pd(_mm512_unpacklo_ps(a, b)), ab_hi = _mm512_castps_pd(_mm512_unpackhi_ps(a, b));
            const __m512d cd_lo = _mm512_castps_pd(_mm512_unpacklo_ps(c, d)), cd_hi = _mm512_castps_pd(_mm512_unpackhi_ps(c, d));
            v[4 * g + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(ab_lo, cd_lo));
            v[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(ab_lo, cd_lo));
            v[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(ab_hi, cd_hi));
            v[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(ab_hi, cd_hi));
        }
        for (std::size_t m = 0; m < 4; ++m) {
            // Output row 4j + m gathers lane j of v[m], v[4 + m], v[8 + m], v[12 + m].
            const __m512 x_lo = _mm512_shuffle_f32x4(v[m], v[4 + m], 0x44), x_hi = _mm512_shuffle_f32x4(v[m], v[4 + m], 0xEE);
            const __m512 y_lo = _mm512_shuffle_f32x4(v[8 + m], v[12 + m], 0x44);
            const __m512 y_hi = _mm512_shuffle_f32x4(v[8 + m], v[12 + m], 0xEE);
            _mm512_storeu_ps(dst + (0 + m) * ld_dst, _mm512_shuffle_f32x4(x_lo, y_lo, 0x88));
            _mm512_storeu_ps(dst + (4 + m) * ld_dst, _mm512_shuffle_f32x4(x_lo, y_lo, 0xDD));
            _mm512_storeu_ps(dst + (8 + m) * ld_dst, _mm512_shuffle_f32x4(x_hi, y_hi, 0x88));
            _mm512_storeu_ps(dst + (12 + m) * ld_dst, _mm512_shuffle_f32x4(x_hi, y_hi, 0xDD));
        }
    }
};
#pragma GCC diagnostic pop

}  // namespace dydiff::nn::simd

#elif !DYDIFF_HAVE_SIMD

namespace dydiff::nn::simd {
inline constexpr std::size_t kFloatWidth = 1;
}  // namespace dydiff::nn::simd

#else
#error "a DYDIFF_SIMD_VARIANT_TU translation unit must be compiled for its set (nn/meson.build)"
#endif
