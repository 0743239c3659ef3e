// MLP.
#include "nn/mlp.hpp"

#include "autograd/error.hpp"

namespace dydiff::nn {

MLP::MLP(const std::vector<std::size_t>& widths, Activation activation, data::Rng& rng, Init init,
         Activation output_activation)
    : widths_(widths), activation_(activation), output_activation_(output_activation) {
    DYDIFF_CHECK(widths.size() >= 2, "MLP: needs at least {in, out} widths, got " << widths.size());
    for (std::size_t i = 0; i + 1 < widths.size(); ++i) {
        layers_.push_back(std::make_unique<Linear>(widths[i], widths[i + 1], rng, init));
        register_module("layers." + std::to_string(i), *layers_.back());
    }
}

Tensor MLP::forward(const Tensor& x) const {
    Tensor h = x;
    for (std::size_t i = 0; i < layers_.size(); ++i) {
        h = layers_[i]->forward(h);
        h = activate(h, i + 1 < layers_.size() ? activation_ : output_activation_);
    }
    return h;
}

}  // namespace dydiff::nn
