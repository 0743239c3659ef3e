// Activation by name: one switch, so every network that takes an `activation` option accepts the same names.
// All of them run the fused SIMD ops of nn/activation_ops.hpp.
#include "nn/activation.hpp"

#include "autograd/error.hpp"
#include "nn/activation_ops.hpp"

namespace dydiff::nn {

Activation parse_activation(const std::string& name) {
    for (Activation a : {Activation::relu, Activation::silu, Activation::mish, Activation::tanh, Activation::identity})
        if (name == activation_name(a)) return a;
    DYDIFF_FAIL("unknown activation '" << name << "'; expected relu, silu, mish, tanh or identity");
}

const char* activation_name(Activation a) {
    switch (a) {
        case Activation::relu: return "relu";
        case Activation::silu: return "silu";
        case Activation::mish: return "mish";
        case Activation::tanh: return "tanh";
        case Activation::identity: return "identity";
    }
    return "?";
}

autograd::Tensor activate(const autograd::Tensor& x, Activation a) {
    switch (a) {
        case Activation::relu: return relu(x);
        case Activation::silu: return silu(x);
        case Activation::mish: return mish(x);
        case Activation::tanh: return tanh(x);
        case Activation::identity: return x;
    }
    DYDIFF_FAIL("activate: unhandled activation");
}

}  // namespace dydiff::nn
