// Every SIMD kernel of nn/simd/kernels.hpp against its ref:: twin, at the sizes where batch loops and tails meet
// (n in {0, 1, W-1, W, W+1, 2W+3, 1000} for the lanes W of the baseline and of the set in use) and at aligned and
// unaligned (pointer + 1) starts;
// activations also at extreme inputs (+-30, +-100) where a naive formula overflows. Plus closed-form goldens: two
// Adam and AdamW steps by hand, and the limits of the activations. In a scalar build both sides are the twin, and
// the goldens carry the test.
#include "nn/simd/arch.hpp"
#include "nn/simd/kernels.hpp"
#include "support/gradcheck.hpp"
#include "support/simd_sets.hpp"

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <string>
#include <vector>

namespace simd = dydiff::nn::simd;
using dydiff::test::runnable_sets;
using dydiff::test::two_runnable_sets;
using dydiff::test::test_array;

namespace {

constexpr float kActTol = 5e-6f;     // activations: xsimd's exp/log1p/tanh are a few ulp from libm
constexpr float kNormTol = 2e-5f;    // norms: float two-pass statistics vs the twin's double (D = 1 is the worst)
constexpr float kSumTol = 1e-5f;     // reductions: summation order differs
constexpr float kExactTol = 1e-6f;   // adds, multiplies and fmas on O(1) values
constexpr float kParamTol = 2e-6f;   // Adam goldens: parameter after a step, absolute
constexpr float kMomentTol = 2e-5f;  // Adam goldens: moments, relative

// The lanes of the set in use: 16 in the nn_avx512f run, where Mish, GroupNorm + Mish over rows and Adam run their
// AVX-512 variants (nn/simd/kernels_impl.hpp); the other kernels always run the baseline's kFloatWidth.
const std::size_t W = simd::float_lanes();
const std::size_t W0 = simd::kFloatWidth;
const std::vector<std::size_t> kSizes = {0, 1, W0 - 1, W0, W0 + 1, W - 1, W, W + 1, 2 * W + 3, 1000};
const std::vector<std::size_t> kOffsets = {0, 1};

// n floats in [lo, hi) starting at data() + offset (the offset makes the start unaligned).
struct Buffer {
    std::vector<float> storage;
    std::size_t offset;
    Buffer(std::size_t n, std::size_t off, float lo, float hi, unsigned seed) : storage(n + off, 0.0f), offset(off) {
        const auto a = test_array({n}, lo, hi, seed);
        std::copy(a.begin(), a.end(), storage.begin() + static_cast<std::ptrdiff_t>(off));
    }
    float* data() { return storage.data() + offset; }
    std::size_t size() const { return storage.size() - offset; }
    float& operator[](std::size_t i) { return storage[offset + i]; }
};

// Entrywise |a - b| <= tol * (1 + |b|), reported with the first offending index.
void check_close(Buffer& a, Buffer& b, float tol, const std::string& what) {
    BOOST_TEST_REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        const bool ok = std::isfinite(a[i]) && std::abs(a[i] - b[i]) <= tol * (1.0f + std::abs(b[i]));
        if (!ok) {
            BOOST_TEST(ok, what << ": entry " << i << " simd " << a[i] << " ref " << b[i]);
            return;
        }
    }
}

std::string tag(const char* name, std::size_t n, std::size_t off) {
    return std::string(name) + " n=" + std::to_string(n) + " offset=" + std::to_string(off);
}

// Uniform in [-5, 5) with every fifth entry replaced by an extreme value.
Buffer activation_input(std::size_t n, std::size_t off) {
    static const float kExtremes[] = {30.0f, -30.0f, 100.0f, -100.0f, 0.0f, 20.0f, -20.0f};
    Buffer x(n, off, -5.0f, 5.0f, 11);
    for (std::size_t i = 0; i < n; i += 5) x[i] = kExtremes[(i / 5) % 7];
    return x;
}

using Forward = void (*)(std::size_t, const float*, float*) noexcept;
using Backward = void (*)(std::size_t, const float*, const float*, float*) noexcept;

struct Activation {
    const char* name;
    Forward simd_forward, ref_forward;
    Backward simd_backward, ref_backward;
};

const Activation kActivations[] = {
    {"mish", simd::mish_forward, simd::ref::mish_forward, simd::mish_backward, simd::ref::mish_backward},
    {"silu", simd::silu_forward, simd::ref::silu_forward, simd::silu_backward, simd::ref::silu_backward},
    {"relu", simd::relu_forward, simd::ref::relu_forward, simd::relu_backward, simd::ref::relu_backward},
    {"tanh", simd::tanh_forward, simd::ref::tanh_forward, simd::tanh_backward, simd::ref::tanh_backward},
    {"softplus", simd::softplus_forward, simd::ref::softplus_forward, simd::softplus_backward,
     simd::ref::softplus_backward},
};

}  // namespace

BOOST_AUTO_TEST_SUITE(kernels)

BOOST_AUTO_TEST_CASE(activations_match_twin) {
    for (const auto& act : kActivations)
        for (std::size_t n : kSizes)
            for (std::size_t off : kOffsets) {
                Buffer x = activation_input(n, off);
                Buffer y(n, off, 0, 0, 0), y_ref(n, off, 0, 0, 0);
                act.simd_forward(n, x.data(), y.data());
                act.ref_forward(n, x.data(), y_ref.data());
                check_close(y, y_ref, kActTol, tag(act.name, n, off) + " forward");

                Buffer dout(n, off, -1, 1, 12);
                Buffer dx(n, off, -1, 1, 13), dx_ref(n, off, -1, 1, 13);  // nonzero: backward accumulates
                act.simd_backward(n, x.data(), dout.data(), dx.data());
                act.ref_backward(n, x.data(), dout.data(), dx_ref.data());
                check_close(dx, dx_ref, kActTol, tag(act.name, n, off) + " backward");
            }
}

BOOST_AUTO_TEST_CASE(activations_in_place) {
    const std::size_t n = 2 * W + 3;
    Buffer x = activation_input(n, 1), y(n, 1, 0, 0, 0);
    simd::mish_forward(n, x.data(), y.data());
    simd::mish_forward(n, x.data(), x.data());
    check_close(x, y, 0.0f, "mish in place");
}

// The limits a stable formula must reach: no NaN, no overflow, saturation where expected.
BOOST_AUTO_TEST_CASE(activation_limits) {
    const std::size_t n = 2 * W + 1;
    const float big = 100.0f;
    for (float x0 : {big, -big}) {
        std::vector<float> x(n, x0), y(n), dx(n, 0.0f), ones(n, 1.0f);
        simd::softplus_forward(n, x.data(), y.data());
        for (float v : y) BOOST_TEST(std::abs(v - std::max(x0, 0.0f)) <= 1e-30f, "softplus(" << x0 << ") = " << v);
        simd::mish_forward(n, x.data(), y.data());
        for (float v : y) BOOST_TEST(std::abs(v - std::max(x0, 0.0f)) <= 1e-30f, "mish(" << x0 << ") = " << v);
        simd::silu_forward(n, x.data(), y.data());
        for (float v : y) BOOST_TEST(std::abs(v - std::max(x0, 0.0f)) <= 1e-30f, "silu(" << x0 << ") = " << v);
        simd::tanh_forward(n, x.data(), y.data());
        for (float v : y) BOOST_TEST(v == (x0 > 0 ? 1.0f : -1.0f), "tanh(" << x0 << ") = " << v);
        simd::mish_backward(n, x.data(), ones.data(), dx.data());
        for (float v : dx) BOOST_TEST(std::abs(v - (x0 > 0 ? 1.0f : 0.0f)) <= 1e-6f, "mish'(" << x0 << ") = " << v);
    }
}

// Mish runs on one exponential (kernels.hpp); both the SIMD kernel and its twin must stay within a few ulp of the
// textbook x tanh(log1p(e^x)) in double, forward and backward, from deep underflow to far past the exponent cap.
BOOST_AUTO_TEST_CASE(mish_matches_textbook_formula) {
    constexpr float kMishRel = 4e-6f;     // relative: an exp, a division and a few products, each ~1 ulp
    constexpr float kMishAbs = 1e-30f;    // absolute floor where the result underflows towards 0
    std::vector<float> x;
    for (int i = -4000; i <= 4000; ++i) x.push_back(static_cast<float>(i) * 0.025f);  // [-100, 100], step 1/40
    for (float v : {-1e30f, -1e6f, -87.5f, -20.0f, -1e-3f, -1e-20f, 0.0f, 1e-20f, 1e-3f, 19.99f, 20.0f, 20.01f, 1e6f,
                    1e30f})
        x.push_back(v);
    const std::size_t n = x.size();
    for (int twin = 0; twin < 2; ++twin) {
        std::vector<float> y(n), dx(n, 0.0f), ones(n, 1.0f);
        (twin ? simd::ref::mish_forward : simd::mish_forward)(n, x.data(), y.data());
        (twin ? simd::ref::mish_backward : simd::mish_backward)(n, x.data(), ones.data(), dx.data());
        for (std::size_t i = 0; i < n; ++i) {
            const double v = x[i];
            const double t = std::tanh(std::log1p(std::exp(v)));
            const double sig = 1.0 / (1.0 + std::exp(-v));
            const double want = v * t;
            const double slope_term = v * sig * (1.0 - t * t);
            const double want_d = t + slope_term;  // the terms cancel near x = -1.19: tolerance on their size
            const double scale_d = std::abs(t) + std::abs(slope_term);
            BOOST_TEST(std::abs(y[i] - want) <= kMishAbs + kMishRel * std::abs(want),
                       (twin ? "twin" : "simd") << " mish(" << x[i] << ") = " << y[i] << ", want " << want);
            BOOST_TEST(std::abs(dx[i] - want_d) <= kMishAbs + kMishRel * scale_d,
                       (twin ? "twin" : "simd") << " mish'(" << x[i] << ") = " << dx[i] << ", want " << want_d);
        }
    }
}

BOOST_AUTO_TEST_CASE(group_norm_matches_twin) {
    struct Case {
        std::size_t B, C, H, G;
        float shift;  // added to x: a large mean tests the two-pass statistics
    };
    const Case cases[] = {{2, 8, 5, 4, 0.0f},
                          {3, 6, 1, 3, 0.0f},  // H = 1: a (B, C) input
                          {2, 16, W + 1, 1, 0.0f},
                          {2, 4, 2 * W + 3, 4, 0.0f},
                          {1, 4, std::max<std::size_t>(W - 1, 1), 2, 0.0f},  // H < W: tails only
                          {2, 8, 25, 2, 100.0f},
                          {1, 128, 25, 8, 0.0f}};  // the U-Net's largest group: 16 channels x 25
    for (const Case& k : cases)
        for (std::size_t off : kOffsets) {
            const std::string what = "group_norm B=" + std::to_string(k.B) + " C=" + std::to_string(k.C) +
                                     " H=" + std::to_string(k.H) + " G=" + std::to_string(k.G) +
                                     " offset=" + std::to_string(off);
            const std::size_t n = k.B * k.C * k.H;
            Buffer x(n, off, -2 + k.shift, 2 + k.shift, 21);
            Buffer gamma(k.C, off, 0.5f, 1.5f, 22), beta(k.C, off, -1, 1, 23);
            Buffer y(n, off, 0, 0, 0), y_ref(n, off, 0, 0, 0);
            Buffer mean(k.B * k.G, off, 0, 0, 0), mean_ref(k.B * k.G, off, 0, 0, 0);
            Buffer rstd(k.B * k.G, off, 0, 0, 0), rstd_ref(k.B * k.G, off, 0, 0, 0);
            simd::group_norm_forward(k.B, k.C, k.H, k.G, x.data(), gamma.data(), beta.data(), 1e-5f, y.data(),
                                     mean.data(), rstd.data());
            simd::ref::group_norm_forward(k.B, k.C, k.H, k.G, x.data(), gamma.data(), beta.data(), 1e-5f,
                                          y_ref.data(), mean_ref.data(), rstd_ref.data());
            check_close(y, y_ref, kNormTol, what + " y");
            check_close(mean, mean_ref, kNormTol, what + " mean");
            check_close(rstd, rstd_ref, kNormTol, what + " rstd");

            Buffer dout(n, off, -1, 1, 24);
            Buffer dx(n, off, -1, 1, 25), dx_ref(n, off, -1, 1, 25);
            Buffer dgamma(k.C, off, -1, 1, 26), dgamma_ref(k.C, off, -1, 1, 26);
            Buffer dbeta(k.C, off, -1, 1, 27), dbeta_ref(k.C, off, -1, 1, 27);
            simd::group_norm_backward(k.B, k.C, k.H, k.G, dout.data(), x.data(), mean_ref.data(), rstd_ref.data(),
                                      gamma.data(), dx.data(), dgamma.data(), dbeta.data());
            simd::ref::group_norm_backward(k.B, k.C, k.H, k.G, dout.data(), x.data(), mean_ref.data(),
                                           rstd_ref.data(), gamma.data(), dx_ref.data(), dgamma_ref.data(),
                                           dbeta_ref.data());
            check_close(dx, dx_ref, kNormTol, what + " dx");
            check_close(dgamma, dgamma_ref, kNormTol, what + " dgamma");
            check_close(dbeta, dbeta_ref, kNormTol, what + " dbeta");

            // Without dgamma/dbeta the dx is the same; without dx only the parameter gradients move.
            Buffer dx_only(n, off, -1, 1, 25);
            simd::group_norm_backward(k.B, k.C, k.H, k.G, dout.data(), x.data(), mean_ref.data(), rstd_ref.data(),
                                      gamma.data(), dx_only.data(), nullptr, nullptr);
            check_close(dx_only, dx, 0.0f, what + " dx without dgamma/dbeta");
            Buffer dgamma_only(k.C, off, -1, 1, 26);
            simd::group_norm_backward(k.B, k.C, k.H, k.G, dout.data(), x.data(), mean_ref.data(), rstd_ref.data(),
                                      gamma.data(), nullptr, dgamma_only.data(), nullptr);
            check_close(dgamma_only, dgamma, 0.0f, what + " dgamma without dx");
        }
}

// GroupNorm + Mish over channels-last rows: against the twin, and against the channels-first composition it fuses
// (bias add, group_norm_forward, mish_forward, then the per-sample add and the residual), over channel counts below,
// at and above the register blocks, with and without bias / add / residual, with pad rows between samples and in
// place.
BOOST_AUTO_TEST_CASE(group_norm_mish_rows_matches_twin_and_composition) {
    struct Case {
        std::size_t B, C, H, G;
        float shift;  // added to x: a large mean tests the statistics
    };
    const Case cases[] = {{2, 8, 5, 4, 0.0f},         {3, 6, 1, 3, 0.0f},        {2, 16, W + 1, 8, 0.0f},
                          {2, 4 * W + 3, 3, 1, 0.0f}, {2, 2 * W, 7, 2, 50.0f},   {1, 128, 25, 8, 0.0f},
                          {2, 9 * W, 6, 3, 0.0f}};
    const std::size_t pad = 2;  // pad rows between samples: the rows stride ld exceeds H C
    for (const Case& k : cases)
        for (int variant = 0; variant < 4; ++variant) {
            const bool with_bias = variant != 1, with_add = variant >= 2, with_res = variant == 3 || variant == 1;
            const std::size_t ld = (k.H + 2 * pad) * k.C, n = k.B * ld;
            const std::string what = "group_norm_mish_rows B=" + std::to_string(k.B) + " C=" + std::to_string(k.C) +
                                     " H=" + std::to_string(k.H) + " G=" + std::to_string(k.G) +
                                     " variant=" + std::to_string(variant);
            Buffer x(n, 0, -2 + k.shift, 2 + k.shift, 41), res(n, 0, -1, 1, 42);
            Buffer bias(k.C, 0, -1, 1, 43), gamma(k.C, 0, 0.5f, 1.5f, 44), beta(k.C, 0, -1, 1, 45);
            Buffer add(k.B * k.C, 0, -1, 1, 46);
            const float* pb = with_bias ? bias.data() : nullptr;
            const float* pa = with_add ? add.data() : nullptr;
            const float* pr = with_res ? res.data() + pad * k.C : nullptr;
            Buffer y(n, 0, 0, 0, 0), y_ref(n, 0, 0, 0, 0), y_inplace = x;
            Buffer mean(k.B * k.G, 0, 0, 0, 0), rstd(k.B * k.G, 0, 0, 0, 0);
            Buffer mean_ref(k.B * k.G, 0, 0, 0, 0), rstd_ref(k.B * k.G, 0, 0, 0, 0);
            const float* px = x.data() + pad * k.C;
            simd::group_norm_mish_rows(k.B, k.H, k.C, k.G, ld, px, pb, gamma.data(), beta.data(), 1e-5f, pa, k.C,
                                       pr, y.data() + pad * k.C, mean.data(), rstd.data());
            simd::ref::group_norm_mish_rows(k.B, k.H, k.C, k.G, ld, px, pb, gamma.data(), beta.data(), 1e-5f, pa,
                                            k.C, pr, y_ref.data() + pad * k.C, mean_ref.data(), rstd_ref.data());
            check_close(y, y_ref, kNormTol, what + " y");
            check_close(mean, mean_ref, kNormTol, what + " mean");
            check_close(rstd, rstd_ref, kNormTol, what + " rstd");
            simd::group_norm_mish_rows(k.B, k.H, k.C, k.G, ld, y_inplace.data() + pad * k.C, pb, gamma.data(),
                                       beta.data(), 1e-5f, pa, k.C, pr, y_inplace.data() + pad * k.C, mean.data(),
                                       rstd.data());
            for (std::size_t b = 0; b < k.B; ++b)  // the pad rows of the in-place buffer still hold x
                for (std::size_t i = 0; i < pad * k.C; ++i) {
                    y_inplace[b * ld + i] = 0.0f;
                    y_inplace[b * ld + ld - 1 - i] = 0.0f;
                }
            check_close(y_inplace, y, 0.0f, what + " in place");

            // The composition, channels-first: v = x + bias, GroupNorm, Mish, + add, + res.
            std::vector<float> v(k.B * k.C * k.H), z(v.size()), zm(k.B * k.G), zr(k.B * k.G);
            for (std::size_t b = 0; b < k.B; ++b)
                for (std::size_t c = 0; c < k.C; ++c)
                    for (std::size_t t = 0; t < k.H; ++t)
                        v[(b * k.C + c) * k.H + t] = px[b * ld + t * k.C + c] + (pb ? pb[c] : 0.0f);
            simd::group_norm_forward(k.B, k.C, k.H, k.G, v.data(), gamma.data(), beta.data(), 1e-5f, z.data(),
                                     zm.data(), zr.data());
            simd::mish_forward(z.size(), z.data(), z.data());
            float err = 0.0f;
            for (std::size_t b = 0; b < k.B; ++b)
                for (std::size_t c = 0; c < k.C; ++c)
                    for (std::size_t t = 0; t < k.H; ++t) {
                        const float want = z[(b * k.C + c) * k.H + t] + (pa ? pa[b * k.C + c] : 0.0f) +
                                           (pr ? pr[b * ld + t * k.C + c] : 0.0f);
                        const float got = y[pad * k.C + b * ld + t * k.C + c];
                        err = std::max(err, std::abs(got - want) / (1.0f + std::abs(want)));
                    }
            BOOST_TEST(err <= kNormTol, what << ": composition differs by " << err);
        }
}

BOOST_AUTO_TEST_CASE(layer_norm_matches_twin) {
    const std::size_t N = 3;
    for (std::size_t D : kSizes) {
        if (D == 0) continue;  // a row needs at least one entry
        for (std::size_t off : kOffsets) {
            const std::string what = tag("layer_norm", D, off);
            Buffer x(N * D, off, -2, 2, 31);
            Buffer gamma(D, off, 0.5f, 1.5f, 32), beta(D, off, -1, 1, 33);
            Buffer y(N * D, off, 0, 0, 0), y_ref(N * D, off, 0, 0, 0);
            Buffer mean(N, off, 0, 0, 0), mean_ref(N, off, 0, 0, 0), rstd(N, off, 0, 0, 0), rstd_ref(N, off, 0, 0, 0);
            simd::layer_norm_forward(N, D, x.data(), gamma.data(), beta.data(), 1e-5f, y.data(), mean.data(),
                                     rstd.data());
            simd::ref::layer_norm_forward(N, D, x.data(), gamma.data(), beta.data(), 1e-5f, y_ref.data(),
                                          mean_ref.data(), rstd_ref.data());
            check_close(y, y_ref, kNormTol, what + " y");
            check_close(mean, mean_ref, kNormTol, what + " mean");
            check_close(rstd, rstd_ref, kNormTol, what + " rstd");

            Buffer dout(N * D, off, -1, 1, 34);
            Buffer dx(N * D, off, -1, 1, 35), dx_ref(N * D, off, -1, 1, 35);
            Buffer dgamma(D, off, -1, 1, 36), dgamma_ref(D, off, -1, 1, 36);
            Buffer dbeta(D, off, -1, 1, 37), dbeta_ref(D, off, -1, 1, 37);
            simd::layer_norm_backward(N, D, dout.data(), x.data(), mean_ref.data(), rstd_ref.data(), gamma.data(),
                                      dx.data(), dgamma.data(), dbeta.data());
            simd::ref::layer_norm_backward(N, D, dout.data(), x.data(), mean_ref.data(), rstd_ref.data(),
                                           gamma.data(), dx_ref.data(), dgamma_ref.data(), dbeta_ref.data());
            check_close(dx, dx_ref, kNormTol, what + " dx");
            check_close(dgamma, dgamma_ref, kNormTol, what + " dgamma");
            check_close(dbeta, dbeta_ref, kNormTol, what + " dbeta");

            Buffer dx_only(N * D, off, -1, 1, 35);
            simd::layer_norm_backward(N, D, dout.data(), x.data(), mean_ref.data(), rstd_ref.data(), gamma.data(),
                                      dx_only.data(), nullptr, nullptr);
            check_close(dx_only, dx, 0.0f, what + " dx without dgamma/dbeta");
        }
    }
}

// Both layouts: H == 1 (a row bias over C) and H > 1 (a channel bias broadcast along H), each at every size.
BOOST_AUTO_TEST_CASE(bias_add_and_reduce_match_twin) {
    const std::size_t B = 3;
    for (std::size_t s : kSizes)
        for (const auto& [C, H] : {std::pair<std::size_t, std::size_t>{s, 1}, {5, s}})
            for (std::size_t off : kOffsets) {
                const std::string what = "bias C=" + std::to_string(C) + " H=" + std::to_string(H) +
                                         " offset=" + std::to_string(off);
                Buffer bias(C, off, -1, 1, 41);
                Buffer y(B * C * H, off, -1, 1, 42), y_ref(B * C * H, off, -1, 1, 42);
                simd::bias_add(B, C, H, bias.data(), y.data());
                simd::ref::bias_add(B, C, H, bias.data(), y_ref.data());
                check_close(y, y_ref, kExactTol, what + " add");

                Buffer dbias(C, off, -1, 1, 43), dbias_ref(C, off, -1, 1, 43);
                simd::bias_reduce(B, C, H, y.data(), dbias.data());
                simd::ref::bias_reduce(B, C, H, y.data(), dbias_ref.data());
                check_close(dbias, dbias_ref, kSumTol, what + " reduce");
            }
}

BOOST_AUTO_TEST_CASE(adam_matches_twin) {
    for (bool decoupled : {false, true})
        for (std::size_t n : kSizes)
            for (std::size_t off : kOffsets) {
                const std::string what = tag(decoupled ? "adamw" : "adam", n, off);
                Buffer p(n, off, -1, 1, 51), p_ref(n, off, -1, 1, 51);
                Buffer g(n, off, -1, 1, 52);
                Buffer m(n, off, -0.1f, 0.1f, 53), m_ref(n, off, -0.1f, 0.1f, 53);
                Buffer v(n, off, 0.0f, 0.01f, 54), v_ref(n, off, 0.0f, 0.01f, 54);
                simd::adam_update(n, p.data(), g.data(), m.data(), v.data(), 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f,
                                  0.271f, 0.003f, decoupled);
                simd::ref::adam_update(n, p_ref.data(), g.data(), m_ref.data(), v_ref.data(), 1e-3f, 0.9f, 0.999f,
                                       1e-8f, 0.01f, 0.271f, 0.003f, decoupled);
                check_close(p, p_ref, kExactTol, what + " param");
                check_close(m, m_ref, kExactTol, what + " m");
                check_close(v, v_ref, kExactTol, what + " v");
            }
}

// Two steps by hand from p = 1, m = v = 0, constant grad 0.5, lr 0.1, betas (0.9, 0.999), eps 1e-8, wd 0.1.
// Adam (coupled): g1 = 0.5 + 0.1 * 1 = 0.6, m1 = 0.06, v1 = 0.00036, m1/bc1 = 0.6 = sqrt(v1/bc2), so
//   p1 = 1 - 0.1 * 0.6 / (0.6 + 1e-8) = 0.9000000016667;
//   g2 = 0.5 + 0.1 * p1 = 0.59, m2 = 0.113, v2 = 0.00070774, bc1 = 0.19, bc2 = 0.001999,
//   p2 = p1 - 0.1 * (0.113 / 0.19) / (sqrt(0.00070774 / 0.001999) + 1e-8) = 0.8000473405.
// AdamW (decoupled): the gradient stays 0.5, so m/bc1 = 0.5 = sqrt(v/bc2) at every step and each step moves by lr:
//   p1 = 1 * (1 - 0.01) - 0.1 = 0.89,  p2 = 0.89 * 0.99 - 0.1 = 0.7811  (m2 = 0.095, v2 = 0.00049975).
BOOST_AUTO_TEST_CASE(adam_two_steps_by_hand) {
    struct Golden {
        bool decoupled;
        float p1, p2, m2, v2;
    };
    const Golden goldens[] = {{false, 0.9000000016667f, 0.8000473405f, 0.113f, 0.00070774f},
                              {true, 0.89f, 0.7811f, 0.095f, 0.00049975f}};
    const std::size_t n = 2 * W + 3;  // every entry is the same problem, through the batch loop and the tail
    for (const Golden& gold : goldens) {
        std::vector<float> p(n, 1.0f), g(n, 0.5f), m(n, 0.0f), v(n, 0.0f);
        const float beta1 = 0.9f, beta2 = 0.999f;
        for (int t = 1; t <= 2; ++t) {
            simd::adam_update(n, p.data(), g.data(), m.data(), v.data(), 0.1f, beta1, beta2, 1e-8f, 0.1f,
                              1.0f - std::pow(beta1, static_cast<float>(t)),
                              1.0f - std::pow(beta2, static_cast<float>(t)), gold.decoupled);
            const float want = t == 1 ? gold.p1 : gold.p2;
            for (std::size_t i = 0; i < n; ++i)
                BOOST_TEST(std::abs(p[i] - want) <= kParamTol,
                           (gold.decoupled ? "adamw" : "adam") << " step " << t << " entry " << i << ": " << p[i]
                                                               << " want " << want);
        }
        // NOTE: relative, since 1 - 0.999f is 0.00099998713 in float (1.3e-5 off).
        for (std::size_t i = 0; i < n; ++i) {
            BOOST_TEST(std::abs(m[i] - gold.m2) <= kMomentTol * gold.m2);
            BOOST_TEST(std::abs(v[i] - gold.v2) <= kMomentTol * gold.v2);
        }
    }
}

BOOST_AUTO_TEST_CASE(vector_helpers_match_twin) {
    for (std::size_t n : kSizes)
        for (std::size_t off : kOffsets) {
            Buffer x(n, off, -3, 3, 61);
            const double ss = simd::sum_squares(n, x.data());
            const double ss_ref = simd::ref::sum_squares(n, x.data());
            BOOST_TEST(std::abs(ss - ss_ref) <= kSumTol * (1.0 + ss_ref), tag("sum_squares", n, off));

            Buffer s(n, off, -3, 3, 61), s_ref(n, off, -3, 3, 61);
            simd::scale(n, -0.7f, s.data());
            simd::ref::scale(n, -0.7f, s_ref.data());
            check_close(s, s_ref, kExactTol, tag("scale", n, off));

            Buffer y(n, off, -1, 1, 62), y_ref(n, off, -1, 1, 62);
            simd::axpby(n, 0.005f, x.data(), 0.995f, y.data());
            simd::ref::axpby(n, 0.005f, x.data(), 0.995f, y_ref.data());
            check_close(y, y_ref, kExactTol, tag("axpby", n, off));

            BOOST_TEST(simd::all_finite(n, x.data()), tag("all_finite", n, off));
        }
}

// A single bad value anywhere (in the batch loop or the tail) is found.
BOOST_AUTO_TEST_CASE(all_finite_finds_nan_and_inf) {
    const float bad[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                         -std::numeric_limits<float>::infinity()};
    for (std::size_t n : kSizes)
        for (std::size_t pos : {std::size_t{0}, W - 1, W, n / 2, n - 1})  // batch loop and tail
            for (float b : bad) {
                if (pos >= n) continue;
                Buffer x(n, 1, -1, 1, 71);
                x[pos] = b;
                BOOST_TEST(!simd::all_finite(n, x.data()), "n=" << n << " bad " << b << " at " << pos);
                BOOST_TEST(!simd::ref::all_finite(n, x.data()));
            }
}

BOOST_AUTO_TEST_CASE(sum_squares_is_accurate_for_long_vectors) {
    // 10^6 entries of 0.1f: a float accumulator drifts by ~1e-3 relative; the blocked double total must not.
    const std::size_t n = 1000000;
    std::vector<float> x(n, 0.1f);
    const double want = static_cast<double>(n) * 0.1f * 0.1f;
    BOOST_TEST(std::abs(simd::sum_squares(n, x.data()) - want) <= 1e-6 * want);
}

// The kernels with a variant per set (Mish, GroupNorm + Mish over rows, Adam) give the baseline's bits on every
// runnable set, as gemm does (nn/simd/kernels_impl.hpp): lengths and channel counts whose tails differ between the
// widths (1021 = 63 x 16 + 13 = 127 x 8 + 5; 72 and 20 channels), and Mish at the extreme inputs, where xsimd's exp
// must run the same fused operations on zmm as on ymm registers (batch.hpp).
BOOST_AUTO_TEST_CASE(variants_agree_with_the_baseline, *boost::unit_test::precondition(two_runnable_sets)) {
    const std::size_t n = 1021;
    struct Out {
        std::vector<float> act, dact, gn, p, m, v;
    };
    const auto run = [&](const std::string& set) {
        simd::use_set(set);
        Out o;
        Buffer x = activation_input(n, 1), dout(n, 1, -1, 1, 81), dx(n, 1, -1, 1, 82), y(n, 1, 0, 0, 0);
        simd::mish_forward(n, x.data(), y.data());
        simd::mish_backward(n, x.data(), dout.data(), dx.data());
        o.act.assign(y.data(), y.data() + n);
        o.dact.assign(dx.data(), dx.data() + n);
        for (const std::size_t C : {std::size_t{72}, std::size_t{20}}) {
            const std::size_t B = 2, H = 9, G = 4, ld = (H + 2) * C;
            Buffer r(B * ld, 0, -2, 2, 83), bias(C, 0, -1, 1, 84), gamma(C, 0, 0.5f, 1.5f, 85);
            Buffer beta(C, 0, -1, 1, 86), add(B * C, 0, -1, 1, 87), out(B * ld, 0, 0, 0, 0);
            Buffer mean(B * G, 0, 0, 0, 0), rstd(B * G, 0, 0, 0, 0);
            simd::group_norm_mish_rows(B, H, C, G, ld, r.data(), bias.data(), gamma.data(), beta.data(), 1e-5f,
                                       add.data(), C, r.data() + C, out.data(), mean.data(), rstd.data());
            o.gn.insert(o.gn.end(), out.data(), out.data() + B * ld);
            o.gn.insert(o.gn.end(), mean.data(), mean.data() + B * G);
            o.gn.insert(o.gn.end(), rstd.data(), rstd.data() + B * G);
        }
        for (const bool decoupled : {false, true}) {
            Buffer p(n, 1, -1, 1, 88), g(n, 1, -1, 1, 89), m(n, 1, -0.1f, 0.1f, 90), v(n, 1, 0.0f, 0.01f, 91);
            simd::adam_update(n, p.data(), g.data(), m.data(), v.data(), 1e-3f, 0.9f, 0.999f, 1e-8f, 0.01f, 0.271f,
                              0.003f, decoupled);
            o.p.insert(o.p.end(), p.data(), p.data() + n);
            o.m.insert(o.m.end(), m.data(), m.data() + n);
            o.v.insert(o.v.end(), v.data(), v.data() + n);
        }
        simd::use_set("");
        return o;
    };
    // Bitwise: memcmp, so that -0 and +0 or two NaNs do not pass for each other.
    const auto same_bits = [](const std::vector<float>& a, const std::vector<float>& b) {
        return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
    };
    const Out base = run("baseline");
    for (const std::string& set : runnable_sets()) {
        const Out o = run(set);
        BOOST_TEST(same_bits(o.act, base.act), set << ": mish forward differs from the baseline's bits");
        BOOST_TEST(same_bits(o.dact, base.dact), set << ": mish backward differs from the baseline's bits");
        BOOST_TEST(same_bits(o.gn, base.gn), set << ": group_norm_mish_rows differs from the baseline's bits");
        BOOST_TEST((same_bits(o.p, base.p) && same_bits(o.m, base.m) && same_bits(o.v, base.v)),
                   set << ": adam differs from the baseline's bits");
    }
}

BOOST_AUTO_TEST_SUITE_END()
