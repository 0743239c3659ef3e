// linear and matmul: forward and backward through simd::gemm (row-major, PyTorch weight layouts).
// The backward of y = x W^T + b, with dy the incoming gradient (rows R = product of x's leading axes):
//   dx += dy W      (R, O) x (O, I)
//   dW += dy^T x    (O, R) x (R, I)
//   db += sum over rows of dy
#include "nn/linear_ops.hpp"

#include "nn/simd/gemm.hpp"

namespace dydiff::nn {

using autograd::Array;
using autograd::Node;

// ---- linear -------------------------------------------------------------------------------------------------------

static void linear_backward(Node& out) {
    Node& x = *out.inputs[0];
    Node& w = *out.inputs[1];
    const std::size_t O = w.value.shape()[0];
    const std::size_t I = w.value.shape()[1];
    const std::size_t R = x.value.size() / I;
    const float* dy = out.grad.data();  // (R, O)
    if (x.requires_grad) simd::gemm(false, false, R, I, O, 1.0f, dy, O, w.value.data(), I, 1.0f, x.grad_buffer().data(), I);
    if (w.requires_grad) simd::gemm(true, false, O, I, R, 1.0f, dy, O, x.value.data(), I, 1.0f, w.grad_buffer().data(), I);
    if (out.inputs.size() == 3 && out.inputs[2]->requires_grad) {
        float* db = out.inputs[2]->grad_buffer().data();  // (O)
        for (std::size_t r = 0; r < R; ++r)
            for (std::size_t o = 0; o < O; ++o) db[o] += dy[r * O + o];
    }
}

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
    DYDIFF_CHECK(weight.dim() == 2, "linear: weight must be (out, in), got " << shape_str(weight.shape()));
    const std::size_t O = weight.size(0);
    const std::size_t I = weight.size(1);
    DYDIFF_CHECK(x.dim() >= 1 && x.size(x.dim() - 1) == I,
                 "linear: input " << shape_str(x.shape()) << " does not end in " << I << " features (weight "
                                  << shape_str(weight.shape()) << ")");
    DYDIFF_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == O),
                 "linear: bias " << shape_str(bias.shape()) << " does not match " << O << " outputs");
    const std::size_t R = x.numel() / I;
    Array::shape_type shape = x.value().shape();
    shape.back() = O;
    Array y = xt::empty<float>(shape);  // (R, O)
    simd::gemm(false, true, R, O, I, 1.0f, x.value().data(), I, weight.value().data(), I, 0.0f, y.data(), O);
    if (bias.defined()) {
        const float* b = bias.value().data();
        for (std::size_t r = 0; r < R; ++r)
            for (std::size_t o = 0; o < O; ++o) y.data()[r * O + o] += b[o];
        return autograd::make_result(std::move(y), {x, weight, bias}, &linear_backward, "linear");
    }
    return autograd::make_result(std::move(y), {x, weight}, &linear_backward, "linear");
}

// ---- matmul -------------------------------------------------------------------------------------------------------

// For each batch e: da[e] += dy[e] b[e]^T and db[e] += a[e]^T dy[e].
static void matmul_backward(Node& out) {
    Node& a = *out.inputs[0];
    Node& b = *out.inputs[1];
    const bool batched = a.value.dimension() == 3;
    const std::size_t E = batched ? a.value.shape()[0] : 1;
    const std::size_t M = a.value.shape()[batched ? 1 : 0];
    const std::size_t K = a.value.shape()[batched ? 2 : 1];
    const std::size_t N = b.value.shape()[batched ? 2 : 1];
    for (std::size_t e = 0; e < E; ++e) {
        const float* dy = out.grad.data() + e * M * N;  // (M, N)
        if (a.requires_grad)
            simd::gemm(false, true, M, K, N, 1.0f, dy, N, b.value.data() + e * K * N, N, 1.0f,
                       a.grad_buffer().data() + e * M * K, K);
        if (b.requires_grad)
            simd::gemm(true, false, K, N, M, 1.0f, a.value.data() + e * M * K, K, dy, N, 1.0f,
                       b.grad_buffer().data() + e * K * N, N);
    }
}

Tensor matmul(const Tensor& a, const Tensor& b) {
    const bool batched = a.dim() == 3;
    DYDIFF_CHECK((a.dim() == 2 && b.dim() == 2) || (a.dim() == 3 && b.dim() == 3),
                 "matmul: operands must both be 2-D or both 3-D, got " << shape_str(a.shape()) << " and "
                                                                        << shape_str(b.shape()));
    const std::size_t E = batched ? a.size(0) : 1;
    const std::size_t M = a.size(batched ? 1 : 0);
    const std::size_t K = a.size(batched ? 2 : 1);
    const std::size_t N = b.size(batched ? 2 : 1);
    DYDIFF_CHECK(b.size(batched ? 1 : 0) == K && (!batched || b.size(0) == E),
                 "matmul: " << shape_str(a.shape()) << " and " << shape_str(b.shape()) << " do not multiply");
    Array y = batched ? Array(xt::empty<float>({E, M, N})) : Array(xt::empty<float>({M, N}));
    for (std::size_t e = 0; e < E; ++e)
        simd::gemm(false, false, M, N, K, 1.0f, a.value().data() + e * M * K, K, b.value().data() + e * K * N, N,
                   0.0f, y.data() + e * M * N, N);
    return autograd::make_result(std::move(y), {a, b}, &matmul_backward, "matmul");
}

}  // namespace dydiff::nn
