// Instruction sets of the SIMD kernels and the run-time choice among them (docs/simd.md, "Instruction sets").
// Every build has its baseline set, fixed by the `simd` build option (xsimd's architecture for the build flags:
// "fma3+avx2", "sse2", "neon64", or "scalar" with -Dsimd=none). A -Dsimd=native build on x86-64 also compiles the
// gemm kernels, Mish, the fused GroupNorm + Mish rows pass and Adam for AVX-512 ("avx512f", nn/simd/gemm_avx512.cpp,
// nn/simd/kernels_avx512.cpp) and picks, at the first use, the best set this CPU and its OS can run; the environment
// variable DYDIFF_SIMD names a set instead. The other kernels (silu, relu, tanh, softplus, the channels-first norms,
// conv1d's helpers) run on the baseline set. Every kernel with variants gives bitwise identical results on every set
// of a build (gemm: same K blocking, same chain of FMAs per element; the vector kernels: nn/simd/kernels_impl.hpp).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace dydiff::nn::simd {

/// The set the dispatched kernels use ("avx512f", "fma3+avx2", ...). The first call (of this or of a dispatched
/// kernel) makes the choice: the set DYDIFF_SIMD names, else the best set this CPU supports. Throws
/// dydiff::UserError when DYDIFF_SIMD names a set this build lacks or this CPU cannot run. Thread-safe.
const char* arch_name();

/// The set of the kernels without run-time variants: the build's baseline, fixed at build time.
const char* baseline_arch_name() noexcept;

/// Float lanes per register of the set in use (16 with avx512f, 8 with AVX2, 4 with SSE2/NEON, 1 when scalar).
std::size_t float_lanes();

/// The sets compiled into this build, the baseline first.
std::vector<std::string> compiled_sets();

/// Whether this CPU and its OS can run `set`, a name from compiled_sets(): CPUID feature bits and, for AVX-512,
/// the XCR0 bits saying that the OS saves the zmm and mask registers. The baseline is always runnable (the build
/// assumes it).
bool cpu_supports(const std::string& set);

/// Makes `set` the one in use from now on (benchmarks and tests compare sets in one process); "" returns to the
/// default choice (DYDIFF_SIMD, else the best). `set` may also be spelled `avx2` for fma3+avx2, `avx512` for
/// avx512f, and `baseline` for the build's baseline (DYDIFF_SIMD accepts the same spellings). Throws dydiff::UserError naming the compiled and the runnable sets when `set` is neither.
/// Precondition: no kernel is running on another thread.
void use_set(const std::string& set);

/// Runs independent chains of fused multiply-adds held in registers on the set in use, `steps` rounds of
/// fma_peak_flops_per_step() floating-point operations: the core's FMA ceiling when timed (`dydiff bench peak`).
/// Returns a value that depends on every lane, so the loop cannot be optimised away.
float fma_peak_loop(std::size_t steps);
std::size_t fma_peak_flops_per_step();

}  // namespace dydiff::nn::simd
