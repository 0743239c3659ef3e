// nn::simd conv1d / conv_transpose1d: im2col + simd::gemm, col2im for the input gradient.
// Both layers run through two passes written for a Conv1d "in (B, C_in, H_in) -> out (B, C_out, H_out), weight
// (C_out, C_in, K)": the im2col pass (out = W cols, and dW += dout cols^T) and the col2im pass (din += col2im(W^T
// dout), and dW += dout cols^T). Conv1d's forward is the im2col pass and its backward the col2im pass;
// ConvTranspose1d is the adjoint of a Conv1d with the same weight, so its forward is that Conv1d's col2im pass and
// its backward that Conv1d's im2col pass.
// Threads: only simd::gemm threads (internally). The batch is not split across threads: a gemm inside parallel_for
// would run serially and narrow. The copy loops (im2col, col2im, gather, scatter) are O(1/C_out) of the gemm's
// work and stay serial: splitting them over channels made no measurable difference at the U-Net's sizes.
// K = 1, stride 1, pad 0 takes the same path, where im2col is a row copy: one gemm per sample straight on x (no
// copy) measured 1.3-3x slower, since N = H (25..100) is too narrow for the gemm's tiles and threads.
// The rows forwards (inference, conv1d.hpp) need none of the copies: one gemm over the whole batch reads the
// channels-last input in place and writes the output in place (gemm_slivered_rows), with M = positions (hundreds to
// thousands) and N = C_out.
#include "nn/simd/conv1d.hpp"

#include "nn/simd/gemm.hpp"

#include <algorithm>
#include <cstring>
#include <vector>

namespace dydiff::nn::simd {

std::size_t conv1d_h_out(const Conv1dDims& d) noexcept { return (d.H_in + 2 * d.padding - d.K) / d.stride + 1; }

std::size_t conv_transpose1d_h_out(const Conv1dDims& d) noexcept {
    return (d.H_in - 1) * d.stride + d.K - 2 * d.padding;
}

namespace {

/// Floats of im2col columns per group of samples (16 MiB): bounds the workspace for large batches (rollouts run
/// B = 2048) while keeping the gemm's N = group * H_out wide enough to thread well.
constexpr std::size_t kGroupFloats = std::size_t{1} << 22;

/// A Conv1d as the passes see it: in (B, C_in, H_in) -> out (B, C_out, H_out), weight (C_out, C_in, K).
struct Geometry {
    std::size_t B, C_in, H_in, C_out, K, stride, padding, H_out;

    /// Rows of the im2col matrix: one per (input channel, tap).
    std::size_t rows() const { return C_in * K; }
    /// Samples per group, so that the group's columns (rows, group H_out) fit in kGroupFloats.
    std::size_t group() const {
        const std::size_t per_sample = std::max(rows(), C_out) * H_out;
        const std::size_t fit = kGroupFloats / std::max<std::size_t>(per_sample, 1);
        return std::clamp<std::size_t>(fit, 1, std::max<std::size_t>(B, 1));
    }
};

Geometry conv_geometry(const Conv1dDims& d) {
    return {d.B, d.C_in, d.H_in, d.C_out, d.K, d.stride, d.padding, conv1d_h_out(d)};
}

// ConvTranspose1d(C_in -> C_out) is the adjoint of Conv1d(C_out -> C_in) with the same weight (C_in, C_out, K),
// which maps length conv_transpose1d_h_out(d) back to H_in.
Geometry transpose_geometry(const Conv1dDims& d) {
    return {d.B, d.C_out, conv_transpose1d_h_out(d), d.C_in, d.K, d.stride, d.padding, d.H_in};
}

/// The output positions t in [begin, end) whose input i = t stride + k - padding lies in [0, H_in), for tap k.
struct Span {
    std::size_t begin, end;
};

Span valid_span(const Geometry& g, std::size_t k) {
    const std::size_t begin = g.padding > k ? (g.padding - k + g.stride - 1) / g.stride : 0;
    const std::size_t end =
        g.H_in + g.padding > k ? std::min(g.H_out, (g.H_in - 1 + g.padding - k) / g.stride + 1) : 0;
    return {std::min(begin, end), end};
}

// cols[(c K + k), j H_out + t] = in[b0 + j, c, t stride + k - padding], 0 where that index is outside [0, H_in).
void im2col(const Geometry& g, const float* in, std::size_t b0, std::size_t n, float* cols) {
    const std::size_t N = n * g.H_out;  // columns of the group
    for (std::size_t c = 0; c < g.C_in; ++c) {
        for (std::size_t k = 0; k < g.K; ++k) {
            const Span s = valid_span(g, k);
            const std::size_t len = s.end - s.begin;
            const std::size_t first = len ? s.begin * g.stride + k - g.padding : 0;  // input index read at s.begin
            for (std::size_t j = 0; j < n; ++j) {
                const float* src = in + ((b0 + j) * g.C_in + c) * g.H_in + first;
                float* dst = cols + (c * g.K + k) * N + j * g.H_out;
                std::fill(dst, dst + s.begin, 0.0f);
                if (g.stride == 1)
                    std::memcpy(dst + s.begin, src, len * sizeof(float));
                else
                    for (std::size_t t = 0; t < len; ++t) dst[s.begin + t] = src[t * g.stride];
                std::fill(dst + s.end, dst + g.H_out, 0.0f);
            }
        }
    }
}

// The adjoint of im2col: din[b0 + j, c, t stride + k - padding] += cols[(c K + k), j H_out + t] where in range.
void col2im(const Geometry& g, const float* cols, std::size_t b0, std::size_t n, float* din) {
    const std::size_t N = n * g.H_out;
    for (std::size_t c = 0; c < g.C_in; ++c) {
        for (std::size_t k = 0; k < g.K; ++k) {
            const Span s = valid_span(g, k);
            const std::size_t len = s.end - s.begin;
            const std::size_t first = len ? s.begin * g.stride + k - g.padding : 0;  // input index of s.begin
            for (std::size_t j = 0; j < n; ++j) {
                float* dst = din + ((b0 + j) * g.C_in + c) * g.H_in + first;
                const float* src = cols + (c * g.K + k) * N + j * g.H_out + s.begin;
                if (g.stride == 1)
                    for (std::size_t t = 0; t < len; ++t) dst[t] += src[t];
                else
                    for (std::size_t t = 0; t < len; ++t) dst[t * g.stride] += src[t];
            }
        }
    }
}

// buf[o, j H_out + t] = out[b0 + j, o, t]: a group's output-side tensor as one (C_out, n H_out) matrix.
void gather(const Geometry& g, const float* out, std::size_t b0, std::size_t n, float* buf) {
    const std::size_t N = n * g.H_out;
    for (std::size_t o = 0; o < g.C_out; ++o)
        for (std::size_t j = 0; j < n; ++j)
            std::memcpy(buf + o * N + j * g.H_out, out + ((b0 + j) * g.C_out + o) * g.H_out, g.H_out * sizeof(float));
}

// out[b0 + j, o, t] (+)= buf[o, j H_out + t], the inverse of gather.
void scatter(const Geometry& g, const float* buf, std::size_t b0, std::size_t n, float* out, bool accumulate) {
    const std::size_t N = n * g.H_out;
    for (std::size_t o = 0; o < g.C_out; ++o) {
        for (std::size_t j = 0; j < n; ++j) {
            const float* src = buf + o * N + j * g.H_out;
            float* dst = out + ((b0 + j) * g.C_out + o) * g.H_out;
            if (accumulate)
                for (std::size_t t = 0; t < g.H_out; ++t) dst[t] += src[t];
            else
                std::memcpy(dst, src, g.H_out * sizeof(float));
        }
    }
}

// The im2col pass, with cols = im2col(in) per group:
//   out (B, C_out, H_out)  = W cols (assigned, or added when `accumulate`)     when out != nullptr
//   dw  (C_out, C_in, K)  += gather(dout) cols^T, dout (B, C_out, H_out)        when dw  != nullptr
void im2col_pass(const Geometry& g, const float* in, const float* w, float* out, bool accumulate, const float* dout,
                 float* dw) {
    const std::size_t R = g.rows();
    const std::size_t group = g.group();
    std::vector<float> cols(R * group * g.H_out);     // (C_in K, group H_out)
    std::vector<float> buf(g.C_out * group * g.H_out); // (C_out, group H_out)
    for (std::size_t b0 = 0; b0 < g.B; b0 += group) {
        const std::size_t n = std::min(group, g.B - b0);
        const std::size_t N = n * g.H_out;
        im2col(g, in, b0, n, cols.data());
        if (out) {
            gemm(false, false, g.C_out, N, R, 1.0f, w, R, cols.data(), N, 0.0f, buf.data(), N);
            scatter(g, buf.data(), b0, n, out, accumulate);
        }
        if (dw) {
            gather(g, dout, b0, n, buf.data());
            gemm(false, true, g.C_out, R, N, 1.0f, buf.data(), N, cols.data(), N, 1.0f, dw, R);
        }
    }
}

// The col2im pass, with D = gather(dout) (C_out, group H_out) per group, dout (B, C_out, H_out):
//   dw  (C_out, C_in, K) += D im2col(in)^T          when dw  != nullptr (reads in)
//   din (B, C_in, H_in)  += col2im(W^T D)           when din != nullptr (reads w)
void col2im_pass(const Geometry& g, const float* dout, const float* w, float* din, const float* in, float* dw) {
    const std::size_t R = g.rows();
    const std::size_t group = g.group();
    std::vector<float> cols(R * group * g.H_out);     // (C_in K, group H_out): im2col(in), then W^T D
    std::vector<float> buf(g.C_out * group * g.H_out); // (C_out, group H_out): D
    for (std::size_t b0 = 0; b0 < g.B; b0 += group) {
        const std::size_t n = std::min(group, g.B - b0);
        const std::size_t N = n * g.H_out;
        gather(g, dout, b0, n, buf.data());
        if (dw) {
            im2col(g, in, b0, n, cols.data());
            gemm(false, true, g.C_out, R, N, 1.0f, buf.data(), N, cols.data(), N, 1.0f, dw, R);
        }
        if (din) {
            gemm(true, false, R, N, g.C_out, 1.0f, w, R, buf.data(), N, 0.0f, cols.data(), N);
            col2im(g, cols.data(), b0, n, din);
        }
    }
}

// y[b, c, t] += bias[c].
void add_bias(std::size_t B, std::size_t C, std::size_t H, const float* bias, float* y) {
    for (std::size_t b = 0; b < B; ++b)
        for (std::size_t c = 0; c < C; ++c) {
            float* row = y + (b * C + c) * H;
            for (std::size_t t = 0; t < H; ++t) row[t] += bias[c];
        }
}

// dbias[c] += sum_{b, t} dy[b, c, t].
void bias_grad(std::size_t B, std::size_t C, std::size_t H, const float* dy, float* dbias) {
    for (std::size_t c = 0; c < C; ++c) {
        double acc = 0.0;  // B H terms: float would lose digits on long rollout batches
        for (std::size_t b = 0; b < B; ++b) {
            const float* row = dy + (b * C + c) * H;
            for (std::size_t t = 0; t < H; ++t) acc += row[t];
        }
        dbias[c] += static_cast<float>(acc);
    }
}

}  // namespace

// ---- rows layout ------------------------------------------------------------------------------------------------

namespace {

// Zeroes the pad rows of a rows tensor: the P before sample 0 and the P after every sample.
void zero_pads(std::size_t B, std::size_t H, std::size_t C, std::size_t P, float* y) {
    std::fill(y, y + P * C, 0.0f);
    for (std::size_t b = 0; b < B; ++b) {
        float* after = y + (P + b * (H + P) + H) * C;
        std::fill(after, after + P * C, 0.0f);
    }
}

// y's positions (rows P + b (H + P) + t) += bias, channel by channel.
void add_bias_rows(std::size_t B, std::size_t H, std::size_t C, std::size_t P, const float* bias, float* y) {
    for (std::size_t b = 0; b < B; ++b) {
        float* row = y + (P + b * (H + P)) * C;
        for (std::size_t t = 0; t < H; ++t, row += C)
            for (std::size_t c = 0; c < C; ++c) row[c] += bias[c];
    }
}

// Taps of phase r of a ConvTranspose1d: k = r, r + stride, ... < K.
std::size_t phase_taps(const Conv1dDims& d, std::size_t r) {
    return r < d.K ? (d.K - r + d.stride - 1) / d.stride : 0;
}

}  // namespace

void conv1d_rows_weight(const Conv1dDims& d, const float* w, float* w_rows) noexcept {
    const GemmSlivers slivers = gemm_slivers();
    const std::size_t R = d.K * d.C_in;
    std::fill(w_rows, w_rows + slivers.floats(R, d.C_out), 0.0f);  // the columns past C_out
    for (std::size_t o = 0; o < d.C_out; ++o)
        for (std::size_t c = 0; c < d.C_in; ++c)
            for (std::size_t k = 0; k < d.K; ++k)
                w_rows[slivers.index(R, k * d.C_in + c, o)] = w[(o * d.C_in + c) * d.K + k];
}

std::size_t conv1d_rows_weight_floats(const Conv1dDims& d) noexcept {
    return gemm_slivers().floats(d.K * d.C_in, d.C_out);
}

// Output t of sample b (row i = b H_out + t of the product) reads the K C_in floats from input row
// P_in + b (H_in + P_in) + t stride - padding on and lands on output row P_out + b (H_out + P_out) + t.
void conv1d_rows_forward(const Conv1dDims& d, std::size_t P_in, const float* x, const float* w_rows,
                         const float* bias, std::size_t P_out, float* y, bool accumulate) noexcept {
    if (d.B == 0) return;
    const std::size_t H_out = conv1d_h_out(d);
    const GemmRows in{H_out, (d.H_in + P_in) * d.C_in, d.stride * d.C_in};
    const GemmRows out{H_out, (H_out + P_out) * d.C_out, d.C_out};
    gemm_slivered_rows(d.B * H_out, d.C_out, d.K * d.C_in, x + (P_in - d.padding) * d.C_in, in, w_rows,
                       accumulate ? 1.0f : 0.0f, y + P_out * d.C_out, out);
    if (bias) add_bias_rows(d.B, H_out, d.C_out, P_out, bias, y);
    zero_pads(d.B, H_out, d.C_out, P_out, y);
}

void conv_transpose1d_rows_weight(const Conv1dDims& d, const float* w, float* w_rows) noexcept {
    const GemmSlivers slivers = gemm_slivers();
    std::fill(w_rows, w_rows + conv_transpose1d_rows_weight_floats(d), 0.0f);  // the columns past C_out
    for (std::size_t r = 0; r < d.stride; ++r) {
        const std::size_t n_r = phase_taps(d, r), R = n_r * d.C_in;
        for (std::size_t i = 0; i < n_r; ++i)
            for (std::size_t c = 0; c < d.C_in; ++c)
                for (std::size_t o = 0; o < d.C_out; ++o)
                    w_rows[slivers.index(R, (n_r - 1 - i) * d.C_in + c, o)] =
                        w[(c * d.C_out + o) * d.K + r + i * d.stride];
        w_rows += slivers.floats(R, d.C_out);
    }
}

std::size_t conv_transpose1d_rows_weight_floats(const Conv1dDims& d) noexcept {
    const GemmSlivers slivers = gemm_slivers();
    std::size_t n = 0;
    for (std::size_t r = 0; r < d.stride; ++r) n += slivers.floats(phase_taps(d, r) * d.C_in, d.C_out);
    return n;
}

// Phase r is one product over the (sample, q) pairs with output j = q stride + r - padding in [0, H_out): row
// i = b n_q + (q - q_lo) reads input rows P_in + b (H_in + P_in) + q - n_r + 1 .. + q and lands on output row
// P_out + b (H_out + P_out) + j, every stride-th row of the sample.
void conv_transpose1d_rows_forward(const Conv1dDims& d, std::size_t P_in, const float* x, const float* w_rows,
                                   const float* bias, std::size_t P_out, float* y) noexcept {
    if (d.B == 0) return;
    const std::size_t H_out = conv_transpose1d_h_out(d);
    const GemmSlivers slivers = gemm_slivers();
    for (std::size_t r = 0; r < d.stride; ++r) {
        const std::size_t n_r = phase_taps(d, r);
        const float* w_r = w_rows;  // phase r's matrix (n_r C_in, C_out)
        w_rows += slivers.floats(n_r * d.C_in, d.C_out);
        const std::size_t q_lo = d.padding > r ? (d.padding - r + d.stride - 1) / d.stride : 0;
        const std::size_t q_end = H_out + d.padding > r ? (H_out + d.padding - r + d.stride - 1) / d.stride : 0;
        if (q_end <= q_lo) continue;
        const std::size_t n_q = q_end - q_lo;
        float* c = y + (P_out + q_lo * d.stride + r - d.padding) * d.C_out;
        const GemmRows out{n_q, (H_out + P_out) * d.C_out, d.stride * d.C_out};
        if (n_r == 0) {  // stride > K: no tap reaches this phase
            for (std::size_t b = 0; b < d.B; ++b)
                for (std::size_t q = 0; q < n_q; ++q)
                    std::fill_n(c + b * out.run_stride + q * out.row_stride, d.C_out, 0.0f);
            continue;
        }
        const GemmRows in{n_q, (d.H_in + P_in) * d.C_in, d.C_in};
        gemm_slivered_rows(d.B * n_q, d.C_out, n_r * d.C_in, x + (P_in + q_lo + 1 - n_r) * d.C_in, in, w_r, 0.0f, c,
                           out);
    }
    if (bias) add_bias_rows(d.B, H_out, d.C_out, P_out, bias, y);
    zero_pads(d.B, H_out, d.C_out, P_out, y);
}

void conv1d_forward(const Conv1dDims& d, const float* x, const float* w, const float* bias, float* y) noexcept {
    const Geometry g = conv_geometry(d);
    im2col_pass(g, x, w, y, /*accumulate=*/false, nullptr, nullptr);
    if (bias) add_bias(g.B, g.C_out, g.H_out, bias, y);
}

void conv1d_backward(const Conv1dDims& d, const float* x, const float* w, const float* dy, float* dx, float* dw,
                     float* dbias) noexcept {
    const Geometry g = conv_geometry(d);
    if (dx || dw) col2im_pass(g, dy, w, dx, x, dw);
    if (dbias) bias_grad(g.B, g.C_out, g.H_out, dy, dbias);
}

void conv_transpose1d_forward(const Conv1dDims& d, const float* x, const float* w, const float* bias,
                              float* y) noexcept {
    const Geometry g = transpose_geometry(d);  // g.C_in = d.C_out, g.H_in = this layer's H_out
    std::fill(y, y + g.B * g.C_in * g.H_in, 0.0f);
    col2im_pass(g, x, w, y, nullptr, nullptr);
    if (bias) add_bias(g.B, g.C_in, g.H_in, bias, y);
}

void conv_transpose1d_backward(const Conv1dDims& d, const float* x, const float* w, const float* dy, float* dx,
                               float* dw, float* dbias) noexcept {
    const Geometry g = transpose_geometry(d);
    if (dx || dw) im2col_pass(g, dy, w, dx, /*accumulate=*/true, x, dw);
    if (dbias) bias_grad(g.B, g.C_in, g.H_in, dy, dbias);
}

}  // namespace dydiff::nn::simd
