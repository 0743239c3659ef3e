// GroupNorm (over (B, C, H) or (B, C)) and LayerNorm (over the last axis) with affine weight 1 and bias 0 at start,
// PyTorch semantics (biased variance, eps 1e-5). Layering: nn/ (on nn/norm_ops.hpp).
#pragma once

#include "nn/module.hpp"

namespace dydiff::nn {

class GroupNorm : public Module {
public:
    GroupNorm(std::size_t groups, std::size_t channels, float eps = 1e-5f);
    Tensor forward(const Tensor& x) const;
    std::size_t groups() const { return groups_; }
    float eps() const { return eps_; }

    Tensor weight;  // (C), gamma
    Tensor bias;    // (C), beta

private:
    std::size_t groups_;
    float eps_;
};

class LayerNorm : public Module {
public:
    explicit LayerNorm(std::size_t features, float eps = 1e-5f);
    Tensor forward(const Tensor& x) const;

    Tensor weight;  // (D)
    Tensor bias;    // (D)

private:
    float eps_;
};

}  // namespace dydiff::nn
