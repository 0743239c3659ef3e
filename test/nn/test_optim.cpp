// Optimisers and helpers against closed forms: two Adam steps by hand (plain, coupled L2, AdamW), gradient-norm
// clipping, NaN detection naming the parameter, EMA and Polyak averaging.
#include "autograd/ops.hpp"
#include "nn/optim.hpp"

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <limits>

using namespace dydiff;
using autograd::Array;
using autograd::Tensor;

namespace {

constexpr double kTol = 1e-6;

// A one-element parameter with gradient g.
Tensor param_with_grad(float value, float g) {
    Tensor p(Array{value}, true);
    p.node().grad_add(Array{g});
    return p;
}

// PyTorch's Adam on one scalar for `steps` steps with a constant gradient g (coupled L2 or decoupled decay).
double adam_by_hand(double p, double g, int steps, double lr, double wd, bool decoupled) {
    const double b1 = 0.9, b2 = 0.999, eps = 1e-8;
    double m = 0, v = 0;
    for (int t = 1; t <= steps; ++t) {
        double grad = g;
        if (decoupled) p *= 1 - lr * wd;
        else grad += wd * p;
        m = b1 * m + (1 - b1) * grad;
        v = b2 * v + (1 - b2) * grad * grad;
        const double bc1 = 1 - std::pow(b1, t), bc2 = 1 - std::pow(b2, t);
        p -= lr / bc1 * m / (std::sqrt(v) / std::sqrt(bc2) + eps);
    }
    return p;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(optim)

BOOST_AUTO_TEST_CASE(adam_two_steps_closed_form) {
    // With a constant gradient the bias-corrected step is lr * sign(g): 1.0 -> 0.9 -> 0.8.
    Tensor p = param_with_grad(1.0f, 0.5f);
    nn::Adam opt({{"p", p}}, nn::AdamConfig{0.1f});
    opt.step();
    BOOST_TEST(std::abs(p.item() - 0.9) < kTol);
    opt.step();
    BOOST_TEST(std::abs(p.item() - 0.8) < kTol);
    BOOST_TEST(opt.steps() == 2u);
}

BOOST_AUTO_TEST_CASE(adam_coupled_and_decoupled_decay) {
    for (bool decoupled : {false, true}) {
        Tensor p = param_with_grad(2.0f, -0.3f);
        nn::AdamConfig config{0.01f};
        nn::Adam opt = decoupled ? nn::adamw({{"p", p}}, config, 0.5f) : nn::Adam({{"p", p}}, config, 0.5f);
        for (int i = 0; i < 3; ++i) opt.step();  // the gradient stays -0.3 (never zeroed)
        BOOST_TEST(std::abs(p.item() - adam_by_hand(2.0, -0.3, 3, 0.01, 0.5, decoupled)) < 1e-5);
    }
}

BOOST_AUTO_TEST_CASE(adam_groups_have_their_own_decay_and_skip_gradless) {
    Tensor a = param_with_grad(1.0f, 0.0f);
    Tensor b = param_with_grad(1.0f, 0.0f);
    Tensor c(Array{1.0f}, true);  // never receives a gradient
    nn::Adam opt({nn::ParamGroup{{{"a", a}}, 0.0f}, nn::ParamGroup{{{"b", b}, {"c", c}}, 1.0f}}, nn::AdamConfig{0.1f});
    opt.step();
    BOOST_TEST(a.item() == 1.0f);                              // no gradient, no decay
    BOOST_TEST(std::abs(b.item() - 0.9) < kTol);               // decay 1.0 gives gradient 1.0
    BOOST_TEST(c.item() == 1.0f);
}

BOOST_AUTO_TEST_CASE(adam_state_round_trip_continues_identically) {
    Tensor p1 = param_with_grad(1.0f, 0.7f), p2 = param_with_grad(1.0f, 0.7f);
    nn::Adam o1({{"p", p1}}, nn::AdamConfig{0.05f});
    o1.step();
    nn::Adam o2({{"p", p2}}, nn::AdamConfig{0.05f});
    p2.mutable_value() = p1.value();
    o2.load_state(o1.state(), o1.steps());
    o1.step();
    o2.step();
    BOOST_TEST(p1.item() == p2.item());
    BOOST_CHECK_THROW(o2.load_state({}, 1), Error);
}

BOOST_AUTO_TEST_CASE(clip_grad_norm_scales_to_max) {
    Tensor a(Array{0.0f}, true), b(Array{0.0f}, true);
    a.node().grad_add(Array{3.0f});
    b.node().grad_add(Array{4.0f});
    BOOST_TEST(nn::clip_grad_norm({a, b}, 1.0f) == 5.0f);
    BOOST_TEST(std::abs(a.grad()(0) - 0.6) < 1e-5);
    BOOST_TEST(std::abs(b.grad()(0) - 0.8) < 1e-5);
    BOOST_TEST(std::abs(nn::clip_grad_norm({a, b}, 10.0f) - 1.0) < 1e-5);  // below max: unchanged
    BOOST_TEST(std::abs(a.grad()(0) - 0.6) < 1e-5);
}

BOOST_AUTO_TEST_CASE(non_finite_gradient_is_named) {
    Tensor ok = param_with_grad(0.0f, 1.0f);
    Tensor bad(Array{0.0f, 0.0f}, true);
    bad.node().grad_add(Array{1.0f, std::numeric_limits<float>::quiet_NaN()});
    try {
        nn::check_finite_grads({{"fine", ok}, {"critic.layers.1.weight", bad}});
        BOOST_FAIL("no error");
    } catch (const NonFiniteError& e) {  // the type every trainer catches to name its last good checkpoint
        BOOST_TEST(std::string(e.what()).find("'critic.layers.1.weight'") != std::string::npos, e.what());
    }
}

BOOST_AUTO_TEST_CASE(ema_and_soft_update) {
    Tensor p(Array{1.0f, 2.0f}, true);
    nn::Ema ema({{"p", p}});
    p.mutable_value() = Array{3.0f, 6.0f};
    ema.update(0.75f);  // 0.75 * old + 0.25 * new
    BOOST_TEST(xt::allclose(ema.shadow()[0].second.value(), Array{1.5f, 3.0f}));
    Tensor q(Array{0.0f, 0.0f}, true);
    ema.copy_to({{"p", q}});
    BOOST_TEST(xt::allclose(q.value(), Array{1.5f, 3.0f}));
    BOOST_CHECK_THROW(ema.copy_to({{"other", q}}), Error);

    Tensor target(Array{0.0f, 10.0f}, true), source(Array{1.0f, 0.0f}, true);
    nn::soft_update({target}, {source}, 0.005f);
    BOOST_TEST(xt::allclose(target.value(), Array{0.005f, 9.95f}));
}

BOOST_AUTO_TEST_SUITE_END()
