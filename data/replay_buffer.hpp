// ReplayBuffer: a fixed-capacity FIFO ring of transitions, struct of arrays (obs, action, reward, next_obs, done),
// for DyDiff's real and synthetic buffers (docs/algorithm.md §4.6, §7.3), and sample_mixed, the batch that draws a
// `real_fraction` of its rows from the real buffer and the rest from the synthetic one.
// Sampling is uniform with replacement from our Rng (data/rng.hpp), so a run is bitwise reproducible.
// Layering: data/ (data/transitions.hpp, data/rng.hpp).
#pragma once

#include "data/rng.hpp"
#include "data/transitions.hpp"

#include <cstddef>

namespace dydiff::data {

class ReplayBuffer {
public:
    /// Empty buffer of `capacity` >= 1 rows of widths obs_dim (S) and action_dim (A).
    ReplayBuffer(std::size_t capacity, std::size_t obs_dim, std::size_t action_dim);
    /// A buffer holding exactly `t` (capacity t.size(), at least 1): the real buffer from make_transitions.
    static ReplayBuffer from_transitions(const Transitions& t);

    std::size_t size() const noexcept { return size_; }
    std::size_t capacity() const noexcept { return capacity_; }
    std::size_t obs_dim() const noexcept { return obs_.shape()[1]; }
    std::size_t action_dim() const noexcept { return act_.shape()[1]; }

    /// Appends the rows of t in order; once full, each new row overwrites the oldest (FIFO). A batch larger than the
    /// capacity leaves its last `capacity` rows.
    void add_batch(const Transitions& t);
    /// Forgets every row (capacity unchanged).
    void clear() noexcept;

    /// The storage as it is, for checkpoints: storage rows [0, size()) (not in insertion order once the ring has
    /// wrapped) and the next row to write. restore() puts them back so that sampling continues bit for bit.
    Transitions storage_rows() const;
    std::size_t head() const noexcept { return head_; }
    /// Replaces the contents with storage_rows() and head() of a buffer of the same capacity and widths.
    void restore(const Transitions& rows, std::size_t head);

    /// Row k in insertion order among the rows held, k < size(): 0 is the oldest.
    Transitions at(std::size_t k) const;
    /// `batch` rows drawn uniformly with replacement; the buffer must not be empty.
    Transitions sample(Rng& rng, std::size_t batch) const;
    /// Writes `count` sampled rows into out starting at row `offset` (out already sized).
    void sample_into(Rng& rng, Transitions& out, std::size_t offset, std::size_t count) const;

private:
    std::size_t slot(std::size_t k) const noexcept;  // storage row of the k-th oldest row
    std::size_t capacity_;
    std::size_t size_ = 0;
    std::size_t head_ = 0;           // next storage row to write
    xt::xtensor<float, 2> obs_;      // (capacity, S)
    xt::xtensor<float, 2> act_;      // (capacity, A)
    xt::xtensor<float, 1> rew_;      // (capacity)
    xt::xtensor<float, 2> next_;     // (capacity, S)
    xt::xtensor<float, 1> done_;     // (capacity)
};

struct MixedSamplerConfig {
    /// Share of each batch drawn from the real buffer (the paper's real_ratio); floor(batch * real_fraction) rows are
    /// real, the rest synthetic. In [0, 1].
    double real_fraction = 0.5;
    /// While the synthetic buffer holds fewer rows than this, the whole batch is real. The reference uses 102
    /// (docs/algorithm.md §11 P15).
    std::size_t min_synthetic = 102;
};

/// A batch of `batch` rows: the real rows first, then the synthetic ones (or all real during the fallback).
Transitions sample_mixed(const ReplayBuffer& real, const ReplayBuffer& synthetic, std::size_t batch, Rng& rng,
                         const MixedSamplerConfig& config = {});

}  // namespace dydiff::data
