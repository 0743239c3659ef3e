// The fused ops of nn/activation_ops.hpp and nn/norm_ops.hpp: a gradient check of each (w.r.t. every input), and
// each checked against the composition of generic autograd ops it replaces, values and gradients (house rule: a
// fused op is checked against the composition it replaces). Plus the boundary checks' messages.
#include "autograd/ops.hpp"
#include "nn/activation_ops.hpp"
#include "nn/norm_ops.hpp"
#include "support/gradcheck.hpp"

#include <boost/test/unit_test.hpp>

#include <functional>
#include <string>

using namespace dydiff::autograd;
using dydiff::test::GradCheckOptions;
using dydiff::test::test_array;
namespace nn = dydiff::nn;

namespace {

constexpr float kCompositionTol = 1e-4f;  // fused kernel vs the chain of generic ops, both in float
constexpr float kEps = 1e-5f;             // PyTorch's default norm epsilon

using Fn = std::function<Tensor(const std::vector<Tensor>&)>;

// Runs fused and composed on fresh leaves at the same point, then backward from L = sum(w * out) with the same w,
// and compares the outputs and every input's gradient.
void check_against_composition(const Fn& fused, const Fn& composed, const std::vector<Array>& inputs,
                               const std::string& what) {
    std::vector<Tensor> xf, xc;
    for (const Array& a : inputs) {
        xf.emplace_back(a, true);
        xc.emplace_back(a, true);
    }
    Tensor yf = fused(xf);
    Tensor yc = composed(xc);
    BOOST_TEST_REQUIRE(yf.shape() == yc.shape(), what << ": shapes differ");
    BOOST_TEST(xt::allclose(yf.value(), yc.value(), kCompositionTol, kCompositionTol), what << ": values differ");
    const Tensor w(test_array(yf.shape(), -1, 1, 99));
    sum(yf * w).backward();
    sum(yc * w).backward();
    for (std::size_t i = 0; i < inputs.size(); ++i)
        BOOST_TEST(xt::allclose(xf[i].grad(), xc[i].grad(), kCompositionTol, kCompositionTol),
                   what << ": gradient of input " << i << " differs");
}

Tensor mish_composed(const Tensor& x) { return x * tanh(softplus(x)); }
Tensor silu_composed(const Tensor& x) { return x * sigmoid(x); }

// (x - mean) / sqrt(var + eps) over (C/G)*H entries per (b, g), then the per-channel affine; x (B, C, H) or (B, C).
Tensor group_norm_composed(const Tensor& x, std::int64_t G, const Tensor& gamma, const Tensor& beta) {
    const auto B = static_cast<std::int64_t>(x.size(0));
    const auto C = static_cast<std::int64_t>(x.size(1));
    const Tensor xg = reshape(x, {B, G, -1});  // (B, G, C/G * H)
    const Tensor xc = xg - mean(xg, {2}, true);
    const Tensor var = mean(square(xc), {2}, true);  // (B, G, 1), biased
    const Shape x_shape = x.shape();
    const std::vector<std::int64_t> shape(x_shape.begin(), x_shape.end());
    const Tensor xhat = reshape(xc / sqrt(var + kEps), shape);
    if (x.dim() == 2) return xhat * gamma + beta;
    return xhat * reshape(gamma, {C, 1}) + reshape(beta, {C, 1});
}

Tensor layer_norm_composed(const Tensor& x, const Tensor& gamma, const Tensor& beta) {
    const Tensor xc = x - mean(x, {-1}, true);
    const Tensor var = mean(square(xc), {-1}, true);
    return xc / sqrt(var + kEps) * gamma + beta;
}

Tensor bias_add_composed(const Tensor& y, const Tensor& bias) {
    if (y.dim() == 2) return y + bias;
    return y + reshape(bias, {static_cast<std::int64_t>(bias.size(0)), 1});
}

bool message_contains(const dydiff::Error& e, const std::string& text) {
    return std::string(e.what()).find(text) != std::string::npos;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(norm_act_ops)

BOOST_AUTO_TEST_CASE(activations_gradcheck) {
    const Array x = test_array({3, 7}, -4, 4, 1);
    DYDIFF_CHECK_GRAD([](const auto& in) { return nn::mish(in[0]); }, {x});
    DYDIFF_CHECK_GRAD([](const auto& in) { return nn::silu(in[0]); }, {x});
    DYDIFF_CHECK_GRAD([](const auto& in) { return nn::tanh(in[0]); }, {x});
    DYDIFF_CHECK_GRAD([](const auto& in) { return nn::softplus(in[0]); }, {x});
    Array kinkless = x;
    for (auto& v : kinkless) v += v >= 0 ? 0.05f : -0.05f;
    DYDIFF_CHECK_GRAD([](const auto& in) { return nn::relu(in[0]); }, {kinkless});
}

BOOST_AUTO_TEST_CASE(activations_match_composition) {
    // Wide range: both tails, where the stable formulas matter.
    const Array x = test_array({4, 33}, -12, 12, 2);
    check_against_composition([](const auto& in) { return nn::mish(in[0]); },
                              [](const auto& in) { return mish_composed(in[0]); }, {x}, "mish");
    check_against_composition([](const auto& in) { return nn::silu(in[0]); },
                              [](const auto& in) { return silu_composed(in[0]); }, {x}, "silu");
    // The fused relu / tanh / softplus against autograd's generic versions.
    check_against_composition([](const auto& in) { return nn::relu(in[0]); },
                              [](const auto& in) { return relu(in[0]); }, {x}, "relu");
    check_against_composition([](const auto& in) { return nn::tanh(in[0]); },
                              [](const auto& in) { return tanh(in[0]); }, {x}, "tanh");
    check_against_composition([](const auto& in) { return nn::softplus(in[0]); },
                              [](const auto& in) { return softplus(in[0]); }, {x}, "softplus");
}

BOOST_AUTO_TEST_CASE(group_norm_gradcheck) {
    struct Case {
        dydiff::autograd::Shape shape;
        std::size_t G;
    };
    // G = 1 (LayerNorm-like over C*H), an intermediate G, G = C (InstanceNorm-like), and a (B, C) input.
    const Case cases[] = {{{2, 4, 3}, 1}, {{2, 4, 3}, 2}, {{2, 4, 3}, 4}, {{3, 6}, 2}};
    for (const Case& k : cases) {
        const std::size_t C = k.shape[1];
        const Array x = test_array(k.shape, -2, 2, 3);
        const Array gamma = test_array({C}, 0.5f, 1.5f, 4);
        const Array beta = test_array({C}, -1, 1, 5);
        const std::size_t G = k.G;
        DYDIFF_CHECK_GRAD([G](const auto& in) { return nn::group_norm(in[0], G, in[1], in[2]); },
                          {x, gamma, beta});
    }
}

BOOST_AUTO_TEST_CASE(group_norm_matches_composition) {
    struct Case {
        dydiff::autograd::Shape shape;
        std::size_t G;
    };
    const Case cases[] = {{{2, 8, 5}, 1}, {{2, 8, 5}, 4}, {{2, 8, 5}, 8}, {{3, 6}, 3}, {{2, 32, 13}, 8}};
    for (const Case& k : cases) {
        const std::size_t C = k.shape[1];
        const auto G = k.G;
        check_against_composition(
            [G](const auto& in) { return nn::group_norm(in[0], G, in[1], in[2]); },
            [G](const auto& in) { return group_norm_composed(in[0], static_cast<std::int64_t>(G), in[1], in[2]); },
            {test_array(k.shape, -2, 3, 6), test_array({C}, 0.5f, 1.5f, 7), test_array({C}, -1, 1, 8)},
            "group_norm " + dydiff::shape_str(k.shape) + " G=" + std::to_string(G));
    }
}

BOOST_AUTO_TEST_CASE(layer_norm_gradcheck) {
    DYDIFF_CHECK_GRAD([](const auto& in) { return nn::layer_norm(in[0], in[1], in[2]); },
                      {test_array({3, 5}, -2, 2, 9), test_array({5}, 0.5f, 1.5f, 10), test_array({5}, -1, 1, 11)});
    DYDIFF_CHECK_GRAD([](const auto& in) { return nn::layer_norm(in[0], in[1], in[2]); },
                      {test_array({2, 2, 4}, -2, 2, 12), test_array({4}, 0.5f, 1.5f, 13),
                       test_array({4}, -1, 1, 14)});
}

BOOST_AUTO_TEST_CASE(layer_norm_matches_composition) {
    for (const dydiff::autograd::Shape& shape : {dydiff::autograd::Shape{4, 19}, {2, 3, 8}, {7}}) {
        const std::size_t D = shape.back();
        check_against_composition([](const auto& in) { return nn::layer_norm(in[0], in[1], in[2]); },
                                  [](const auto& in) { return layer_norm_composed(in[0], in[1], in[2]); },
                                  {test_array(shape, -2, 3, 15), test_array({D}, 0.5f, 1.5f, 16),
                                   test_array({D}, -1, 1, 17)},
                                  "layer_norm " + dydiff::shape_str(shape));
    }
}

BOOST_AUTO_TEST_CASE(bias_add_gradcheck_and_composition) {
    for (const dydiff::autograd::Shape& shape : {dydiff::autograd::Shape{2, 5, 3}, {4, 11}, {2, 9, 17}}) {
        const std::size_t C = shape[1];
        const Array y = test_array(shape, -1, 1, 18);
        const Array bias = test_array({C}, -1, 1, 19);
        DYDIFF_CHECK_GRAD([](const auto& in) { return nn::bias_add(in[0], in[1]); }, {y, bias});
        check_against_composition([](const auto& in) { return nn::bias_add(in[0], in[1]); },
                                  [](const auto& in) { return bias_add_composed(in[0], in[1]); }, {y, bias},
                                  "bias_add " + dydiff::shape_str(shape));
    }
}

// Fan-out: the same input through two fused ops; its gradient is the sum (the kernels accumulate).
BOOST_AUTO_TEST_CASE(gradients_accumulate) {
    const Array xv = test_array({2, 4, 3}, -2, 2, 20);
    const Tensor gamma(Array(xt::ones<float>({4})), false), beta(Array(xt::zeros<float>({4})), false);
    Tensor x1(xv, true), x2(xv, true);
    sum(nn::mish(x1) + nn::group_norm(x1, 2, gamma, beta) * 3.0f).backward();
    sum(nn::mish(x2)).backward();
    sum(nn::group_norm(x2, 2, gamma, beta) * 3.0f).backward();
    BOOST_TEST(xt::allclose(x1.grad(), x2.grad(), 1e-6, 1e-6));
}

BOOST_AUTO_TEST_CASE(no_grad_records_nothing) {
    const Tensor x(test_array({2, 4, 3}, -1, 1, 21), true);
    const Tensor gamma(Array(xt::ones<float>({4})), true), beta(Array(xt::zeros<float>({4})), true);
    NoGradGuard guard;
    BOOST_TEST(!nn::group_norm(x, 2, gamma, beta).requires_grad());
    BOOST_TEST(!nn::layer_norm(x, Tensor(Array(xt::ones<float>({3}))), Tensor(Array(xt::zeros<float>({3}))))
                    .requires_grad());
    BOOST_TEST(!nn::mish(x).requires_grad());
    BOOST_TEST(!nn::bias_add(x, gamma).requires_grad());
}

BOOST_AUTO_TEST_CASE(boundary_checks_name_op_and_shapes) {
    const Tensor x(xt::zeros<float>({2, 130, 4}));
    const Tensor p130(xt::ones<float>({130}));
    BOOST_CHECK_EXCEPTION(nn::group_norm(x, 8, p130, p130), dydiff::Error, [](const dydiff::Error& e) {
        return message_contains(e, "group_norm: 130 channels are not divisible into 8 groups");
    });
    const Tensor p8(xt::ones<float>({8}));
    BOOST_CHECK_EXCEPTION(nn::group_norm(x, 2, p8, p130), dydiff::Error, [](const dydiff::Error& e) {
        return message_contains(e, "group_norm: gamma must be (C,) = (130,), got (8,)");
    });
    BOOST_CHECK_EXCEPTION(nn::group_norm(Tensor(xt::zeros<float>({5})), 1, p8, p8), dydiff::Error,
                          [](const dydiff::Error& e) { return message_contains(e, "group_norm: x must be"); });
    BOOST_CHECK_EXCEPTION(nn::group_norm(Tensor(xt::zeros<float>({2, 8, 0})), 2, p8, p8), dydiff::Error,
                          [](const dydiff::Error& e) { return message_contains(e, "has no channels or no length"); });
    BOOST_CHECK_EXCEPTION(nn::layer_norm(x, p8, p8), dydiff::Error, [](const dydiff::Error& e) {
        return message_contains(e, "layer_norm: gamma (8,) and beta (8,) must be (D,) = (4,)");
    });
    BOOST_CHECK_EXCEPTION(nn::bias_add(x, p8), dydiff::Error, [](const dydiff::Error& e) {
        return message_contains(e, "bias_add: bias must be (C,) = (130,), got (8,)");
    });
}

BOOST_AUTO_TEST_SUITE_END()
