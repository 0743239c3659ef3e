// The generic ops of the engine: the whole vocabulary on one page. Each is defined in an ops_*.cpp file directly
// above its backward, and each has a gradient check in test/autograd/.
// Layering: autograd/ (pure xtensor; fused layer ops with SIMD kernels live in nn/).
// Broadcasting follows numpy: binary ops broadcast their operands, and their backward sums the gradient back to
// each operand's shape through sum_to_shape(), the one shared helper. Axes may be negative (counted from the end).
#pragma once

#include "autograd/tensor.hpp"

#include <cstdint>
#include <vector>

namespace dydiff::autograd {

using Axes = std::vector<std::int64_t>;

/// A constant (no gradient) tensor holding a 0-d scalar; binary ops broadcast it.
Tensor scalar(float v);

/// Sums `g` over the axes that broadcasting added or stretched, giving an array of `shape` (ggml's repeat_back).
Array sum_to_shape(const Array& g, const Array::shape_type& shape);

// ---- elementwise, binary (broadcasting) -------------------------------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
/// Elementwise min / max (e.g. min(Q1, Q2)); on ties the gradient goes to `a`.
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor maximum(const Tensor& a, const Tensor& b);
/// cond ? a : b elementwise, cond nonzero meaning true; cond carries no gradient. All three broadcast.
Tensor where(const Array& cond, const Tensor& a, const Tensor& b);

// ---- elementwise, unary -----------------------------------------------------------------------------------------
Tensor neg(const Tensor& a);
Tensor exp(const Tensor& a);
Tensor log(const Tensor& a);
Tensor sqrt(const Tensor& a);
/// a^p for a scalar exponent p.
Tensor pow(const Tensor& a, float p);
/// |a|; the gradient at 0 is 0.
Tensor abs(const Tensor& a);
Tensor square(const Tensor& a);
Tensor tanh(const Tensor& a);
Tensor sigmoid(const Tensor& a);
/// max(a, 0); the gradient at 0 is 0.
Tensor relu(const Tensor& a);
/// log(1 + e^a), computed stably.
Tensor softplus(const Tensor& a);
/// min(max(a, lo), hi); the gradient passes where lo <= a <= hi.
Tensor clamp(const Tensor& a, float lo, float hi);

// ---- reductions -------------------------------------------------------------------------------------------------
/// Sum over `axes` (all axes when empty).
Tensor sum(const Tensor& a, const Axes& axes = {}, bool keepdims = false);
Tensor mean(const Tensor& a, const Axes& axes = {}, bool keepdims = false);
/// Max over one axis; the gradient goes to the first maximal entry.
Tensor max(const Tensor& a, std::int64_t axis, bool keepdims = false);
/// log(sum(exp(a))) over one axis, computed stably (max subtracted).
Tensor logsumexp(const Tensor& a, std::int64_t axis, bool keepdims = false);

// ---- shape ------------------------------------------------------------------------------------------------------
/// New shape with the same number of elements; one entry may be -1 (inferred).
Tensor reshape(const Tensor& a, const std::vector<std::int64_t>& shape);
/// Axes permuted: result axis i is input axis perm[i].
Tensor permute(const Tensor& a, const Axes& perm);
/// Swaps two axes (the last two by default).
Tensor transpose(const Tensor& a, std::int64_t axis0 = -2, std::int64_t axis1 = -1);
/// Joins tensors along `axis`; all other sizes must agree.
Tensor concat(const std::vector<Tensor>& parts, std::int64_t axis);
/// Entries [start, end) along `axis`.
Tensor slice(const Tensor& a, std::int64_t axis, std::size_t start, std::size_t end);
/// Rows of `a` (axis 0) picked by `rows`; repeats allowed (their gradients add up).
Tensor gather_rows(const Tensor& a, const std::vector<std::size_t>& rows);
/// Same value, no gradient flows back (a synonym of Tensor::detach for use in expressions).
Tensor stop_gradient(const Tensor& a);

// ---- operators --------------------------------------------------------------------------------------------------
inline Tensor operator+(const Tensor& a, const Tensor& b) { return add(a, b); }
inline Tensor operator-(const Tensor& a, const Tensor& b) { return sub(a, b); }
inline Tensor operator*(const Tensor& a, const Tensor& b) { return mul(a, b); }
inline Tensor operator/(const Tensor& a, const Tensor& b) { return div(a, b); }
inline Tensor operator-(const Tensor& a) { return neg(a); }
inline Tensor operator+(const Tensor& a, float b) { return add(a, scalar(b)); }
inline Tensor operator-(const Tensor& a, float b) { return sub(a, scalar(b)); }
inline Tensor operator*(const Tensor& a, float b) { return mul(a, scalar(b)); }
inline Tensor operator/(const Tensor& a, float b) { return div(a, scalar(b)); }
inline Tensor operator+(float a, const Tensor& b) { return add(scalar(a), b); }
inline Tensor operator-(float a, const Tensor& b) { return sub(scalar(a), b); }
inline Tensor operator*(float a, const Tensor& b) { return mul(scalar(a), b); }
inline Tensor operator/(float a, const Tensor& b) { return div(scalar(a), b); }

}  // namespace dydiff::autograd
