// nn::simd::gemm: packed, cache-blocked, multi-threaded sgemm around the micro-kernel of gemm_kernel.hpp.
// Loop nest (Goto/BLIS idea, our code): NC columns of op(B) x KC depth are packed into slivers (kc, kNr) that stay in
// L1 while a packed MC x KC block of op(A) streams from L2; transposes are absorbed by the packing. Threads split C
// into whole micro-tiles along M or N (never along K), so every element sees the same K blocking and the same
// instruction sequence: results are bitwise identical for any thread count. gemm_slivered_rows is the same product
// with B already in the sliver layout (never packed) and the rows of A and C gathered from runs (never copied).
// NOTE: nn/simd/ includes only nn/simd headers, except for nn/parallel.hpp here: a plain function, no layer logic.
#include "nn/simd/gemm.hpp"

#include "nn/parallel.hpp"
#include "nn/simd/batch.hpp"
#include "nn/simd/gemm_kernel.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <new>

namespace dydiff::nn::simd {
namespace {

using gemm_detail::kMr;
using gemm_detail::kNr;

/// Depth of a packed block (at most): a B sliver (kKc, kNr) is 16 KiB with AVX2, half of L1d.
constexpr std::size_t kKc = 256;
/// Rows of op(A) per packed block: (kMc, kKc) is 384 KiB, resident in L2 (1 MiB per core on Zen 4).
constexpr std::size_t kMc = 64 * kMr;
/// Columns of op(B) per packed block: (kKc, kNc) is 2 MiB, resident in L3.
constexpr std::size_t kNc = 128 * kNr;
/// Regions of at most this many rows read op(B) = B in place instead of packing it: each B sliver then serves at
/// most 4 micro-tiles, too few to repay the copy (the weight gradient X^T dY of a narrow input layer, M = obs dim).
constexpr std::size_t kInPlaceBMaxRows = 4 * kMr;
/// Regions of at most this many columns read op(A) in place instead of packing it, for the same reason (dX = dY W of
/// a narrow output layer, N = obs dim).
constexpr std::size_t kInPlaceAMaxCols = kGemmInPlaceAMaxCols;
static_assert(kInPlaceAMaxCols == 4 * kNr, "gemm.hpp's kGemmInPlaceAMaxCols is four micro-tile widths");
/// Below this many multiply-adds per thread, waking a worker costs more than it saves.
constexpr std::size_t kMinFmasPerThread = std::size_t{1} << 18;
/// Alignment of the packed buffers (a cache line; also enough for every batch type).
constexpr std::size_t kAlign = 64;

/// A growable, cache-line aligned float buffer; one per thread and operand, kept between calls.
class PackBuffer {
public:
    float* reserve(std::size_t n) {
        if (n > size_) {
            data_.reset(static_cast<float*>(::operator new(n * sizeof(float), std::align_val_t{kAlign})));
            size_ = n;
        }
        return data_.get();
    }

private:
    struct Free {
        void operator()(float* p) const noexcept { ::operator delete(p, std::align_val_t{kAlign}); }
    };
    std::unique_ptr<float, Free> data_;
    std::size_t size_ = 0;
};

thread_local PackBuffer t_pack_a;
thread_local PackBuffer t_pack_b;

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

/// Rows of the next micro-tile when `remaining` rows of a block are left: kMr, except that the last two tiles share
/// their rows evenly when fewer than 2 kMr remain. A tile of r rows keeps 2r accumulators busy and runs at full FMA
/// rate only from r = 4 (FMA latency 4 x 2 pipes), so 14 rows go as 6 + 4 + 4 (14 cycles per k), not 6 + 6 + 2 (16).
std::size_t tile_rows(std::size_t remaining) noexcept {
    if (remaining <= kMr) return remaining;
    if (remaining < 2 * kMr) return (remaining + 1) / 2;
    return kMr;
}

/// dst (tiles, kc, kMr) <- op(A)[i0 : i0 + mc, p0 : p0 + kc], one sliver per micro-tile of tile_rows() rows, each
/// zero-padded to kMr rows.
void pack_a(const Problem& p, std::size_t i0, std::size_t mc, std::size_t p0, std::size_t kc, float* dst) noexcept {
    for (std::size_t ir = 0, mr = 0; ir < mc; ir += mr) {
        mr = tile_rows(mc - ir);
        if (p.trans_a) {
            // op(A)(i, k) = A[k * lda + i]: each k contributes mr contiguous floats.
            for (std::size_t k = 0; k < kc; ++k) {
                const float* src = p.A + (p0 + k) * p.lda + i0 + ir;
                float* out = dst + k * kMr;
                for (std::size_t r = 0; r < mr; ++r) out[r] = src[r];
                for (std::size_t r = mr; r < kMr; ++r) out[r] = 0.0f;
            }
        } else {
            // op(A)(i, k) = A[i * lda + k]: read mr rows sequentially, write with stride kMr (in L1).
            for (std::size_t r = 0; r < mr; ++r) {
                const float* src = p.A + (i0 + ir + r) * p.lda + p0;
                for (std::size_t k = 0; k < kc; ++k) dst[k * kMr + r] = src[k];
            }
            for (std::size_t r = mr; r < kMr; ++r)
                for (std::size_t k = 0; k < kc; ++k) dst[k * kMr + r] = 0.0f;
        }
        dst += kc * kMr;
    }
}

/// dst (ceil(nc / kNr), kc, kNr) <- op(B)[p0 : p0 + kc, j0 : j0 + nc], slivers of kNr columns, the last zero-padded.
void pack_b(const Problem& p, std::size_t p0, std::size_t kc, std::size_t j0, std::size_t nc, float* dst) noexcept {
    for (std::size_t jr = 0; jr < nc; jr += kNr) {
        const std::size_t nr = std::min(kNr, nc - jr);
        if (p.trans_b) {
            // op(B)(k, j) = B[j * ldb + k]: read nr rows of B sequentially, write with stride kNr (in L1).
            for (std::size_t c = 0; c < nr; ++c) {
                const float* src = p.B + (j0 + jr + c) * p.ldb + p0;
                for (std::size_t k = 0; k < kc; ++k) dst[k * kNr + c] = src[k];
            }
            for (std::size_t c = nr; c < kNr; ++c)
                for (std::size_t k = 0; k < kc; ++k) dst[k * kNr + c] = 0.0f;
        } else {
            // op(B)(k, j) = B[k * ldb + j]: each k contributes nr contiguous floats.
            for (std::size_t k = 0; k < kc; ++k) {
                const float* src = p.B + (p0 + k) * p.ldb + j0 + jr;
                float* out = dst + k * kNr;
                if (nr == kNr) {
                    std::memcpy(out, src, kNr * sizeof(float));  // constant size: inlined as vector moves
                } else {
                    for (std::size_t c = 0; c < nr; ++c) out[c] = src[c];
                    for (std::size_t c = nr; c < kNr; ++c) out[c] = 0.0f;
                }
            }
        }
        dst += kc * kNr;
    }
}

/// C[i, j] <- alpha * acc[i, j] + beta * C[i, j] for a tile whose last vector is partial; beta == 0 never reads C.
void merge_edge(const float* acc, std::size_t mr, std::size_t nr, float alpha, float beta, float* c,
                std::size_t ldc) noexcept {
    for (std::size_t i = 0; i < mr; ++i) {
        for (std::size_t j = 0; j < nr; ++j) {
            float& out = c[i * ldc + j];
            out = beta == 0.0f ? alpha * acc[i * kNr + j] : alpha * acc[i * kNr + j] + beta * out;
        }
    }
}

/// The depth of each K block: K split into equal blocks of at most kKc (no thin remainder block).
std::size_t depth_block(std::size_t K) noexcept {
    const std::size_t blocks = (K + kKc - 1) / kKc;
    return (K + blocks - 1) / blocks;
}

/// C[i_begin : i_end, j_begin : j_end] of the product, on the calling thread. Region corners lie on the global
/// micro-tile grid (multiples of kMr, kNr) except at the matrix edge.
void gemm_region(const Problem& p, std::size_t i_begin, std::size_t i_end, std::size_t j_begin,
                 std::size_t j_end) noexcept {
    const std::size_t kc_max = depth_block(p.K);
    const std::size_t mc_max = std::min(kMc, (i_end - i_begin + kMr - 1) / kMr * kMr);
    const std::size_t nc_max = std::min(kNc, (j_end - j_begin + kNr - 1) / kNr * kNr);
    float* packed_a = t_pack_a.reserve(mc_max * kc_max);  // (tiles, kc, kMr), tiles <= mc_max / kMr
    float* packed_b = t_pack_b.reserve(nc_max * kc_max);  // (nc / kNr, kc, kNr)
    alignas(kAlign) float edge[kMr * kNr];                 // (kMr, kNr)

    const bool in_place_b = !p.trans_b && i_end - i_begin <= kInPlaceBMaxRows;
    const bool in_place_a = j_end - j_begin <= kInPlaceAMaxCols;
    // A in place: op(A)(i, k) at A[i * lda + k] (row-major walk) or, transposed, at A[k * lda + i] (k-major walk).
    const auto layout = in_place_a && !p.trans_a ? gemm_detail::ALayout::kRowMajor : gemm_detail::ALayout::kKMajor;
    const gemm_detail::KernelTable& kernels = gemm_detail::kMicroKernels[static_cast<std::size_t>(layout)];
    const std::size_t a_stride = in_place_a ? p.lda : kMr;

    for (std::size_t jc = j_begin; jc < j_end; jc += kNc) {
        const std::size_t nc = std::min(kNc, j_end - jc);
        const std::size_t nc_full = nc / kNr * kNr;  // columns in whole slivers
        for (std::size_t pc = 0; pc < p.K; pc += kc_max) {
            const std::size_t kc = std::min(kc_max, p.K - pc);
            const float beta = pc == 0 ? p.beta : 1.0f;  // later K blocks accumulate onto the first
            if (in_place_b) {
                // Only a partial last sliver is packed (zero padding keeps the kernel inside its rows).
                if (nc_full < nc) pack_b(p, pc, kc, jc + nc_full, nc - nc_full, packed_b + nc_full * kc);
            } else {
                pack_b(p, pc, kc, jc, nc, packed_b);
            }
            for (std::size_t ic = i_begin; ic < i_end; ic += kMc) {
                const std::size_t mc = std::min(kMc, i_end - ic);
                if (!in_place_a) pack_a(p, ic, mc, pc, kc, packed_a);
                for (std::size_t jr = 0; jr < nc; jr += kNr) {
                    const std::size_t nr = std::min(kNr, nc - jr);
                    const std::size_t nv = (nr + kFloatWidth - 1) / kFloatWidth;  // vectors of the tile
                    const bool b_direct = in_place_b && jr < nc_full;
                    const float* b = b_direct ? p.B + pc * p.ldb + jc + jr : packed_b + jr * kc;
                    const std::size_t b_stride = b_direct ? p.ldb : kNr;
                    const float* a_packed = packed_a;  // sliver of the current tile when packed
                    for (std::size_t ir = 0, mr = 0; ir < mc; ir += mr, a_packed += kc * kMr) {
                        mr = tile_rows(mc - ir);
                        const float* a = !in_place_a ? a_packed
                                         : p.trans_a ? p.A + pc * p.lda + ic + ir
                                                     : p.A + (ic + ir) * p.lda + pc;
                        const gemm_detail::MicroKernel kernel = kernels[nv - 1][mr - 1];
                        float* c = p.C + (ic + ir) * p.ldc + jc + jr;
                        if (nr == nv * kFloatWidth) {
                            kernel(kc, a, a_stride, b, b_stride, p.alpha, beta, c, p.ldc);
                        } else {
                            kernel(kc, a, a_stride, b, b_stride, 1.0f, 0.0f, edge, kNr);
                            merge_edge(edge, mr, nr, p.alpha, beta, c, p.ldc);
                        }
                    }
                }
            }
        }
    }
}

/// C <- beta * C, the whole product when K == 0 (op(A) op(B) is an empty sum); beta == 0 never reads C.
void scale_c(const Problem& p) noexcept {
    for (std::size_t i = 0; i < p.M; ++i) {
        float* row = p.C + i * p.ldc;
        for (std::size_t j = 0; j < p.N; ++j) row[j] = p.beta == 0.0f ? 0.0f : p.beta * row[j];
    }
}

/// Splits [0, tiles) into runs of tiles of at least kMinFmasPerThread multiply-adds, one per thread, and calls
/// fn(begin, end) on each.
template <class Fn>
void split_tiles(std::size_t tiles, std::size_t fmas_per_tile, const Fn& fn) {
    const std::size_t grain = std::max<std::size_t>(1, kMinFmasPerThread / std::max<std::size_t>(fmas_per_tile, 1));
    parallel_for(tiles, grain, fn);
}

/// The product described by p, split over the pool's threads.
void run(const Problem& p) noexcept {
    const std::size_t M = p.M, N = p.N, K = p.K;
    if (M == 0 || N == 0) return;
    if (K == 0) {
        scale_c(p);
        return;
    }
    // Split the longer side of C into runs of whole micro-tiles, each worth at least kMinFmasPerThread.
    const bool split_n = N >= M;
    const std::size_t tile = split_n ? kNr : kMr;
    const std::size_t tiles = (split_n ? N + kNr - 1 : M + kMr - 1) / tile;
    split_tiles(tiles, tile * (split_n ? M : N) * K, [&](std::size_t t_begin, std::size_t t_end) {
        if (split_n)
            gemm_region(p, 0, M, t_begin * kNr, std::min(N, t_end * kNr));
        else
            gemm_region(p, t_begin * kMr, std::min(M, t_end * kMr), 0, N);
    });
}

/// gemm_slivered_rows's product.
struct RowsProblem {
    std::size_t M, N, K;
    const float* A;
    GemmRows a_rows;
    const float* B;  // slivers
    float beta;
    float* C;
    GemmRows c_rows;
};

/// Offsets of rows first .. first + n - 1 of `rows` into out, without a division per row.
void row_offsets(const GemmRows& rows, std::size_t first, std::size_t n, std::size_t* out) noexcept {
    std::size_t run = first / rows.run, in_run = first % rows.run;
    for (std::size_t i = 0; i < n; ++i) {
        out[i] = run * rows.run_stride + in_run * rows.row_stride;
        if (++in_run == rows.run) {
            in_run = 0;
            ++run;
        }
    }
}

/// Rows [i_begin, i_end) of gemm_slivered_rows's C on the calling thread: for each block of kMc rows, their
/// offsets once, then the loop nest of gemm_region with A read in place and B never packed.
void rows_region(const RowsProblem& p, std::size_t i_begin, std::size_t i_end) noexcept {
    const std::size_t kc_max = depth_block(p.K);
    std::size_t a_off[kMc], c_off[kMc];
    alignas(kAlign) float edge[kMr * kNr];  // (kMr, kNr)
    const float* a[kMr];
    float* c[kMr];
    for (std::size_t ic = i_begin; ic < i_end; ic += kMc) {
        const std::size_t mc = std::min(kMc, i_end - ic);
        row_offsets(p.a_rows, ic, mc, a_off);
        row_offsets(p.c_rows, ic, mc, c_off);
        for (std::size_t pc = 0; pc < p.K; pc += kc_max) {
            const std::size_t kc = std::min(kc_max, p.K - pc);
            const float beta = pc == 0 ? p.beta : 1.0f;  // later K blocks accumulate onto the first
            for (std::size_t jr = 0; jr < p.N; jr += kNr) {
                const std::size_t nr = std::min(kNr, p.N - jr);
                const std::size_t nv = (nr + kFloatWidth - 1) / kFloatWidth;
                const bool full = nr == nv * kFloatWidth;
                const float* b = p.B + (jr / kNr * p.K + pc) * kNr;
                for (std::size_t ir = 0, mr = 0; ir < mc; ir += mr) {
                    mr = tile_rows(mc - ir);
                    for (std::size_t i = 0; i < mr; ++i) {
                        a[i] = p.A + a_off[ir + i] + pc;
                        c[i] = full ? p.C + c_off[ir + i] + jr : edge + i * kNr;
                    }
                    gemm_detail::kRowsMicroKernels[nv - 1][mr - 1](kc, a, b, full ? beta : 0.0f, c);
                    if (full) continue;
                    for (std::size_t i = 0; i < mr; ++i) {
                        float* out = p.C + c_off[ir + i] + jr;
                        for (std::size_t j = 0; j < nr; ++j)
                            out[j] = beta == 0.0f ? 1.0f * edge[i * kNr + j] : 1.0f * edge[i * kNr + j] + beta * out[j];
                    }
                }
            }
        }
    }
}

}  // namespace

// NOTE: noexcept like every kernel: a failed allocation of the packing buffers or of a pool thread, or an invalid
// DYDIFF_NUM_THREADS read on the first call, terminates. Callers that want an error check num_threads() first.
void gemm(bool trans_a, bool trans_b, std::size_t M, std::size_t N, std::size_t K, float alpha, const float* A,
          std::size_t lda, const float* B, std::size_t ldb, float beta, float* C, std::size_t ldc) noexcept {
    run(Problem{trans_a, trans_b, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc});
}

void gemm_slivered_rows(std::size_t M, std::size_t N, std::size_t K, const float* A, GemmRows a_rows,
                        const float* B_slivers, float beta, float* C, GemmRows c_rows) noexcept {
    static_assert(kGemmSliverCols == kNr, "gemm.hpp's slivers are the micro-kernel's tile width");
    if (M == 0 || N == 0) return;
    const RowsProblem p{M, N, K, A, a_rows, B_slivers, beta, C, c_rows};
    if (K == 0) {
        std::size_t off[kMc];
        for (std::size_t i0 = 0; i0 < M; i0 += kMc) {
            row_offsets(c_rows, i0, std::min(kMc, M - i0), off);
            for (std::size_t i = 0; i < std::min(kMc, M - i0); ++i)
                for (std::size_t j = 0; j < N; ++j) C[off[i] + j] = beta == 0.0f ? 0.0f : beta * C[off[i] + j];
        }
        return;
    }
    split_tiles((M + kMr - 1) / kMr, kMr * N * K, [&](std::size_t t_begin, std::size_t t_end) {
        rows_region(p, t_begin * kMr, std::min(M, t_end * kMr));
    });
}

}  // namespace dydiff::nn::simd
