// MLP: Linear layers with an activation between them (none after the last). Layering: nn/.
// widths = {in, hidden..., out}; e.g. the TD3+BC critic is {S + A, 256, 256, 1} with relu.
// Parameters are named "layers.0.weight", "layers.0.bias", ...
#pragma once

#include "nn/activation.hpp"
#include "nn/linear.hpp"

#include <memory>
#include <vector>

namespace dydiff::nn {

class MLP : public Module {
public:
    MLP(const std::vector<std::size_t>& widths, Activation activation, data::Rng& rng,
        Init init = Init::torch_default, Activation output_activation = Activation::identity);
    Tensor forward(const Tensor& x) const;

    std::size_t in_features() const { return widths_.front(); }
    std::size_t out_features() const { return widths_.back(); }

private:
    std::vector<std::size_t> widths_;
    Activation activation_, output_activation_;
    std::vector<std::unique_ptr<Linear>> layers_;  // registered as "layers.0", "layers.1", ...
};

}  // namespace dydiff::nn
