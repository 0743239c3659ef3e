// The activations a network can be configured with, by name (config files say "relu", "silu", "mish", "tanh").
// Layering: nn/ (the fused ops of nn/activation_ops.hpp).
#pragma once

#include "autograd/tensor.hpp"

#include <string>

namespace dydiff::nn {

enum class Activation { relu, silu, mish, tanh, identity };

Activation parse_activation(const std::string& name);
const char* activation_name(Activation a);
autograd::Tensor activate(const autograd::Tensor& x, Activation a);

}  // namespace dydiff::nn
