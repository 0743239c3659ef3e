// Fixed-length [s, a] windows for the diffusion model (docs/algorithm.md §4.1 step 3, §7.2).
// The dataset is cut into episodes at terminals|timeouts (tail rows dropped, data/episodes.hpp), each row becomes
// x_t = [s_t, a_t] (D = S + A channels) normalised with min-max statistics fitted on *all* rows (tail included,
// §11 P6), and an episode of length n gives windows of H rows:
//   n > H: one window per start offset j = 0 .. n - H (n - H + 1 windows);
//   n = H: one window;
//   n < H: one window holding the n rows, then H - n rows of kWindowPad in every channel (§7.2 rule 3).
// No window crosses an episode end. Sampling is uniform over windows (§7.2 rule 5), so a long episode contributes one
// window per valid start offset.
// Layering: data/ (data/episodes.hpp, data/normalizer.hpp, data/rng.hpp).
#pragma once

#include "autograd/xt.hpp"
#include "data/dataset.hpp"
#include "data/episodes.hpp"
#include "data/normalizer.hpp"
#include "data/rng.hpp"

#include <cstddef>
#include <vector>

namespace dydiff::data {

/// Padding of short episodes in normalised space: -1 - 1e-4 (the official code's training/dataset.py, §7.2), just
/// below the [-1, 1] range of real entries.
constexpr float kWindowPad = -1.0f - 1e-4f;

/// One window: rows [start, start + valid) of the dataset, then horizon - valid rows of padding.
struct Window {
    std::size_t start = 0;
    std::size_t valid = 0;
    friend bool operator==(const Window& a, const Window& b) noexcept {
        return a.start == b.start && a.valid == b.valid;
    }
};

/// The windows of the episodes for a horizon H >= 1, by the rule above, in episode order then start order.
std::vector<Window> make_windows(const std::vector<EpisodeRange>& episodes, std::size_t horizon);

/// [observations, actions] of every row: (N, D), D = S + A. Fit the diffusion MinMaxNormalizer on this.
xt::xtensor<float, 2> state_action_rows(const Dataset& dataset);

/// The diffusion training set: normalised rows plus the window list; gather() cuts (B, H, D) batches.
class WindowDataset {
public:
    /// Normalises state_action_rows(dataset) with `normalizer` (fitted on D = S + A channels) and lists the windows
    /// of split_episodes(dataset, TailRows::drop). Fails when there is no window (no flag in the dataset).
    WindowDataset(const Dataset& dataset, std::size_t horizon, const MinMaxNormalizer& normalizer);

    std::size_t size() const noexcept { return windows_.size(); }
    std::size_t horizon() const noexcept { return horizon_; }
    std::size_t channels() const noexcept { return rows_.shape()[1]; }  // D
    const std::vector<Window>& windows() const noexcept { return windows_; }

    /// The windows at `indices` (each < size()): (B, H, D), padded rows filled with kWindowPad.
    xt::xtensor<float, 3> gather(const std::vector<std::size_t>& indices) const;
    /// B window indices drawn uniformly with replacement.
    std::vector<std::size_t> sample_indices(Rng& rng, std::size_t batch) const;

private:
    xt::xtensor<float, 2> rows_;  // (N, D) normalised [s, a]
    std::size_t horizon_;         // H
    std::vector<Window> windows_;
};

}  // namespace dydiff::data
