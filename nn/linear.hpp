// Linear and EnsembleLinear modules. Layering: nn/ (on nn/linear_ops.hpp).
//   Linear          weight (O, I), bias (O)             x (..., I) -> (..., O)        PyTorch layout
//   EnsembleLinear  weight (E, I, O), bias (E, 1, O)    x (E, B, I) -> (E, B, O)      E independent members in one
//                                                                                    batched matmul
// (the dynamics ensemble of docs/algorithm.md §5.2).
#pragma once

#include "nn/init.hpp"
#include "nn/module.hpp"

namespace dydiff::nn {

class Linear : public Module {
public:
    Linear(std::size_t in_features, std::size_t out_features, data::Rng& rng, Init init = Init::torch_default,
           bool bias = true);
    Tensor forward(const Tensor& x) const;

    std::size_t in_features() const { return in_; }
    std::size_t out_features() const { return out_; }
    Tensor weight;  // (O, I)
    Tensor bias;    // (O), undefined without bias

private:
    std::size_t in_, out_;
};

class EnsembleLinear : public Module {
public:
    EnsembleLinear(std::size_t members, std::size_t in_features, std::size_t out_features, data::Rng& rng,
                   Init init = Init::ensemble_fan_in);
    Tensor forward(const Tensor& x) const;

    std::size_t members() const { return members_; }
    Tensor weight;  // (E, I, O)
    Tensor bias;    // (E, 1, O)

private:
    std::size_t members_, in_, out_;
};

}  // namespace dydiff::nn
