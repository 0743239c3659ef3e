// Gradient check by central differences, used for every op and layer op (test/autograd, test/nn, test/dydiff).
// The op's output y = f(x_1..x_n) is reduced to L = sum(w * y) with fixed pseudo-random weights w, so every output
// entry matters; dL/dx from backward() is compared entry by entry with (L(x + eps) - L(x - eps)) / (2 eps).
// Kinks: where the two one-sided slopes disagree the function is not differentiable at that point, so the entry is
// skipped (and counted); a check with too many skipped entries fails, so inputs must be chosen away from kinks.
#pragma once

#include "autograd/tensor.hpp"

#include <functional>
#include <string>
#include <vector>

namespace dydiff::test {

struct GradCheckOptions {
    float eps = 1e-2f;              // finite-difference step
    float atol = 2e-3f;             // |analytic - numeric| <= atol + rtol * |numeric|
    float rtol = 2e-2f;
    float kink_tol = 0.5f;          // skip an entry when the one-sided slopes differ by more than this (relative)
    float max_skipped_fraction = 0.05f;
    std::vector<bool> wrt = {};     // which inputs to differentiate (all when empty)
};

struct GradCheckResult {
    bool ok = true;
    std::size_t checked = 0;
    std::size_t skipped = 0;
    float max_error = 0.0f;  // the largest |analytic - numeric| / (atol + rtol * |numeric|); ok means <= 1
    std::string report;      // the worst entries, for the failure message
};

using TensorFn = std::function<autograd::Tensor(const std::vector<autograd::Tensor>&)>;

/// Checks f's gradient with respect to each input at the given point.
GradCheckResult gradcheck(const TensorFn& f, const std::vector<autograd::Array>& inputs,
                          const GradCheckOptions& options = {});

/// A deterministic array of the given shape, uniform in [lo, hi) (a small LCG: the tests need no Rng for this).
autograd::Array test_array(const autograd::Shape& shape, float lo, float hi, unsigned seed);

}  // namespace dydiff::test

/// BOOST_TEST on a GradCheckResult with its report on failure.
#define DYDIFF_CHECK_GRAD(...)                                      \
    do {                                                            \
        const auto dydiff_gc_ = ::dydiff::test::gradcheck(__VA_ARGS__); \
        BOOST_TEST(dydiff_gc_.ok, dydiff_gc_.report);               \
    } while (0)
