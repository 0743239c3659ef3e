// Linear and EnsembleLinear.
#include "nn/linear.hpp"

#include "autograd/error.hpp"
#include "autograd/ops.hpp"
#include "nn/linear_ops.hpp"

namespace dydiff::nn {

Linear::Linear(std::size_t in_features, std::size_t out_features, data::Rng& rng, Init init, bool with_bias)
    : in_(in_features), out_(out_features) {
    Array w = xt::empty<float>({out_, in_});
    Array b = xt::empty<float>({out_});
    init_layer(init, w, with_bias ? &b : nullptr, in_, out_, rng);
    weight = register_parameter("weight", std::move(w));
    if (with_bias) bias = register_parameter("bias", std::move(b));
}

Tensor Linear::forward(const Tensor& x) const { return linear(x, weight, bias); }

EnsembleLinear::EnsembleLinear(std::size_t members, std::size_t in_features, std::size_t out_features, data::Rng& rng,
                               Init init)
    : members_(members), in_(in_features), out_(out_features) {
    Array w = xt::empty<float>({members_, in_, out_});
    Array b = xt::empty<float>({members_, std::size_t{1}, out_});
    init_layer(init, w, &b, in_, out_, rng);
    weight = register_parameter("weight", std::move(w));
    bias = register_parameter("bias", std::move(b));
}

Tensor EnsembleLinear::forward(const Tensor& x) const {
    DYDIFF_CHECK(x.dim() == 3 && x.size(0) == members_ && x.size(2) == in_,
                 "EnsembleLinear: input " << shape_str(x.shape()) << " is not (" << members_ << ", B, " << in_ << ")");
    return autograd::add(matmul(x, weight), bias);
}

}  // namespace dydiff::nn
