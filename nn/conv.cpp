// Conv1d and ConvTranspose1d.
#include "nn/conv.hpp"

#include "nn/conv_ops.hpp"

namespace dydiff::nn {

Conv1d::Conv1d(std::size_t in_channels, std::size_t out_channels, std::size_t kernel_size, data::Rng& rng,
               std::size_t stride, std::size_t padding, Init init)
    : stride_(stride), padding_(padding) {
    Array w = xt::empty<float>({out_channels, in_channels, kernel_size});
    Array b = xt::empty<float>({out_channels});
    init_layer(init, w, &b, in_channels * kernel_size, out_channels, rng);
    weight = register_parameter("weight", std::move(w));
    bias = register_parameter("bias", std::move(b));
}

Tensor Conv1d::forward(const Tensor& x) const { return conv1d(x, weight, bias, stride_, padding_); }

// NOTE: PyTorch computes ConvTranspose1d's fan_in from weight dim 1 (out_channels) times the kernel size.
ConvTranspose1d::ConvTranspose1d(std::size_t in_channels, std::size_t out_channels, std::size_t kernel_size,
                                 data::Rng& rng, std::size_t stride, std::size_t padding, Init init)
    : stride_(stride), padding_(padding) {
    Array w = xt::empty<float>({in_channels, out_channels, kernel_size});
    Array b = xt::empty<float>({out_channels});
    init_layer(init, w, &b, out_channels * kernel_size, out_channels, rng);
    weight = register_parameter("weight", std::move(w));
    bias = register_parameter("bias", std::move(b));
}

Tensor ConvTranspose1d::forward(const Tensor& x) const {
    return conv_transpose1d(x, weight, bias, stride_, padding_);
}

}  // namespace dydiff::nn
