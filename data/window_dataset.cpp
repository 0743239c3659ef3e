// Diffusion windows (data/window_dataset.hpp).
#include "data/window_dataset.hpp"

#include "autograd/error.hpp"

#include <algorithm>

namespace dydiff::data {

std::vector<Window> make_windows(const std::vector<EpisodeRange>& episodes, std::size_t horizon) {
    DYDIFF_CHECK(horizon >= 1, "make_windows: horizon must be at least 1");
    std::vector<Window> out;
    for (const EpisodeRange& e : episodes) {
        const std::size_t n = e.length();
        if (n >= horizon) {
            for (std::size_t j = 0; j + horizon <= n; ++j) out.push_back({e.start + j, horizon});
        } else {
            out.push_back({e.start, n});  // padded at the end (docs/algorithm.md §7.2 rule 3)
        }
    }
    return out;
}

xt::xtensor<float, 2> state_action_rows(const Dataset& d) {
    const std::size_t n = d.size(), s = d.obs_dim(), a = d.action_dim();
    xt::xtensor<float, 2> x = xt::xtensor<float, 2>::from_shape({n, s + a});
    for (std::size_t i = 0; i < n; ++i) {
        std::copy_n(&d.observations(i, 0), s, &x(i, 0));
        std::copy_n(&d.actions(i, 0), a, &x(i, s));
    }
    return x;
}

WindowDataset::WindowDataset(const Dataset& dataset, std::size_t horizon, const MinMaxNormalizer& normalizer)
    : horizon_(horizon) {
    const std::size_t d = dataset.obs_dim() + dataset.action_dim();
    DYDIFF_CHECK(normalizer.dim() == d, "WindowDataset: the normalizer has " << normalizer.dim()
                                            << " dims but the dataset's [s, a] rows have " << d << " (S "
                                            << dataset.obs_dim() << " + A " << dataset.action_dim() << ")");
    rows_ = normalizer.apply(state_action_rows(dataset));
    windows_ = make_windows(split_episodes(dataset, TailRows::drop), horizon);
    DYDIFF_USER_CHECK(!windows_.empty(), (dataset.source.empty() ? std::string("dataset") : dataset.source)
                                             << ": no diffusion window: no row has terminals or timeouts set, and the "
                                                "unflagged tail is dropped (docs/data_format.md)");
}

xt::xtensor<float, 3> WindowDataset::gather(const std::vector<std::size_t>& indices) const {
    const std::size_t b = indices.size(), d = channels();
    xt::xtensor<float, 3> out = xt::xtensor<float, 3>::from_shape({b, horizon_, d});
    for (std::size_t k = 0; k < b; ++k) {
        DYDIFF_CHECK(indices[k] < windows_.size(), "WindowDataset::gather: index " << indices[k] << " at position "
                                                        << k << " is out of range (" << windows_.size()
                                                        << " windows)");
        const Window& w = windows_[indices[k]];
        float* dst = &out(k, 0, 0);
        std::copy_n(&rows_(w.start, 0), w.valid * d, dst);
        std::fill(dst + w.valid * d, dst + horizon_ * d, kWindowPad);
    }
    return out;
}

std::vector<std::size_t> WindowDataset::sample_indices(Rng& rng, std::size_t batch) const {
    std::vector<std::size_t> out(batch);
    for (std::size_t& i : out) i = rng.randint(windows_.size());
    return out;
}

}  // namespace dydiff::data
