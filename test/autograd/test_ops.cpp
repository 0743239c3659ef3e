// Gradient check of every generic op in autograd/ops.hpp, plus forward values where a closed form is easy.
// Inputs are drawn away from kinks (relu, abs, clamp, min/max ties); broadcasting cases cover the sum_to_shape path.
#include "autograd/ops.hpp"
#include "support/gradcheck.hpp"

#include <boost/test/unit_test.hpp>

#include <cmath>

using namespace dydiff::autograd;
using dydiff::test::gradcheck;
using dydiff::test::GradCheckOptions;
using dydiff::test::test_array;

namespace {

constexpr float kValueTol = 1e-5f;

// Keeps |x| >= margin so relu/abs/clamp kinks are never straddled by the finite difference.
Array away_from_zero(Array a, float margin) {
    for (auto& v : a) v = v >= 0 ? v + margin : v - margin;
    return a;
}

bool close(const Array& a, const Array& b, float tol = kValueTol) {
    return a.shape() == b.shape() && xt::allclose(a, b, tol, tol);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(ops_elementwise)

BOOST_AUTO_TEST_CASE(binary_ops_broadcast_and_check) {
    const Array a = test_array({3, 4}, -1, 1, 1);
    const Array row = test_array({4}, 0.5f, 2, 2);   // broadcast over rows
    const Array col = test_array({3, 1}, 0.5f, 2, 3); // broadcast over columns
    for (const Array* b : {&a, &row, &col}) {
        const Array bb = *b + 0.0f;
        DYDIFF_CHECK_GRAD([](const auto& x) { return add(x[0], x[1]); }, {a, bb});
        DYDIFF_CHECK_GRAD([](const auto& x) { return sub(x[0], x[1]); }, {a, bb});
        DYDIFF_CHECK_GRAD([](const auto& x) { return mul(x[0], x[1]); }, {a, bb});
        DYDIFF_CHECK_GRAD([](const auto& x) { return div(x[0], x[1]); }, {a, Array(xt::abs(bb) + 0.5f)});
        DYDIFF_CHECK_GRAD([](const auto& x) { return add(x[1], x[0]); }, {a, bb});
    }
}

BOOST_AUTO_TEST_CASE(binary_values) {
    const Tensor a(Array{{1, 2}, {3, 4}});
    const Tensor b(Array{10, 20});
    BOOST_TEST(close((a + b).value(), Array{{11, 22}, {13, 24}}));
    BOOST_TEST(close((a - 1.0f).value(), Array{{0, 1}, {2, 3}}));
    BOOST_TEST(close((2.0f * a).value(), Array{{2, 4}, {6, 8}}));
    BOOST_TEST(close((1.0f / a).value(), Array{{1, 0.5f}, {1.0f / 3, 0.25f}}));
}

BOOST_AUTO_TEST_CASE(broadcast_mismatch_names_op_and_shapes) {
    const Tensor a(xt::zeros<float>({3, 4}));
    const Tensor b(xt::zeros<float>({5}));
    try {
        add(a, b);
        BOOST_FAIL("no error");
    } catch (const dydiff::Error& e) {
        BOOST_TEST(std::string(e.what()).find("add: shapes (3, 4) and (5,) do not broadcast") != std::string::npos,
                   e.what());
    }
}

BOOST_AUTO_TEST_CASE(minimum_maximum_where) {
    const Array a = test_array({4, 5}, -1, 1, 4);
    const Array b = a + away_from_zero(test_array({4, 5}, -0.5f, 0.5f, 5), 0.1f);  // no ties
    DYDIFF_CHECK_GRAD([](const auto& x) { return minimum(x[0], x[1]); }, {a, b});
    DYDIFF_CHECK_GRAD([](const auto& x) { return maximum(x[0], x[1]); }, {a, b});
    const Array cond = xt::cast<float>(test_array({4, 5}, 0, 1, 6) > 0.5f);
    DYDIFF_CHECK_GRAD([&](const auto& x) { return where(cond, x[0], x[1]); }, {a, b});
    const Array col = test_array({4, 1}, -1, 1, 7);
    DYDIFF_CHECK_GRAD([&](const auto& x) { return where(cond, x[0], x[1]); }, {a, col});
    // Ties send the whole gradient to the first operand.
    Tensor p(Array{1.0f, 2.0f}, true), q(Array{1.0f, 3.0f}, true);
    sum(minimum(p, q)).backward();
    BOOST_TEST(close(p.grad(), Array{1, 1}));
    BOOST_TEST(close(q.grad(), Array{0, 0}));
}

BOOST_AUTO_TEST_CASE(unary_ops) {
    const Array x = test_array({2, 3, 4}, -2, 2, 8);
    const Array pos = test_array({2, 3, 4}, 0.2f, 3, 9);
    const Array kinkless = away_from_zero(test_array({2, 3, 4}, -1, 1, 10), 0.05f);
    DYDIFF_CHECK_GRAD([](const auto& v) { return neg(v[0]); }, {x});
    DYDIFF_CHECK_GRAD([](const auto& v) { return exp(v[0]); }, {x});
    DYDIFF_CHECK_GRAD([](const auto& v) { return log(v[0]); }, {pos});
    DYDIFF_CHECK_GRAD([](const auto& v) { return sqrt(v[0]); }, {pos});
    DYDIFF_CHECK_GRAD([](const auto& v) { return pow(v[0], 3.0f); }, {x});
    DYDIFF_CHECK_GRAD([](const auto& v) { return pow(v[0], -1.5f); }, {pos});
    DYDIFF_CHECK_GRAD([](const auto& v) { return abs(v[0]); }, {kinkless});
    DYDIFF_CHECK_GRAD([](const auto& v) { return square(v[0]); }, {x});
    DYDIFF_CHECK_GRAD([](const auto& v) { return tanh(v[0]); }, {x});
    DYDIFF_CHECK_GRAD([](const auto& v) { return sigmoid(v[0]); }, {x});
    DYDIFF_CHECK_GRAD([](const auto& v) { return relu(v[0]); }, {kinkless});
    DYDIFF_CHECK_GRAD([](const auto& v) { return softplus(v[0]); }, {x});
    // clamp's kinks at +-0.5: move entries away from them.
    Array c = x;
    for (auto& v : c) if (std::abs(std::abs(v) - 0.5f) < 0.05f) v += 0.1f;
    DYDIFF_CHECK_GRAD([](const auto& v) { return clamp(v[0], -0.5f, 0.5f); }, {c});
}

BOOST_AUTO_TEST_CASE(unary_values_at_extremes) {
    const Tensor x(Array{-100.0f, 0.0f, 100.0f});
    BOOST_TEST(close(softplus(x).value(), Array{0.0f, std::log(2.0f), 100.0f}));
    BOOST_TEST(close(sigmoid(x).value(), Array{0.0f, 0.5f, 1.0f}));
    BOOST_TEST(close(relu(x).value(), Array{0.0f, 0.0f, 100.0f}));
    BOOST_TEST(close(clamp(x, -1, 1).value(), Array{-1.0f, 0.0f, 1.0f}));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(ops_reduce)

BOOST_AUTO_TEST_CASE(sum_mean_every_axis_combination) {
    const Array x = test_array({2, 3, 4}, -1, 1, 11);
    for (bool keep : {false, true}) {
        for (const Axes& axes : {Axes{}, Axes{0}, Axes{1}, Axes{-1}, Axes{0, 2}, Axes{2, 0, 1}}) {
            DYDIFF_CHECK_GRAD([&](const auto& v) { return sum(v[0], axes, keep); }, {x});
            DYDIFF_CHECK_GRAD([&](const auto& v) { return mean(v[0], axes, keep); }, {x});
        }
    }
    BOOST_TEST(close(sum(Tensor(x), {1}, true).value(), Array(xt::sum(x, {1}, xt::keep_dims))));
    BOOST_TEST(close(mean(Tensor(x), {0, 2}).value(), Array(xt::mean(x, {0, 2}))));
    BOOST_TEST(sum(Tensor(x)).dim() == 0u);
}

BOOST_AUTO_TEST_CASE(max_and_logsumexp) {
    const Array x = test_array({3, 5, 2}, -2, 2, 12);
    for (std::int64_t axis : {0, 1, 2, -1})
        for (bool keep : {false, true}) {
            DYDIFF_CHECK_GRAD([&](const auto& v) { return max(v[0], axis, keep); }, {x});
            DYDIFF_CHECK_GRAD([&](const auto& v) { return logsumexp(v[0], axis, keep); }, {x});
        }
    const Tensor t(Array{{1, 5, 2}, {7, 0, 7}});
    BOOST_TEST(close(max(t, 1).value(), Array{5, 7}));
    const Tensor big(Array{1000.0f, 1000.0f});
    BOOST_TEST(close(logsumexp(big, 0).value(), Array(1000.0f + std::log(2.0f)), 1e-4f));
    // Ties: the first maximum takes the gradient.
    Tensor m(Array{{7, 0, 7}}, true);
    sum(max(m, 1)).backward();
    BOOST_TEST(close(m.grad(), Array{{1, 0, 0}}));
}

BOOST_AUTO_TEST_CASE(sum_to_shape_undoes_broadcasting) {
    const Array g = xt::ones<float>({2, 3, 4});
    BOOST_TEST(close(sum_to_shape(g, Array::shape_type{4}), Array{6, 6, 6, 6}));
    BOOST_TEST(close(sum_to_shape(g, Array::shape_type{3, 1}), Array(8.0f * xt::ones<float>({3, 1}))));
    BOOST_TEST(close(sum_to_shape(g, Array::shape_type{}), Array(24.0f)));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(ops_shape)

BOOST_AUTO_TEST_CASE(reshape_permute_transpose) {
    const Array x = test_array({2, 3, 4}, -1, 1, 13);
    DYDIFF_CHECK_GRAD([](const auto& v) { return reshape(v[0], {4, -1}); }, {x});
    DYDIFF_CHECK_GRAD([](const auto& v) { return permute(v[0], {2, 0, 1}); }, {x});
    DYDIFF_CHECK_GRAD([](const auto& v) { return transpose(v[0]); }, {x});
    DYDIFF_CHECK_GRAD([](const auto& v) { return transpose(v[0], 0, 2); }, {x});
    const Tensor t(Array{{1, 2, 3}, {4, 5, 6}});
    BOOST_TEST(close(transpose(t).value(), Array{{1, 4}, {2, 5}, {3, 6}}));
    BOOST_TEST(reshape(t, {3, 2}).shape() == (Shape{3, 2}));
    BOOST_CHECK_THROW(reshape(t, {4, -1}), dydiff::Error);
    BOOST_CHECK_THROW(permute(t, {0, 0}), dydiff::Error);
}

BOOST_AUTO_TEST_CASE(concat_and_slice) {
    const Array a = test_array({2, 3, 4}, -1, 1, 14);
    const Array b = test_array({2, 1, 4}, -1, 1, 15);
    const Array c = test_array({2, 2, 4}, -1, 1, 16);
    DYDIFF_CHECK_GRAD([](const auto& v) { return concat({v[0], v[1], v[2]}, 1); }, {a, b, c});
    DYDIFF_CHECK_GRAD([](const auto& v) { return concat({v[0], v[0]}, -1); }, {a});
    DYDIFF_CHECK_GRAD([](const auto& v) { return slice(v[0], 2, 1, 3); }, {a});
    DYDIFF_CHECK_GRAD([](const auto& v) { return slice(v[0], 0, 1, 2); }, {a});
    const Tensor t(Array{{1, 2}, {3, 4}});
    BOOST_TEST(close(concat({t, t}, 1).value(), Array{{1, 2, 1, 2}, {3, 4, 3, 4}}));
    BOOST_TEST(close(slice(t, 1, 1, 2).value(), xt::reshape_view(Array{2.0f, 4.0f}, {2, 1})));
    BOOST_CHECK_THROW(concat({t, Tensor(xt::zeros<float>({3, 3}))}, 1), dydiff::Error);
    BOOST_CHECK_THROW(slice(t, 0, 1, 3), dydiff::Error);
}

BOOST_AUTO_TEST_CASE(gather_rows_repeats_add_up) {
    const Array a = test_array({4, 3}, -1, 1, 17);
    DYDIFF_CHECK_GRAD([](const auto& v) { return gather_rows(v[0], {3, 0, 3, 1}); }, {a});
    Tensor t(Array{{1, 2}, {3, 4}}, true);
    Tensor g = gather_rows(t, {1, 1, 0});
    BOOST_TEST(close(g.value(), Array{{3, 4}, {3, 4}, {1, 2}}));
    sum(g).backward();
    BOOST_TEST(close(t.grad(), Array{{1, 1}, {2, 2}}));
    BOOST_CHECK_THROW(gather_rows(t, {2}), dydiff::Error);
}

BOOST_AUTO_TEST_CASE(stop_gradient_blocks) {
    Tensor x(Array{1.0f, 2.0f}, true);
    Tensor y = sum(mul(x, stop_gradient(x)));  // d/dx = stop_gradient(x) only
    y.backward();
    BOOST_TEST(close(x.grad(), Array{1.0f, 2.0f}));
}

BOOST_AUTO_TEST_SUITE_END()
