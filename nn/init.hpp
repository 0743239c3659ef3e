// Parameter initialisers, each drawing from an explicit Rng (data/rng.hpp) so that runs are reproducible.
// Layering: nn/. The schemes are the ones the official code uses (docs/algorithm.md §5, §11 P19):
//   torch_default    weight and bias ~ U(±1/√fan_in)        PyTorch's nn.Linear / nn.Conv1d default; the U-Net
//   normal_fan_in    weight ~ N(0, 1/fan_in), bias 0         EDM-style Linear: reward model, policy, Q networks
//   ensemble_fan_in  weight and bias ~ U(±1/√(in·out))      the dynamics ensemble's kaiming_uniform(a=√5) on (E, in, out)
//   zeros            weight and bias 0
#pragma once

#include "autograd/xt.hpp"
#include "data/rng.hpp"

#include <string>

namespace dydiff::nn {

enum class Init { torch_default, normal_fan_in, ensemble_fan_in, zeros };

/// Parses "torch_default" etc.; an unknown name is an error listing the valid ones.
Init parse_init(const std::string& name);
const char* init_name(Init init);

/// Fills `a` with U(lo, hi).
void init_uniform(autograd::Array& a, float lo, float hi, data::Rng& rng);
/// Fills `a` with N(mean, std²).
void init_normal(autograd::Array& a, float mean, float std, data::Rng& rng);

/// Initialises a weight and its bias (bias may be null) by `scheme`. fan_in is the number of inputs feeding one
/// output (in · kernel for convolutions; PyTorch's rule for ConvTranspose1d is out_channels · kernel);
/// fan_out is only read by ensemble_fan_in (it is the layer's `out`).
void init_layer(Init scheme, autograd::Array& weight, autograd::Array* bias, std::size_t fan_in, std::size_t fan_out,
                data::Rng& rng);

}  // namespace dydiff::nn
