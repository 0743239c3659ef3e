// Z-score and min-max normalizers (data/normalizer.hpp).
#include "data/normalizer.hpp"

#include "autograd/error.hpp"

#include <algorithm>
#include <cmath>

namespace dydiff::data {
namespace {

void check_width(const xt::xtensor<float, 2>& x, std::size_t k, const char* what) {
    DYDIFF_CHECK(x.shape()[1] == k, what << ": input has shape " << shape_str(x.shape()) << " but the normalizer has "
                                         << k << " dimensions");
}

xt::xtensor<float, 1> as_vector(const xt::xarray<float>& a, const std::string& key) {
    DYDIFF_USER_CHECK(a.dimension() == 1, key << ": expected a vector, found shape " << shape_str(a.shape()));
    xt::xtensor<float, 1> out = xt::xtensor<float, 1>::from_shape({a.size()});
    std::copy(a.data(), a.data() + a.size(), out.data());
    return out;
}

ArrayLookup npz_lookup(const NpzFile& file) {
    return [&file](const std::string& key) { return file.require(key).to_float(); };
}

}  // namespace

ZScoreNormalizer::ZScoreNormalizer(xt::xtensor<float, 1> mean, xt::xtensor<float, 1> std, float eps)
    : mean_(std::move(mean)), std_(std::move(std)), eps_(eps) {
    DYDIFF_CHECK(mean_.size() == std_.size(), "ZScoreNormalizer: mean has " << mean_.size() << " dims, std "
                                                                            << std_.size());
    DYDIFF_CHECK(eps_ >= 0.0f && std::isfinite(eps_), "ZScoreNormalizer: eps must be finite and >= 0, got " << eps_);
    for (std::size_t j = 0; j < std_.size(); ++j)
        DYDIFF_CHECK(std::isfinite(mean_(j)) && std::isfinite(std_(j)) && std_(j) + eps_ > 0.0f,
                     "ZScoreNormalizer: dim " << j << " has mean " << mean_(j) << ", std " << std_(j) << " (eps "
                                              << eps_ << "): need finite values and std + eps > 0");
}

ZScoreNormalizer ZScoreNormalizer::fit(const xt::xtensor<float, 2>& x, float eps) {
    const std::size_t m = x.shape()[0], k = x.shape()[1];
    DYDIFF_CHECK(m >= 1, "ZScoreNormalizer::fit: no rows in data of shape " << shape_str(x.shape()));
    xt::xtensor<float, 1> mean = xt::zeros<float>({k}), std = xt::zeros<float>({k});
    for (std::size_t j = 0; j < k; ++j) {
        double sum = 0.0;
        float lo = x(0, j), hi = x(0, j);
        for (std::size_t i = 0; i < m; ++i) {
            sum += x(i, j);
            lo = std::min(lo, x(i, j));
            hi = std::max(hi, x(i, j));
        }
        const double mu = sum / static_cast<double>(m);
        double sq = 0.0;  // second pass: population variance without cancellation
        for (std::size_t i = 0; i < m; ++i) sq += (x(i, j) - mu) * (x(i, j) - mu);
        mean(j) = static_cast<float>(mu);
        // Constant column: std 1 keeps later values off the constant at their raw distance instead of x 1e6.
        std(j) = lo == hi ? 1.0f : static_cast<float>(std::sqrt(sq / static_cast<double>(m)));
    }
    return ZScoreNormalizer(std::move(mean), std::move(std), eps);
}

xt::xtensor<float, 2> ZScoreNormalizer::apply(const xt::xtensor<float, 2>& x) const {
    check_width(x, dim(), "ZScoreNormalizer::apply");
    xt::xtensor<float, 2> out = xt::xtensor<float, 2>::from_shape(x.shape());
    for (std::size_t i = 0; i < x.shape()[0]; ++i)
        for (std::size_t j = 0; j < dim(); ++j) out(i, j) = (x(i, j) - mean_(j)) / (std_(j) + eps_);
    return out;
}

xt::xtensor<float, 2> ZScoreNormalizer::invert(const xt::xtensor<float, 2>& x) const {
    check_width(x, dim(), "ZScoreNormalizer::invert");
    xt::xtensor<float, 2> out = xt::xtensor<float, 2>::from_shape(x.shape());
    for (std::size_t i = 0; i < x.shape()[0]; ++i)
        for (std::size_t j = 0; j < dim(); ++j) out(i, j) = x(i, j) * (std_(j) + eps_) + mean_(j);
    return out;
}

std::vector<NpzEntry> ZScoreNormalizer::entries(const std::string& prefix) const {
    std::vector<NpzEntry> out;
    out.emplace_back(prefix + "/mean", NpyArray::from_xarray(mean_));
    out.emplace_back(prefix + "/std", NpyArray::from_xarray(std_));
    out.emplace_back(prefix + "/eps", NpyArray::from_data<float>({}, &eps_));
    return out;
}

ZScoreNormalizer ZScoreNormalizer::load(const ArrayLookup& get, const std::string& prefix) {
    // One statement per key: errors then name the first missing key in a fixed order.
    xt::xtensor<float, 1> mean = as_vector(get(prefix + "/mean"), prefix + "/mean");
    xt::xtensor<float, 1> std = as_vector(get(prefix + "/std"), prefix + "/std");
    const xt::xarray<float> eps = get(prefix + "/eps");
    DYDIFF_USER_CHECK(eps.size() == 1, prefix << "/eps: expected one value, found shape " << shape_str(eps.shape()));
    return ZScoreNormalizer(std::move(mean), std::move(std), eps.data()[0]);
}

ZScoreNormalizer ZScoreNormalizer::load(const NpzFile& file, const std::string& prefix) {
    return load(npz_lookup(file), prefix);
}

MinMaxNormalizer::MinMaxNormalizer(xt::xtensor<float, 1> min, xt::xtensor<float, 1> max)
    : min_(std::move(min)), max_(std::move(max)) {
    DYDIFF_CHECK(min_.size() == max_.size(), "MinMaxNormalizer: min has " << min_.size() << " dims, max "
                                                                          << max_.size());
    center_ = xt::xtensor<float, 1>::from_shape({min_.size()});
    half_range_ = xt::xtensor<float, 1>::from_shape({min_.size()});
    for (std::size_t j = 0; j < min_.size(); ++j) {
        DYDIFF_CHECK(std::isfinite(min_(j)) && std::isfinite(max_(j)) && min_(j) <= max_(j),
                     "MinMaxNormalizer: dim " << j << " has min " << min_(j) << " > max " << max_(j)
                                              << " or a non-finite bound");
        // In double: (max - min) / 2 of two large floats of opposite sign does not overflow there.
        center_(j) = static_cast<float>((static_cast<double>(min_(j)) + max_(j)) / 2.0);
        // Constant dim (docs/algorithm.md §11 P10: the official code divides by zero here): unit half-range, so the
        // constant maps to 0.
        half_range_(j) = min_(j) == max_(j) ? 1.0f : static_cast<float>((static_cast<double>(max_(j)) - min_(j)) / 2.0);
    }
}

MinMaxNormalizer MinMaxNormalizer::fit(const xt::xtensor<float, 2>& x) {
    const std::size_t m = x.shape()[0], k = x.shape()[1];
    DYDIFF_CHECK(m >= 1, "MinMaxNormalizer::fit: no rows in data of shape " << shape_str(x.shape()));
    xt::xtensor<float, 1> lo = xt::xtensor<float, 1>::from_shape({k}), hi = xt::xtensor<float, 1>::from_shape({k});
    for (std::size_t j = 0; j < k; ++j) {
        lo(j) = hi(j) = x(0, j);
        for (std::size_t i = 1; i < m; ++i) {
            lo(j) = std::min(lo(j), x(i, j));
            hi(j) = std::max(hi(j), x(i, j));
        }
    }
    return MinMaxNormalizer(std::move(lo), std::move(hi));
}

xt::xtensor<float, 2> MinMaxNormalizer::apply(const xt::xtensor<float, 2>& x) const {
    check_width(x, dim(), "MinMaxNormalizer::apply");
    xt::xtensor<float, 2> out = xt::xtensor<float, 2>::from_shape(x.shape());
    for (std::size_t i = 0; i < x.shape()[0]; ++i)
        for (std::size_t j = 0; j < dim(); ++j) out(i, j) = (x(i, j) - center_(j)) / half_range_(j);
    return out;
}

xt::xtensor<float, 2> MinMaxNormalizer::invert(const xt::xtensor<float, 2>& x) const {
    check_width(x, dim(), "MinMaxNormalizer::invert");
    xt::xtensor<float, 2> out = clip(x);
    for (std::size_t i = 0; i < x.shape()[0]; ++i)
        for (std::size_t j = 0; j < dim(); ++j) out(i, j) = out(i, j) * half_range_(j) + center_(j);
    return out;
}

xt::xtensor<float, 2> MinMaxNormalizer::clip(const xt::xtensor<float, 2>& x) {
    xt::xtensor<float, 2> out = x;
    for (float& v : out) v = std::clamp(v, -1.0f, 1.0f);
    return out;
}

std::vector<NpzEntry> MinMaxNormalizer::entries(const std::string& prefix) const {
    std::vector<NpzEntry> out;
    out.emplace_back(prefix + "/min", NpyArray::from_xarray(min_));
    out.emplace_back(prefix + "/max", NpyArray::from_xarray(max_));
    return out;
}

MinMaxNormalizer MinMaxNormalizer::load(const ArrayLookup& get, const std::string& prefix) {
    xt::xtensor<float, 1> min = as_vector(get(prefix + "/min"), prefix + "/min");
    xt::xtensor<float, 1> max = as_vector(get(prefix + "/max"), prefix + "/max");
    return MinMaxNormalizer(std::move(min), std::move(max));
}

MinMaxNormalizer MinMaxNormalizer::load(const NpzFile& file, const std::string& prefix) {
    return load(npz_lookup(file), prefix);
}

}  // namespace dydiff::data
