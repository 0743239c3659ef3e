// Episode segmentation of a D4RL-layout dataset (docs/algorithm.md §4.1 step 1, §7.2 rule 1; docs/data_format.md):
// an episode ends at row i when terminals[i] or timeouts[i] is set, so episodes are the half-open row ranges
// [start, end) between flags. Both flags cut (docs/algorithm.md §11 P30: timeouts cut diffusion episodes even though
// the RL transitions skip them). In maze2d, timeouts mark goal switches, not time limits (D4RL #85): they cut too.
// The rows after the last flag form an unfinished episode: the diffusion dataset drops them like the official code
// (TailRows::drop), `dataset info` reports them apart; TailRows::keep returns them as a last range.
// Layering: data/ (data/dataset.hpp).
#pragma once

#include "data/dataset.hpp"

#include <cstddef>
#include <vector>

namespace dydiff::data {

/// Rows [start, end) of one episode; end > start.
struct EpisodeRange {
    std::size_t start = 0;
    std::size_t end = 0;
    std::size_t length() const noexcept { return end - start; }
    friend bool operator==(const EpisodeRange& a, const EpisodeRange& b) noexcept {
        return a.start == b.start && a.end == b.end;
    }
};

/// What to do with the rows after the last terminals|timeouts flag.
enum class TailRows {
    drop,  ///< discard them (the official code's diffusion dataset, §7.2 rule 1)
    keep,  ///< return them as a last, unfinished episode
};

/// Episodes of `dataset` in row order. With no flag at all, drop gives no episode and keep gives one [0, N).
std::vector<EpisodeRange> split_episodes(const Dataset& dataset, TailRows tail = TailRows::drop);

/// The same over raw flag arrays (N each): the episode cut is `terminals[i] != 0 || timeouts[i] != 0`.
std::vector<EpisodeRange> split_episodes(const float* terminals, const float* timeouts, std::size_t n,
                                         TailRows tail = TailRows::drop);

}  // namespace dydiff::data
