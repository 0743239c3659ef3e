// Node: one vertex of the computation graph. A Tensor is a handle to a Node.
// Layering: autograd/ (bottom). Edges point from a result to its inputs only, so the graph has no cycles.
// An op fills `value`, remembers its `inputs`, and leaves in `saved`/`ints`/`scalars` whatever its backward reads;
// `backward` is a plain function pointer (it captures nothing), called with the node whose `grad` is complete.
#pragma once

#include "autograd/xt.hpp"

#include <cstdint>
#include <memory>
#include <vector>

namespace dydiff::autograd {

struct Node;
using NodePtr = std::shared_ptr<Node>;

/// Reads out.grad and out.inputs / out.saved, and *accumulates* into each input's grad (grad_add).
using BackwardFn = void (*)(Node& out);

struct Node {
    Array value;                   // the op's result, contiguous row-major
    Array grad;                    // d(loss)/d(value); empty until the first grad_add
    bool requires_grad = false;    // true for trainable leaves and for results that depend on one
    const char* op = "leaf";       // op name, for error messages and graph dumps
    std::vector<NodePtr> inputs;   // operands, in the op's argument order
    BackwardFn backward = nullptr; // null for leaves
    std::vector<Array> saved;      // arrays the backward needs (e.g. an activation's output)
    std::vector<std::int64_t> ints;  // integer attributes (axes, strides, row indices, ...)
    std::vector<double> scalars;     // real attributes (exponent, clamp bounds, ...)

    Node() = default;
    Node(const Node&) = delete;
    Node& operator=(const Node&) = delete;
    /// Releases the inputs iteratively: a long chain of nodes must not be destroyed by deep recursion.
    ~Node();

    bool has_grad() const { return grad.size() == value.size() && grad.dimension() == value.dimension(); }

    /// grad += g (g has exactly value's shape). Gradients accumulate; zeroing is zero_grad()'s job.
    void grad_add(const Array& g);
    /// grad += g, moving g in when grad is still empty.
    void grad_add(Array&& g);
    /// A zero-filled grad of value's shape, allocated if needed, for kernels that accumulate in place.
    Array& grad_buffer();
};

}  // namespace dydiff::autograd
