// The graph walk: fan-out accumulates, NoGradGuard records nothing, detach cuts, the graph is freed after backward
// unless retained, a deep chain does not recurse, and misuse gives a clear error.
#include "autograd/ops.hpp"

#include <boost/test/unit_test.hpp>

using namespace dydiff::autograd;

BOOST_AUTO_TEST_SUITE(graph)

BOOST_AUTO_TEST_CASE(fan_out_accumulates) {
    // y = x*x + 3x uses x three times: dy/dx = 2x + 3.
    Tensor x(Array{1.0f, -2.0f}, true);
    Tensor y = sum(add(mul(x, x), mul(x, scalar(3.0f))));
    y.backward();
    BOOST_TEST(xt::allclose(x.grad(), Array{5.0f, -1.0f}));
    // A second backward on a fresh graph adds to the gradient (accumulate, never assign).
    sum(mul(x, x)).backward();
    BOOST_TEST(xt::allclose(x.grad(), Array{7.0f, -5.0f}));
    x.zero_grad();
    BOOST_TEST(xt::allclose(x.grad(), Array{0.0f, 0.0f}));
}

BOOST_AUTO_TEST_CASE(no_grad_guard_records_nothing_and_nests) {
    Tensor x(Array{1.0f}, true);
    {
        NoGradGuard outer;
        {
            NoGradGuard inner;
        }
        BOOST_TEST(!grad_enabled());
        Tensor y = exp(x);
        BOOST_TEST(!y.requires_grad());
        BOOST_CHECK_THROW(y.backward(), dydiff::Error);
    }
    BOOST_TEST(grad_enabled());
    BOOST_TEST(exp(x).requires_grad());
}

BOOST_AUTO_TEST_CASE(detach_cuts_history) {
    Tensor x(Array{2.0f}, true);
    Tensor d = exp(x).detach();
    BOOST_TEST(!d.requires_grad());
    Tensor y = sum(mul(d, x));
    y.backward();
    BOOST_TEST(xt::allclose(x.grad(), Array{std::exp(2.0f)}));
}

BOOST_AUTO_TEST_CASE(graph_is_freed_unless_retained) {
    Tensor x(Array{1.0f, 2.0f}, true);
    Tensor h = exp(x);
    Tensor y = sum(h);
    y.backward(/*retain_graph=*/true);
    BOOST_TEST(h.node().inputs.size() == 1u);
    y.backward();
    BOOST_TEST(xt::allclose(x.grad(), Array(2.0f * xt::exp(Array{1.0f, 2.0f}))));
    BOOST_TEST(h.node().inputs.empty());
    BOOST_TEST(!h.has_grad());  // intermediate gradients are not kept
}

BOOST_AUTO_TEST_CASE(deep_chain_does_not_recurse) {
    Tensor x(Array{0.0f}, true);
    Tensor h = x;
    constexpr int kDepth = 200000;
    for (int i = 0; i < kDepth; ++i) h = add(h, scalar(1.0f));
    sum(h).backward();
    BOOST_TEST(x.grad()(0) == 1.0f);
    BOOST_TEST(h.item() == static_cast<float>(kDepth));
}

BOOST_AUTO_TEST_CASE(deep_graph_is_destroyed_without_recursion) {
    Tensor x(Array{0.0f}, true);
    {
        Tensor h = x;
        for (int i = 0; i < 1000000; ++i) h = exp(mul(h, scalar(0.0f)));
        BOOST_TEST(h.item() == 1.0f);
    }  // the graph of two million nodes dies here
    BOOST_TEST(x.requires_grad());
}

BOOST_AUTO_TEST_CASE(backward_needs_scalar_or_seed) {
    Tensor x(Array{1.0f, 2.0f}, true);
    Tensor y = mul(x, x);
    try {
        y.backward();
        BOOST_FAIL("no error");
    } catch (const dydiff::Error& e) {
        BOOST_TEST(std::string(e.what()).find("needs a scalar") != std::string::npos, e.what());
    }
    y.backward(Array{1.0f, 10.0f});
    BOOST_TEST(xt::allclose(x.grad(), Array{2.0f, 40.0f}));
}

BOOST_AUTO_TEST_SUITE_END()
