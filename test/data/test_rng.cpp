// data::Rng: known answers from an independent implementation, distribution moments, unbiased randint,
// state save/restore (including the cached normal), streams.
#include "support/errors.hpp"
#include "data/rng.hpp"

#include "autograd/error.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <string>
#include <vector>

using dydiff::test::contains;

using dydiff::data::Rng;

namespace {

constexpr std::size_t kDraws = 1000000;
// Tolerances: about 5 standard errors of the estimate over kDraws draws.
constexpr double kMeanTol = 5.0 * 0.2887 / 1000.0;     // uniform: sd 1/sqrt(12)
constexpr double kUniformVarTol = 5.0 * 0.0745 / 1000.0;  // sd of (u - 1/2)^2 is 1/sqrt(180)
constexpr double kNormalMeanTol = 5.0 / 1000.0;
constexpr double kNormalVarTol = 5.0 * 1.4143 / 1000.0;  // sd of z^2 is sqrt(2)

std::string error_of(void (*f)(Rng&), Rng& rng) {
    try {
        f(rng);
    } catch (const dydiff::Error& e) {
        return e.what();
    }
    return "no error";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(rng)

// Provenance: /usr/bin/python3 test/fixtures/rng_kat.py (Python 3.11 integers and floats, an implementation of the
// published SplitMix64 + xoshiro256** algorithms written separately from data/rng.cpp).
BOOST_AUTO_TEST_CASE(known_answers_seed_0_and_42) {
    struct Kat {
        std::uint64_t seed;
        std::uint64_t u64[4];
        float u24[3];
        double u53[3];
        double normal[4];
    };
    const Kat kats[] = {
        {0,
         {0x99EC5F36CB75F2B4ull, 0xBF6E1F784956452Aull, 0x1A5F849D4933E6E0ull, 0x6AA594F1262D2D2Cull},
         {0.6012629866600037f, 0.747774064540863f, 0.10301995277404785f},
         {0.6012629994179048, 0.7477740925472398, 0.10301998939503632},
         {0.5981026483626094, 1.4634599192204392, -0.8950525532379914, -0.1880627660388742}},
        {42,
         {0x15780B2E0C2EC716ull, 0x6104D9866D113A7Eull, 0xAE17533239E499A1ull, 0xECB8AD4703B360A1ull},
         {0.08386296033859253f, 0.37898021936416626f, 0.6800433993339539f},
         {0.08386297105988216, 0.3789802506626686, 0.6800434110281394},
         {-0.7262191382447855, -0.2111969182319598, 0.2216227015035933, 0.5227716877560146}},
    };
    for (const Kat& k : kats) {
        BOOST_TEST_CONTEXT("seed " << k.seed) {
            Rng a(k.seed);
            for (std::uint64_t v : k.u64) BOOST_TEST(a.next_u64() == v);
            Rng b(k.seed);
            for (float v : k.u24) BOOST_TEST(b.uniform() == v);  // exact: 24-bit grid values are exact floats
            Rng c(k.seed);
            for (double v : k.u53) BOOST_TEST(c.uniform_double() == v);
            Rng d(k.seed);
            for (double v : k.normal) BOOST_TEST(d.normal_double() == v);
            Rng e(k.seed);
            BOOST_TEST(e.next_u32() == static_cast<std::uint32_t>(k.u64[0] >> 32));
        }
    }
}

BOOST_AUTO_TEST_CASE(uniform_mean_and_variance) {
    Rng rng(7);
    double sum = 0, sum_sq = 0, sum_d = 0, sum_sq_d = 0;
    float lo = 1.0f, hi = 0.0f;
    for (std::size_t i = 0; i < kDraws; ++i) {
        const float u = rng.uniform();
        lo = std::min(lo, u);
        hi = std::max(hi, u);
        sum += u;
        sum_sq += (u - 0.5) * (u - 0.5);
        const double w = rng.uniform_double();
        BOOST_REQUIRE(w >= 0.0);
        BOOST_REQUIRE(w < 1.0);
        sum_d += w;
        sum_sq_d += (w - 0.5) * (w - 0.5);
    }
    BOOST_TEST(lo >= 0.0f);
    BOOST_TEST(hi < 1.0f);
    BOOST_TEST(std::abs(sum / kDraws - 0.5) < kMeanTol);
    BOOST_TEST(std::abs(sum_sq / kDraws - 1.0 / 12) < kUniformVarTol);
    BOOST_TEST(std::abs(sum_d / kDraws - 0.5) < kMeanTol);
    BOOST_TEST(std::abs(sum_sq_d / kDraws - 1.0 / 12) < kUniformVarTol);
}

BOOST_AUTO_TEST_CASE(uniform_range_and_fill) {
    Rng rng(3);
    std::vector<float> v(10000);
    rng.fill_uniform(v.data(), v.size(), -2.0f, 3.0f);
    BOOST_TEST(*std::min_element(v.begin(), v.end()) >= -2.0f);
    BOOST_TEST(*std::max_element(v.begin(), v.end()) < 3.0f);
    BOOST_TEST(*std::min_element(v.begin(), v.end()) < -1.9f);
    BOOST_TEST(*std::max_element(v.begin(), v.end()) > 2.9f);
    // A range so narrow that lo + (hi - lo) * u rounds up to hi for large u: still strictly below hi.
    const float lo = 1.0f, hi = std::nextafter(1.0f, 2.0f);
    for (int i = 0; i < 1000; ++i) BOOST_TEST(rng.uniform(lo, hi) == lo);
    const std::string what = [&] {
        try {
            rng.uniform(1.0f, 1.0f);
        } catch (const dydiff::Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    }();
    BOOST_TEST(contains(what, "needs lo < hi"), what);
}

BOOST_AUTO_TEST_CASE(normal_moments_and_bounds) {
    Rng rng(11);
    double sum = 0, sum_sq = 0, max_abs = 0;
    std::size_t within_one = 0;
    for (std::size_t i = 0; i < kDraws; ++i) {
        const double z = rng.normal_double();
        sum += z;
        sum_sq += z * z;
        max_abs = std::max(max_abs, std::abs(z));
        within_one += std::abs(z) < 1.0;
    }
    BOOST_TEST(std::abs(sum / kDraws) < kNormalMeanTol);
    BOOST_TEST(std::abs(sum_sq / kDraws - 1.0) < kNormalVarTol);
    BOOST_TEST(max_abs < 6.5);
    BOOST_TEST(max_abs > 3.5);  // a million draws do reach the tails
    // P(|z| < 1) = 0.682689...; sd of the fraction is sqrt(p (1 - p) / n) = 4.7e-4.
    BOOST_TEST(std::abs(double(within_one) / kDraws - 0.682689) < 5 * 4.7e-4);

    std::vector<float> v(kDraws);
    rng.fill_normal(v.data(), v.size(), 2.0f, 0.5f);
    double s = 0, s2 = 0;
    for (float x : v) {
        s += x;
        s2 += (x - 2.0) * (x - 2.0);
    }
    BOOST_TEST(std::abs(s / kDraws - 2.0) < 0.5 * kNormalMeanTol);
    BOOST_TEST(std::abs(s2 / kDraws - 0.25) < 0.25 * kNormalVarTol);
}

BOOST_AUTO_TEST_CASE(randint_covers_small_range_evenly) {
    Rng rng(5);
    constexpr std::size_t n = 7, draws = 700000;
    std::vector<std::size_t> count(n, 0);
    for (std::size_t i = 0; i < draws; ++i) ++count[rng.randint(n)];
    // Each count ~ Binomial(700000, 1/7): mean 100000, sd 293.
    for (std::size_t k = 0; k < n; ++k) BOOST_TEST(std::abs(double(count[k]) - 100000.0) < 5 * 293.0, "k=" << k);
    for (int i = 0; i < 100; ++i) BOOST_TEST(rng.randint(1) == 0u);
}

BOOST_AUTO_TEST_CASE(randint_rejection_removes_modulo_bias) {
    // n = 3 * 2^62: plain r % n maps [0, 2^62) twice, so P(x < 2^62) would be 1/2; unbiased it is 1/3.
    Rng rng(9);
    const std::size_t n = std::size_t{3} << 62;
    std::size_t low = 0;
    constexpr std::size_t draws = 30000;  // sd of the fraction: sqrt(2/9/30000) = 0.0027
    for (std::size_t i = 0; i < draws; ++i) {
        const std::size_t x = rng.randint(n);
        BOOST_REQUIRE(x < n);
        low += x < (std::size_t{1} << 62);
    }
    BOOST_TEST(std::abs(double(low) / draws - 1.0 / 3.0) < 0.015);
    BOOST_TEST(contains(error_of([](Rng& r) { r.randint(0); }, rng), "needs n > 0"));
}

BOOST_AUTO_TEST_CASE(permutation_and_shuffle) {
    Rng rng(1);
    std::vector<std::size_t> p = rng.permutation(1000);
    std::vector<std::size_t> sorted = p;
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t i = 0; i < sorted.size(); ++i) BOOST_REQUIRE(sorted[i] == i);
    BOOST_TEST(p != sorted);
    BOOST_TEST(rng.permutation(0).empty());
    BOOST_TEST(rng.permutation(1) == std::vector<std::size_t>{0});

    Rng a(2), b(2);
    std::vector<int> x(50), y(50);
    for (int i = 0; i < 50; ++i) x[i] = y[i] = i;
    a.shuffle(x.begin(), x.end());
    b.shuffle(y.begin(), y.end());
    BOOST_TEST(x == y);
    // First position of a 3-element permutation is uniform over {0, 1, 2}.
    std::size_t first[3] = {0, 0, 0};
    for (int i = 0; i < 30000; ++i) ++first[rng.permutation(3)[0]];
    for (std::size_t c : first) BOOST_TEST(std::abs(double(c) - 10000.0) < 5 * 82.0);
}

BOOST_AUTO_TEST_CASE(state_round_trip_includes_cached_normal) {
    Rng rng(42);
    rng.normal_double();  // the pair's second value is now cached
    const std::vector<std::uint8_t> saved = rng.state();
    BOOST_TEST(saved.size() == Rng::kStateBytes);
    std::vector<double> expected;
    for (int i = 0; i < 5; ++i) expected.push_back(rng.normal_double());
    expected.push_back(static_cast<double>(rng.next_u64()));

    Rng restored(0);
    restored.set_state(saved);
    std::vector<double> got;
    for (int i = 0; i < 5; ++i) got.push_back(restored.normal_double());
    got.push_back(static_cast<double>(restored.next_u64()));
    BOOST_TEST(got == expected);
    BOOST_TEST((restored == rng));

    // The cached value is what was pending: seed 42's second normal (see known_answers_seed_0_and_42).
    Rng again(0);
    again.set_state(saved);
    BOOST_TEST(again.normal_double() == -0.2111969182319598);
}

BOOST_AUTO_TEST_CASE(set_state_rejects_bad_blobs) {
    Rng rng(1);
    const std::vector<std::uint8_t> good = rng.state();
    const auto error_for = [&](std::vector<std::uint8_t> blob) {
        try {
            rng.set_state(blob);
        } catch (const dydiff::Error& e) {
            return std::string(e.what());
        }
        return std::string("no error");
    };
    std::vector<std::uint8_t> shorter(good.begin(), good.end() - 1);
    BOOST_TEST(contains(error_for(shorter), "expected 46 bytes"), error_for(shorter));
    std::vector<std::uint8_t> magic = good;
    magic[0] = 'X';
    BOOST_TEST(contains(error_for(magic), "bad magic"));
    std::vector<std::uint8_t> version = good;
    version[4] = 9;
    BOOST_TEST(contains(error_for(version), "unsupported state version 9"));
    std::vector<std::uint8_t> flag = good;
    flag[5] = 2;
    BOOST_TEST(contains(error_for(flag), "flag must be 0 or 1, got 2"));
    std::vector<std::uint8_t> zero = good;
    std::fill(zero.begin() + 6, zero.begin() + 38, 0);
    BOOST_TEST(contains(error_for(zero), "all-zero engine state"));
    BOOST_TEST(rng.state() == good);  // failed restores leave the generator untouched
}

BOOST_AUTO_TEST_CASE(determinism_and_streams) {
    Rng a(123), b(123), c(124);
    bool differs = false;
    for (int i = 0; i < 100; ++i) {
        const std::uint64_t x = a.next_u64();
        BOOST_REQUIRE(x == b.next_u64());
        differs |= x != c.next_u64();
    }
    BOOST_TEST(differs);

    const Rng root(2024);
    const std::vector<std::uint8_t> before = root.state();
    Rng f0 = root.fork(0), f0_again = root.fork(0), f1 = root.fork(1);
    BOOST_TEST(root.state() == before);  // fork does not advance
    BOOST_TEST((f0 == f0_again));
    BOOST_TEST((f0 != f1));
    Rng root_copy = root;
    BOOST_TEST(f0.next_u64() != root_copy.next_u64());

    Rng parent(2024);
    Rng child = parent.split();
    BOOST_TEST((parent != Rng(2024)));  // split advances
    BOOST_TEST((child != parent));
}

BOOST_AUTO_TEST_SUITE_END()
