// Differentiable linear algebra on the gemm kernel (nn/simd/gemm.hpp), each op with a hand-written backward.
// Layering: nn/ (uses autograd's Tensor and make_result; the arithmetic is simd::gemm).
//   linear:  y = x W^T + b          x (..., I), W (O, I) as in PyTorch, b (O) or undefined   -> (..., O)
//   matmul:  y[e] = a[e] b[e]        a (E, M, K), b (E, K, N), or 2-D a (M, K), b (K, N)      -> (E, M, N) / (M, N)
#pragma once

#include "autograd/tensor.hpp"

namespace dydiff::nn {

using autograd::Tensor;

/// y = x W^T + b over the last axis of x; b may be an undefined Tensor() (no bias).
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias);

/// Matrix product, batched over a leading axis when both operands are 3-D.
Tensor matmul(const Tensor& a, const Tensor& b);

}  // namespace dydiff::nn
