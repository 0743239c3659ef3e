// Per-dimension normalizers of (M, K) float data (docs/algorithm.md §2, the three scales):
//   ZScoreNormalizer, "env-normalised" observations: x^ = (x - mean) / (std + eps), std the *population* standard
//     deviation, eps = 1e-6 as the official code's buffer normalisation (§2, §7.3); invert x = x^ (std + eps) + mean.
//   MinMaxNormalizer, "model-normalised" [s, a] for the diffusion model: x~ = 2 (x - min) / (max - min) - 1, written
//     as (x - center) / half_range; invert clips to [-1, 1] first, as the official code does (§2, §11 P9).
// Constant dimensions (max == min over the fitted data): the official code divides by zero in min-max (§11 P10) and by
// 1e-6 in z-score, which blows up any later value off the constant by 1e6. Here both use a unit scale for them:
// z-score std = 1, min-max half_range = 1, so the constant maps to 0 and the maps stay affine and invertible.
// Statistics are accumulated in double. save/load use NPZ entries "<prefix>/mean", "<prefix>/std" (z-score) and
// "<prefix>/min", "<prefix>/max" (min-max), float32 (K) arrays, so checkpoints carry them.
// Layering: data/ (data/npz.hpp).
#pragma once

#include "autograd/xt.hpp"
#include "data/npz.hpp"

#include <cstddef>
#include <functional>
#include <string>
#include <vector>

namespace dydiff::data {

/// Looks a key up in some store (an NpzFile, a Checkpoint: `[&](auto& k) { return ckpt.get(k); }`); returns the
/// array as float32 or throws naming the store and key.
using ArrayLookup = std::function<xt::xarray<float>(const std::string& key)>;

class ZScoreNormalizer {
public:
    /// Reference epsilon added to std (§7.3: "plus 1e-6").
    static constexpr float kDefaultEps = 1e-6f;

    ZScoreNormalizer() = default;
    /// mean (K), std (K) >= 0 as given (constant dims already set to 1 by fit), eps >= 0.
    ZScoreNormalizer(xt::xtensor<float, 1> mean, xt::xtensor<float, 1> std, float eps = kDefaultEps);
    /// Population mean and std over the M rows of x (M, K), M >= 1; constant columns get std 1.
    static ZScoreNormalizer fit(const xt::xtensor<float, 2>& x, float eps = kDefaultEps);

    std::size_t dim() const noexcept { return mean_.size(); }
    const xt::xtensor<float, 1>& mean() const noexcept { return mean_; }
    const xt::xtensor<float, 1>& std() const noexcept { return std_; }
    float eps() const noexcept { return eps_; }

    xt::xtensor<float, 2> apply(const xt::xtensor<float, 2>& x) const;   // (M, K) -> (M, K)
    xt::xtensor<float, 2> invert(const xt::xtensor<float, 2>& x) const;  // (M, K) -> (M, K)

    /// Entries "<prefix>/mean", "<prefix>/std" and "<prefix>/eps" (0-d float32).
    std::vector<NpzEntry> entries(const std::string& prefix) const;
    static ZScoreNormalizer load(const ArrayLookup& get, const std::string& prefix);
    static ZScoreNormalizer load(const NpzFile& file, const std::string& prefix);

private:
    xt::xtensor<float, 1> mean_;  // (K)
    xt::xtensor<float, 1> std_;   // (K)
    float eps_ = kDefaultEps;
};

class MinMaxNormalizer {
public:
    MinMaxNormalizer() = default;
    /// min (K) <= max (K).
    MinMaxNormalizer(xt::xtensor<float, 1> min, xt::xtensor<float, 1> max);
    /// Per-column min and max over the M rows of x (M, K), M >= 1.
    static MinMaxNormalizer fit(const xt::xtensor<float, 2>& x);

    std::size_t dim() const noexcept { return min_.size(); }
    const xt::xtensor<float, 1>& min() const noexcept { return min_; }
    const xt::xtensor<float, 1>& max() const noexcept { return max_; }
    /// (min + max) / 2 and (max - min) / 2, the latter 1 for constant dims.
    const xt::xtensor<float, 1>& center() const noexcept { return center_; }
    const xt::xtensor<float, 1>& half_range() const noexcept { return half_range_; }

    /// x (M, K) -> [-1, 1] for data inside the fitted box.
    xt::xtensor<float, 2> apply(const xt::xtensor<float, 2>& x) const;
    /// clip(x, -1, 1) then back to data units: every output lies in the fitted box (constant dims: center +- 1).
    xt::xtensor<float, 2> invert(const xt::xtensor<float, 2>& x) const;
    /// clip(x, -1, 1) elementwise.
    static xt::xtensor<float, 2> clip(const xt::xtensor<float, 2>& x);

    /// Entries "<prefix>/min" and "<prefix>/max".
    std::vector<NpzEntry> entries(const std::string& prefix) const;
    static MinMaxNormalizer load(const ArrayLookup& get, const std::string& prefix);
    static MinMaxNormalizer load(const NpzFile& file, const std::string& prefix);

private:
    xt::xtensor<float, 1> min_, max_;             // (K)
    xt::xtensor<float, 1> center_, half_range_;   // (K)
};

}  // namespace dydiff::data
