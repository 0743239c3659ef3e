// Rng: xoshiro256** seeded by SplitMix64, own uniform / randint / Marsaglia-polar normal (see rng.hpp).
#include "data/rng.hpp"

#include "autograd/error.hpp"

#include <cmath>
#include <cstring>
#include <numeric>

namespace dydiff::data {

namespace {

constexpr char kStateMagic[4] = {'D', 'Y', 'R', 'G'};
constexpr std::uint8_t kStateVersion = 1;

// SplitMix64 (Steele, Lea & Flood 2014): a Weyl sequence with golden-ratio increment and a 64-bit finalizer.
constexpr std::uint64_t kGolden = 0x9E3779B97F4A7C15ull;

std::uint64_t mix64(std::uint64_t z) noexcept {
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

std::uint64_t splitmix64_next(std::uint64_t& x) noexcept {
    x += kGolden;
    return mix64(x);
}

std::uint64_t rotl(std::uint64_t x, int k) noexcept { return (x << k) | (x >> (64 - k)); }

void put_u64(std::uint8_t* p, std::uint64_t v) noexcept {
    for (int i = 0; i < 8; ++i) p[i] = static_cast<std::uint8_t>(v >> (8 * i));
}

std::uint64_t get_u64(const std::uint8_t* p) noexcept {
    std::uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v |= static_cast<std::uint64_t>(p[i]) << (8 * i);
    return v;
}

}  // namespace

Rng::Rng(std::uint64_t seed) {
    std::uint64_t x = seed;
    for (auto& w : s_) w = splitmix64_next(x);
}

std::uint64_t Rng::next_u64() noexcept {
    // xoshiro256** 1.0: scrambler rotl(s1 * 5, 7) * 9 on the xoshiro256 linear engine.
    const std::uint64_t result = rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = rotl(s_[3], 45);
    return result;
}

std::uint32_t Rng::next_u32() noexcept { return static_cast<std::uint32_t>(next_u64() >> 32); }

float Rng::uniform() noexcept { return static_cast<float>(next_u64() >> 40) * 0x1.0p-24f; }

double Rng::uniform_double() noexcept { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }

float Rng::uniform(float lo, float hi) {
    DYDIFF_CHECK(lo < hi, "Rng::uniform(lo, hi): needs lo < hi, got lo=" << lo << " hi=" << hi);
    const float r = std::fma(hi - lo, uniform(), lo);  // explicit fma: see normal_double()
    return r < hi ? r : std::nextafter(hi, lo);
}

std::size_t Rng::randint(std::size_t n) {
    DYDIFF_CHECK(n > 0, "Rng::randint(n): needs n > 0");
    const std::uint64_t n64 = n;
    // 2^64 mod n draws at the bottom of the range would be over-represented by r % n: reject them.
    const std::uint64_t threshold = (0 - n64) % n64;
    for (;;) {
        const std::uint64_t r = next_u64();
        if (r >= threshold) return static_cast<std::size_t>(r % n64);
    }
}

double Rng::normal_double() {
    if (has_cached_normal_) {
        has_cached_normal_ = false;
        return cached_normal_;
    }
    // Marsaglia & Bray (1964) polar method: (u, v) uniform in the unit disc, s = u^2 + v^2,
    // then u * m and v * m with m = sqrt(-2 ln(s) / s) are two independent N(0, 1).
    double u = 0.0, v = 0.0, s = 0.0;
    do {
        u = 2.0 * uniform_double() - 1.0;
        v = 2.0 * uniform_double() - 1.0;
        // NOTE: fma written out: compilers may contract u * u + v * v into an fma or not (-ffp-contract, -march),
        // which changes the last bit; std::fma is exactly specified by IEEE 754, so every build agrees.
        s = std::fma(u, u, v * v);
    } while (s >= 1.0 || s == 0.0);
    const double m = std::sqrt(-2.0 * std::log(s) / s);
    cached_normal_ = v * m;
    has_cached_normal_ = true;
    return u * m;
}

float Rng::normal() { return static_cast<float>(normal_double()); }

void Rng::fill_normal(float* out, std::size_t n, float mean, float std) {
    for (std::size_t i = 0; i < n; ++i) out[i] = std::fma(std, normal(), mean);  // explicit fma: see normal_double()
}

void Rng::fill_uniform(float* out, std::size_t n, float lo, float hi) {
    DYDIFF_CHECK(lo < hi, "Rng::fill_uniform: needs lo < hi, got lo=" << lo << " hi=" << hi);
    for (std::size_t i = 0; i < n; ++i) out[i] = uniform(lo, hi);
}

std::vector<std::size_t> Rng::permutation(std::size_t n) {
    std::vector<std::size_t> p(n);
    std::iota(p.begin(), p.end(), std::size_t{0});
    shuffle(p.begin(), p.end());
    return p;
}

Rng Rng::fork(std::uint64_t stream_id) const {
    // Chain the finalizer over the state words and the id: a change in any input changes the whole child seed.
    std::uint64_t h = mix64(stream_id + kGolden);
    for (const std::uint64_t w : s_) h = mix64(h ^ w) + kGolden;
    return Rng(h);
}

Rng Rng::split() { return Rng(next_u64()); }

std::vector<std::uint8_t> Rng::state() const {
    std::vector<std::uint8_t> out(kStateBytes);
    std::uint8_t* p = out.data();
    for (char c : kStateMagic) *p++ = static_cast<std::uint8_t>(c);
    *p++ = kStateVersion;
    *p++ = has_cached_normal_ ? 1 : 0;
    for (const std::uint64_t w : s_) {
        put_u64(p, w);
        p += 8;
    }
    std::uint64_t bits = 0;
    static_assert(sizeof bits == sizeof cached_normal_, "double is 64-bit");
    std::memcpy(&bits, &cached_normal_, sizeof bits);
    put_u64(p, bits);
    return out;
}

void Rng::set_state(const std::vector<std::uint8_t>& bytes) {
    DYDIFF_CHECK(bytes.size() == kStateBytes, "Rng::set_state: expected " << kStateBytes << " bytes (a state() blob), got "
                                                                          << bytes.size());
    const std::uint8_t* p = bytes.data();
    for (char c : kStateMagic)
        DYDIFF_CHECK(*p++ == static_cast<std::uint8_t>(c),
                     "Rng::set_state: bad magic, expected \"DYRG\" (not a dydiff Rng state)");
    const std::uint8_t version = *p++;
    DYDIFF_CHECK(version == kStateVersion, "Rng::set_state: unsupported state version " << int(version) << ", expected "
                                                                                        << int(kStateVersion));
    const std::uint8_t flag = *p++;
    DYDIFF_CHECK(flag <= 1, "Rng::set_state: cached-normal flag must be 0 or 1, got " << int(flag));
    std::array<std::uint64_t, 4> s{};
    for (auto& w : s) {
        w = get_u64(p);
        p += 8;
    }
    DYDIFF_CHECK(s[0] | s[1] | s[2] | s[3], "Rng::set_state: all-zero engine state (xoshiro256** would stay at 0)");
    const std::uint64_t bits = get_u64(p);
    s_ = s;
    has_cached_normal_ = flag == 1;
    std::memcpy(&cached_normal_, &bits, sizeof bits);
}

bool operator==(const Rng& a, const Rng& b) noexcept {
    return a.s_ == b.s_ && a.has_cached_normal_ == b.has_cached_normal_ &&
           (!a.has_cached_normal_ || std::memcmp(&a.cached_normal_, &b.cached_normal_, sizeof(double)) == 0);
}

}  // namespace dydiff::data
