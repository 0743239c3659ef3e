// Which instruction set the kernels were built for, as reported by `dydiff --version` and the benchmarks.
#include "nn/simd/batch.hpp"

namespace dydiff::nn::simd {

const char* arch_name() noexcept {
#if DYDIFF_HAVE_SIMD
    return xsimd::default_arch::name();
#else
    return "scalar";
#endif
}

}  // namespace dydiff::nn::simd
