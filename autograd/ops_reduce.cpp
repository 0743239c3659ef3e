// Reductions and sum_to_shape, the helper that undoes broadcasting in every binary op's backward.
// Each op is followed by its backward. max and logsumexp reduce one axis with raw loops over the
// (outer, n, inner) view of the contiguous input (autograd/ops_util.hpp).
#include "autograd/ops.hpp"
#include "autograd/ops_util.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace dydiff::autograd {

using detail::axis_view;
using detail::normalize_axis;

Array sum_to_shape(const Array& g, const Array::shape_type& shape) {
    if (g.shape() == shape) return g;
    const std::size_t rank = g.dimension();
    DYDIFF_CHECK(shape.size() <= rank, "sum_to_shape: target " << shape_str(shape) << " has more axes than "
                                                               << shape_str(g.shape()));
    // Broadcasting prepended (rank - shape.size()) axes and stretched axes of size 1: sum over both.
    const std::size_t lead = rank - shape.size();
    std::vector<std::size_t> axes;
    for (std::size_t i = 0; i < rank; ++i) {
        if (i < lead) {
            axes.push_back(i);
        } else {
            DYDIFF_CHECK(shape[i - lead] == g.shape()[i] || shape[i - lead] == 1,
                         "sum_to_shape: " << shape_str(g.shape()) << " does not reduce to " << shape_str(shape));
            if (shape[i - lead] == 1 && g.shape()[i] != 1) axes.push_back(i);
        }
    }
    Array reduced = xt::sum(g, axes, xt::evaluation_strategy::immediate);
    reduced.reshape(shape);
    return reduced;
}

// ---- sum / mean ---------------------------------------------------------------------------------------------------

namespace {

// The reduced axes, sorted and unique, from possibly negative axes (empty = all).
std::vector<std::size_t> reduce_axes(const Axes& axes, std::size_t rank, const char* op) {
    std::vector<std::size_t> out;
    if (axes.empty()) {
        for (std::size_t i = 0; i < rank; ++i) out.push_back(i);
        return out;
    }
    for (auto a : axes) out.push_back(normalize_axis(a, rank, op));
    std::sort(out.begin(), out.end());
    DYDIFF_CHECK(std::adjacent_find(out.begin(), out.end()) == out.end(), op << ": repeated axis");
    return out;
}

// The input shape with every reduced axis set to 1 (the keepdims shape).
Array::shape_type keepdims_shape(const Array::shape_type& in, const std::vector<std::size_t>& axes) {
    Array::shape_type s = in;
    for (auto a : axes) s[a] = 1;
    return s;
}

// out.grad has the reduced shape (with or without kept dims): broadcast it back over the input, times `scale`.
Array expand_grad(const Node& out, const Node& in, float scale) {
    Array g = out.grad;
    std::vector<std::size_t> axes(out.ints.begin(), out.ints.end());
    g.reshape(keepdims_shape(in.value.shape(), axes));
    return xt::broadcast(g * scale, in.value.shape());
}

}  // namespace

// ints: the reduced axes.
static void sum_backward(Node& out) {
    Node& a = *out.inputs[0];
    if (a.requires_grad) a.grad_add(expand_grad(out, a, 1.0f));
}

Tensor sum(const Tensor& a, const Axes& axes, bool keepdims) {
    const auto ax = reduce_axes(axes, a.dim(), "sum");
    Array value = xt::sum(a.value(), ax, xt::evaluation_strategy::immediate);
    if (keepdims) value.reshape(keepdims_shape(a.value().shape(), ax));
    Tensor out = make_result(std::move(value), {a}, &sum_backward, "sum");
    if (is_recorded(out)) out.node().ints.assign(ax.begin(), ax.end());
    return out;
}

// ints: the reduced axes; scalars[0]: 1 / (number of entries averaged).
static void mean_backward(Node& out) {
    Node& a = *out.inputs[0];
    if (a.requires_grad) a.grad_add(expand_grad(out, a, static_cast<float>(out.scalars[0])));
}

Tensor mean(const Tensor& a, const Axes& axes, bool keepdims) {
    const auto ax = reduce_axes(axes, a.dim(), "mean");
    std::size_t count = 1;
    for (auto i : ax) count *= a.value().shape()[i];
    DYDIFF_CHECK(count > 0, "mean: reduces over an empty axis of shape " << shape_str(a.value().shape()));
    Array value = xt::sum(a.value(), ax, xt::evaluation_strategy::immediate);
    value /= static_cast<float>(count);
    if (keepdims) value.reshape(keepdims_shape(a.value().shape(), ax));
    Tensor out = make_result(std::move(value), {a}, &mean_backward, "mean");
    if (is_recorded(out)) {
        out.node().ints.assign(ax.begin(), ax.end());
        out.node().scalars.push_back(1.0 / static_cast<double>(count));
    }
    return out;
}

// ---- max over one axis --------------------------------------------------------------------------------------------

namespace {

Array::shape_type reduced_shape(const Array::shape_type& in, std::size_t axis, bool keepdims) {
    Array::shape_type s;
    for (std::size_t i = 0; i < in.size(); ++i) {
        if (i != axis) s.push_back(in[i]);
        else if (keepdims) s.push_back(1);
    }
    return s;
}

}  // namespace

// ints: {axis, argmax of each (outer, inner) line...}: the gradient goes to the first maximal entry.
static void max_backward(Node& out) {
    Node& a = *out.inputs[0];
    if (!a.requires_grad) return;
    const auto v = axis_view(a.value.shape(), static_cast<std::size_t>(out.ints[0]));
    Array g = xt::zeros<float>(a.value.shape());
    const float* dout = out.grad.data();  // (outer, inner)
    for (std::size_t o = 0; o < v.outer; ++o)
        for (std::size_t i = 0; i < v.inner; ++i) {
            const auto j = static_cast<std::size_t>(out.ints[1 + o * v.inner + i]);
            g.data()[(o * v.n + j) * v.inner + i] = dout[o * v.inner + i];
        }
    a.grad_add(std::move(g));
}

Tensor max(const Tensor& a, std::int64_t axis, bool keepdims) {
    const std::size_t ax = normalize_axis(axis, a.dim(), "max");
    const auto v = axis_view(a.value().shape(), ax);
    DYDIFF_CHECK(v.n > 0, "max: empty axis " << ax << " in shape " << shape_str(a.value().shape()));
    Array value = xt::empty<float>(reduced_shape(a.value().shape(), ax, keepdims));
    std::vector<std::int64_t> argmax(v.outer * v.inner);
    const float* in = a.value().data();  // (outer, n, inner)
    for (std::size_t o = 0; o < v.outer; ++o)
        for (std::size_t i = 0; i < v.inner; ++i) {
            std::size_t best = 0;
            for (std::size_t j = 1; j < v.n; ++j)
                if (in[(o * v.n + j) * v.inner + i] > in[(o * v.n + best) * v.inner + i]) best = j;
            value.data()[o * v.inner + i] = in[(o * v.n + best) * v.inner + i];
            argmax[o * v.inner + i] = static_cast<std::int64_t>(best);
        }
    Tensor out = make_result(std::move(value), {a}, &max_backward, "max");
    if (is_recorded(out)) {
        out.node().ints = {static_cast<std::int64_t>(ax)};
        out.node().ints.insert(out.node().ints.end(), argmax.begin(), argmax.end());
    }
    return out;
}

// ---- logsumexp over one axis --------------------------------------------------------------------------------------

// ints: {axis}. d lse / d a_j = softmax(a)_j = exp(a_j - lse).
static void logsumexp_backward(Node& out) {
    Node& a = *out.inputs[0];
    if (!a.requires_grad) return;
    const auto v = axis_view(a.value.shape(), static_cast<std::size_t>(out.ints[0]));
    Array g = xt::empty<float>(a.value.shape());
    const float* in = a.value.data();
    for (std::size_t o = 0; o < v.outer; ++o)
        for (std::size_t i = 0; i < v.inner; ++i) {
            const float lse = out.value.data()[o * v.inner + i];
            const float dout = out.grad.data()[o * v.inner + i];
            for (std::size_t j = 0; j < v.n; ++j) {
                const std::size_t k = (o * v.n + j) * v.inner + i;
                g.data()[k] = dout * std::exp(in[k] - lse);
            }
        }
    a.grad_add(std::move(g));
}

Tensor logsumexp(const Tensor& a, std::int64_t axis, bool keepdims) {
    const std::size_t ax = normalize_axis(axis, a.dim(), "logsumexp");
    const auto v = axis_view(a.value().shape(), ax);
    DYDIFF_CHECK(v.n > 0, "logsumexp: empty axis " << ax << " in shape " << shape_str(a.value().shape()));
    Array value = xt::empty<float>(reduced_shape(a.value().shape(), ax, keepdims));
    const float* in = a.value().data();
    for (std::size_t o = 0; o < v.outer; ++o)
        for (std::size_t i = 0; i < v.inner; ++i) {
            float m = -std::numeric_limits<float>::infinity();
            for (std::size_t j = 0; j < v.n; ++j) m = std::max(m, in[(o * v.n + j) * v.inner + i]);
            double s = 0.0;
            for (std::size_t j = 0; j < v.n; ++j) s += std::exp(static_cast<double>(in[(o * v.n + j) * v.inner + i] - m));
            // All entries -inf: the sum is empty, and so is the log (-inf), not NaN.
            value.data()[o * v.inner + i] = std::isinf(m) && m < 0 ? m : m + static_cast<float>(std::log(s));
        }
    Tensor out = make_result(std::move(value), {a}, &logsumexp_backward, "logsumexp");
    if (is_recorded(out)) out.node().ints = {static_cast<std::int64_t>(ax)};
    return out;
}

}  // namespace dydiff::autograd
