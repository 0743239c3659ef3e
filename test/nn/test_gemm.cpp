// nn::simd::gemm against its scalar twin ref::gemm: odd and tile-edge shapes, all four transposes, padded leading
// dimensions, unaligned pointers, alpha/beta combinations (beta == 0 must not read C), writes confined to the M x N
// window, no read past the end of A or B, bitwise equality across thread counts, and across the instruction sets of
// the build. The edge cases follow the lanes and micro-tile of the set in use: test/meson.build runs this executable
// once per compiled set (DYDIFF_SIMD, test/nn/main.cpp).
#include "nn/parallel.hpp"
#include "nn/simd/arch.hpp"
#include "nn/simd/gemm.hpp"
#include "support/simd_sets.hpp"

#include <boost/test/unit_test.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <cstring>
#include <limits>
#include <vector>

namespace {

namespace simd = dydiff::nn::simd;
using dydiff::test::runnable_sets;
using dydiff::test::two_runnable_sets;

/// Float lanes of the set in use (16 with avx512f, 8 with AVX2, ...).
std::size_t lanes() { return simd::float_lanes(); }
/// Micro-tile rows and columns of the set in use (6 x 64 with avx512f, 6 x 16 with AVX2, ...).
std::size_t tile_rows() { return simd::gemm_micro_tile().first; }
std::size_t tile_cols() { return simd::gemm_micro_tile().second; }
/// Error bound per accumulated term, in units of FLT_EPSILON * sum |alpha a b| + |beta c| (a dot product of K
/// float terms is within K * eps of the exact value times that magnitude; the twin accumulates in double).
constexpr double kTolPerTerm = 1.0;
/// Written into padding around C; must survive every call.
constexpr float kSentinel = -12345.0f;

/// Our own deterministic uniform [-1, 1) stream (64-bit LCG, top 24 bits).
class Uniform {
public:
    explicit Uniform(std::uint64_t seed) : state_(seed * 6364136223846793005ULL + 1442695040888963407ULL) {}
    float operator()() {
        state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
        return static_cast<float>(state_ >> 40) / static_cast<float>(1 << 23) - 1.0f;
    }

private:
    std::uint64_t state_;
};

/// A rows x cols matrix stored with row stride ld = cols + pad, starting `offset` floats into its buffer (offset 1
/// makes the data pointer unaligned). Everything outside the matrix holds kSentinel.
struct Matrix {
    Matrix(std::size_t rows_, std::size_t cols_, std::size_t pad, std::size_t offset_)
        : rows(rows_), cols(cols_), ld(cols_ + pad), offset(offset_), storage(offset_ + rows_ * ld + 1, kSentinel) {}
    float* data() { return storage.data() + offset; }
    float& at(std::size_t i, std::size_t j) { return data()[i * ld + j]; }
    void fill(Uniform& rng) {
        for (std::size_t i = 0; i < rows; ++i)
            for (std::size_t j = 0; j < cols; ++j) at(i, j) = rng();
    }
    std::size_t rows, cols, ld, offset;
    std::vector<float> storage;
};

/// A copy of a matrix whose last element is the last float before unmapped memory (PROT_NONE) at least `reach`
/// floats long: a read past the end of the matrix faults instead of landing unseen in some other allocation.
class GuardedCopy {
public:
    GuardedCopy(const Matrix& m, std::size_t reach) {
        const std::size_t used = m.offset + (m.rows - 1) * m.ld + m.cols;  // floats up to the last element
        const std::size_t page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
        const std::size_t mapped = (used * sizeof(float) + page - 1) / page * page;
        bytes_ = mapped + (reach * sizeof(float) + page - 1) / page * page;
        base_ = mmap(nullptr, bytes_, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        BOOST_REQUIRE(base_ != MAP_FAILED);
        BOOST_REQUIRE(mprotect(static_cast<char*>(base_) + mapped, bytes_ - mapped, PROT_NONE) == 0);
        float* start = reinterpret_cast<float*>(static_cast<char*>(base_) + mapped) - used;
        std::memcpy(start, m.storage.data(), used * sizeof(float));
        data_ = start + m.offset;
    }
    GuardedCopy(const GuardedCopy&) = delete;
    GuardedCopy& operator=(const GuardedCopy&) = delete;
    ~GuardedCopy() { munmap(base_, bytes_); }
    const float* data() const { return data_; }

private:
    void* base_ = nullptr;
    std::size_t bytes_ = 0;
    const float* data_ = nullptr;
};

struct Case {
    bool trans_a, trans_b;
    std::size_t M, N, K;
    float alpha = 1.0f, beta = 0.0f;
    std::size_t pad = 0;     // extra floats per row of A, B and C
    std::size_t offset = 0;  // floats between each buffer's start and its matrix
};

/// Runs gemm and ref::gemm on the same inputs and checks every element of C within the error bound, and that no
/// float outside the M x N window of C changed. With `guard_operands` (M, N, K >= 1) gemm reads A and B from
/// GuardedCopy buffers: reading up to two rows past either ends the process with SIGSEGV.
void check_against_ref(const Case& c, std::uint64_t seed, bool guard_operands = false) {
    Uniform rng(seed);
    Matrix a(c.trans_a ? c.K : c.M, c.trans_a ? c.M : c.K, c.pad, c.offset);
    Matrix b(c.trans_b ? c.N : c.K, c.trans_b ? c.K : c.N, c.pad, c.offset);
    Matrix got(c.M, c.N, c.pad, c.offset);
    a.fill(rng);
    b.fill(rng);
    if (c.beta == 0.0f) {
        for (std::size_t i = 0; i < c.M; ++i)
            for (std::size_t j = 0; j < c.N; ++j) got.at(i, j) = std::numeric_limits<float>::quiet_NaN();
    } else {
        got.fill(rng);
    }
    Matrix want = got;
    // magnitude (M, N) = |alpha| |op(A)| |op(B)| + |beta| |C|: the scale of the rounding error of each element.
    Matrix abs_a = a, abs_b = b, magnitude = got;
    for (float& x : abs_a.storage) x = std::fabs(x);
    for (float& x : abs_b.storage) x = std::fabs(x);
    for (float& x : magnitude.storage) x = std::isnan(x) ? 0.0f : std::fabs(x);

    if (guard_operands) {
        const GuardedCopy guarded_a(a, 2 * a.ld), guarded_b(b, 2 * b.ld);
        simd::gemm(c.trans_a, c.trans_b, c.M, c.N, c.K, c.alpha, guarded_a.data(), a.ld, guarded_b.data(), b.ld,
                   c.beta, got.data(), got.ld);
    } else {
        simd::gemm(c.trans_a, c.trans_b, c.M, c.N, c.K, c.alpha, a.data(), a.ld, b.data(), b.ld, c.beta,
                   got.data(), got.ld);
    }
    simd::ref::gemm(c.trans_a, c.trans_b, c.M, c.N, c.K, c.alpha, a.data(), a.ld, b.data(), b.ld, c.beta,
                    want.data(), want.ld);
    simd::ref::gemm(c.trans_a, c.trans_b, c.M, c.N, c.K, std::fabs(c.alpha), abs_a.data(), abs_a.ld, abs_b.data(),
                    abs_b.ld, std::fabs(c.beta), magnitude.data(), magnitude.ld);

    const double eps = std::numeric_limits<float>::epsilon();
    std::size_t failures = 0;
    for (std::size_t i = 0; i < c.M && failures < 5; ++i) {
        for (std::size_t j = 0; j < c.N && failures < 5; ++j) {
            const double tol = kTolPerTerm * static_cast<double>(c.K + 2) * eps * magnitude.at(i, j);
            const double err = std::fabs(static_cast<double>(got.at(i, j)) - want.at(i, j));
            if (!(err <= tol)) {
                ++failures;
                BOOST_ERROR("C(" << i << ", " << j << ") = " << got.at(i, j) << ", want " << want.at(i, j)
                                 << " (tol " << tol << ") for ta " << c.trans_a << " tb " << c.trans_b << " M "
                                 << c.M << " N " << c.N << " K " << c.K << " alpha " << c.alpha << " beta "
                                 << c.beta << " pad " << c.pad << " offset " << c.offset);
            }
        }
    }
    // Padding columns and the floats before and after the matrix keep the sentinel.
    std::size_t touched = 0;
    for (std::size_t k = 0; k < got.storage.size(); ++k) {
        const std::size_t rel = k - got.offset;
        const bool inside = k >= got.offset && got.ld > 0 && rel / got.ld < c.M && rel % got.ld < c.N;
        if (!inside && got.storage[k] != kSentinel) ++touched;
    }
    BOOST_TEST(touched == 0u, "gemm wrote outside C for M " << c.M << " N " << c.N << " K " << c.K);
}

const bool kBools[] = {false, true};

/// 0, 1, W-1, W, W+1, two vectors of lanes and around, the micro-tile's rows and columns and around.
std::vector<std::size_t> edge_sizes() {
    const std::size_t W = lanes(), R = tile_rows(), N = tile_cols();
    std::vector<std::size_t> sizes{0, 1};
    for (std::size_t s : {R - 1, R, R + 1, 2 * R + 1, W - 1, W, W + 1, 2 * W - 1, 2 * W, 2 * W + 1, 3 * W + 1, N + 1})
        if (s > 1 && std::find(sizes.begin(), sizes.end(), s) == sizes.end()) sizes.push_back(s);
    return sizes;
}

/// Bitwise copy of C after gemm with `threads` threads.
std::vector<float> product_with_threads(std::size_t threads, bool ta, bool tb, std::size_t M, std::size_t N,
                                        std::size_t K) {
    dydiff::nn::set_num_threads(threads);
    Uniform rng(7);
    std::vector<float> a(M * K), b(K * N), c(M * N);
    for (float& x : a) x = rng();
    for (float& x : b) x = rng();
    for (float& x : c) x = rng();
    simd::gemm(ta, tb, M, N, K, 0.75f, a.data(), ta ? M : K, b.data(), tb ? K : N, 0.5f, c.data(), N);
    dydiff::nn::set_num_threads(0);
    return c;
}

/// Bitwise copy of C after gemm on instruction set `set`, one thread.
std::vector<float> product_on_set(const std::string& set, bool ta, bool tb, std::size_t M, std::size_t N,
                                  std::size_t K, float beta) {
    simd::use_set(set);
    Uniform rng(M * 1000003 + N * 1009 + K);
    std::vector<float> a(M * K), b(K * N), c(M * N);
    for (float& x : a) x = rng();
    for (float& x : b) x = rng();
    for (float& x : c) x = rng();
    simd::gemm(ta, tb, M, N, K, 0.75f, a.data(), ta ? M : K, b.data(), tb ? K : N, beta, c.data(), N);
    simd::use_set("");
    return c;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(gemm)

BOOST_AUTO_TEST_CASE(edge_shapes_all_transposes) {
    const auto sizes = edge_sizes();
    std::uint64_t seed = 1;
    for (bool ta : kBools)
        for (bool tb : kBools)
            for (std::size_t M : sizes)
                for (std::size_t N : sizes)
                    for (std::size_t K : sizes) check_against_ref({ta, tb, M, N, K, 1.0f, 0.0f}, seed++);
}

BOOST_AUTO_TEST_CASE(block_edges_and_large_shapes) {
    // Primes, the K block (256) and its edges, the M block (120 rows) and its edges, a wide N beyond one column
    // block (2048 with AVX2), and the MLP shapes (batch 256, observation dim 14, hidden 256).
    const std::size_t shapes[][3] = {{37, 53, 71},   {300, 257, 129}, {121, 35, 257}, {241, 17, 513},
                                     {7, 2049, 3},   {256, 256, 14},  {14, 256, 256}, {256, 14, 256},
                                     {120, 120, 256}, {1, 300, 300},  {300, 1, 300},  {65, 97, 1}};
    std::uint64_t seed = 100;
    for (const auto& s : shapes)
        for (bool ta : kBools)
            for (bool tb : kBools) check_against_ref({ta, tb, s[0], s[1], s[2], 1.0f, 0.0f}, seed++);
}

BOOST_AUTO_TEST_CASE(in_place_operand_thresholds) {
    // gemm reads B in place for regions of at most 4 micro-tiles of rows and A for regions of at most 4 column
    // slivers; both sides of each threshold, with padding and an unaligned start so the in-place reads see odd
    // strides and addresses.
    const std::size_t R = 4 * tile_rows(), N = 4 * tile_cols();
    const std::size_t shapes[][3] = {{R, 100, 50}, {R + 1, 100, 50}, {100, N, 50}, {100, N + 1, 50},
                                     {R, N, 300}, {3, 5, 700}};
    std::uint64_t seed = 150;
    for (const auto& s : shapes)
        for (bool ta : kBools)
            for (bool tb : kBools) check_against_ref({ta, tb, s[0], s[1], s[2], 0.5f, 1.5f, 3, 1}, seed++);
}

BOOST_AUTO_TEST_CASE(no_read_past_the_operands) {
    // The col2im gemm of conv1d_kernels/batch_split_into_groups (dX columns = W^T D for B = 3, C_in = 4, H = 75000,
    // C_out = 3, K = 5, two samples per group): B read in place with ldb = 150000. The scalar micro-kernel compiled
    // by g++ 12 -O3 read one row of B past its end there (nn/simd/gemm_kernel.hpp, hide_from_vectorizer).
    check_against_ref({true, false, 20, 150000, 3, 1.0f, 0.0f}, 500, true);
    // Every micro-tile variant, in place and packed operands on both sides of the thresholds, K = 1 and 3 (the
    // over-read came after the last k step), plain and padded, unaligned layouts.
    const std::size_t W = lanes(), R = tile_rows(), C = tile_cols();
    std::vector<std::size_t> rows;
    for (std::size_t m = 1; m <= R + 1; ++m) rows.push_back(m);
    for (std::size_t m : {2 * R + 1, 4 * R, 4 * R + 1}) rows.push_back(m);
    std::uint64_t seed = 501;
    for (std::size_t M : rows)
        for (std::size_t N : {std::size_t{1}, std::size_t{2}, W + 1, 2 * W, C - 1, 4 * C, 4 * C + 1})
            for (std::size_t K : {1, 3})
                for (bool ta : kBools)
                    for (bool tb : kBools) {
                        check_against_ref({ta, tb, M, N, K, 1.0f, 0.0f}, seed++, true);
                        check_against_ref({ta, tb, M, N, K, 0.5f, 1.5f, 3, 1}, seed++, true);
                    }
}

BOOST_AUTO_TEST_CASE(padded_leading_dimensions_and_unaligned_pointers) {
    std::uint64_t seed = 200;
    for (std::size_t pad : {1, 3, 17})
        for (std::size_t offset : {0, 1})
            for (bool ta : kBools)
                for (bool tb : kBools)
                    for (const auto& s : {std::vector<std::size_t>{37, 53, 71}, {2 * lanes() + 1, 3 * lanes() - 1,
                                                                                 lanes() + 1}})
                        check_against_ref({ta, tb, s[0], s[1], s[2], 1.0f, 0.0f, pad, offset}, seed++);
}

BOOST_AUTO_TEST_CASE(alpha_beta_combinations) {
    // beta == 0 starts from a NaN-filled C (check_against_ref): any read of C would show.
    const float alphas[] = {1.0f, -0.5f, 2.0f, 0.0f};
    const float betas[] = {0.0f, 1.0f, -1.5f, 0.25f};
    std::uint64_t seed = 300;
    for (float alpha : alphas)
        for (float beta : betas)
            for (bool ta : kBools)
                for (bool tb : kBools)
                    for (const auto& s : {std::vector<std::size_t>{37, 53, 71}, {13, 7, 600}, {6, 16, 0}})
                        check_against_ref({ta, tb, s[0], s[1], s[2], alpha, beta, 2, 1}, seed++);
}

BOOST_AUTO_TEST_CASE(bitwise_identical_for_any_thread_count) {
    const std::size_t shapes[][3] = {{300, 257, 129}, {257, 300, 600}, {14, 256, 256}, {256, 14, 256},
                                     {512, 512, 64}};
    for (const auto& s : shapes) {
        for (bool ta : kBools) {
            for (bool tb : kBools) {
                const auto one = product_with_threads(1, ta, tb, s[0], s[1], s[2]);
                for (std::size_t threads : {2, 3}) {
                    const auto many = product_with_threads(threads, ta, tb, s[0], s[1], s[2]);
                    BOOST_TEST(std::memcmp(one.data(), many.data(), one.size() * sizeof(float)) == 0,
                               "threads " << threads << " M " << s[0] << " N " << s[1] << " K " << s[2] << " ta "
                                          << ta << " tb " << tb);
                }
            }
        }
    }
}

// gemm_slivered_rows reads B from its sliver layout and the rows of A and C from runs: bitwise the same rows of C as
// gemm on the gathered rows, with every float between C's rows untouched, over edge shapes, runs of several lengths
// (overlapping A rows, as the convolutions read them), several K blocks, beta 0 and 0.5, K = 0, a column range
// starting at sliver 1, and 1 or 2 threads.
BOOST_AUTO_TEST_CASE(slivered_rows_equal_gemm_bitwise) {
    const simd::GemmSlivers sl = simd::gemm_slivers();
    const std::size_t w = sl.width;
    struct Case {
        std::size_t M, N, K, run;
    };
    const Case cases[] = {{1, 1, 1, 1},           {7, w - 1, 5, 3},     {13, w, 3, 13},  {37, w + 1, 71, 8},
                          {300, 3 * w + 5, 300, 25}, {121, 64, 257, 10}, {600, 128, 640, 27}, {6, 2049, 7, 2},
                          {50, w, 0, 5}};
    std::uint64_t seed = 500;
    for (const Case& k : cases)
        for (float beta : {0.0f, 0.5f})
            for (std::size_t threads : {1, 2}) {
                // A: runs of `run` rows K floats apart (overlapping when K > lda), a gap of 3 rows between runs;
                // C: runs of rows with a gap of 2 rows, rows N + 3 floats apart.
                const std::size_t lda = std::max<std::size_t>(k.K / 2, 1), ldc = k.N + 3;
                const simd::GemmRows a_rows{k.run, (k.run + 3) * lda, lda};
                const simd::GemmRows c_rows{k.run, (k.run + 2) * ldc, ldc};
                const std::size_t runs = (k.M + k.run - 1) / k.run;
                Uniform rng(seed++);
                std::vector<float> a(runs * a_rows.run_stride + k.K), b(k.K * k.N), c(runs * c_rows.run_stride);
                for (float& x : a) x = rng();
                for (float& x : b) x = rng();
                for (float& x : c) x = rng();
                const auto a_at = [&](std::size_t i) { return (i / k.run) * a_rows.run_stride + (i % k.run) * lda; };
                const auto c_at = [&](std::size_t i) { return (i / k.run) * c_rows.run_stride + (i % k.run) * ldc; };
                std::vector<float> dense_a(k.M * k.K), dense_c(k.M * k.N);
                for (std::size_t i = 0; i < k.M; ++i) {
                    std::copy_n(a.begin() + a_at(i), k.K, dense_a.begin() + i * k.K);
                    std::copy_n(c.begin() + c_at(i), k.N, dense_c.begin() + i * k.N);
                }
                std::vector<float> slivers(sl.floats(k.K, k.N), NAN);
                for (std::size_t kk = 0; kk < k.K; ++kk)
                    for (std::size_t n = 0; n < slivers.size() / std::max<std::size_t>(k.K, 1); ++n)
                        slivers[sl.index(k.K, kk, n)] = n < k.N ? b[kk * k.N + n] : 0.0f;
                dydiff::nn::set_num_threads(threads);
                simd::gemm(false, false, k.M, k.N, k.K, 1.0f, dense_a.data(), k.K, b.data(), k.N, beta,
                           dense_c.data(), k.N);
                std::vector<float> got = c;
                simd::gemm_slivered_rows(k.M, k.N, k.K, a.data(), a_rows, slivers.data(), beta, got.data(), c_rows);
                std::vector<float> want = c;  // the dense result scattered back, everything else as before
                for (std::size_t i = 0; i < k.M; ++i)
                    std::copy_n(dense_c.begin() + i * k.N, k.N, want.begin() + c_at(i));
                BOOST_TEST((got == want), "M " << k.M << " N " << k.N << " K " << k.K << " run " << k.run << " beta "
                                                << beta << " threads " << threads);
                // Columns from the second sliver on: the slivers from index 1, a product with N - w columns.
                if (k.N > w && k.K > 0) {
                    std::vector<float> part = c;
                    simd::gemm_slivered_rows(k.M, k.N - w, k.K, a.data(), a_rows, slivers.data() + k.K * w, beta,
                                             part.data() + w, c_rows);
                    bool same = true;
                    for (std::size_t i = 0; i < k.M; ++i)
                        for (std::size_t j = w; j < k.N; ++j) same = same && part[c_at(i) + j] == want[c_at(i) + j];
                    BOOST_TEST(same, "column range from sliver 1, M " << k.M << " N " << k.N << " K " << k.K);
                }
                dydiff::nn::set_num_threads(0);
            }
}

BOOST_AUTO_TEST_CASE(callable_from_inside_parallel_for) {
    // Nested use (e.g. one gemm per ensemble member inside a parallel loop) runs serially and stays exact.
    constexpr std::size_t kJobs = 4, M = 40, N = 50, K = 60;
    std::vector<std::vector<float>> a(kJobs), b(kJobs), got(kJobs);
    Uniform rng(400);
    for (std::size_t j = 0; j < kJobs; ++j) {
        a[j].resize(M * K);
        b[j].resize(K * N);
        for (float& x : a[j]) x = rng();
        for (float& x : b[j]) x = rng();
        got[j].assign(M * N, 0.0f);
    }
    dydiff::nn::set_num_threads(2);
    dydiff::nn::parallel_for(kJobs, 1, [&](std::size_t begin, std::size_t end) {
        for (std::size_t j = begin; j < end; ++j)
            simd::gemm(false, false, M, N, K, 1.0f, a[j].data(), K, b[j].data(), N, 0.0f, got[j].data(), N);
    });
    dydiff::nn::set_num_threads(0);
    for (std::size_t j = 0; j < kJobs; ++j) {
        std::vector<float> serial(M * N);
        simd::gemm(false, false, M, N, K, 1.0f, a[j].data(), K, b[j].data(), N, 0.0f, serial.data(), N);
        BOOST_TEST(std::memcmp(serial.data(), got[j].data(), serial.size() * sizeof(float)) == 0, "job " << j);
    }
}

BOOST_AUTO_TEST_CASE(every_set_gives_the_same_bits, *boost::unit_test::precondition(two_runnable_sets)) {
    // The sets share the K blocking and the chain of FMAs of each element (nn/simd/gemm_blocked.hpp), and a tile
    // whose last register is partial runs on a whole-register copy: every set gives the baseline's bits. Shapes on
    // both sides of each set's tile edges, several K blocks (K > 256), beta zero and not, all four transposes.
    const std::size_t shapes[][3] = {{1, 1, 1},    {7, 65, 3},     {13, 17, 257},  {25, 130, 600}, {6, 64, 14},
                                     {100, 257, 300}, {256, 14, 256}, {14, 256, 256}, {31, 33, 513}};
    dydiff::nn::set_num_threads(1);
    const auto sets = runnable_sets();
    for (const auto& s : shapes) {
        for (bool ta : kBools) {
            for (bool tb : kBools) {
                for (float beta : {0.0f, 0.5f}) {
                    const auto first = product_on_set(sets[0], ta, tb, s[0], s[1], s[2], beta);
                    for (std::size_t i = 1; i < sets.size(); ++i) {
                        const auto other = product_on_set(sets[i], ta, tb, s[0], s[1], s[2], beta);
                        BOOST_TEST(std::memcmp(first.data(), other.data(), first.size() * sizeof(float)) == 0,
                                   sets[i] << " vs " << sets[0] << ": M " << s[0] << " N " << s[1] << " K " << s[2]
                                           << " ta " << ta << " tb " << tb << " beta " << beta);
                    }
                }
            }
        }
    }
    dydiff::nn::set_num_threads(0);
}

BOOST_AUTO_TEST_SUITE_END()
