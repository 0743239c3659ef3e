// Fused activations with hand-written backward on the SIMD kernels of nn/simd/kernels.hpp: Mish (the U-Net's
// activation, as in diffuser's temporal U-Net) and SiLU. Layering: nn/ (on autograd/). Each equals the composition
// of generic autograd ops it replaces (x * tanh(softplus(x)), x * sigmoid(x)), checked in test/nn.
// relu, tanh and softplus are fused too (one SIMD pass each way instead of xtensor expressions); autograd/ops.hpp
// keeps the generic versions, which serve as their test oracle.
#pragma once

#include "autograd/tensor.hpp"

namespace dydiff::nn {

/// Mish(x) = x * tanh(softplus(x)) elementwise, any shape (Misra 2019).
autograd::Tensor mish(const autograd::Tensor& x);
/// SiLU(x) = x * sigmoid(x) elementwise, any shape (a.k.a. swish).
autograd::Tensor silu(const autograd::Tensor& x);
/// max(x, 0); the gradient at 0 is 0.
autograd::Tensor relu(const autograd::Tensor& x);
autograd::Tensor tanh(const autograd::Tensor& x);
/// log(1 + e^x), computed stably.
autograd::Tensor softplus(const autograd::Tensor& x);

}  // namespace dydiff::nn
