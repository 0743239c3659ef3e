// SinusoidalEmbedding: the diffusion-time embedding of the U-Net (docs/algorithm.md §5.1). No parameters.
//   half = dim / 2, f_k = exp(-k ln(10^4) / (half - 1)) for k = 0..half-1, e(c) = [sin(c f), cos(c f)] (sine first).
// Layering: nn/. The input c (B) is a constant of the sampler (c_noise), so no gradient flows into it.
#pragma once

#include "autograd/tensor.hpp"

namespace dydiff::nn {

class SinusoidalEmbedding {
public:
    explicit SinusoidalEmbedding(std::size_t dim);
    /// c (B) -> (B, dim).
    autograd::Tensor forward(const autograd::Tensor& c) const;
    std::size_t dim() const { return dim_; }

private:
    std::size_t dim_;
};

}  // namespace dydiff::nn
