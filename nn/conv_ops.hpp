// Differentiable Conv1d and ConvTranspose1d on Tensors, the convolutions of the temporal U-Net
// (docs/algorithm.md §5.1: Conv1d k=5 pad 2 and k=1, Down = Conv1d(c, c, 3, stride 2, pad 1),
// Up = ConvTranspose1d(c, c, 4, stride 2, pad 1)). PyTorch semantics and weight layouts, output_padding 0.
// Layering: nn/ over autograd/; the arithmetic is nn/simd/conv1d.hpp, the backward is hand-written.
#pragma once

#include "autograd/tensor.hpp"

#include <cstddef>

namespace dydiff::nn {

/// y (B, C_out, H_out) from x (B, C_in, H), w (C_out, C_in, K) and bias (C_out) or an undefined Tensor() (no
/// bias); H_out = (H + 2 padding - K) / stride + 1. Throws dydiff::Error naming the shapes on a mismatch.
autograd::Tensor conv1d(const autograd::Tensor& x, const autograd::Tensor& w, const autograd::Tensor& bias,
                        std::size_t stride = 1, std::size_t padding = 0);

/// y (B, C_out, H_out) from x (B, C_in, H), w (C_in, C_out, K) and bias (C_out) or an undefined Tensor();
/// H_out = (H - 1) stride - 2 padding + K. The adjoint of conv1d with the same weight (plus bias).
autograd::Tensor conv_transpose1d(const autograd::Tensor& x, const autograd::Tensor& w, const autograd::Tensor& bias,
                                  std::size_t stride = 1, std::size_t padding = 0);

}  // namespace dydiff::nn
