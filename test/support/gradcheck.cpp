// The gradient-check harness of test/support/gradcheck.hpp.
#include "support/gradcheck.hpp"

#include "autograd/ops.hpp"

#include <algorithm>
#include <cmath>
#include <sstream>

namespace dydiff::test {

using autograd::Array;
using autograd::Tensor;

Array test_array(const autograd::Shape& shape, float lo, float hi, unsigned seed) {
    Array a = xt::empty<float>(shape);
    std::uint64_t s = 0x9E3779B97F4A7C15ull * (seed + 1);
    for (std::size_t i = 0; i < a.size(); ++i) {
        s = s * 6364136223846793005ull + 1442695040888963407ull;
        const double u = static_cast<double>(s >> 40) / static_cast<double>(1ull << 24);
        a.data()[i] = lo + static_cast<float>(u) * (hi - lo);
    }
    return a;
}

namespace {

// L = sum(w * f(x)) accumulated in double.
double reduced(const TensorFn& f, const std::vector<Tensor>& xs, const Array& w) {
    autograd::NoGradGuard no_grad;
    const Array y = f(xs).value();
    double acc = 0.0;
    for (std::size_t i = 0; i < y.size(); ++i) acc += static_cast<double>(y.data()[i]) * w.data()[i];
    return acc;
}

}  // namespace

GradCheckResult gradcheck(const TensorFn& f, const std::vector<Array>& inputs, const GradCheckOptions& options) {
    GradCheckResult result;
    std::vector<Tensor> xs;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const bool wrt = options.wrt.empty() || options.wrt.at(i);
        xs.emplace_back(inputs[i], wrt);
    }
    // Analytic gradients.
    Tensor y = f(xs);
    const Array w = test_array(y.shape(), -1.0f, 1.0f, 1234);
    Tensor loss = autograd::sum(autograd::mul(y, Tensor(w)));
    loss.backward();

    std::ostringstream report;
    std::vector<std::pair<float, std::string>> worst;
    for (std::size_t i = 0; i < xs.size(); ++i) {
        if (!xs[i].requires_grad()) continue;
        const Array analytic = xs[i].grad();
        for (std::size_t k = 0; k < inputs[i].size(); ++k) {
            std::vector<Tensor> probe;
            for (std::size_t j = 0; j < inputs.size(); ++j) probe.emplace_back(inputs[j], false);
            float* x = probe[i].mutable_value().data() + k;
            const float x0 = *x;
            const double l0 = reduced(f, probe, w);
            *x = x0 + options.eps;
            const double lp = reduced(f, probe, w);
            *x = x0 - options.eps;
            const double lm = reduced(f, probe, w);
            *x = x0;
            const double right = (lp - l0) / options.eps;
            const double left = (l0 - lm) / options.eps;
            if (std::abs(right - left) > options.kink_tol * (std::abs(right) + std::abs(left) + 1e-2)) {
                ++result.skipped;
                continue;
            }
            const double numeric = (lp - lm) / (2.0 * options.eps);
            const double err = std::abs(analytic.data()[k] - numeric) / (options.atol + options.rtol * std::abs(numeric));
            ++result.checked;
            if (err > result.max_error) result.max_error = static_cast<float>(err);
            if (err > 1.0) {
                std::ostringstream line;
                line << "input " << i << " entry " << k << ": analytic " << analytic.data()[k] << " numeric " << numeric;
                worst.emplace_back(static_cast<float>(err), line.str());
            }
        }
    }
    const std::size_t total = result.checked + result.skipped;
    const bool too_many_kinks = total > 0 && result.skipped > options.max_skipped_fraction * total;
    result.ok = worst.empty() && !too_many_kinks;
    std::sort(worst.begin(), worst.end(), [](const auto& a, const auto& b) { return a.first > b.first; });
    report << "gradcheck: " << result.checked << " entries checked, " << result.skipped << " skipped at kinks, max error "
           << result.max_error << " (1 = tolerance)";
    if (too_many_kinks) report << "; too many kinks: move the inputs away from them";
    for (std::size_t i = 0; i < std::min<std::size_t>(worst.size(), 5); ++i) report << "\n  " << worst[i].second;
    result.report = report.str();
    return result;
}

}  // namespace dydiff::test
