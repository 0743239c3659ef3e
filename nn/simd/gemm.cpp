// nn::simd::gemm and gemm_slivered_rows: split C between threads and hand each region to the blocked product of the
// instruction set in use (nn/simd/arch.cpp's choice: this file's baseline instantiation of gemm_blocked.hpp, or
// AVX-512 from nn/simd/gemm_avx512.cpp). Threads split C into whole micro-tiles along M or N (never along K), so every element
// sees the same K blocking and the same instruction sequence: results are bitwise identical for any thread count.
// NOTE: nn/simd/ includes only nn/simd headers, except for nn/parallel.hpp here: a plain function, no layer logic.
#include "nn/simd/gemm.hpp"

#include "nn/parallel.hpp"
#include "nn/simd/batch.hpp"
#include "nn/simd/gemm_blocked.hpp"
#include "nn/simd/kernel_set.hpp"

#include <algorithm>

namespace dydiff::nn::simd {

namespace {

/// The baseline micro-tile: 6 rows x 2 registers = 12 accumulators, plus 2 B loads and one broadcast: 15 of the 16
/// vector registers of AVX2 or SSE2 (6 x 16 floats with AVX2, 6 x 8 with SSE2/NEON, 6 x 2 when scalar).
#if DYDIFF_HAVE_SIMD
using BaselineTile = gemm_detail::Tile<FloatBatch, kFloatWidth, 6, 2>;
constexpr const char* kBaselineName = xsimd::default_arch::name();
#else
using BaselineTile = gemm_detail::Tile<float, 1, 6, 2>;
constexpr const char* kBaselineName = "scalar";
#endif

/// The shorter spelling DYDIFF_SIMD accepts for an AVX2 baseline.
constexpr const char* baseline_alias(const char* name) noexcept {
    const char* avx2 = "fma3+avx2";
    for (std::size_t i = 0;; ++i) {
        if (name[i] != avx2[i]) return "";
        if (name[i] == '\0') return "avx2";
    }
}

/// Below this many multiply-adds per thread, waking a worker costs more than it saves.
constexpr std::size_t kMinFmasPerThread = std::size_t{1} << 18;

/// C <- beta * C, the whole product when K == 0 (op(A) op(B) is an empty sum); beta == 0 never reads C.
void scale_c(const gemm_detail::Problem& p) noexcept {
    for (std::size_t i = 0; i < p.M; ++i) {
        float* row = p.C + i * p.ldc;
        for (std::size_t j = 0; j < p.N; ++j) row[j] = p.beta == 0.0f ? 0.0f : p.beta * row[j];
    }
}

}  // namespace

// constexpr: constant-initialised, usable before any static constructor runs (declared in kernel_set.hpp).
#if DYDIFF_HAVE_SIMD
constexpr KernelSet kBaselineSet =
    gemm_detail::make_kernel_set<BaselineTile>(kBaselineName, baseline_alias(kBaselineName), &kBaselineVectorKernels);
#else
constexpr KernelSet kBaselineSet =
    gemm_detail::make_kernel_set<BaselineTile>(kBaselineName, baseline_alias(kBaselineName), nullptr);
#endif

// NOTE: noexcept like every kernel: a failed allocation of the packing buffers or of a pool thread, or an invalid
// DYDIFF_NUM_THREADS or DYDIFF_SIMD read on the first call, terminates. Callers that want an error check
// num_threads() and arch_name() first.
void gemm(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K, float alpha, const float* A,
          std::size_t lda, const float* B, std::size_t ldb, float beta, float* C, std::size_t ldc) noexcept {
    if (M == 0 || N == 0) return;
    const gemm_detail::Problem p{trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc};
    if (K == 0) {
        scale_c(p);
        return;
    }
    const KernelSet& set = kernel_set();
    const std::size_t mr = set.gemm_mr, nr = set.gemm_nr;
    // Split the longer side of C into runs of whole micro-tiles, each worth at least kMinFmasPerThread.
    const bool split_n = N >= M;
    const std::size_t tile = split_n ? nr : mr;
    const std::size_t tiles = (split_n ? N + nr - 1 : M + mr - 1) / tile;
    const std::size_t fmas_per_tile = tile * (split_n ? M : N) * K;
    const std::size_t grain = std::max<std::size_t>(1, kMinFmasPerThread / fmas_per_tile);
    parallel_for(tiles, grain, [&](std::size_t t_begin, std::size_t t_end) {
        if (split_n)
            set.gemm_region(p, 0, M, t_begin * nr, std::min(N, t_end * nr));
        else
            set.gemm_region(p, t_begin * mr, std::min(M, t_end * mr), 0, N);
    });
}

std::pair<std::size_t, std::size_t> gemm_micro_tile() {
    const KernelSet& set = kernel_set();
    return {set.gemm_mr, set.gemm_nr};
}

GemmSlivers gemm_slivers() { return {kernel_set().gemm_nr}; }

void gemm_slivered_rows(std::size_t M, std::size_t N, std::size_t K, const float* A, GemmRows a_rows,
                        const float* B_slivers, float beta, float* C, GemmRows c_rows) noexcept {
    if (M == 0 || N == 0) return;
    if (K == 0) {  // C <- beta C, row by row
        for (std::size_t i = 0; i < M; ++i) {
            float* row = C + (i / c_rows.run) * c_rows.run_stride + (i % c_rows.run) * c_rows.row_stride;
            for (std::size_t j = 0; j < N; ++j) row[j] = beta == 0.0f ? 0.0f : beta * row[j];
        }
        return;
    }
    const KernelSet& set = kernel_set();
    const gemm_detail::RowsProblem p{M, N, K, A, a_rows, B_slivers, beta, C, c_rows};
    const std::size_t mr = set.gemm_mr;
    const std::size_t grain = std::max<std::size_t>(1, kMinFmasPerThread / (mr * N * K));
    parallel_for((M + mr - 1) / mr, grain, [&](std::size_t t_begin, std::size_t t_end) {
        set.gemm_rows_region(p, t_begin * mr, std::min(M, t_end * mr));
    });
}

}  // namespace dydiff::nn::simd
