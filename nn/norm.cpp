// GroupNorm and LayerNorm.
#include "nn/norm.hpp"

#include "autograd/error.hpp"
#include "nn/norm_ops.hpp"

namespace dydiff::nn {

GroupNorm::GroupNorm(std::size_t groups, std::size_t channels, float eps) : groups_(groups), eps_(eps) {
    DYDIFF_CHECK(groups > 0 && channels % groups == 0,
                 "GroupNorm: " << channels << " channels are not divisible into " << groups << " groups");
    weight = register_parameter("weight", xt::ones<float>({channels}));
    bias = register_parameter("bias", xt::zeros<float>({channels}));
}

Tensor GroupNorm::forward(const Tensor& x) const { return group_norm(x, groups_, weight, bias, eps_); }

LayerNorm::LayerNorm(std::size_t features, float eps) : eps_(eps) {
    weight = register_parameter("weight", xt::ones<float>({features}));
    bias = register_parameter("bias", xt::zeros<float>({features}));
}

Tensor LayerNorm::forward(const Tensor& x) const { return layer_norm(x, weight, bias, eps_); }

}  // namespace dydiff::nn
