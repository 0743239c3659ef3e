// Episode segmentation (data/episodes.hpp).
#include "data/episodes.hpp"

namespace dydiff::data {

std::vector<EpisodeRange> split_episodes(const float* terminals, const float* timeouts, std::size_t n,
                                         TailRows tail) {
    std::vector<EpisodeRange> out;
    std::size_t start = 0;
    for (std::size_t i = 0; i < n; ++i) {
        if (terminals[i] != 0.0f || timeouts[i] != 0.0f) {
            out.push_back({start, i + 1});
            start = i + 1;
        }
    }
    if (tail == TailRows::keep && start < n) out.push_back({start, n});
    return out;
}

std::vector<EpisodeRange> split_episodes(const Dataset& dataset, TailRows tail) {
    return split_episodes(dataset.terminals.data(), dataset.timeouts.data(), dataset.size(), tail);
}

}  // namespace dydiff::data
