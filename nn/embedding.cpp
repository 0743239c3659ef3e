// SinusoidalEmbedding.
#include "nn/embedding.hpp"

#include "autograd/error.hpp"

#include <cmath>

namespace dydiff::nn {

SinusoidalEmbedding::SinusoidalEmbedding(std::size_t dim) : dim_(dim) {
    DYDIFF_CHECK(dim >= 4 && dim % 2 == 0, "SinusoidalEmbedding: dim must be even and >= 4, got " << dim);
}

autograd::Tensor SinusoidalEmbedding::forward(const autograd::Tensor& c) const {
    DYDIFF_CHECK(c.dim() == 1, "SinusoidalEmbedding: input must be (B), got " << shape_str(c.shape()));
    const std::size_t B = c.size(0);
    const std::size_t half = dim_ / 2;
    const double step = std::log(10000.0) / static_cast<double>(half - 1);
    autograd::Array e = xt::empty<float>({B, dim_});  // (B, dim)
    for (std::size_t b = 0; b < B; ++b) {
        const double cb = c.value().data()[b];
        for (std::size_t k = 0; k < half; ++k) {
            const double arg = cb * std::exp(-static_cast<double>(k) * step);
            e(b, k) = static_cast<float>(std::sin(arg));
            e(b, half + k) = static_cast<float>(std::cos(arg));
        }
    }
    return autograd::Tensor(std::move(e), false);
}

}  // namespace dydiff::nn
