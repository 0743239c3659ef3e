// Elementwise ops, each followed by its backward. Binary ops broadcast (numpy rules) and reduce the gradient back
// to each operand's shape with sum_to_shape. Every backward accumulates (grad_add) and skips inputs that do not
// require a gradient.
#include "autograd/ops.hpp"
#include "autograd/ops_util.hpp"

#include <cmath>

namespace dydiff::autograd {

using detail::broadcast_shape;

Tensor scalar(float v) { return Tensor(Array(v), false); }

// ---- add / sub ----------------------------------------------------------------------------------------------------

static void add_backward(Node& out) {
    for (auto& in : out.inputs)
        if (in->requires_grad) in->grad_add(sum_to_shape(out.grad, in->value.shape()));
}

Tensor add(const Tensor& a, const Tensor& b) {
    broadcast_shape(a.value().shape(), b.value().shape(), "add");
    return make_result(a.value() + b.value(), {a, b}, &add_backward, "add");
}

static void sub_backward(Node& out) {
    Node& a = *out.inputs[0];
    Node& b = *out.inputs[1];
    if (a.requires_grad) a.grad_add(sum_to_shape(out.grad, a.value.shape()));
    if (b.requires_grad) b.grad_add(sum_to_shape(-out.grad, b.value.shape()));
}

Tensor sub(const Tensor& a, const Tensor& b) {
    broadcast_shape(a.value().shape(), b.value().shape(), "sub");
    return make_result(a.value() - b.value(), {a, b}, &sub_backward, "sub");
}

// ---- mul / div ----------------------------------------------------------------------------------------------------

static void mul_backward(Node& out) {
    Node& a = *out.inputs[0];
    Node& b = *out.inputs[1];
    if (a.requires_grad) a.grad_add(sum_to_shape(out.grad * b.value, a.value.shape()));
    if (b.requires_grad) b.grad_add(sum_to_shape(out.grad * a.value, b.value.shape()));
}

Tensor mul(const Tensor& a, const Tensor& b) {
    broadcast_shape(a.value().shape(), b.value().shape(), "mul");
    return make_result(a.value() * b.value(), {a, b}, &mul_backward, "mul");
}

// d(a/b)/da = 1/b, d(a/b)/db = -a/b^2 = -out/b.
static void div_backward(Node& out) {
    Node& a = *out.inputs[0];
    Node& b = *out.inputs[1];
    if (a.requires_grad) a.grad_add(sum_to_shape(out.grad / b.value, a.value.shape()));
    if (b.requires_grad) b.grad_add(sum_to_shape(-out.grad * out.value / b.value, b.value.shape()));
}

Tensor div(const Tensor& a, const Tensor& b) {
    broadcast_shape(a.value().shape(), b.value().shape(), "div");
    return make_result(a.value() / b.value(), {a, b}, &div_backward, "div");
}

// ---- minimum / maximum --------------------------------------------------------------------------------------------

// saved[0]: 1 where the result came from a (ties included), else 0; already of the broadcast shape.
static void select_backward(Node& out) {
    Node& a = *out.inputs[0];
    Node& b = *out.inputs[1];
    const Array& from_a = out.saved[0];
    if (a.requires_grad) a.grad_add(sum_to_shape(out.grad * from_a, a.value.shape()));
    if (b.requires_grad) b.grad_add(sum_to_shape(out.grad * (1.0f - from_a), b.value.shape()));
}

Tensor minimum(const Tensor& a, const Tensor& b) {
    broadcast_shape(a.value().shape(), b.value().shape(), "minimum");
    Array from_a = xt::cast<float>(a.value() <= b.value());
    Tensor out = make_result(xt::minimum(a.value(), b.value()), {a, b}, &select_backward, "minimum");
    if (is_recorded(out)) out.node().saved.push_back(std::move(from_a));
    return out;
}

Tensor maximum(const Tensor& a, const Tensor& b) {
    broadcast_shape(a.value().shape(), b.value().shape(), "maximum");
    Array from_a = xt::cast<float>(a.value() >= b.value());
    Tensor out = make_result(xt::maximum(a.value(), b.value()), {a, b}, &select_backward, "maximum");
    if (is_recorded(out)) out.node().saved.push_back(std::move(from_a));
    return out;
}

Tensor where(const Array& cond, const Tensor& a, const Tensor& b) {
    const Shape ab = broadcast_shape(a.value().shape(), b.value().shape(), "where");
    broadcast_shape(cond.shape(), ab, "where");
    Array from_a = xt::broadcast(xt::cast<float>(xt::not_equal(cond, 0.0f)), ab);
    Tensor out = make_result(xt::where(xt::not_equal(cond, 0.0f), a.value(), b.value()), {a, b}, &select_backward,
                             "where");
    if (is_recorded(out)) out.node().saved.push_back(std::move(from_a));
    return out;
}

// ---- unary ops: value, then d(out)/d(a) as a function of a and out -------------------------------------------------

static void neg_backward(Node& out) {
    Node& a = *out.inputs[0];
    if (a.requires_grad) a.grad_add(Array(-out.grad));
}

Tensor neg(const Tensor& a) { return make_result(-a.value(), {a}, &neg_backward, "neg"); }

static void exp_backward(Node& out) {
    Node& a = *out.inputs[0];
    if (a.requires_grad) a.grad_add(Array(out.grad * out.value));
}

Tensor exp(const Tensor& a) { return make_result(xt::exp(a.value()), {a}, &exp_backward, "exp"); }

static void log_backward(Node& out) {
    Node& a = *out.inputs[0];
    if (a.requires_grad) a.grad_add(Array(out.grad / a.value));
}

Tensor log(const Tensor& a) { return make_result(xt::log(a.value()), {a}, &log_backward, "log"); }

static void sqrt_backward(Node& out) {
    Node& a = *out.inputs[0];
    if (a.requires_grad) a.grad_add(Array(out.grad * 0.5f / out.value));
}

Tensor sqrt(const Tensor& a) { return make_result(xt::sqrt(a.value()), {a}, &sqrt_backward, "sqrt"); }

// scalars[0]: the exponent p; d(a^p)/da = p * a^(p-1).
static void pow_backward(Node& out) {
    Node& a = *out.inputs[0];
    const auto p = static_cast<float>(out.scalars[0]);
    if (a.requires_grad) a.grad_add(Array(out.grad * p * xt::pow(a.value, p - 1.0f)));
}

Tensor pow(const Tensor& a, float p) {
    Tensor out = make_result(xt::pow(a.value(), p), {a}, &pow_backward, "pow");
    if (is_recorded(out)) out.node().scalars.push_back(p);
    return out;
}

static void abs_backward(Node& out) {
    Node& a = *out.inputs[0];
    if (a.requires_grad) a.grad_add(Array(out.grad * xt::sign(a.value)));
}

Tensor abs(const Tensor& a) { return make_result(xt::abs(a.value()), {a}, &abs_backward, "abs"); }

static void square_backward(Node& out) {
    Node& a = *out.inputs[0];
    if (a.requires_grad) a.grad_add(Array(2.0f * out.grad * a.value));
}

Tensor square(const Tensor& a) { return make_result(a.value() * a.value(), {a}, &square_backward, "square"); }

static void tanh_backward(Node& out) {
    Node& a = *out.inputs[0];
    if (a.requires_grad) a.grad_add(Array(out.grad * (1.0f - out.value * out.value)));
}

Tensor tanh(const Tensor& a) { return make_result(xt::tanh(a.value()), {a}, &tanh_backward, "tanh"); }

static void sigmoid_backward(Node& out) {
    Node& a = *out.inputs[0];
    if (a.requires_grad) a.grad_add(Array(out.grad * out.value * (1.0f - out.value)));
}

// NOTE: 1 / (1 + e^-x) overflows e^-x to inf for x < -88, which still gives the right limit 0.
Tensor sigmoid(const Tensor& a) {
    return make_result(1.0f / (1.0f + xt::exp(-a.value())), {a}, &sigmoid_backward, "sigmoid");
}

static void relu_backward(Node& out) {
    Node& a = *out.inputs[0];
    if (a.requires_grad) a.grad_add(Array(out.grad * xt::cast<float>(a.value > 0.0f)));
}

Tensor relu(const Tensor& a) { return make_result(xt::maximum(a.value(), 0.0f), {a}, &relu_backward, "relu"); }

// d softplus(a)/da = sigmoid(a).
static void softplus_backward(Node& out) {
    Node& a = *out.inputs[0];
    if (a.requires_grad) a.grad_add(Array(out.grad / (1.0f + xt::exp(-a.value))));
}

// log(1 + e^a) = max(a, 0) + log1p(e^-|a|): never overflows.
Tensor softplus(const Tensor& a) {
    return make_result(xt::maximum(a.value(), 0.0f) + xt::log1p(xt::exp(-xt::abs(a.value()))), {a},
                       &softplus_backward, "softplus");
}

// scalars: lo, hi.
static void clamp_backward(Node& out) {
    Node& a = *out.inputs[0];
    const auto lo = static_cast<float>(out.scalars[0]);
    const auto hi = static_cast<float>(out.scalars[1]);
    if (a.requires_grad) a.grad_add(Array(out.grad * xt::cast<float>(a.value >= lo && a.value <= hi)));
}

Tensor clamp(const Tensor& a, float lo, float hi) {
    DYDIFF_CHECK(lo <= hi, "clamp: lo " << lo << " > hi " << hi);
    Tensor out = make_result(xt::clip(a.value(), lo, hi), {a}, &clamp_backward, "clamp");
    if (is_recorded(out)) out.node().scalars = {lo, hi};
    return out;
}

}  // namespace dydiff::autograd
