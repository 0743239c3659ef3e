// Optimisers and training helpers. Layering: nn/ (arithmetic in nn/simd/kernels.hpp).
//   Adam / AdamW   PyTorch's update, per parameter group weight decay (Adam: coupled L2 added to the gradient,
//                  as the dynamics ensemble's per-layer decay needs, docs/algorithm.md §5.2; AdamW: decoupled)
//   clip_grad_norm global L2 norm clipping           check_finite_grads  NaN/Inf detection naming the parameter
//   Ema            exponential moving average of parameters (the diffusion model's EMA weights)
//   soft_update    Polyak averaging of target networks: target <- (1 - tau) target + tau source
#pragma once

#include "autograd/tensor.hpp"
#include "nn/module.hpp"

#include <string>
#include <utility>
#include <vector>

namespace dydiff::nn {

struct AdamConfig {
    float lr = 1e-3f;            // learning rate
    float beta1 = 0.9f;          // first-moment decay
    float beta2 = 0.999f;        // second-moment decay
    float eps = 1e-8f;           // denominator guard
    bool decoupled = false;      // false: Adam with L2 added to the gradient; true: AdamW
};

struct ParamGroup {
    NamedTensors params;         // the group's parameters with their module names
    float weight_decay = 0.0f;   // coupled L2 (Adam) or decoupled decay (AdamW)
};

class Adam {
public:
    Adam(std::vector<ParamGroup> groups, AdamConfig config);
    /// One group holding all of `params`.
    Adam(const NamedTensors& params, AdamConfig config, float weight_decay = 0.0f);

    /// Applies one update to every parameter that has a gradient.
    void step();
    void zero_grad();
    void set_lr(float lr) { config_.lr = lr; }
    float lr() const { return config_.lr; }
    std::size_t steps() const { return step_; }

    /// The moments for checkpoints: "m.<name>" and "v.<name>" per parameter (steps() is saved beside them).
    NamedTensors state() const;
    /// Restores state() and the step count; every entry must be present with its parameter's shape.
    void load_state(const NamedTensors& state, std::size_t steps);

private:
    struct Slot {
        std::string name;
        Tensor param;
        Array m, v;  // first and second moments, shaped like the parameter
        float weight_decay;
    };
    std::vector<Slot> slots_;
    AdamConfig config_;
    std::size_t step_ = 0;
};

/// AdamW: Adam with decoupled weight decay.
Adam adamw(const NamedTensors& params, AdamConfig config, float weight_decay);

/// Scales all gradients so that their global L2 norm is at most max_norm; returns the norm before clipping.
float clip_grad_norm(const std::vector<Tensor>& params, float max_norm);

/// Fails with the first parameter whose gradient holds NaN or Inf, naming it.
void check_finite_grads(const NamedTensors& params);

/// Exponential moving average of a set of parameters: shadow <- decay * shadow + (1 - decay) * param.
class Ema {
public:
    explicit Ema(const NamedTensors& params);
    void update(float decay);
    /// Copies the averages into `params` (which must match the tracked names and shapes).
    void copy_to(const NamedTensors& params) const;
    const NamedTensors& shadow() const { return shadow_; }
    void load(const NamedTensors& shadow);

private:
    NamedTensors tracked_;
    NamedTensors shadow_;  // constant tensors holding the averages
};

/// Polyak averaging: target <- (1 - tau) target + tau source, parameter by parameter (same order and shapes).
void soft_update(const std::vector<Tensor>& target, const std::vector<Tensor>& source, float tau);

}  // namespace dydiff::nn
