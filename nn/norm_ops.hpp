// Fused normalisation and bias ops with hand-written backward on the kernels of nn/simd/kernels.hpp: GroupNorm
// (the temporal U-Net's Conv1d blocks, as in diffuser), LayerNorm (the dynamics and reward MLPs), and the channel
// bias of conv and linear layers. Layering: nn/ (on autograd/). Shapes: B batch, C channels, H length, D features.
// Each is checked against the composition of generic autograd ops it replaces (test/nn/test_norm_act_ops.cpp).
#pragma once

#include "autograd/tensor.hpp"

#include <cstddef>

namespace dydiff::nn {

/// torch.nn.functional.group_norm: the C channels split into `groups` consecutive groups; each (sample, group) is
/// normalised over its (C / groups) * H entries (biased variance), then scaled by gamma[c] and shifted by beta[c].
/// x: (B, C, H) or (B, C); gamma, beta: (C). Result: x's shape. Requires C % groups == 0.
autograd::Tensor group_norm(const autograd::Tensor& x, std::size_t groups, const autograd::Tensor& gamma,
                            const autograd::Tensor& beta, float eps = 1e-5f);

/// torch.nn.functional.layer_norm over the last dimension: each row of D entries normalised (biased variance),
/// then y = xhat * gamma + beta. x: (..., D); gamma, beta: (D). Result: x's shape.
autograd::Tensor layer_norm(const autograd::Tensor& x, const autograd::Tensor& gamma, const autograd::Tensor& beta,
                            float eps = 1e-5f);

/// y + bias broadcast over channels: out[b, c, h] = y[b, c, h] + bias[c]. y: (B, C, H) or (B, C); bias: (C).
autograd::Tensor bias_add(const autograd::Tensor& y, const autograd::Tensor& bias);

}  // namespace dydiff::nn
