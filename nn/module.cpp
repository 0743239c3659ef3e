// Module parameter registry: hierarchical names by a depth-first walk over registered children.
#include "nn/module.hpp"

#include "autograd/error.hpp"

namespace dydiff::nn {

Tensor Module::register_parameter(const std::string& name, Array value) {
    for (const auto& [n, t] : params_) DYDIFF_CHECK(n != name, "register_parameter: '" << name << "' registered twice");
    Tensor t(std::move(value), true);
    params_.emplace_back(name, t);
    return t;
}

void Module::register_module(const std::string& name, Module& child) {
    for (const auto& [n, m] : children_) DYDIFF_CHECK(n != name, "register_module: '" << name << "' registered twice");
    children_.emplace_back(name, &child);
}

void Module::collect(const std::string& prefix, std::vector<std::pair<std::string, Tensor>>& out) const {
    for (const auto& [name, t] : params_) out.emplace_back(prefix + name, t);
    for (const auto& [name, child] : children_) child->collect(prefix + name + ".", out);
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters() const {
    std::vector<std::pair<std::string, Tensor>> out;
    collect("", out);
    return out;
}

std::vector<Tensor> Module::parameters() const {
    std::vector<Tensor> out;
    for (auto& [name, t] : named_parameters()) out.push_back(t);
    return out;
}

std::size_t Module::num_parameters() const {
    std::size_t n = 0;
    for (const auto& [name, t] : named_parameters()) n += t.numel();
    return n;
}

void Module::zero_grad() {
    for (auto& [name, t] : named_parameters()) t.zero_grad();
}

}  // namespace dydiff::nn
