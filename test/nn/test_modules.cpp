// Modules and their ops: parameter names and counts, initialiser bounds (PyTorch defaults and the official code's
// schemes), linear/matmul gradients and values against naive loops, EnsembleLinear against per-member Linear,
// the sinusoidal embedding's closed form.
#include "autograd/ops.hpp"
#include "nn/conv.hpp"
#include "nn/embedding.hpp"
#include "nn/linear.hpp"
#include "nn/linear_ops.hpp"
#include "nn/mlp.hpp"
#include "nn/norm.hpp"
#include "support/gradcheck.hpp"

#include <boost/test/unit_test.hpp>

#include <cmath>

using namespace dydiff;
using autograd::Array;
using autograd::Tensor;
using test::test_array;

namespace {

float max_abs(const Array& a) { return a.size() == 0 ? 0.0f : xt::amax(xt::abs(a))(); }

}  // namespace

BOOST_AUTO_TEST_SUITE(modules)

BOOST_AUTO_TEST_CASE(mlp_names_and_counts) {
    data::Rng rng(0);
    nn::MLP critic({14, 256, 256, 1}, nn::Activation::relu, rng);
    const auto params = critic.named_parameters();
    BOOST_TEST(params.size() == 6u);
    BOOST_TEST(params[0].first == "layers.0.weight");
    BOOST_TEST(params[5].first == "layers.2.bias");
    BOOST_TEST(critic.num_parameters() == 14u * 256 + 256 + 256u * 256 + 256 + 256 + 1);
    BOOST_TEST(params[2].second.shape() == (autograd::Shape{256, 256}));
}

BOOST_AUTO_TEST_CASE(torch_default_init_bounds) {
    data::Rng rng(1);
    nn::Linear l(100, 50, rng);
    const float bound = 1.0f / std::sqrt(100.0f);
    BOOST_TEST(max_abs(l.weight.value()) <= bound);
    BOOST_TEST(max_abs(l.weight.value()) > 0.95f * bound);  // the whole range is used
    BOOST_TEST(max_abs(l.bias.value()) <= bound);
    // Conv1d: fan_in = C_in * K; ConvTranspose1d: fan_in = C_out * K (PyTorch's rule for weight (C_in, C_out, K)).
    nn::Conv1d c(8, 16, 5, rng);
    BOOST_TEST(max_abs(c.weight.value()) <= 1.0f / std::sqrt(40.0f));
    BOOST_TEST(max_abs(c.weight.value()) > 0.9f / std::sqrt(40.0f));
    nn::ConvTranspose1d t(8, 16, 4, rng, 2, 1);
    BOOST_TEST(t.weight.shape() == (autograd::Shape{8, 16, 4}));
    BOOST_TEST(max_abs(t.weight.value()) <= 1.0f / std::sqrt(64.0f));
    BOOST_TEST(max_abs(t.weight.value()) > 0.9f / std::sqrt(64.0f));
}

BOOST_AUTO_TEST_CASE(normal_and_ensemble_init) {
    data::Rng rng(2);
    nn::Linear l(400, 300, rng, nn::Init::normal_fan_in);
    const Array& w = l.weight.value();
    const double mean = xt::mean(w)();
    const double var = xt::mean(xt::square(w - static_cast<float>(mean)))();
    BOOST_TEST(std::abs(mean) < 1e-3);
    BOOST_TEST(std::abs(var * 400.0 - 1.0) < 0.02);  // Var = 1 / fan_in
    BOOST_TEST(max_abs(l.bias.value()) == 0.0f);
    nn::EnsembleLinear e(7, 20, 30, rng);
    BOOST_TEST(e.weight.shape() == (autograd::Shape{7, 20, 30}));
    BOOST_TEST(e.bias.shape() == (autograd::Shape{7, 1, 30}));
    BOOST_TEST(max_abs(e.weight.value()) <= 1.0f / std::sqrt(600.0f));
    BOOST_TEST(max_abs(e.bias.value()) <= 1.0f / std::sqrt(600.0f));
    BOOST_TEST(max_abs(e.weight.value()) > 0.95f / std::sqrt(600.0f));
}

BOOST_AUTO_TEST_CASE(linear_matches_loops_and_gradchecks) {
    const Array x = test_array({3, 2, 5}, -1, 1, 1);  // leading axes are batch
    const Array w = test_array({4, 5}, -1, 1, 2);
    const Array b = test_array({4}, -1, 1, 3);
    const Array y = nn::linear(Tensor(x), Tensor(w), Tensor(b)).value();
    BOOST_TEST(y.shape() == (Array::shape_type{3, 2, 4}));
    for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t j = 0; j < 2; ++j)
            for (std::size_t o = 0; o < 4; ++o) {
                double acc = b(o);
                for (std::size_t k = 0; k < 5; ++k) acc += x(i, j, k) * w(o, k);
                BOOST_TEST(std::abs(y(i, j, o) - acc) < 1e-5);
            }
    DYDIFF_CHECK_GRAD([](const auto& v) { return nn::linear(v[0], v[1], v[2]); }, {x, w, b});
    DYDIFF_CHECK_GRAD([](const auto& v) { return nn::linear(v[0], v[1], Tensor()); }, {x, w});
    BOOST_CHECK_THROW(nn::linear(Tensor(x), Tensor(test_array({4, 6}, -1, 1, 4)), Tensor()), Error);
}

BOOST_AUTO_TEST_CASE(matmul_2d_3d) {
    const Array a = test_array({3, 4, 5}, -1, 1, 5);
    const Array b = test_array({3, 5, 2}, -1, 1, 6);
    DYDIFF_CHECK_GRAD([](const auto& v) { return nn::matmul(v[0], v[1]); }, {a, b});
    const Array a2 = test_array({4, 5}, -1, 1, 7);
    const Array b2 = test_array({5, 3}, -1, 1, 8);
    DYDIFF_CHECK_GRAD([](const auto& v) { return nn::matmul(v[0], v[1]); }, {a2, b2});
    const Array y = nn::matmul(Tensor(a), Tensor(b)).value();
    for (std::size_t e = 0; e < 3; ++e)
        for (std::size_t i = 0; i < 4; ++i)
            for (std::size_t j = 0; j < 2; ++j) {
                double acc = 0;
                for (std::size_t k = 0; k < 5; ++k) acc += a(e, i, k) * b(e, k, j);
                BOOST_TEST(std::abs(y(e, i, j) - acc) < 1e-5);
            }
    BOOST_CHECK_THROW(nn::matmul(Tensor(a), Tensor(a)), Error);
}

BOOST_AUTO_TEST_CASE(ensemble_linear_is_independent_members) {
    data::Rng rng(3);
    nn::EnsembleLinear e(3, 4, 2, rng);
    const Array x = test_array({3, 5, 4}, -1, 1, 9);  // (E, B, I)
    const Array y = e.forward(Tensor(x)).value();
    for (std::size_t m = 0; m < 3; ++m) {
        // Member m alone, as a Linear with weight W[m]^T.
        const Array wt = xt::transpose(xt::view(e.weight.value(), m, xt::all(), xt::all()));
        const Array bm = xt::view(e.bias.value(), m, 0, xt::all());
        const Array xm = xt::view(x, m, xt::all(), xt::all());
        const Array ym = nn::linear(Tensor(xm), Tensor(wt), Tensor(bm)).value();
        BOOST_TEST(xt::allclose(ym, Array(xt::view(y, m, xt::all(), xt::all())), 1e-5, 1e-6));
    }
    DYDIFF_CHECK_GRAD([&](const auto& v) { return e.forward(v[0]); }, {x});
}

BOOST_AUTO_TEST_CASE(sinusoidal_embedding_closed_form) {
    nn::SinusoidalEmbedding emb(4);  // half 2: f = [1, 1e-4]
    const Array e = emb.forward(Tensor(Array{0.5f, -2.0f})).value();
    for (std::size_t b = 0; b < 2; ++b) {
        const double c = b == 0 ? 0.5 : -2.0;
        BOOST_TEST(std::abs(e(b, 0) - std::sin(c)) < 1e-6);
        BOOST_TEST(std::abs(e(b, 1) - std::sin(c * 1e-4)) < 1e-6);
        BOOST_TEST(std::abs(e(b, 2) - std::cos(c)) < 1e-6);
        BOOST_TEST(std::abs(e(b, 3) - std::cos(c * 1e-4)) < 1e-6);
    }
    nn::SinusoidalEmbedding big(128);
    BOOST_TEST(big.forward(Tensor(Array{0.0f})).value()(0, 64) == 1.0f);
}

BOOST_AUTO_TEST_CASE(norm_modules_start_as_identity_affine) {
    nn::GroupNorm g(8, 32);
    BOOST_TEST(g.weight.shape() == (autograd::Shape{32}));
    BOOST_TEST(xt::amin(g.weight.value())() == 1.0f);
    BOOST_TEST(max_abs(g.bias.value()) == 0.0f);
    BOOST_CHECK_THROW(nn::GroupNorm(8, 30), Error);
    nn::LayerNorm l(16);
    BOOST_TEST(l.named_parameters()[0].first == "weight");
}

BOOST_AUTO_TEST_SUITE_END()
