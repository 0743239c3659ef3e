// Conv1d and ConvTranspose1d modules over (B, C, H), PyTorch layouts and default init. Layering: nn/ (on
// nn/conv_ops.hpp). The U-Net uses Conv1d(k=5, pad 2), Conv1d(k=1), Down = Conv1d(c, c, 3, stride 2, pad 1) and
// Up = ConvTranspose1d(c, c, 4, stride 2, pad 1) (docs/algorithm.md §5.1).
#pragma once

#include "nn/init.hpp"
#include "nn/module.hpp"

namespace dydiff::nn {

class Conv1d : public Module {
public:
    Conv1d(std::size_t in_channels, std::size_t out_channels, std::size_t kernel_size, data::Rng& rng,
           std::size_t stride = 1, std::size_t padding = 0, Init init = Init::torch_default);
    /// x (B, C_in, H) -> (B, C_out, (H + 2 padding - kernel) / stride + 1).
    Tensor forward(const Tensor& x) const;
    std::size_t stride() const { return stride_; }
    std::size_t padding() const { return padding_; }

    Tensor weight;  // (C_out, C_in, K)
    Tensor bias;    // (C_out)

private:
    std::size_t stride_, padding_;
};

class ConvTranspose1d : public Module {
public:
    ConvTranspose1d(std::size_t in_channels, std::size_t out_channels, std::size_t kernel_size, data::Rng& rng,
                    std::size_t stride = 1, std::size_t padding = 0, Init init = Init::torch_default);
    /// x (B, C_in, H) -> (B, C_out, (H - 1) stride - 2 padding + kernel).
    Tensor forward(const Tensor& x) const;
    std::size_t stride() const { return stride_; }
    std::size_t padding() const { return padding_; }

    Tensor weight;  // (C_in, C_out, K)
    Tensor bias;    // (C_out)

private:
    std::size_t stride_, padding_;
};

}  // namespace dydiff::nn
