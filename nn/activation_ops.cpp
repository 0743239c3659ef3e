// Fused activations, one mechanism for all five: an op runs the *_forward kernel of its row in kKernels, records
// the row index in ints[0], and the one backward below looks the row up again and runs the *_backward kernel, which
// recomputes f'(x) from the input (nothing saved) and accumulates into the input's gradient buffer.
#include "nn/activation_ops.hpp"

#include "nn/simd/kernels.hpp"

#include <cstdint>

namespace dydiff::nn {

using autograd::Array;
using autograd::Node;
using autograd::Tensor;

namespace {

struct ActivationKernels {
    const char* name;
    void (*forward)(std::size_t n, const float* x, float* y) noexcept;
    void (*backward)(std::size_t n, const float* x, const float* dout, float* dx) noexcept;
};

// Row order is the index stored in the node.
const ActivationKernels kKernels[] = {
    {"mish", &simd::mish_forward, &simd::mish_backward},
    {"silu", &simd::silu_forward, &simd::silu_backward},
    {"relu", &simd::relu_forward, &simd::relu_backward},
    {"tanh", &simd::tanh_forward, &simd::tanh_backward},
    {"softplus", &simd::softplus_forward, &simd::softplus_backward},
};

void activation_backward(Node& out) {
    Node& x = *out.inputs[0];
    if (!x.requires_grad) return;
    const ActivationKernels& k = kKernels[out.ints[0]];
    k.backward(x.value.size(), x.value.data(), out.grad.data(), x.grad_buffer().data());
}

Tensor activation(const Tensor& x, std::size_t row) {
    const ActivationKernels& k = kKernels[row];
    Array y = xt::empty<float>(x.shape());  // same shape as x
    k.forward(x.numel(), x.value().data(), y.data());
    Tensor out = autograd::make_result(std::move(y), {x}, &activation_backward, k.name);
    if (autograd::is_recorded(out)) out.node().ints = {static_cast<std::int64_t>(row)};
    return out;
}

}  // namespace

Tensor mish(const Tensor& x) { return activation(x, 0); }
Tensor silu(const Tensor& x) { return activation(x, 1); }
Tensor relu(const Tensor& x) { return activation(x, 2); }
Tensor tanh(const Tensor& x) { return activation(x, 3); }
Tensor softplus(const Tensor& x) { return activation(x, 4); }

}  // namespace dydiff::nn
