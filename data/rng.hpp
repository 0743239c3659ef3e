// Rng: the only source of randomness in dydiff, bitwise identical on every platform and standard library.
// Engine: xoshiro256** 1.0 (Blackman & Vigna, "Scrambled Linear Pseudorandom Number Generators", 2018/2021),
// its 256-bit state filled from the seed by SplitMix64 (Steele, Lea & Flood 2014), as the authors recommend.
// Distributions are our own (std::*_distribution differs between libstdc++, libc++ and MSVC):
// uniform = top 24/53 bits times 2^-24/2^-53, randint = rejection on the top of the 64-bit range,
// normal = Marsaglia polar method in double, the second value of each pair cached in the state.
// data/ layer: depends on autograd/error.hpp and the standard library only.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

namespace dydiff::data {

class Rng {
public:
    /// Bytes of state(): magic "DYRG", version, cached-normal flag, 4 x uint64 engine words, the cached double.
    static constexpr std::size_t kStateBytes = 4 + 1 + 1 + 4 * 8 + 8;

    /// Seeds the four engine words with SplitMix64(seed); every seed (0 included) is valid.
    explicit Rng(std::uint64_t seed);

    /// Next raw xoshiro256** output.
    std::uint64_t next_u64() noexcept;
    /// Upper 32 bits of next_u64() (the low bits of xoshiro256** are as good, the high ones are the convention).
    std::uint32_t next_u32() noexcept;

    /// Uniform in [0, 1) on the 2^24 grid: (next_u64() >> 40) * 2^-24, so every value is an exact float.
    float uniform() noexcept;
    /// Uniform in [0, 1) on the 2^53 grid: (next_u64() >> 11) * 2^-53.
    double uniform_double() noexcept;
    /// Uniform in [lo, hi): fma(hi - lo, uniform(), lo), pulled below hi when rounding lands on hi. Needs lo < hi.
    float uniform(float lo, float hi);

    /// Uniform integer in [0, n), unbiased: draws below (2^64 mod n) are rejected. n must be > 0.
    std::size_t randint(std::size_t n);

    /// Standard normal N(0, 1) by the Marsaglia polar method; pairs are generated together and the second is cached.
    /// NOTE: uses std::fma, std::sqrt (both exactly specified by IEEE 754) and std::log (correctly rounded in glibc).
    /// On a libm whose log differs in the last ulp the normals may differ there; integers and uniforms never do.
    double normal_double();
    /// static_cast<float>(normal_double()): floats and doubles share one stream and one cached value.
    float normal();

    /// out[i] = fma(std, normal(), mean) for i in [0, n).
    void fill_normal(float* out, std::size_t n, float mean = 0.0f, float std = 1.0f);
    /// out[i] = uniform(lo, hi) for i in [0, n).
    void fill_uniform(float* out, std::size_t n, float lo = 0.0f, float hi = 1.0f);

    /// A uniformly random permutation of 0..n-1 (Fisher-Yates on the identity).
    std::vector<std::size_t> permutation(std::size_t n);

    /// Fisher-Yates shuffle of [first, last) with randint (random-access iterators).
    template <class RandomIt>
    void shuffle(RandomIt first, RandomIt last) {
        const auto n = static_cast<std::size_t>(last - first);
        for (std::size_t i = n; i > 1; --i) {
            const std::size_t j = randint(i);
            using std::swap;
            swap(first[static_cast<std::ptrdiff_t>(i - 1)], first[static_cast<std::ptrdiff_t>(j)]);
        }
    }

    /// An independent stream derived from the current state and stream_id without advancing this generator:
    /// the same (state, stream_id) always gives the same child, different ids give unrelated children.
    /// The seed tree of a run is fork(0), fork(1), ... of the root Rng(seed).
    Rng fork(std::uint64_t stream_id) const;
    /// A child seeded from next_u64(): advances this generator.
    Rng split();

    /// The full state (engine words and the cached normal) as kStateBytes little-endian bytes, for checkpoints.
    std::vector<std::uint8_t> state() const;
    /// Restores state(); throws dydiff::Error on a wrong size, magic, version, flag or an all-zero engine state.
    void set_state(const std::vector<std::uint8_t>& bytes);

    friend bool operator==(const Rng& a, const Rng& b) noexcept;
    friend bool operator!=(const Rng& a, const Rng& b) noexcept { return !(a == b); }

private:
    Rng() = default;
    std::array<std::uint64_t, 4> s_{};  // xoshiro256** state, never all zero
    double cached_normal_ = 0.0;        // second value of the last polar pair
    bool has_cached_normal_ = false;
};

}  // namespace dydiff::data
