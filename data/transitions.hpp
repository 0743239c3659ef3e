// Q-learning transitions (s, a, r, s', done) from a D4RL-layout dataset: the data of the real replay buffer, the
// dynamics ensemble and the reward model (docs/algorithm.md §7.1 "RL buffer", §7.3; D4RL `qlearning_dataset`).
// Rules, row i of the dataset:
//   - timeouts[i] set (and terminals[i] not): skipped, as qlearning_dataset does (see make_transitions);
//   - terminals[i] set: kept with done = 1 (also when timeouts[i] is set too: a true termination needs no next state);
//   - otherwise kept with done = 0; s' = next_observations[i] when the file has them, else observations[i + 1],
//     which lies in the same episode because row i carries no flag. The last row is dropped when next_observations
//     are absent (no row i + 1), as in qlearning_dataset, even when it is terminal.
// NOTE: a terminal row without next_observations gets s' = observations[i] (a placeholder). The reference pairs it
// with observations[i + 1], the first row of the *next* episode: masked by done in TD targets, but a false jump for
// the dynamics model trained on the same transitions. We never pair rows across an episode end.
// Transitions is also the batch type of data/replay_buffer.hpp.
// Layering: data/ (data/dataset.hpp).
#pragma once

#include "autograd/xt.hpp"
#include "data/dataset.hpp"

#include <cstddef>
#include <vector>

namespace dydiff::data {

/// Struct-of-arrays transitions; every array has the same first axis (the count M).
struct Transitions {
    xt::xtensor<float, 2> observations;       // (M, S)
    xt::xtensor<float, 2> actions;            // (M, A)
    xt::xtensor<float, 1> rewards;            // (M)
    xt::xtensor<float, 2> next_observations;  // (M, S)
    xt::xtensor<float, 1> dones;              // (M), 1 for a true termination (no bootstrap), else 0

    std::size_t size() const { return observations.shape()[0]; }
    /// M empty rows of the given widths.
    static Transitions zeros(std::size_t m, std::size_t obs_dim, std::size_t action_dim);
};

struct TransitionOptions {
    /// Keep timeout rows (done = 0, bootstrapped) when the file has next_observations. Off by default to match the
    /// reference (D4RL qlearning_dataset skips them); on gives the truncation != termination treatment that d3rlpy
    /// #98 asks for. Ignored (timeouts always skipped) without next_observations: there is no valid next state.
    bool keep_timeouts_with_next_obs = false;
};

/// The transitions of `dataset` by the rules above, in row order. `rows`, when given, receives the dataset row of
/// each transition (size M).
Transitions make_transitions(const Dataset& dataset, const TransitionOptions& options = {},
                             std::vector<std::size_t>* rows = nullptr);

}  // namespace dydiff::data
