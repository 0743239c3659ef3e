// conv1d and conv_transpose1d as autograd ops: shape checks at the boundary, the simd kernels inside, each op's
// backward directly above it (as in autograd/ops_elementwise.cpp). The node keeps x, w[, bias] as inputs and
// ints = {stride, padding}; the backward accumulates into the grads of the inputs that require one.
#include "nn/conv_ops.hpp"

#include "autograd/error.hpp"
#include "nn/simd/conv1d.hpp"

#include <cstdint>
#include <utility>
#include <vector>

namespace dydiff::nn {

using autograd::Array;
using autograd::Node;
using autograd::Tensor;

namespace {

// The kernel sizes of x (B, C_in, H) and w: (C_out, C_in, K), or (C_in, C_out, K) when transposed.
simd::Conv1dDims dims_of(const Array& x, const Array& w, bool transposed, std::size_t stride, std::size_t padding) {
    return {x.shape()[0], x.shape()[1], x.shape()[2], w.shape()[transposed ? 1 : 0], w.shape()[2], stride, padding};
}

// Checks the operands of conv1d (transposed = false: w is (C_out, C_in, K)) or conv_transpose1d (transposed =
// true: w is (C_in, C_out, K)) and returns the kernel sizes. Every message names the op and the shapes.
simd::Conv1dDims checked_dims(const char* op, bool transposed, const Array& x, const Array& w, const Tensor& bias,
                              std::size_t stride, std::size_t padding) {
    const char* w_layout = transposed ? "(C_in, C_out, K)" : "(C_out, C_in, K)";
    DYDIFF_CHECK(x.dimension() == 3, op << ": input " << shape_str(x.shape()) << " must be (B, C_in, H)");
    DYDIFF_CHECK(w.dimension() == 3, op << ": weight " << shape_str(w.shape()) << " must be " << w_layout);
    const simd::Conv1dDims d = dims_of(x, w, transposed, stride, padding);
    const std::size_t w_c_in = w.shape()[transposed ? 0 : 1];
    DYDIFF_CHECK(d.C_in == w_c_in, op << ": input " << shape_str(x.shape()) << " has " << d.C_in
                                      << " channels, weight " << shape_str(w.shape()) << " expects " << w_c_in);
    DYDIFF_CHECK(d.K >= 1, op << ": weight " << shape_str(w.shape()) << " has kernel length 0");
    DYDIFF_CHECK(stride >= 1, op << ": stride must be >= 1, got 0");
    if (bias.defined())
        DYDIFF_CHECK(bias.dim() == 1 && bias.size(0) == d.C_out,
                     op << ": bias " << shape_str(bias.shape()) << " does not match weight " << shape_str(w.shape())
                        << ": expected (" << d.C_out << ",)");
    if (transposed) {
        const auto h_out = (static_cast<std::int64_t>(d.H_in) - 1) * static_cast<std::int64_t>(stride) -
                           2 * static_cast<std::int64_t>(padding) + static_cast<std::int64_t>(d.K);
        DYDIFF_CHECK(d.H_in >= 1 && h_out >= 1,
                     op << ": input " << shape_str(x.shape()) << " with stride " << stride << ", padding " << padding
                        << " and kernel " << d.K << " gives output length " << h_out << " (must be >= 1)");
    } else {
        DYDIFF_CHECK(d.H_in + 2 * padding >= d.K,
                     op << ": input " << shape_str(x.shape()) << " has length " << d.H_in << ", shorter than kernel "
                        << d.K << " with padding " << padding);
    }
    return d;
}

// The sizes an op recorded: x and w are its first two inputs, ints = {stride, padding}.
simd::Conv1dDims recorded_dims(const Node& out, bool transposed) {
    return dims_of(out.inputs[0]->value, out.inputs[1]->value, transposed, static_cast<std::size_t>(out.ints[0]),
                   static_cast<std::size_t>(out.ints[1]));
}

// The grad of an input to accumulate into, or nullptr when it needs none.
float* grad_target(Node* in) { return in && in->requires_grad ? in->grad_buffer().data() : nullptr; }

// Records the node's inputs (bias only when defined) and attributes.
Tensor record(Array y, const Tensor& x, const Tensor& w, const Tensor& bias, std::size_t stride, std::size_t padding,
              autograd::BackwardFn backward, const char* op) {
    std::vector<Tensor> inputs{x, w};
    if (bias.defined()) inputs.push_back(bias);
    Tensor out = autograd::make_result(std::move(y), inputs, backward, op);
    if (autograd::is_recorded(out)) {
        out.node().ints.push_back(static_cast<std::int64_t>(stride));
        out.node().ints.push_back(static_cast<std::int64_t>(padding));
    }
    return out;
}

}  // namespace

// ---- conv1d -------------------------------------------------------------------------------------------------------

static void conv1d_backward(Node& out) {
    const simd::Conv1dDims d = recorded_dims(out, /*transposed=*/false);
    Node& x = *out.inputs[0];                                             // (B, C_in, H)
    Node& w = *out.inputs[1];                                             // (C_out, C_in, K)
    Node* bias = out.inputs.size() > 2 ? out.inputs[2].get() : nullptr;  // (C_out)
    simd::conv1d_backward(d, x.value.data(), w.value.data(), out.grad.data(),  // dy (B, C_out, H_out)
                          grad_target(&x), grad_target(&w), grad_target(bias));
}

Tensor conv1d(const Tensor& x, const Tensor& w, const Tensor& bias, std::size_t stride, std::size_t padding) {
    const simd::Conv1dDims d = checked_dims("conv1d", false, x.value(), w.value(), bias, stride, padding);
    Array y = Array::from_shape({d.B, d.C_out, simd::conv1d_h_out(d)});  // (B, C_out, H_out)
    simd::conv1d_forward(d, x.value().data(), w.value().data(), bias.defined() ? bias.value().data() : nullptr,
                         y.data());
    return record(std::move(y), x, w, bias, stride, padding, &conv1d_backward, "conv1d");
}

// ---- conv_transpose1d ---------------------------------------------------------------------------------------------

static void conv_transpose1d_backward(Node& out) {
    const simd::Conv1dDims d = recorded_dims(out, /*transposed=*/true);
    Node& x = *out.inputs[0];                                             // (B, C_in, H)
    Node& w = *out.inputs[1];                                             // (C_in, C_out, K)
    Node* bias = out.inputs.size() > 2 ? out.inputs[2].get() : nullptr;  // (C_out)
    simd::conv_transpose1d_backward(d, x.value.data(), w.value.data(), out.grad.data(),  // dy (B, C_out, H_out)
                                    grad_target(&x), grad_target(&w), grad_target(bias));
}

Tensor conv_transpose1d(const Tensor& x, const Tensor& w, const Tensor& bias, std::size_t stride,
                        std::size_t padding) {
    const simd::Conv1dDims d = checked_dims("conv_transpose1d", true, x.value(), w.value(), bias, stride, padding);
    Array y = Array::from_shape({d.B, d.C_out, simd::conv_transpose1d_h_out(d)});  // (B, C_out, H_out)
    simd::conv_transpose1d_forward(d, x.value().data(), w.value().data(),
                                   bias.defined() ? bias.value().data() : nullptr, y.data());
    return record(std::move(y), x, w, bias, stride, padding, &conv_transpose1d_backward, "conv_transpose1d");
}

}  // namespace dydiff::nn
