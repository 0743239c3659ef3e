// Dataset: an offline RL dataset in D4RL layout, float32 inside, whatever the file stored (dydiff_algorithm.md §7.1,
// ecosystem.md §3.1). Row i is one environment step: observations[i], actions[i], rewards[i], and the flags that
// end an episode at i: terminals (true termination, do not bootstrap) and timeouts (truncation, or in maze2d a goal
// switch). Layering: data/ (xtensor, autograd/error.hpp, data/npz).
#pragma once

#include "autograd/xt.hpp"

#include <map>
#include <optional>
#include <string>

namespace dydiff::data {

struct Dataset {
    xt::xtensor<float, 2> observations;                      // (N, S)
    xt::xtensor<float, 2> actions;                           // (N, A)
    xt::xtensor<float, 1> rewards;                           // (N)
    xt::xtensor<float, 1> terminals;                         // (N), 0 or 1
    xt::xtensor<float, 1> timeouts;                          // (N), 0 or 1
    std::optional<xt::xtensor<float, 2>> next_observations;  // (N, S), when the file has them
    std::map<std::string, xt::xarray<float>> infos;          // "infos/goal" (N, 2), ...: first axis N
    std::string source;                                      // the file it was read from, for error messages

    std::size_t size() const { return observations.shape()[0]; }
    std::size_t obs_dim() const { return observations.shape()[1]; }
    std::size_t action_dim() const { return actions.shape()[1]; }
};

/// Writes the dataset as an np.savez archive with D4RL key names (float32 arrays; terminals/timeouts as bool),
/// atomically. numpy's np.load(path) gives back the same keys.
void save_dataset_npz(const Dataset& dataset, const std::string& path);

}  // namespace dydiff::data
