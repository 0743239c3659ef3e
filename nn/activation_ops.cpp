// Fused Mish and SiLU: forward through the *_forward kernel, backward right below it through the *_backward
// kernel, which recomputes f'(x) from the input (nothing saved) and accumulates into the input's gradient buffer.
#include "nn/activation_ops.hpp"

#include "nn/simd/kernels.hpp"

namespace dydiff::nn {

using autograd::Array;
using autograd::Node;
using autograd::Tensor;

// ---- mish --------------------------------------------------------------------------------------------------------

static void mish_backward(Node& out) {
    Node& x = *out.inputs[0];
    if (!x.requires_grad) return;
    simd::mish_backward(x.value.size(), x.value.data(), out.grad.data(), x.grad_buffer().data());
}

Tensor mish(const Tensor& x) {
    Array y = xt::empty<float>(x.shape());  // same shape as x
    simd::mish_forward(x.numel(), x.value().data(), y.data());
    return autograd::make_result(std::move(y), {x}, &mish_backward, "mish");
}

// ---- silu --------------------------------------------------------------------------------------------------------

static void silu_backward(Node& out) {
    Node& x = *out.inputs[0];
    if (!x.requires_grad) return;
    simd::silu_backward(x.value.size(), x.value.data(), out.grad.data(), x.grad_buffer().data());
}

Tensor silu(const Tensor& x) {
    Array y = xt::empty<float>(x.shape());  // same shape as x
    simd::silu_forward(x.numel(), x.value().data(), y.data());
    return autograd::make_result(std::move(y), {x}, &silu_backward, "silu");
}

}  // namespace dydiff::nn
