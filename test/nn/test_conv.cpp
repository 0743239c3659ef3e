// conv1d / conv_transpose1d: the im2col kernels against their scalar twins over many shapes (including the pointwise
// fast path and batches split into several groups), hand-computed values, gradient checks of both ops, the adjoint
// identity between them, the boundary's error messages, and the U-Net's length chain (docs/algorithm.md §5.1).
#include "support/errors.hpp"
#include "autograd/ops.hpp"
#include "nn/conv_ops.hpp"
#include "nn/simd/conv1d.hpp"
#include "support/gradcheck.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <sstream>
#include <string>
#include <vector>

using dydiff::test::error_of;

using namespace dydiff::autograd;
using dydiff::nn::conv1d;
using dydiff::nn::conv_transpose1d;
using dydiff::nn::simd::Conv1dDims;
using dydiff::test::test_array;
namespace simd = dydiff::nn::simd;

namespace {

/// Kernel vs twin: |got - want| <= kKernelTol * (1 + max |want|) (float gemm against double sums).
constexpr float kKernelTol = 1e-5f;
/// Forward values in the small op tests.
constexpr float kValueTol = 1e-5f;
/// Relative gap between the two sides of the adjoint identity (float sums of a few hundred products).
constexpr float kAdjointTol = 1e-4f;

std::string dims_str(const Conv1dDims& d) {
    std::ostringstream os;
    os << "B=" << d.B << " C_in=" << d.C_in << " H_in=" << d.H_in << " C_out=" << d.C_out << " K=" << d.K
       << " stride=" << d.stride << " padding=" << d.padding;
    return os.str();
}

void check_close(const Array& got, const Array& want, const std::string& what) {
    BOOST_TEST_REQUIRE(got.size() == want.size(), what);
    const float scale = 1.0f + (want.size() ? xt::amax(xt::abs(want))() : 0.0f);
    const float err = want.size() ? xt::amax(xt::abs(got - want))() : 0.0f;
    BOOST_TEST(err <= kKernelTol * scale, what << ": max error " << err << " (scale " << scale << ")");
}

// Both directions of one layer, fast kernel vs twin: the forward with and without bias, and every gradient
// accumulated onto the same non-zero prior (so "+=" is checked, not "=").
void check_kernels(const Conv1dDims& d, bool transposed, unsigned seed) {
    const std::size_t H_out = transposed ? simd::conv_transpose1d_h_out(d) : simd::conv1d_h_out(d);
    const Shape x_shape{d.B, d.C_in, d.H_in};
    const Shape w_shape = transposed ? Shape{d.C_in, d.C_out, d.K} : Shape{d.C_out, d.C_in, d.K};
    const Shape b_shape{d.C_out};
    const Array x = test_array(x_shape, -1, 1, seed);          // (B, C_in, H_in)
    const Array w = test_array(w_shape, -1, 1, seed + 1);      // (C_out, C_in, K) or (C_in, C_out, K)
    const Array bias = test_array(b_shape, -1, 1, seed + 2);   // (C_out)
    const Array dy = test_array({d.B, d.C_out, H_out}, -1, 1, seed + 3);  // (B, C_out, H_out)
    const std::string what = (transposed ? "conv_transpose1d " : "conv1d ") + dims_str(d);
    const auto forward = transposed ? &simd::conv_transpose1d_forward : &simd::conv1d_forward;
    const auto ref_forward = transposed ? &simd::ref::conv_transpose1d_forward : &simd::ref::conv1d_forward;
    const auto backward = transposed ? &simd::conv_transpose1d_backward : &simd::conv1d_backward;
    const auto ref_backward = transposed ? &simd::ref::conv_transpose1d_backward : &simd::ref::conv1d_backward;

    for (const float* b : {bias.data(), static_cast<const float*>(nullptr)}) {
        Array y = xt::full_like(dy, NAN), y_ref = xt::full_like(dy, NAN);  // assigned, never read
        forward(d, x.data(), w.data(), b, y.data());
        ref_forward(d, x.data(), w.data(), b, y_ref.data());
        check_close(y, y_ref, what + (b ? " forward" : " forward, no bias"));
    }

    const Array dx_prior = test_array(x_shape, -1, 1, seed + 4), dw_prior = test_array(w_shape, -1, 1, seed + 5);
    Array dx = dx_prior, dw = dw_prior, db = test_array(b_shape, -1, 1, seed + 6);
    Array dx_ref = dx, dw_ref = dw, db_ref = db;
    backward(d, x.data(), w.data(), dy.data(), dx.data(), dw.data(), db.data());
    ref_backward(d, x.data(), w.data(), dy.data(), dx_ref.data(), dw_ref.data(), db_ref.data());
    check_close(dx, dx_ref, what + " dx");
    check_close(dw, dw_ref, what + " dw");
    check_close(db, db_ref, what + " dbias");

    // One gradient at a time, the others skipped: x is not needed for dx, nor w for dw.
    Array dx_only = xt::zeros_like(x), dw_only = xt::zeros_like(w);
    backward(d, nullptr, w.data(), dy.data(), dx_only.data(), nullptr, nullptr);
    backward(d, x.data(), nullptr, dy.data(), nullptr, dw_only.data(), nullptr);
    check_close(dx_only, Array(dx_ref - dx_prior), what + " dx alone");
    check_close(dw_only, Array(dw_ref - dw_prior), what + " dw alone");
}

// ---- rows layout ---------------------------------------------------------------------------------------------------

// (B, C, H) channels-first -> rows layout with pad P (conv1d.hpp): pads zero.
std::vector<float> to_rows(const Array& x, std::size_t P) {
    const std::size_t B = x.shape()[0], C = x.shape()[1], H = x.shape()[2];
    std::vector<float> rows(simd::rows_floats(B, H, C, P), 0.0f);
    for (std::size_t b = 0; b < B; ++b)
        for (std::size_t c = 0; c < C; ++c)
            for (std::size_t t = 0; t < H; ++t) rows[(P + b * (H + P) + t) * C + c] = x(b, c, t);
    return rows;
}

// Rows layouts of the same shape: entrywise within kKernelTol * (1 + max |want|), pads of `got` exactly zero.
void check_rows(const std::vector<float>& got, const std::vector<float>& want, std::size_t H, std::size_t C,
                std::size_t P, const std::string& what) {
    BOOST_TEST_REQUIRE(got.size() == want.size(), what);
    float scale = 1.0f, err = 0.0f;
    for (float v : want) scale = std::max(scale, 1.0f + std::abs(v));
    bool pads_zero = true;
    for (std::size_t i = 0; i < got.size(); ++i) {
        err = std::max(err, std::isfinite(got[i]) ? std::abs(got[i] - want[i]) : INFINITY);
        const std::size_t row = i / C;  // a pad row: before sample 0, or past position H - 1 of its sample
        if ((row < P || (row - P) % (H + P) >= H) && got[i] != 0.0f) pads_zero = false;
    }
    BOOST_TEST(err <= kKernelTol * scale, what << ": max error " << err << " (scale " << scale << ")");
    BOOST_TEST(pads_zero, what << ": a pad row is not zero");
}

// The rows kernels of one layer against the channels-first kernel (same weight, packed) and against their twin,
// with and without bias, assigned (y starts as NaN) and, for Conv1d, accumulated onto a prior.
void check_rows_kernels(const Conv1dDims& d, bool transposed, std::size_t P_in, std::size_t P_out, unsigned seed) {
    const std::size_t H_out = transposed ? simd::conv_transpose1d_h_out(d) : simd::conv1d_h_out(d);
    const Array x = test_array({d.B, d.C_in, d.H_in}, -1, 1, seed);
    const Array w = test_array(transposed ? Shape{d.C_in, d.C_out, d.K} : Shape{d.C_out, d.C_in, d.K}, -1, 1,
                               seed + 1);
    const Array bias = test_array({d.C_out}, -1, 1, seed + 2);
    std::vector<float> w_rows(transposed ? simd::conv_transpose1d_rows_weight_floats(d)
                                         : simd::conv1d_rows_weight_floats(d));
    (transposed ? simd::conv_transpose1d_rows_weight : simd::conv1d_rows_weight)(d, w.data(), w_rows.data());
    const std::vector<float> x_rows = to_rows(x, P_in);
    std::ostringstream what;
    what << (transposed ? "conv_transpose1d_rows " : "conv1d_rows ") << dims_str(d) << " P_in=" << P_in
         << " P_out=" << P_out;
    const std::size_t n_out = simd::rows_floats(d.B, H_out, d.C_out, P_out);
    for (const float* b : {bias.data(), static_cast<const float*>(nullptr)}) {
        Array y_first = xt::empty<float>({d.B, d.C_out, H_out});
        (transposed ? simd::conv_transpose1d_forward : simd::conv1d_forward)(d, x.data(), w.data(), b,
                                                                             y_first.data());
        std::vector<float> y(n_out, NAN), y_ref(n_out, NAN);
        if (transposed) {
            simd::conv_transpose1d_rows_forward(d, P_in, x_rows.data(), w_rows.data(), b, P_out, y.data());
            simd::ref::conv_transpose1d_rows_forward(d, P_in, x_rows.data(), w_rows.data(), b, P_out, y_ref.data());
        } else {
            simd::conv1d_rows_forward(d, P_in, x_rows.data(), w_rows.data(), b, P_out, y.data(), false);
            simd::ref::conv1d_rows_forward(d, P_in, x_rows.data(), w_rows.data(), b, P_out, y_ref.data(), false);
        }
        const std::string tag = what.str() + (b ? "" : " no bias");
        check_rows(y, y_ref, H_out, d.C_out, P_out, tag + " vs twin");
        check_rows(y, to_rows(y_first, P_out), H_out, d.C_out, P_out, tag + " vs channels-first");
        if (transposed) continue;
        const Array prior = test_array({d.B, d.C_out, H_out}, -1, 1, seed + 3);
        std::vector<float> acc = to_rows(prior, P_out);
        simd::conv1d_rows_forward(d, P_in, x_rows.data(), w_rows.data(), b, P_out, acc.data(), true);
        check_rows(acc, to_rows(Array(prior + y_first), P_out), H_out, d.C_out, P_out, tag + " accumulated");
    }
}

bool conv_valid(const Conv1dDims& d) { return d.H_in + 2 * d.padding >= d.K; }
bool transpose_valid(const Conv1dDims& d) { return d.H_in >= 1 && (d.H_in - 1) * d.stride + d.K > 2 * d.padding; }

// The error message of f, or "" when it does not throw.
Tensor zeros(const Shape& shape) { return Tensor(Array(xt::zeros<float>(shape))); }

float dot(const Array& a, const Array& b) { return xt::sum(a * b)(); }

}  // namespace

BOOST_AUTO_TEST_SUITE(conv1d_kernels)

BOOST_AUTO_TEST_CASE(match_scalar_twin_over_shapes) {
    // (C_in, C_out): scalar-sized, and wider than any SIMD width (8 floats with AVX2) on both sides.
    const std::pair<std::size_t, std::size_t> channels[] = {{1, 1}, {3, 2}, {9, 17}, {17, 9}};
    unsigned seed = 100;
    std::size_t cases = 0;
    for (std::size_t K : {1, 3, 4, 5})
        for (std::size_t stride : {1, 2, 3})
            for (std::size_t padding : {0, 1, 2})
                for (std::size_t H : {1, 4, 7, 13})
                    for (std::size_t B : {1, 3})
                        for (const auto& [C_in, C_out] : channels) {
                            const Conv1dDims d{B, C_in, H, C_out, K, stride, padding};
                            if (conv_valid(d)) check_kernels(d, false, seed += 10), ++cases;
                            if (transpose_valid(d)) check_kernels(d, true, seed += 10), ++cases;
                        }
    BOOST_TEST(cases > 700u);  // the filters keep most of the grid
}

BOOST_AUTO_TEST_CASE(unet_layers_match_scalar_twin) {
    // The layer kinds of the U-Net at a reduced width: k5 pad 2, the 1x1 residual, Down, Up.
    check_kernels({2, 16, 24, 12, 5, 1, 2}, false, 1);
    check_kernels({2, 16, 24, 12, 1, 1, 0}, false, 2);
    check_kernels({2, 16, 24, 16, 3, 2, 1}, false, 3);
    check_kernels({2, 16, 12, 16, 4, 2, 1}, true, 4);
    check_kernels({2, 16, 24, 12, 1, 1, 0}, true, 5);
}

BOOST_AUTO_TEST_CASE(rows_layout_matches_channels_first_and_twin) {
    // Every (K, stride, padding) of the twin grid, at pads P_in from the smallest allowed up and output pads that
    // keep or change the sample blocks' length.
    const std::pair<std::size_t, std::size_t> channels[] = {{1, 1}, {3, 2}, {9, 17}, {17, 9}};
    unsigned seed = 5000;
    std::size_t cases = 0;
    for (std::size_t K : {1, 3, 4, 5})
        for (std::size_t stride : {1, 2, 3})
            for (std::size_t padding : {0, 1, 2})
                for (std::size_t H : {1, 4, 7, 12})
                    for (std::size_t B : {1, 3})
                        for (const auto& [C_in, C_out] : channels)
                            for (std::size_t extra : {0, 1})
                                for (std::size_t P_out : {0, 2}) {
                                    const Conv1dDims d{B, C_in, H, C_out, K, stride, padding};
                                    const std::size_t P_conv = padding + extra;
                                    if (conv_valid(d))
                                        check_rows_kernels(d, false, P_conv, P_out, seed += 10), ++cases;
                                    const std::size_t P_transposed = (K - 1) / stride + extra;
                                    if (transpose_valid(d) && extra == 0 && P_out == 0)
                                        check_rows_kernels(d, true, P_transposed, padding, seed += 10), ++cases;
                                }
    BOOST_TEST(cases > 1000u);
    // The U-Net's layers at pad 2: k5 pad 2, 1x1, Down (k3 stride 2 pad 1) and Up (k4 stride 2 pad 1).
    check_rows_kernels({3, 16, 24, 12, 5, 1, 2}, false, 2, 2, 1);
    check_rows_kernels({3, 16, 24, 12, 1, 1, 0}, false, 2, 2, 2);
    check_rows_kernels({3, 16, 24, 16, 3, 2, 1}, false, 2, 2, 3);
    check_rows_kernels({3, 16, 12, 16, 4, 2, 1}, true, 2, 2, 4);
}

BOOST_AUTO_TEST_CASE(batch_split_into_groups) {
    // A sample's columns here take 20 x 75000 floats: the kernels process 2 samples per group, so B = 3 runs one
    // full group and a remainder; at H = 250000 every sample is a group of its own.
    check_kernels({3, 4, 75000, 3, 5, 1, 2}, false, 7);
    check_kernels({3, 3, 75000, 4, 5, 1, 2}, true, 8);
    check_kernels({3, 4, 250000, 3, 5, 2, 2}, false, 9);
}

BOOST_AUTO_TEST_CASE(output_lengths) {
    BOOST_TEST(simd::conv1d_h_out({1, 1, 100, 1, 3, 2, 1}) == 50u);
    BOOST_TEST(simd::conv1d_h_out({1, 1, 50, 1, 3, 2, 1}) == 25u);
    BOOST_TEST(simd::conv1d_h_out({1, 1, 100, 1, 5, 1, 2}) == 100u);
    BOOST_TEST(simd::conv1d_h_out({1, 1, 7, 1, 4, 3, 0}) == 2u);
    BOOST_TEST(simd::conv_transpose1d_h_out({1, 1, 25, 1, 4, 2, 1}) == 50u);
    BOOST_TEST(simd::conv_transpose1d_h_out({1, 1, 2, 1, 3, 2, 0}) == 5u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(conv_ops)

BOOST_AUTO_TEST_CASE(conv1d_hand_computed) {
    // x (1, 2, 3), w (1, 2, 2), stride 1, no padding:
    //   y[0] = (1*1 + 1*2) + (2*0 - 1*1) = 2,   y[1] = (1*2 + 1*3) + (2*1 - 1*(-1)) = 8.
    const Tensor x(Array{{{1, 2, 3}, {0, 1, -1}}});
    const Tensor w(Array{{{1, 1}, {2, -1}}});
    BOOST_TEST(xt::allclose(conv1d(x, w, Tensor()).value(), Array{{{2, 8}}}, kValueTol, kValueTol));
    // One channel, w = (1, 0, -1), padding 1 (zeros at both ends), bias 0.5: y[t] = x[t-1] - x[t+1] + 0.5.
    const Tensor x1(Array{{{1, 2, 3, 4}}});
    const Tensor w1(Array{{{1, 0, -1}}});
    const Tensor b1(Array{0.5f});
    BOOST_TEST(xt::allclose(conv1d(x1, w1, b1, 1, 1).value(), Array{{{-1.5f, -1.5f, -1.5f, 3.5f}}}, kValueTol,
                            kValueTol));
    // Stride 2 keeps outputs 0 and 2.
    BOOST_TEST(xt::allclose(conv1d(x1, w1, b1, 2, 1).value(), Array{{{-1.5f, -1.5f}}}, kValueTol, kValueTol));
}

BOOST_AUTO_TEST_CASE(conv_transpose1d_hand_computed) {
    // x = (1, 2), w = (1, 10, 100), stride 2: each input stamps x[t] w at 2t: (1, 10, 100 + 2, 20, 200).
    const Tensor x(Array{{{1, 2}}});
    const Tensor w(Array{{{1, 10, 100}}});
    BOOST_TEST(xt::allclose(conv_transpose1d(x, w, Tensor(), 2, 0).value(), Array{{{1, 10, 102, 20, 200}}},
                            kValueTol, kValueTol));
    // padding 1 crops one entry at each end; the bias is added everywhere.
    BOOST_TEST(xt::allclose(conv_transpose1d(x, w, Tensor(Array{1.0f}), 2, 1).value(), Array{{{11, 103, 21}}},
                            kValueTol, kValueTol));
}

BOOST_AUTO_TEST_CASE(conv1d_gradients) {
    struct Case { std::size_t B, C_in, H, C_out, K, stride, padding; };
    for (const Case& c : {Case{2, 3, 7, 4, 3, 2, 1}, Case{2, 3, 6, 2, 5, 1, 2}, Case{3, 2, 5, 3, 1, 1, 0},
                          Case{1, 2, 9, 2, 4, 3, 2}}) {
        const Array x = test_array({c.B, c.C_in, c.H}, -1, 1, 11);
        const Array w = test_array({c.C_out, c.C_in, c.K}, -1, 1, 12);
        const Array b = test_array({c.C_out}, -1, 1, 13);
        DYDIFF_CHECK_GRAD([&](const auto& t) { return conv1d(t[0], t[1], t[2], c.stride, c.padding); }, {x, w, b});
        DYDIFF_CHECK_GRAD([&](const auto& t) { return conv1d(t[0], t[1], Tensor(), c.stride, c.padding); }, {x, w});
    }
}

BOOST_AUTO_TEST_CASE(conv_transpose1d_gradients) {
    struct Case { std::size_t B, C_in, H, C_out, K, stride, padding; };
    for (const Case& c : {Case{2, 3, 5, 4, 4, 2, 1}, Case{2, 2, 4, 3, 3, 1, 1}, Case{3, 2, 5, 3, 1, 1, 0},
                          Case{1, 2, 4, 2, 5, 3, 2}}) {
        const Array x = test_array({c.B, c.C_in, c.H}, -1, 1, 21);
        const Array w = test_array({c.C_in, c.C_out, c.K}, -1, 1, 22);
        const Array b = test_array({c.C_out}, -1, 1, 23);
        DYDIFF_CHECK_GRAD([&](const auto& t) { return conv_transpose1d(t[0], t[1], t[2], c.stride, c.padding); },
                          {x, w, b});
        DYDIFF_CHECK_GRAD([&](const auto& t) { return conv_transpose1d(t[0], t[1], Tensor(), c.stride, c.padding); },
                          {x, w});
    }
}

BOOST_AUTO_TEST_CASE(transpose_is_the_adjoint_of_conv1d) {
    // <conv1d(x; w), y> = <x, conv_transpose1d(y; w)> for one weight (C_out, C_in, K), read by conv_transpose1d as
    // (C_in', C_out', K). Lengths are chosen so that (H + 2 padding - K) is a multiple of the stride: otherwise the
    // transpose needs PyTorch's output_padding to come back to H.
    struct Case { std::size_t B, C_in, H, C_out, K, stride, padding; };
    for (const Case& c : {Case{2, 3, 101, 4, 3, 2, 1}, Case{2, 3, 100, 4, 4, 2, 1}, Case{1, 5, 20, 3, 5, 1, 2},
                          Case{3, 4, 10, 6, 1, 1, 0}, Case{2, 2, 15, 3, 4, 3, 2}}) {
        const Tensor x(test_array({c.B, c.C_in, c.H}, -1, 1, 31));
        const Tensor w(test_array({c.C_out, c.C_in, c.K}, -1, 1, 32));
        const Tensor y = conv1d(x, w, Tensor(), c.stride, c.padding);
        const Tensor r(test_array(y.shape(), -1, 1, 33));
        const Tensor back = conv_transpose1d(r, w, Tensor(), c.stride, c.padding);
        BOOST_TEST_REQUIRE(back.shape() == x.shape());
        const float lhs = dot(y.value(), r.value());
        const float rhs = dot(x.value(), back.value());
        BOOST_TEST(std::abs(lhs - rhs) <= kAdjointTol * (1.0f + std::abs(lhs)), lhs << " vs " << rhs);
    }
}

BOOST_AUTO_TEST_CASE(backward_fills_only_what_is_needed) {
    const Tensor x(test_array({2, 3, 8}, -1, 1, 41));                // data: no gradient
    const Tensor w(test_array({4, 3, 3}, -1, 1, 42), true);
    const Tensor b(test_array({4}, -1, 1, 43), true);
    sum(conv1d(x, w, b, 1, 1)).backward();
    BOOST_TEST(!x.has_grad());
    BOOST_TEST(w.has_grad());
    // d(sum y)/d bias[o] = B * H_out.
    BOOST_TEST(xt::allclose(b.grad(), xt::full_like(b.value(), 16.0f), kValueTol, kValueTol));
    // Gradients accumulate across two backward passes.
    sum(conv1d(x, w, b, 1, 1)).backward();
    BOOST_TEST(xt::allclose(b.grad(), xt::full_like(b.value(), 32.0f), kValueTol, kValueTol));
    {
        NoGradGuard guard;  // sampling and rollouts: no graph even with trainable weights
        const Tensor up = conv_transpose1d(x, Tensor(test_array({3, 2, 4}, -1, 1, 44), true), Tensor(), 2, 1);
        BOOST_TEST(!is_recorded(up));
        BOOST_TEST(!up.requires_grad());
    }
}

BOOST_AUTO_TEST_CASE(shape_errors_name_op_and_shapes) {
    auto contains = [](const std::string& what, const std::string& part) {
        BOOST_TEST(what.find(part) != std::string::npos, "'" << what << "' should contain '" << part << "'");
    };
    contains(error_of([] { conv1d(zeros({8, 14, 100}), zeros({128, 13, 5}), Tensor(), 1, 2); }),
             "conv1d: input (8, 14, 100) has 14 channels, weight (128, 13, 5) expects 13");
    contains(error_of([] { conv_transpose1d(zeros({8, 14, 25}), zeros({13, 14, 4}), Tensor(), 2, 1); }),
             "conv_transpose1d: input (8, 14, 25) has 14 channels, weight (13, 14, 4) expects 13");
    contains(error_of([] { conv1d(zeros({14, 100}), zeros({128, 14, 5}), Tensor()); }),
             "conv1d: input (14, 100) must be (B, C_in, H)");
    contains(error_of([] { conv1d(zeros({8, 14, 100}), zeros({128, 14}), Tensor()); }),
             "conv1d: weight (128, 14) must be (C_out, C_in, K)");
    contains(error_of([] { conv1d(zeros({8, 14, 100}), zeros({128, 14, 5}), zeros({64})); }),
             "conv1d: bias (64,) does not match weight (128, 14, 5): expected (128,)");
    contains(error_of([] { conv_transpose1d(zeros({8, 14, 25}), zeros({14, 32, 4}), zeros({14}), 2, 1); }),
             "conv_transpose1d: bias (14,) does not match weight (14, 32, 4): expected (32,)");
    contains(error_of([] { conv1d(zeros({8, 14, 3}), zeros({128, 14, 5}), Tensor()); }),
             "conv1d: input (8, 14, 3) has length 3, shorter than kernel 5 with padding 0");
    contains(error_of([] { conv1d(zeros({8, 14, 10}), zeros({128, 14, 5}), Tensor(), 0, 2); }),
             "conv1d: stride must be >= 1");
    contains(error_of([] { conv_transpose1d(zeros({8, 14, 1}), zeros({14, 14, 2}), Tensor(), 1, 1); }),
             "conv_transpose1d: input (8, 14, 1) with stride 1, padding 1 and kernel 2 gives output length 0");
}

BOOST_AUTO_TEST_CASE(unet_length_chain) {
    // §5.1 at L = 100: Down = Conv1d(c, c, 3, stride 2, pad 1) halves, Up = ConvTranspose1d(c, c, 4, stride 2,
    // pad 1) doubles, k5 pad 2 and k1 keep the length.
    const std::size_t c = 4;
    const Tensor down_w(test_array({c, c, 3}, -1, 1, 51)), up_w(test_array({c, c, 4}, -1, 1, 52));
    const Tensor h0(test_array({2, c, 100}, -1, 1, 53));
    BOOST_TEST(conv1d(h0, Tensor(test_array({c, c, 5}, -1, 1, 54)), Tensor(), 1, 2).shape() == Shape({2, c, 100}));
    BOOST_TEST(conv1d(h0, Tensor(test_array({3, c, 1}, -1, 1, 55)), Tensor()).shape() == Shape({2, 3, 100}));
    const Tensor h1 = conv1d(h0, down_w, Tensor(), 2, 1);
    BOOST_TEST(h1.shape() == Shape({2, c, 50}));
    const Tensor h2 = conv1d(h1, down_w, Tensor(), 2, 1);
    BOOST_TEST(h2.shape() == Shape({2, c, 25}));
    const Tensor u1 = conv_transpose1d(h2, up_w, Tensor(), 2, 1);
    BOOST_TEST(u1.shape() == Shape({2, c, 50}));
    BOOST_TEST(conv_transpose1d(u1, up_w, Tensor(), 2, 1).shape() == Shape({2, c, 100}));
}

BOOST_AUTO_TEST_SUITE_END()
