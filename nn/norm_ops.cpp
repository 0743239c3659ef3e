// GroupNorm, LayerNorm and channel bias as graph ops, each followed by its backward. The forward keeps the kernel's
// statistics cache in node().saved (saved[0] mean, saved[1] rstd) for the backward that reads it; the backward
// kernels accumulate straight into the inputs' gradient buffers and skip inputs that need no gradient.
#include "nn/norm_ops.hpp"

#include "autograd/error.hpp"
#include "nn/simd/kernels.hpp"

namespace dydiff::nn {

using autograd::Array;
using autograd::Node;
using autograd::Tensor;

namespace {

// The gradient buffer of `node` when it wants a gradient, else nullptr (the kernel then skips that output).
float* grad_or_null(Node& node) { return node.requires_grad ? node.grad_buffer().data() : nullptr; }

// (B, C, H) of a (B, C, H) or (B, C) array; H = 1 for the latter.
struct BCH {
    std::size_t B, C, H;
};

BCH bch_of(const Array& x) { return {x.shape()[0], x.shape()[1], x.dimension() == 3 ? x.shape()[2] : 1}; }

// The per-channel parameter check shared by group_norm and bias_add.
void check_channel_param(const char* op, const char* name, const Tensor& p, std::size_t C) {
    DYDIFF_CHECK(p.dim() == 1 && p.size(0) == C,
                 op << ": " << name << " must be (C,) = (" << C << ",), got " << shape_str(p.shape()));
}

}  // namespace

// ---- group_norm --------------------------------------------------------------------------------------------------

// inputs: x (B, C, H), gamma (C), beta (C); saved: mean (B, G), rstd (B, G); ints[0]: G.
static void group_norm_backward(Node& out) {
    Node& x = *out.inputs[0];
    Node& gamma = *out.inputs[1];
    Node& beta = *out.inputs[2];
    const auto [B, C, H] = bch_of(x.value);
    const auto G = static_cast<std::size_t>(out.ints[0]);
    simd::group_norm_backward(B, C, H, G, out.grad.data(), x.value.data(), out.saved[0].data(),
                              out.saved[1].data(), gamma.value.data(), grad_or_null(x), grad_or_null(gamma),
                              grad_or_null(beta));
}

Tensor group_norm(const Tensor& x, std::size_t groups, const Tensor& gamma, const Tensor& beta, float eps) {
    DYDIFF_CHECK(x.dim() == 2 || x.dim() == 3,
                 "group_norm: x must be (B, C, H) or (B, C), got " << shape_str(x.shape()));
    const auto [B, C, H] = bch_of(x.value());
    DYDIFF_CHECK(C >= 1 && H >= 1, "group_norm: x " << shape_str(x.shape()) << " has no channels or no length");
    DYDIFF_CHECK(groups >= 1 && C % groups == 0,
                 "group_norm: " << C << " channels are not divisible into " << groups << " groups");
    check_channel_param("group_norm", "gamma", gamma, C);
    check_channel_param("group_norm", "beta", beta, C);
    DYDIFF_CHECK(eps > 0.0f, "group_norm: eps must be positive, got " << eps);
    Array y = xt::empty<float>(x.shape());          // (B, C, H) or (B, C)
    Array mean = xt::empty<float>({B, groups});     // (B, G)
    Array rstd = xt::empty<float>({B, groups});     // (B, G)
    simd::group_norm_forward(B, C, H, groups, x.value().data(), gamma.value().data(), beta.value().data(), eps,
                             y.data(), mean.data(), rstd.data());
    Tensor out = autograd::make_result(std::move(y), {x, gamma, beta}, &group_norm_backward, "group_norm");
    if (autograd::is_recorded(out)) {
        out.node().saved = {std::move(mean), std::move(rstd)};
        out.node().ints = {static_cast<std::int64_t>(groups)};
    }
    return out;
}

// ---- layer_norm --------------------------------------------------------------------------------------------------

// inputs: x (N, D) seen flat, gamma (D), beta (D); saved: mean (N), rstd (N).
static void layer_norm_backward(Node& out) {
    Node& x = *out.inputs[0];
    Node& gamma = *out.inputs[1];
    Node& beta = *out.inputs[2];
    const std::size_t D = gamma.value.size();
    simd::layer_norm_backward(x.value.size() / D, D, out.grad.data(), x.value.data(), out.saved[0].data(),
                              out.saved[1].data(), gamma.value.data(), grad_or_null(x), grad_or_null(gamma),
                              grad_or_null(beta));
}

Tensor layer_norm(const Tensor& x, const Tensor& gamma, const Tensor& beta, float eps) {
    DYDIFF_CHECK(x.dim() >= 1 && x.size(x.dim() - 1) >= 1,
                 "layer_norm: x must be (..., D) with D >= 1, got " << shape_str(x.shape()));
    const std::size_t D = x.size(x.dim() - 1);
    const std::size_t N = x.numel() / D;
    DYDIFF_CHECK(gamma.dim() == 1 && gamma.size(0) == D && beta.dim() == 1 && beta.size(0) == D,
                 "layer_norm: gamma " << shape_str(gamma.shape()) << " and beta " << shape_str(beta.shape())
                                      << " must be (D,) = (" << D << ",) for x " << shape_str(x.shape()));
    DYDIFF_CHECK(eps > 0.0f, "layer_norm: eps must be positive, got " << eps);
    Array y = xt::empty<float>(x.shape());  // (..., D)
    Array mean = xt::empty<float>({N});     // (N)
    Array rstd = xt::empty<float>({N});     // (N)
    simd::layer_norm_forward(N, D, x.value().data(), gamma.value().data(), beta.value().data(), eps, y.data(),
                             mean.data(), rstd.data());
    Tensor out = autograd::make_result(std::move(y), {x, gamma, beta}, &layer_norm_backward, "layer_norm");
    if (autograd::is_recorded(out)) out.node().saved = {std::move(mean), std::move(rstd)};
    return out;
}

// ---- bias_add ----------------------------------------------------------------------------------------------------

// inputs: y (B, C, H), bias (C). d out / d y is the identity; d out / d bias sums over b and h.
static void bias_add_backward(Node& out) {
    Node& y = *out.inputs[0];
    Node& bias = *out.inputs[1];
    if (y.requires_grad) y.grad_add(out.grad);
    if (bias.requires_grad) {
        const auto [B, C, H] = bch_of(y.value);
        simd::bias_reduce(B, C, H, out.grad.data(), bias.grad_buffer().data());
    }
}

Tensor bias_add(const Tensor& y, const Tensor& bias) {
    DYDIFF_CHECK(y.dim() == 2 || y.dim() == 3,
                 "bias_add: y must be (B, C, H) or (B, C), got " << shape_str(y.shape()));
    const auto [B, C, H] = bch_of(y.value());
    check_channel_param("bias_add", "bias", bias, C);
    Array out = y.value();  // (B, C, H) or (B, C); a copy, then biased in place
    simd::bias_add(B, C, H, bias.value().data(), out.data());
    return autograd::make_result(std::move(out), {y, bias}, &bias_add_backward, "bias_add");
}

}  // namespace dydiff::nn
