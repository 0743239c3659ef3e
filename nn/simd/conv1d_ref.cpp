// Scalar twins of the conv1d / conv_transpose1d kernels: the defining sums as direct loops, each output entry
// gathered in double. Independent of the im2col machinery on purpose: this is the test oracle, not a fallback. The
// rows twins read the weight entry by entry through GemmSlivers::index and the input through the rows layout.
#include "nn/simd/conv1d.hpp"

#include "nn/simd/gemm.hpp"

namespace dydiff::nn::simd::ref {
namespace {

// The index i = t stride + k - padding that position t reaches at tap k, or -1 when i is outside [0, n).
long long tap(std::size_t t, std::size_t k, const Conv1dDims& d, std::size_t n) {
    const long long i = static_cast<long long>(t * d.stride + k) - static_cast<long long>(d.padding);
    return i >= 0 && i < static_cast<long long>(n) ? i : -1;
}

// The inverse of tap: the position t in [0, n) with t stride + k - padding = i, or -1 when there is none.
long long source(std::size_t i, std::size_t k, const Conv1dDims& d, std::size_t n) {
    const long long shifted = static_cast<long long>(i + d.padding) - static_cast<long long>(k);
    const auto stride = static_cast<long long>(d.stride);
    if (shifted < 0 || shifted % stride != 0 || shifted / stride >= static_cast<long long>(n)) return -1;
    return shifted / stride;
}

}  // namespace

void conv1d_forward(const Conv1dDims& d, const float* x, const float* w, const float* bias, float* y) noexcept {
    const std::size_t H_out = conv1d_h_out(d);
    for (std::size_t b = 0; b < d.B; ++b)
        for (std::size_t o = 0; o < d.C_out; ++o)
            for (std::size_t t = 0; t < H_out; ++t) {
                double acc = bias ? bias[o] : 0.0;
                for (std::size_t c = 0; c < d.C_in; ++c)
                    for (std::size_t k = 0; k < d.K; ++k) {
                        const long long i = tap(t, k, d, d.H_in);
                        if (i >= 0) acc += double{w[(o * d.C_in + c) * d.K + k]} * x[(b * d.C_in + c) * d.H_in + i];
                    }
                y[(b * d.C_out + o) * H_out + t] = static_cast<float>(acc);
            }
}

void conv1d_backward(const Conv1dDims& d, const float* x, const float* w, const float* dy, float* dx, float* dw,
                     float* dbias) noexcept {
    const std::size_t H_out = conv1d_h_out(d);
    if (dx)  // dx[b, c, i] = sum over (o, k) of w[o, c, k] dy[b, o, t] where t stride + k - padding = i
        for (std::size_t b = 0; b < d.B; ++b)
            for (std::size_t c = 0; c < d.C_in; ++c)
                for (std::size_t i = 0; i < d.H_in; ++i) {
                    double acc = 0.0;
                    for (std::size_t o = 0; o < d.C_out; ++o)
                        for (std::size_t k = 0; k < d.K; ++k) {
                            const long long t = source(i, k, d, H_out);
                            if (t >= 0)
                                acc += double{w[(o * d.C_in + c) * d.K + k]} * dy[(b * d.C_out + o) * H_out + t];
                        }
                    dx[(b * d.C_in + c) * d.H_in + i] += static_cast<float>(acc);
                }
    if (dw)  // dw[o, c, k] = sum over (b, t) of dy[b, o, t] x[b, c, tap(t, k)]
        for (std::size_t o = 0; o < d.C_out; ++o)
            for (std::size_t c = 0; c < d.C_in; ++c)
                for (std::size_t k = 0; k < d.K; ++k) {
                    double acc = 0.0;
                    for (std::size_t b = 0; b < d.B; ++b)
                        for (std::size_t t = 0; t < H_out; ++t) {
                            const long long i = tap(t, k, d, d.H_in);
                            if (i >= 0)
                                acc += double{dy[(b * d.C_out + o) * H_out + t]} * x[(b * d.C_in + c) * d.H_in + i];
                        }
                    dw[(o * d.C_in + c) * d.K + k] += static_cast<float>(acc);
                }
    if (dbias)
        for (std::size_t o = 0; o < d.C_out; ++o) {
            double acc = 0.0;
            for (std::size_t b = 0; b < d.B; ++b)
                for (std::size_t t = 0; t < H_out; ++t) acc += dy[(b * d.C_out + o) * H_out + t];
            dbias[o] += static_cast<float>(acc);
        }
}

void conv_transpose1d_forward(const Conv1dDims& d, const float* x, const float* w, const float* bias,
                              float* y) noexcept {
    const std::size_t H_out = conv_transpose1d_h_out(d);
    // y[b, o, j] = bias[o] + sum over (c, k) of x[b, c, t] w[c, o, k] where t stride + k - padding = j
    for (std::size_t b = 0; b < d.B; ++b)
        for (std::size_t o = 0; o < d.C_out; ++o)
            for (std::size_t j = 0; j < H_out; ++j) {
                double acc = bias ? bias[o] : 0.0;
                for (std::size_t c = 0; c < d.C_in; ++c)
                    for (std::size_t k = 0; k < d.K; ++k) {
                        const long long t = source(j, k, d, d.H_in);
                        if (t >= 0) acc += double{x[(b * d.C_in + c) * d.H_in + t]} * w[(c * d.C_out + o) * d.K + k];
                    }
                y[(b * d.C_out + o) * H_out + j] = static_cast<float>(acc);
            }
}

void conv_transpose1d_backward(const Conv1dDims& d, const float* x, const float* w, const float* dy, float* dx,
                               float* dw, float* dbias) noexcept {
    const std::size_t H_out = conv_transpose1d_h_out(d);
    if (dx)  // dx[b, c, t] = sum over (o, k) of w[c, o, k] dy[b, o, tap(t, k)]
        for (std::size_t b = 0; b < d.B; ++b)
            for (std::size_t c = 0; c < d.C_in; ++c)
                for (std::size_t t = 0; t < d.H_in; ++t) {
                    double acc = 0.0;
                    for (std::size_t o = 0; o < d.C_out; ++o)
                        for (std::size_t k = 0; k < d.K; ++k) {
                            const long long j = tap(t, k, d, H_out);
                            if (j >= 0)
                                acc += double{w[(c * d.C_out + o) * d.K + k]} * dy[(b * d.C_out + o) * H_out + j];
                        }
                    dx[(b * d.C_in + c) * d.H_in + t] += static_cast<float>(acc);
                }
    if (dw)  // dw[c, o, k] = sum over (b, t) of x[b, c, t] dy[b, o, tap(t, k)]
        for (std::size_t c = 0; c < d.C_in; ++c)
            for (std::size_t o = 0; o < d.C_out; ++o)
                for (std::size_t k = 0; k < d.K; ++k) {
                    double acc = 0.0;
                    for (std::size_t b = 0; b < d.B; ++b)
                        for (std::size_t t = 0; t < d.H_in; ++t) {
                            const long long j = tap(t, k, d, H_out);
                            if (j >= 0)
                                acc += double{x[(b * d.C_in + c) * d.H_in + t]} * dy[(b * d.C_out + o) * H_out + j];
                        }
                    dw[(c * d.C_out + o) * d.K + k] += static_cast<float>(acc);
                }
    if (dbias)
        for (std::size_t o = 0; o < d.C_out; ++o) {
            double acc = 0.0;
            for (std::size_t b = 0; b < d.B; ++b)
                for (std::size_t j = 0; j < H_out; ++j) acc += dy[(b * d.C_out + o) * H_out + j];
            dbias[o] += static_cast<float>(acc);
        }
}

// ---- rows layout ------------------------------------------------------------------------------------------------

namespace {

// Element (b, t, c) of a rows tensor with H positions, C channels and pad P.
std::size_t row_index(std::size_t b, std::size_t t, std::size_t c, std::size_t H, std::size_t C, std::size_t P) {
    return (P + b * (H + P) + t) * C + c;
}

// The P rows before sample 0 and after every sample.
void zero_pad_rows(std::size_t B, std::size_t H, std::size_t C, std::size_t P, float* y) {
    for (std::size_t p = 0; p < P; ++p)
        for (std::size_t c = 0; c < C; ++c) {
            y[p * C + c] = 0.0f;
            for (std::size_t b = 0; b < B; ++b) y[(P + b * (H + P) + H + p) * C + c] = 0.0f;
        }
}

// w[c, o, k] of a ConvTranspose1d read back from its phase matrices in slivers (conv1d.hpp).
float transposed_tap(const Conv1dDims& d, const float* w_rows, std::size_t c, std::size_t o, std::size_t k) {
    const auto taps = [&](std::size_t r) { return r < d.K ? (d.K - r + d.stride - 1) / d.stride : 0; };
    const std::size_t r = k % d.stride, i = k / d.stride;
    const GemmSlivers slivers = gemm_slivers();
    for (std::size_t q = 0; q < r; ++q) w_rows += slivers.floats(taps(q) * d.C_in, d.C_out);
    const std::size_t n_r = taps(r);
    return w_rows[slivers.index(n_r * d.C_in, (n_r - 1 - i) * d.C_in + c, o)];
}

}  // namespace

void conv1d_rows_forward(const Conv1dDims& d, std::size_t P_in, const float* x, const float* w_rows,
                         const float* bias, std::size_t P_out, float* y, bool accumulate) noexcept {
    const std::size_t H_out = conv1d_h_out(d);
    const GemmSlivers slivers = gemm_slivers();
    for (std::size_t b = 0; b < d.B; ++b)
        for (std::size_t t = 0; t < H_out; ++t)
            for (std::size_t o = 0; o < d.C_out; ++o) {
                double acc = bias ? bias[o] : 0.0;
                for (std::size_t k = 0; k < d.K; ++k) {
                    const long long i = tap(t, k, d, d.H_in);
                    if (i < 0) continue;
                    for (std::size_t c = 0; c < d.C_in; ++c)
                        acc += double{w_rows[slivers.index(d.K * d.C_in, k * d.C_in + c, o)]} *
                               x[row_index(b, static_cast<std::size_t>(i), c, d.H_in, d.C_in, P_in)];
                }
                float& out = y[row_index(b, t, o, H_out, d.C_out, P_out)];
                out = static_cast<float>(accumulate ? out + acc : acc);
            }
    zero_pad_rows(d.B, H_out, d.C_out, P_out, y);
}

void conv_transpose1d_rows_forward(const Conv1dDims& d, std::size_t P_in, const float* x, const float* w_rows,
                                   const float* bias, std::size_t P_out, float* y) noexcept {
    const std::size_t H_out = conv_transpose1d_h_out(d);
    for (std::size_t b = 0; b < d.B; ++b)
        for (std::size_t j = 0; j < H_out; ++j)
            for (std::size_t o = 0; o < d.C_out; ++o) {
                double acc = bias ? bias[o] : 0.0;
                for (std::size_t k = 0; k < d.K; ++k) {
                    const long long t = source(j, k, d, d.H_in);
                    if (t < 0) continue;
                    for (std::size_t c = 0; c < d.C_in; ++c)
                        acc += double{transposed_tap(d, w_rows, c, o, k)} *
                               x[row_index(b, static_cast<std::size_t>(t), c, d.H_in, d.C_in, P_in)];
                }
                y[row_index(b, j, o, H_out, d.C_out, P_out)] = static_cast<float>(acc);
            }
    zero_pad_rows(d.B, H_out, d.C_out, P_out, y);
}

}  // namespace dydiff::nn::simd::ref
