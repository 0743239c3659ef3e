// Module: owns parameter Tensors under hierarchical names ("down.0.res0.conv0.weight"), micrograd's protocol and
// nothing more. Layering: nn/. Children are members of the derived class, registered by reference, so a Module is
// neither copyable nor movable (the registered pointers would dangle).
#pragma once

#include "autograd/tensor.hpp"

#include <string>
#include <utility>
#include <vector>

namespace dydiff::nn {

using autograd::Array;
using autograd::Tensor;

/// Tensors by name, in a fixed order (parameters, optimizer moments, EMA copies).
using NamedTensors = std::vector<std::pair<std::string, Tensor>>;

class Module {
public:
    Module() = default;
    virtual ~Module() = default;
    Module(const Module&) = delete;
    Module& operator=(const Module&) = delete;

    /// Every parameter, own first then each child's in registration order, with its full dotted name.
    std::vector<std::pair<std::string, Tensor>> named_parameters() const;
    std::vector<Tensor> parameters() const;
    /// Total number of scalar parameters.
    std::size_t num_parameters() const;
    void zero_grad();

protected:
    /// Adds a trainable parameter (requires_grad) holding `value`; returns its handle.
    Tensor register_parameter(const std::string& name, Array value);
    /// Makes `child`'s parameters appear under "name.". The child must live as long as this module.
    void register_module(const std::string& name, Module& child);

private:
    void collect(const std::string& prefix, std::vector<std::pair<std::string, Tensor>>& out) const;

    std::vector<std::pair<std::string, Tensor>> params_;
    std::vector<std::pair<std::string, Module*>> children_;
};

}  // namespace dydiff::nn
