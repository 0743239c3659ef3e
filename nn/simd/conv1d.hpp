// Raw 1-D convolution kernels of the temporal U-Net (docs/algorithm.md §5.1): Conv1d (k=5 pad 2, k=1, Down =
// k3 stride 2 pad 1) and ConvTranspose1d (Up = k4 stride 2 pad 1), with PyTorch semantics and weight layouts.
// Layering: nn/simd/ (raw pointers, no Tensor); nn/conv_ops.cpp wraps them as differentiable ops.
// Method: im2col columns for a group of samples + one simd::gemm per group, col2im for the input gradient; the
// transposed convolution is the adjoint of Conv1d and reuses the same two passes with the roles swapped.
// ref:: holds the scalar twins (direct loops, double accumulation), the test oracle.
#pragma once

#include <cstddef>

namespace dydiff::nn::simd {

/// Sizes of one convolution call, named as in the layer: input (B, C_in, H_in), kernel length K.
/// For conv_transpose1d, C_in / C_out / H_in are the transposed layer's own input and output channels.
struct Conv1dDims {
    std::size_t B = 0;        // batch
    std::size_t C_in = 0;     // input channels
    std::size_t H_in = 0;     // input length
    std::size_t C_out = 0;    // output channels
    std::size_t K = 0;        // kernel length
    std::size_t stride = 1;
    std::size_t padding = 0;  // zeros on both ends (Conv1d) / cropped from both ends (ConvTranspose1d)
};

/// Conv1d output length (H_in + 2 padding - K) / stride + 1. Precondition: H_in + 2 padding >= K, stride >= 1.
std::size_t conv1d_h_out(const Conv1dDims& d) noexcept;
/// ConvTranspose1d output length (H_in - 1) stride - 2 padding + K (output_padding 0).
/// Precondition: H_in >= 1 and (H_in - 1) stride + K > 2 padding.
std::size_t conv_transpose1d_h_out(const Conv1dDims& d) noexcept;

// Preconditions of all kernels below: the sizes satisfy the h_out precondition above, K >= 1, stride >= 1;
// every non-null pointer holds the stated shape, contiguous row-major; outputs do not alias inputs.
// Workspace: each call allocates two std::vector buffers, the im2col columns and the gathered output side, each
// at most 16 MiB (the batch is processed in groups of samples; a single larger sample gets its own size). An
// allocation failure therefore terminates (the kernels are noexcept). Threads: those of simd::gemm only.

/// y[b, o, t] = bias[o] + sum_{c, k} w[o, c, k] x[b, c, t stride + k - padding]  (x is 0 outside [0, H_in)).
/// y is assigned. bias may be nullptr (no bias).
void conv1d_forward(const Conv1dDims& d,
                    const float* x,     // (B, C_in, H_in)
                    const float* w,     // (C_out, C_in, K)
                    const float* bias,  // (C_out) or nullptr
                    float* y) noexcept; // (B, C_out, H_out)

/// Gradients of conv1d_forward given dy; each accumulates (+=) and is skipped when nullptr.
/// x is read only when dw is requested, w only when dx is requested (either may then be nullptr).
void conv1d_backward(const Conv1dDims& d,
                     const float* x,        // (B, C_in, H_in)
                     const float* w,        // (C_out, C_in, K)
                     const float* dy,       // (B, C_out, H_out)
                     float* dx,             // (B, C_in, H_in) or nullptr
                     float* dw,             // (C_out, C_in, K) or nullptr
                     float* dbias) noexcept;// (C_out) or nullptr

/// y[b, o, j] = bias[o] + sum over (c, t, k) with t stride + k - padding = j of x[b, c, t] w[c, o, k]:
/// the adjoint of conv1d with the same weight, plus bias. y is assigned. bias may be nullptr.
void conv_transpose1d_forward(const Conv1dDims& d,
                              const float* x,     // (B, C_in, H_in)
                              const float* w,     // (C_in, C_out, K)
                              const float* bias,  // (C_out) or nullptr
                              float* y) noexcept; // (B, C_out, H_out)

/// Gradients of conv_transpose1d_forward given dy; each accumulates (+=) and is skipped when nullptr.
/// x is read only when dw is requested, w only when dx is requested (either may then be nullptr).
void conv_transpose1d_backward(const Conv1dDims& d,
                               const float* x,        // (B, C_in, H_in)
                               const float* w,        // (C_in, C_out, K)
                               const float* dy,       // (B, C_out, H_out)
                               float* dx,             // (B, C_in, H_in) or nullptr
                               float* dw,             // (C_in, C_out, K) or nullptr
                               float* dbias) noexcept;// (C_out) or nullptr

// ---- channels-last ("rows") layout, forward only: the U-Net's inference path ---------------------------------------
// A rows tensor of B samples, H positions and C channels with pad P is P + B (H + P) rows of C floats, row-major:
// position t of sample b is row P + b (H + P) + t, and the P rows before the first sample and after every sample
// are zero, so neighbouring samples share their padding. A convolution with padding <= P then finds the K taps of
// an output position as K consecutive rows of the input, one contiguous run of K C_in floats; with the weight
// arranged as a (K C_in, C_out) matrix in the gemm's slivers (gemm.hpp), the whole batch is one gemm_slivered_rows
// whose A rows are read in place (overlapping runs, no im2col copy), whose output rows are written in place (the pad
// rows are skipped, not computed) and whose B is not packed. ConvTranspose1d is `stride` such products, one per
// output phase. Threads: those of simd::gemm. NOTE: the weight layout (gemm slivers) depends on the instruction set
// in use: arrange the weights in the process that runs the convolutions.
// Preconditions of the rows kernels, beyond those of the channels-first ones: for Conv1d padding <= P_in; for
// ConvTranspose1d P_in >= (K - 1) / stride (the taps reach that far back). x and y do not overlap.

/// Floats of a rows tensor: (P + B (H + P)) C.
inline std::size_t rows_floats(std::size_t B, std::size_t H, std::size_t C, std::size_t P) noexcept {
    return (P + B * (H + P)) * C;
}

/// w_rows: the matrix (K C_in, C_out) with entry (k C_in + c, o) = w[o, c, k], in slivers (gemm_slivers()), from
/// a Conv1d weight (C_out, C_in, K); conv1d_rows_weight_floats(d) floats.
void conv1d_rows_weight(const Conv1dDims& d, const float* w /*(C_out, C_in, K)*/, float* w_rows) noexcept;
std::size_t conv1d_rows_weight_floats(const Conv1dDims& d) noexcept;
/// y = conv1d(x) + bias in rows layouts: x (B, H_in) rows of C_in with pad P_in, y (B, H_out) rows of C_out with pad
/// P_out. accumulate: y's positions += the convolution (else assigned). y's pad rows are zero on return.
/// bias may be nullptr.
void conv1d_rows_forward(const Conv1dDims& d, std::size_t P_in, const float* x, const float* w_rows,
                         const float* bias, std::size_t P_out, float* y, bool accumulate) noexcept;

/// The weight of a ConvTranspose1d (C_in, C_out, K) as `stride` stacked phase matrices: output j with
/// j + padding = q stride + r reads input rows q - n_r + 1 .. q (n_r = taps k = r, r + stride, ... < K), and row
/// q - i meets tap r + i stride. Phase r's matrix (n_r C_in, C_out) lists those rows in ascending order:
/// entry ((n_r - 1 - i) C_in + c, o) = w[c, o, r + i stride], in slivers. conv_transpose1d_rows_weight_floats(d)
/// floats in all.
void conv_transpose1d_rows_weight(const Conv1dDims& d, const float* w /*(C_in, C_out, K)*/, float* w_rows) noexcept;
std::size_t conv_transpose1d_rows_weight_floats(const Conv1dDims& d) noexcept;
/// y = conv_transpose1d(x) + bias in rows layouts: x (B, H_in) rows of C_in with pad P_in, y (B, H_out) rows of
/// C_out with pad P_out, assigned, pads zero on return. bias may be nullptr.
void conv_transpose1d_rows_forward(const Conv1dDims& d, std::size_t P_in, const float* x, const float* w_rows,
                                   const float* bias, std::size_t P_out, float* y) noexcept;

namespace ref {
void conv1d_rows_forward(const Conv1dDims& d, std::size_t P_in, const float* x, const float* w_rows,
                         const float* bias, std::size_t P_out, float* y, bool accumulate) noexcept;
void conv_transpose1d_rows_forward(const Conv1dDims& d, std::size_t P_in, const float* x, const float* w_rows,
                                   const float* bias, std::size_t P_out, float* y) noexcept;
void conv1d_forward(const Conv1dDims& d, const float* x, const float* w, const float* bias, float* y) noexcept;
void conv1d_backward(const Conv1dDims& d, const float* x, const float* w, const float* dy, float* dx, float* dw,
                     float* dbias) noexcept;
void conv_transpose1d_forward(const Conv1dDims& d, const float* x, const float* w, const float* bias,
                              float* y) noexcept;
void conv_transpose1d_backward(const Conv1dDims& d, const float* x, const float* w, const float* dy, float* dx,
                               float* dw, float* dbias) noexcept;
}  // namespace ref

}  // namespace dydiff::nn::simd
