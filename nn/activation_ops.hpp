// Fused activations with hand-written backward on the SIMD kernels of nn/simd/kernels.hpp: Mish (the U-Net's
// activation, as in diffuser's temporal U-Net) and SiLU. Layering: nn/ (on autograd/). Each equals the composition
// of generic autograd ops it replaces (x * tanh(softplus(x)), x * sigmoid(x)), checked in test/nn.
// relu, tanh and softplus need no fused op: autograd/ops.hpp has them.
#pragma once

#include "autograd/tensor.hpp"

namespace dydiff::nn {

/// Mish(x) = x * tanh(softplus(x)) elementwise, any shape (Misra 2019).
autograd::Tensor mish(const autograd::Tensor& x);
/// SiLU(x) = x * sigmoid(x) elementwise, any shape (a.k.a. swish).
autograd::Tensor silu(const autograd::Tensor& x);

}  // namespace dydiff::nn
