// Tensor handle, make_result, NoGradGuard and the backward graph walk.
// The walk: an iterative depth-first search from the root gives a topological order (inputs before users);
// walking it in reverse, every node's grad is complete when its backward runs.
#include "autograd/tensor.hpp"

#include "autograd/error.hpp"

#include <unordered_set>
#include <utility>

namespace dydiff::autograd {

// ---- Node ------------------------------------------------------------------------------------------------------

Node::~Node() {
    std::vector<NodePtr> pending = std::move(inputs);
    while (!pending.empty()) {
        NodePtr n = std::move(pending.back());
        pending.pop_back();
        if (n && n.use_count() == 1) {  // we hold the last reference: adopt its inputs before it dies
            for (auto& in : n->inputs) pending.push_back(std::move(in));
            n->inputs.clear();
        }
    }
}

void Node::grad_add(const Array& g) {
    DYDIFF_CHECK(g.shape() == value.shape(),
                 op << ": gradient of shape " << shape_str(g.shape()) << " for a value of shape "
                    << shape_str(value.shape()));
    if (!has_grad()) {
        grad = g;
    } else {
        xt::noalias(grad) += g;
    }
}

void Node::grad_add(Array&& g) {
    DYDIFF_CHECK(g.shape() == value.shape(),
                 op << ": gradient of shape " << shape_str(g.shape()) << " for a value of shape "
                    << shape_str(value.shape()));
    if (!has_grad()) {
        grad = std::move(g);
    } else {
        xt::noalias(grad) += g;
    }
}

Array& Node::grad_buffer() {
    if (!has_grad()) grad = xt::zeros<float>(value.shape());
    return grad;
}

// ---- Tensor ----------------------------------------------------------------------------------------------------

Tensor::Tensor(Array value, bool requires_grad) : node_(std::make_shared<Node>()) {
    node_->value = std::move(value);
    node_->requires_grad = requires_grad;
}

Node& Tensor::node() const {
    DYDIFF_CHECK(node_ != nullptr, "use of an undefined Tensor");
    return *node_;
}

Array Tensor::grad() const {
    const Node& n = node();
    if (n.has_grad()) return n.grad;
    return xt::zeros<float>(n.value.shape());
}

void Tensor::set_requires_grad(bool on) {
    DYDIFF_CHECK(node().backward == nullptr, "set_requires_grad: only leaves can change it, not the result of '"
                                                 << node().op << "'");
    node().requires_grad = on;
}

void Tensor::zero_grad() {
    Node& n = node();
    if (n.has_grad()) n.grad.fill(0.0f);
}

Shape Tensor::shape() const {
    const auto& s = value().shape();
    return Shape(s.begin(), s.end());
}

std::size_t Tensor::size(std::size_t axis) const {
    DYDIFF_CHECK(axis < dim(), "size: axis " << axis << " out of range for shape " << shape_str(value().shape()));
    return value().shape()[axis];
}

float Tensor::item() const {
    DYDIFF_CHECK(numel() == 1, "item: needs a one-element tensor, got shape " << shape_str(value().shape()));
    return value().data()[0];
}

Tensor Tensor::detach() const { return Tensor(value(), false); }

void Tensor::backward(bool retain_graph) {
    DYDIFF_CHECK(numel() == 1, "backward: needs a scalar (one-element) tensor, got shape "
                                   << shape_str(value().shape()) << "; hint: reduce with sum() or mean(), or pass a seed");
    backward(xt::ones<float>(value().shape()), retain_graph);
}

void Tensor::backward(const Array& seed, bool retain_graph) {
    Node& root = node();
    DYDIFF_CHECK(root.requires_grad, "backward: '" << root.op
                                                   << "' does not require grad (no trainable input, or computed under "
                                                      "NoGradGuard)");
    DYDIFF_CHECK(seed.shape() == root.value.shape(), "backward: seed shape " << shape_str(seed.shape())
                                                                               << " differs from value shape "
                                                                               << shape_str(root.value.shape()));
    // Topological order by iterative DFS: a node is appended after all of its inputs. `order` owns its nodes
    // (shared_ptr), because freeing the graph below drops the inputs' last other owners.
    std::vector<NodePtr> order;
    std::unordered_set<Node*> visited{&root};
    std::vector<std::pair<NodePtr, std::size_t>> stack{{node_, 0}};
    while (!stack.empty()) {
        auto& [n, next_input] = stack.back();
        if (next_input < n->inputs.size()) {
            NodePtr in = n->inputs[next_input++];  // a copy: emplace_back may move `n`
            if (in->requires_grad && visited.insert(in.get()).second) stack.emplace_back(std::move(in), 0);
        } else {
            order.push_back(std::move(n));
            stack.pop_back();
        }
    }
    root.grad_add(seed);
    for (auto it = order.rbegin(); it != order.rend(); ++it) {
        Node* n = it->get();
        if (n->backward == nullptr) continue;  // a leaf: its grad stays for the optimizer
        if (n->has_grad()) n->backward(*n);
        n->grad = Array();  // an intermediate's gradient is of no further use (and must not leak into a rerun)
        if (!retain_graph) {
            // Free what only this backward needed.
            n->inputs.clear();
            n->saved.clear();
            n->backward = nullptr;
            n->requires_grad = false;
        }
    }
}

// ---- NoGradGuard and make_result --------------------------------------------------------------------------------

namespace {
thread_local bool t_grad_enabled = true;
}  // namespace

bool grad_enabled() { return t_grad_enabled; }

NoGradGuard::NoGradGuard() : previous_(t_grad_enabled) { t_grad_enabled = false; }
NoGradGuard::~NoGradGuard() { t_grad_enabled = previous_; }

Tensor make_result(Array value, const std::vector<Tensor>& inputs, BackwardFn backward, const char* op) {
    Tensor out(std::move(value), false);
    out.node().op = op;
    if (!t_grad_enabled) return out;
    bool any = false;
    for (const Tensor& t : inputs) any = any || t.requires_grad();
    if (!any) return out;
    Node& n = out.node();
    n.requires_grad = true;
    n.backward = backward;
    n.inputs.reserve(inputs.size());
    for (const Tensor& t : inputs) n.inputs.push_back(t.node_ptr());
    return out;
}

Tensor make_result(Array value, std::initializer_list<Tensor> inputs, BackwardFn backward, const char* op) {
    return make_result(std::move(value), std::vector<Tensor>(inputs), backward, op);
}

}  // namespace dydiff::autograd
