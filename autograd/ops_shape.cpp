// Shape ops, each followed by its backward. Results are always fresh contiguous row-major arrays (never views).
// concat, slice and gather_rows copy blocks through the (outer, n, inner) view of ops_util.hpp.
#include "autograd/ops.hpp"
#include "autograd/ops_util.hpp"

#include <algorithm>
#include <cstring>
#include <numeric>

namespace dydiff::autograd {

using detail::axis_view;
using detail::normalize_axis;

// ---- reshape ------------------------------------------------------------------------------------------------------

static void reshape_backward(Node& out) {
    Node& a = *out.inputs[0];
    if (!a.requires_grad) return;
    Array g = out.grad;
    g.reshape(a.value.shape());
    a.grad_add(std::move(g));
}

Tensor reshape(const Tensor& a, const std::vector<std::int64_t>& shape) {
    const std::size_t total = a.numel();
    std::size_t known = 1;
    std::ptrdiff_t infer = -1;
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (shape[i] == -1) {
            DYDIFF_CHECK(infer < 0, "reshape: more than one -1 in the new shape");
            infer = static_cast<std::ptrdiff_t>(i);
        } else {
            DYDIFF_CHECK(shape[i] >= 0, "reshape: negative size " << shape[i]);
            known *= static_cast<std::size_t>(shape[i]);
        }
    }
    Array::shape_type s(shape.size());
    for (std::size_t i = 0; i < shape.size(); ++i) s[i] = shape[i] < 0 ? 0 : static_cast<std::size_t>(shape[i]);
    if (infer >= 0) {
        DYDIFF_CHECK(known > 0 && total % known == 0,
                     "reshape: cannot infer -1 for " << total << " elements of shape " << shape_str(a.value().shape()));
        s[static_cast<std::size_t>(infer)] = total / known;
        known *= total / known;
    }
    DYDIFF_CHECK(known == total, "reshape: " << shape_str(a.value().shape()) << " (" << total << " elements) cannot become "
                                             << shape_str(shape));
    Array value = a.value();
    value.reshape(s);
    return make_result(std::move(value), {a}, &reshape_backward, "reshape");
}

// ---- permute / transpose ------------------------------------------------------------------------------------------

// ints: the permutation; the gradient goes back through its inverse.
static void permute_backward(Node& out) {
    Node& a = *out.inputs[0];
    if (!a.requires_grad) return;
    std::vector<std::size_t> inverse(out.ints.size());
    for (std::size_t i = 0; i < out.ints.size(); ++i) inverse[static_cast<std::size_t>(out.ints[i])] = i;
    a.grad_add(Array(xt::transpose(out.grad, inverse)));
}

Tensor permute(const Tensor& a, const Axes& perm) {
    DYDIFF_CHECK(perm.size() == a.dim(), "permute: " << perm.size() << " axes given for shape "
                                                     << shape_str(a.value().shape()));
    std::vector<std::size_t> p;
    for (auto ax : perm) p.push_back(normalize_axis(ax, a.dim(), "permute"));
    std::vector<std::size_t> sorted = p;
    std::sort(sorted.begin(), sorted.end());
    for (std::size_t i = 0; i < sorted.size(); ++i)
        DYDIFF_CHECK(sorted[i] == i, "permute: " << shape_str(perm) << " is not a permutation of the axes");
    Tensor out = make_result(Array(xt::transpose(a.value(), p)), {a}, &permute_backward, "permute");
    if (is_recorded(out)) out.node().ints.assign(p.begin(), p.end());
    return out;
}

Tensor transpose(const Tensor& a, std::int64_t axis0, std::int64_t axis1) {
    DYDIFF_CHECK(a.dim() >= 2, "transpose: needs rank >= 2, got shape " << shape_str(a.value().shape()));
    Axes perm(a.dim());
    std::iota(perm.begin(), perm.end(), 0);
    std::swap(perm[normalize_axis(axis0, a.dim(), "transpose")], perm[normalize_axis(axis1, a.dim(), "transpose")]);
    return permute(a, perm);
}

// ---- concat -------------------------------------------------------------------------------------------------------

// ints: {axis}; each input gets its block of out.grad back.
static void concat_backward(Node& out) {
    const auto axis = static_cast<std::size_t>(out.ints[0]);
    const auto vo = axis_view(out.value.shape(), axis);
    std::size_t offset = 0;  // along the axis
    for (auto& in : out.inputs) {
        const auto vi = axis_view(in->value.shape(), axis);
        if (in->requires_grad) {
            Array g = xt::empty<float>(in->value.shape());
            for (std::size_t o = 0; o < vo.outer; ++o)
                std::memcpy(g.data() + o * vi.n * vi.inner, out.grad.data() + (o * vo.n + offset) * vo.inner,
                            vi.n * vi.inner * sizeof(float));
            in->grad_add(std::move(g));
        }
        offset += vi.n;
    }
}

Tensor concat(const std::vector<Tensor>& parts, std::int64_t axis) {
    DYDIFF_CHECK(!parts.empty(), "concat: no tensors given");
    const auto& first = parts[0].value().shape();
    const std::size_t ax = normalize_axis(axis, first.size(), "concat");
    Array::shape_type shape = first;
    shape[ax] = 0;
    for (const Tensor& t : parts) {
        const auto& s = t.value().shape();
        bool ok = s.size() == first.size();
        for (std::size_t i = 0; ok && i < s.size(); ++i) ok = i == ax || s[i] == first[i];
        DYDIFF_CHECK(ok, "concat: shape " << shape_str(s) << " does not fit " << shape_str(first) << " along axis " << ax);
        shape[ax] += s[ax];
    }
    Array value = xt::empty<float>(shape);
    const auto vo = axis_view(shape, ax);
    std::size_t offset = 0;
    for (const Tensor& t : parts) {
        const auto vi = axis_view(t.value().shape(), ax);
        for (std::size_t o = 0; o < vo.outer; ++o)
            std::memcpy(value.data() + (o * vo.n + offset) * vo.inner, t.value().data() + o * vi.n * vi.inner,
                        vi.n * vi.inner * sizeof(float));
        offset += vi.n;
    }
    Tensor out = make_result(std::move(value), parts, &concat_backward, "concat");
    if (is_recorded(out)) out.node().ints = {static_cast<std::int64_t>(ax)};
    return out;
}

// ---- slice --------------------------------------------------------------------------------------------------------

// ints: {axis, start}.
static void slice_backward(Node& out) {
    Node& a = *out.inputs[0];
    if (!a.requires_grad) return;
    const auto axis = static_cast<std::size_t>(out.ints[0]);
    const auto start = static_cast<std::size_t>(out.ints[1]);
    const auto va = axis_view(a.value.shape(), axis);
    const auto vo = axis_view(out.value.shape(), axis);
    Array g = xt::zeros<float>(a.value.shape());
    for (std::size_t o = 0; o < va.outer; ++o)
        std::memcpy(g.data() + (o * va.n + start) * va.inner, out.grad.data() + o * vo.n * vo.inner,
                    vo.n * vo.inner * sizeof(float));
    a.grad_add(std::move(g));
}

Tensor slice(const Tensor& a, std::int64_t axis, std::size_t start, std::size_t end) {
    const std::size_t ax = normalize_axis(axis, a.dim(), "slice");
    const auto va = axis_view(a.value().shape(), ax);
    DYDIFF_CHECK(start <= end && end <= va.n, "slice: [" << start << ", " << end << ") out of range for axis " << ax
                                                          << " of shape " << shape_str(a.value().shape()));
    Array::shape_type shape = a.value().shape();
    shape[ax] = end - start;
    Array value = xt::empty<float>(shape);
    const std::size_t block = (end - start) * va.inner;
    for (std::size_t o = 0; o < va.outer; ++o)
        std::memcpy(value.data() + o * block, a.value().data() + (o * va.n + start) * va.inner, block * sizeof(float));
    Tensor out = make_result(std::move(value), {a}, &slice_backward, "slice");
    if (is_recorded(out)) out.node().ints = {static_cast<std::int64_t>(ax), static_cast<std::int64_t>(start)};
    return out;
}

// ---- gather_rows --------------------------------------------------------------------------------------------------

// ints: the row indices; repeated rows add their gradients.
static void gather_rows_backward(Node& out) {
    Node& a = *out.inputs[0];
    if (!a.requires_grad) return;
    const std::size_t row = a.value.shape()[0] == 0 ? 0 : a.value.size() / a.value.shape()[0];
    Array g = xt::zeros<float>(a.value.shape());
    for (std::size_t r = 0; r < out.ints.size(); ++r) {
        float* dst = g.data() + static_cast<std::size_t>(out.ints[r]) * row;
        const float* src = out.grad.data() + r * row;
        for (std::size_t k = 0; k < row; ++k) dst[k] += src[k];
    }
    a.grad_add(std::move(g));
}

Tensor gather_rows(const Tensor& a, const std::vector<std::size_t>& rows) {
    DYDIFF_CHECK(a.dim() >= 1, "gather_rows: needs rank >= 1");
    const std::size_t n = a.value().shape()[0];
    const std::size_t row = n == 0 ? 0 : a.numel() / n;
    Array::shape_type shape = a.value().shape();
    shape[0] = rows.size();
    Array value = xt::empty<float>(shape);
    for (std::size_t r = 0; r < rows.size(); ++r) {
        DYDIFF_CHECK(rows[r] < n, "gather_rows: index " << rows[r] << " out of range for " << n << " rows");
        std::memcpy(value.data() + r * row, a.value().data() + rows[r] * row, row * sizeof(float));
    }
    Tensor out = make_result(std::move(value), {a}, &gather_rows_backward, "gather_rows");
    if (is_recorded(out)) out.node().ints.assign(rows.begin(), rows.end());
    return out;
}

Tensor stop_gradient(const Tensor& a) { return a.detach(); }

}  // namespace dydiff::autograd
