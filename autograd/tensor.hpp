// Tensor: a cheap, copyable handle (shared_ptr) to a graph Node, the user-facing type of the engine.
// Layering: autograd/. Every op (autograd/ops.hpp, nn/*_op) takes and returns Tensors; values are Arrays.
// Reverse mode: loss.backward() visits the graph in reverse topological order (iteratively, no recursion),
// calls each node's BackwardFn, and then frees the graph (inputs, saved arrays, intermediate grads).
#pragma once

#include "autograd/error.hpp"
#include "autograd/node.hpp"

#include <initializer_list>
#include <string>

namespace dydiff::autograd {

class Tensor {
public:
    /// An undefined handle; defined() is false.
    Tensor() = default;
    /// A leaf holding `value`. Trainable parameters pass requires_grad = true.
    explicit Tensor(Array value, bool requires_grad = false);
    /// Wraps an existing node (used by ops).
    explicit Tensor(NodePtr node) : node_(std::move(node)) {}

    bool defined() const { return node_ != nullptr; }
    const Array& value() const { return node().value; }
    /// In-place access to the value, for optimizers and initialisers only (never inside a recorded graph).
    Array& mutable_value() { return node().value; }
    /// The gradient; a zero array of value's shape when none has been accumulated yet.
    Array grad() const;
    bool has_grad() const { return node().has_grad(); }
    bool requires_grad() const { return node().requires_grad; }
    void set_requires_grad(bool on);
    void zero_grad();

    Shape shape() const;
    std::size_t dim() const { return value().dimension(); }
    std::size_t size(std::size_t axis) const;
    std::size_t numel() const { return value().size(); }
    const char* op() const { return node().op; }
    /// The single element of a one-element tensor.
    float item() const;

    /// Reverse-mode differentiation from this scalar (one-element) tensor, seeded with d(self)/d(self) = 1.
    void backward(bool retain_graph = false);
    /// Reverse mode from a non-scalar tensor, seeded with `seed` (same shape as the value).
    void backward(const Array& seed, bool retain_graph = false);

    /// Same value, no history: gradients stop here.
    Tensor detach() const;

    Node& node() const;
    const NodePtr& node_ptr() const { return node_; }

private:
    NodePtr node_;
};

/// While alive, ops on this thread record no graph (sampling, rollouts, targets, evaluation). Nests.
class NoGradGuard {
public:
    NoGradGuard();
    ~NoGradGuard();
    NoGradGuard(const NoGradGuard&) = delete;
    NoGradGuard& operator=(const NoGradGuard&) = delete;

private:
    bool previous_;
};

/// False inside a NoGradGuard.
bool grad_enabled();

/// The one way an op records itself: a leaf when grad is off or no input requires a gradient, else a node with
/// the given inputs and backward. The caller then fills node().saved / ints / scalars when recording.
Tensor make_result(Array value, std::initializer_list<Tensor> inputs, BackwardFn backward, const char* op);
Tensor make_result(Array value, const std::vector<Tensor>& inputs, BackwardFn backward, const char* op);

/// True when make_result recorded a graph node (so the op should save what its backward needs).
inline bool is_recorded(const Tensor& t) { return t.node().backward != nullptr; }

}  // namespace dydiff::autograd
