// Private to the gemm translation units: the packed, cache-blocked product of one region of C on one thread, around
// the micro-kernel of gemm_kernel.hpp, for one instruction set's Tile. Loop nest (Goto/BLIS idea, our code): NC
// columns of op(B) x KC depth are packed into slivers (kc, Nr) that stay in L1 while a packed MC x KC block of op(A)
// streams from L2; transposes are absorbed by the packing. nn/simd/gemm.cpp splits C between threads and
// instantiates this for the baseline set, nn/simd/gemm_avx512.cpp for AVX-512.
// NOTE: templates on the Tile only, for the reason given at the top of gemm_kernel.hpp.
#pragma once

#include "nn/simd/gemm_kernel.hpp"
#include "nn/simd/kernel_set.hpp"

#include <algorithm>
#include <cstring>
#include <memory>
#include <new>

namespace dydiff::nn::simd::gemm_detail {

/// Depth of a packed block (at most). NOTE: one value for every set: the K blocking decides the order of the FMAs
/// of each element of C, so a common value is what makes the sets agree bitwise (tested).
inline constexpr std::size_t kKc = 256;

/// The cache blocking of one tile shape.
template <class T>
struct Blocking {
    /// Rows of op(A) per packed block: about 384 rows (384 KiB at kKc), resident in L2 (1 MiB per core on Zen 4/5).
    static constexpr std::size_t kMc = 384 / T::kMr * T::kMr;
    /// Columns of op(B) per packed block: about 2048 (2 MiB at kKc), resident in L3.
    static constexpr std::size_t kNc = 2048 / T::kNr * T::kNr;
    /// Regions of at most this many rows read op(B) = B in place instead of packing it: each B sliver then serves
    /// at most 4 micro-tiles, too few to repay the copy (the weight gradient X^T dY of a narrow input layer, M = obs
    /// dim).
    static constexpr std::size_t kInPlaceBMaxRows = 4 * T::kMr;
    /// Regions of at most this many columns read op(A) in place instead of packing it, for the same reason (dX =
    /// dY W of a narrow output layer, N = obs dim).
    static constexpr std::size_t kInPlaceAMaxCols = 4 * T::kNr;
};

/// Alignment of the packed buffers (a cache line; also enough for every batch type).
inline constexpr std::size_t kAlign = 64;

/// A growable, cache-line aligned float buffer; one per thread and operand, kept between calls.
template <class T>
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

/// Rows of the next micro-tile when `remaining` rows of a block are left: kMr, except that the last two tiles share
/// their rows evenly when fewer than 2 kMr remain. A tile of r rows keeps r * kNrVecs accumulators busy, and a core
/// needs latency x pipes (4 x 2) of them in flight, so 14 rows go as 6 + 4 + 4 with AVX2 (14 cycles per k), not
/// 6 + 6 + 2 (16).
template <class T>
std::size_t tile_rows(std::size_t remaining) noexcept {
    if (remaining <= T::kMr) return remaining;
    if (remaining < 2 * T::kMr) return (remaining + 1) / 2;
    return T::kMr;
}

/// dst (tiles, kc, kMr) <- op(A)[i0 : i0 + mc, p0 : p0 + kc], one sliver per micro-tile of tile_rows() rows, each
/// zero-padded to kMr rows.
template <class T>
void pack_a(const Problem& p, std::size_t i0, std::size_t mc, std::size_t p0, std::size_t kc, float* dst) noexcept {
    constexpr std::size_t kMr = T::kMr;
    for (std::size_t ir = 0, mr = 0; ir < mc; ir += mr) {
        mr = tile_rows<T>(mc - ir);
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
template <class T>
void pack_b(const Problem& p, std::size_t p0, std::size_t kc, std::size_t j0, std::size_t nc, float* dst) noexcept {
    constexpr std::size_t kNr = T::kNr;
    // Whole blocks of kNr columns only; the set's block size when it has one and it divides kNr.
    using Transpose = BlockTranspose<typename T::batch_type>;
    constexpr std::size_t kTransposeBlock =
        Transpose::kSize > 0 && kNr % (Transpose::kSize > 0 ? Transpose::kSize : 1) == 0 ? Transpose::kSize : 0;
    for (std::size_t jr = 0; jr < nc; jr += kNr) {
        const std::size_t nr = std::min(kNr, nc - jr);
        if (p.trans_b) {
            // op(B)(k, j) = B[j * ldb + k]: a transpose. Whole S x S blocks in registers where the set can, the rest
            // reading nr rows of B sequentially and writing with stride kNr (in L1).
            std::size_t c = 0;
            if constexpr (kTransposeBlock > 0) {
                for (; c + kTransposeBlock <= nr; c += kTransposeBlock) {
                    const float* src = p.B + (j0 + jr + c) * p.ldb + p0;
                    std::size_t k = 0;
                    for (; k + kTransposeBlock <= kc; k += kTransposeBlock)
                        Transpose::transpose(src + k, p.ldb, dst + k * kNr + c, kNr);
                    for (; k < kc; ++k)
                        for (std::size_t i = 0; i < kTransposeBlock; ++i) dst[k * kNr + c + i] = src[i * p.ldb + k];
                }
            }
            for (; c < nr; ++c) {
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

/// The depth of each K block: K split into equal blocks of at most kKc (no thin remainder block).
template <class T>
std::size_t depth_block(std::size_t K) noexcept {
    const std::size_t blocks = (K + kKc - 1) / kKc;
    return (K + blocks - 1) / blocks;
}

/// C[i_begin : i_end, j_begin : j_end] of the product, on the calling thread (a GemmRegion). Region corners lie on
/// the global micro-tile grid (multiples of kMr, kNr) except at the matrix edge.
template <class T>
void gemm_region(const Problem& p, std::size_t i_begin, std::size_t i_end, std::size_t j_begin,
                 std::size_t j_end) noexcept {
    constexpr std::size_t kMr = T::kMr, kNr = T::kNr, kLanes = T::kLanes;
    using B = Blocking<T>;
    static thread_local PackBuffer<T> t_pack_a;
    static thread_local PackBuffer<T> t_pack_b;
    const std::size_t kc_max = depth_block<T>(p.K);
    const std::size_t mc_max = std::min(B::kMc, (i_end - i_begin + kMr - 1) / kMr * kMr);
    const std::size_t nc_max = std::min(B::kNc, (j_end - j_begin + kNr - 1) / kNr * kNr);
    float* packed_a = t_pack_a.reserve(mc_max * kc_max);  // (tiles, kc, kMr), tiles <= mc_max / kMr
    float* packed_b = t_pack_b.reserve(nc_max * kc_max);  // (nc / kNr, kc, kNr)
    alignas(kAlign) float edge[kMr * kNr] = {};            // (kMr, kNr)

    const bool in_place_b = !p.trans_b && i_end - i_begin <= B::kInPlaceBMaxRows;
    const bool in_place_a = j_end - j_begin <= B::kInPlaceAMaxCols;
    // A in place: op(A)(i, k) at A[i * lda + k] (row-major walk) or, transposed, at A[k * lda + i] (k-major walk).
    const auto layout = in_place_a && !p.trans_a ? ALayout::kRowMajor : ALayout::kKMajor;
    const KernelTable<T>& kernels = kMicroKernels<T>[static_cast<std::size_t>(layout)];
    const std::size_t a_stride = in_place_a ? p.lda : kMr;

    for (std::size_t jc = j_begin; jc < j_end; jc += B::kNc) {
        const std::size_t nc = std::min(B::kNc, j_end - jc);
        const std::size_t nc_full = nc / kNr * kNr;  // columns in whole slivers
        for (std::size_t pc = 0; pc < p.K; pc += kc_max) {
            const std::size_t kc = std::min(kc_max, p.K - pc);
            const float beta = pc == 0 ? p.beta : 1.0f;  // later K blocks accumulate onto the first
            if (in_place_b) {
                // Only a partial last sliver is packed (zero padding keeps the kernel inside its rows).
                if (nc_full < nc) pack_b<T>(p, pc, kc, jc + nc_full, nc - nc_full, packed_b + nc_full * kc);
            } else {
                pack_b<T>(p, pc, kc, jc, nc, packed_b);
            }
            for (std::size_t ic = i_begin; ic < i_end; ic += B::kMc) {
                const std::size_t mc = std::min(B::kMc, i_end - ic);
                if (!in_place_a) pack_a<T>(p, ic, mc, pc, kc, packed_a);
                for (std::size_t jr = 0; jr < nc; jr += kNr) {
                    const std::size_t nr = std::min(kNr, nc - jr);
                    const std::size_t nv = (nr + kLanes - 1) / kLanes;  // registers of the tile
                    const bool b_direct = in_place_b && jr < nc_full;
                    const float* b = b_direct ? p.B + pc * p.ldb + jc + jr : packed_b + jr * kc;
                    const std::size_t b_stride = b_direct ? p.ldb : kNr;
                    const float* a_packed = packed_a;  // sliver of the current tile when packed
                    for (std::size_t ir = 0, mr = 0; ir < mc; ir += mr, a_packed += kc * kMr) {
                        mr = tile_rows<T>(mc - ir);
                        const float* a = !in_place_a ? a_packed
                                         : p.trans_a ? p.A + pc * p.lda + ic + ir
                                                     : p.A + (ic + ir) * p.lda + pc;
                        const MicroKernel kernel = kernels[nv - 1][mr - 1];
                        float* c = p.C + (ic + ir) * p.ldc + jc + jr;
                        if (nr == nv * kLanes) {
                            kernel(kc, a, a_stride, b, b_stride, p.alpha, beta, c, p.ldc);
                            continue;
                        }
                        // The last register is partial: the kernel works on a whole-register copy of the tile, so
                        // that these elements see the very operations of a whole tile (where the tile edges fall
                        // differs between sets, the arithmetic must not). beta == 0 never reads C.
                        if (beta != 0.0f)
                            for (std::size_t i = 0; i < mr; ++i)
                                std::memcpy(edge + i * kNr, c + i * p.ldc, nr * sizeof(float));
                        kernel(kc, a, a_stride, b, b_stride, p.alpha, beta, edge, kNr);
                        for (std::size_t i = 0; i < mr; ++i)
                            std::memcpy(c + i * p.ldc, edge + i * kNr, nr * sizeof(float));
                    }
                }
            }
        }
    }
}

/// Offsets of rows first .. first + n - 1 of `rows` into out, without a division per row.
template <class T>
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

/// Rows [i_begin, i_end) of a gemm_slivered_rows product on the calling thread (a GemmRowsRegion): per block of
/// kMc rows their offsets once, then gemm_region's loop nest with A read in place and B never packed.
template <class T>
void rows_region(const RowsProblem& p, std::size_t i_begin, std::size_t i_end) noexcept {
    constexpr std::size_t kMr = T::kMr, kNr = T::kNr, kLanes = T::kLanes, kMc = Blocking<T>::kMc;
    const std::size_t kc_max = depth_block<T>(p.K);
    std::size_t a_off[kMc], c_off[kMc];
    alignas(kAlign) float edge[kMr * kNr] = {};  // (kMr, kNr)
    const float* a[kMr];
    float* c[kMr];
    for (std::size_t ic = i_begin; ic < i_end; ic += kMc) {
        const std::size_t mc = std::min(kMc, i_end - ic);
        row_offsets<T>(p.a_rows, ic, mc, a_off);
        row_offsets<T>(p.c_rows, ic, mc, c_off);
        for (std::size_t pc = 0; pc < p.K; pc += kc_max) {
            const std::size_t kc = std::min(kc_max, p.K - pc);
            const float beta = pc == 0 ? p.beta : 1.0f;  // later K blocks accumulate onto the first
            for (std::size_t jr = 0; jr < p.N; jr += kNr) {
                const std::size_t nr = std::min(kNr, p.N - jr);
                const std::size_t nv = (nr + kLanes - 1) / kLanes;  // registers of the tile
                const bool whole = nr == nv * kLanes;
                const float* b = p.B + (jr / kNr * p.K + pc) * kNr;
                for (std::size_t ir = 0, mr = 0; ir < mc; ir += mr) {
                    mr = tile_rows<T>(mc - ir);
                    for (std::size_t i = 0; i < mr; ++i) {
                        a[i] = p.A + a_off[ir + i] + pc;
                        c[i] = whole ? p.C + c_off[ir + i] + jr : edge + i * kNr;
                    }
                    const RowsMicroKernel kernel = kRowsMicroKernels<T>[nv - 1][mr - 1];
                    if (whole) {
                        kernel(kc, a, b, beta, c);
                        continue;
                    }
                    // The last register is partial: as in gemm_region, the kernel works on a whole-register copy of
                    // the tile. beta == 0 never reads C.
                    if (beta != 0.0f)
                        for (std::size_t i = 0; i < mr; ++i)
                            std::memcpy(edge + i * kNr, p.C + c_off[ir + i] + jr, nr * sizeof(float));
                    kernel(kc, a, b, beta, c);
                    for (std::size_t i = 0; i < mr; ++i)
                        std::memcpy(p.C + c_off[ir + i] + jr, edge + i * kNr, nr * sizeof(float));
                }
            }
        }
    }
}

/// The KernelSet of a tile: its shape, its region functions and its FMA peak loop, with the set's vector kernels.
template <class T>
constexpr KernelSet make_kernel_set(const char* name, const char* alias, const VectorKernels* vector) noexcept {
    return {name, alias, T::kLanes, T::kMr, T::kNr, &gemm_region<T>, &rows_region<T>, &fma_peak_chains<T>,
            kPeakChains * T::kLanes * 2, vector};
}

}  // namespace dydiff::nn::simd::gemm_detail
