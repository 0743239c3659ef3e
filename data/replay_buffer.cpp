// Replay buffer ring and the mixed real/synthetic sampler (data/replay_buffer.hpp).
#include "data/replay_buffer.hpp"

#include "autograd/error.hpp"

#include <algorithm>
#include <cmath>

namespace dydiff::data {

ReplayBuffer::ReplayBuffer(std::size_t capacity, std::size_t obs_dim, std::size_t action_dim)
    : capacity_(capacity) {
    DYDIFF_CHECK(capacity >= 1, "ReplayBuffer: capacity must be at least 1");
    obs_ = xt::zeros<float>({capacity, obs_dim});
    act_ = xt::zeros<float>({capacity, action_dim});
    rew_ = xt::zeros<float>({capacity});
    next_ = xt::zeros<float>({capacity, obs_dim});
    done_ = xt::zeros<float>({capacity});
}

ReplayBuffer ReplayBuffer::from_transitions(const Transitions& t) {
    ReplayBuffer buffer(std::max<std::size_t>(t.size(), 1), t.observations.shape()[1], t.actions.shape()[1]);
    buffer.add_batch(t);
    return buffer;
}

std::size_t ReplayBuffer::slot(std::size_t k) const noexcept {
    // The oldest row sits at head_ once the ring is full, at 0 before.
    return (size_ < capacity_ ? k : head_ + k) % capacity_;
}

void ReplayBuffer::add_batch(const Transitions& t) {
    const std::size_t m = t.size(), s = obs_dim(), a = action_dim();
    DYDIFF_CHECK(t.observations.shape()[1] == s && t.actions.shape()[1] == a && t.next_observations.shape()[0] == m &&
                     t.next_observations.shape()[1] == s && t.actions.shape()[0] == m && t.rewards.size() == m &&
                     t.dones.size() == m,
                 "ReplayBuffer::add_batch: batch with observations " << shape_str(t.observations.shape()) << ", actions "
                     << shape_str(t.actions.shape()) << ", rewards " << shape_str(t.rewards.shape())
                     << ", next_observations " << shape_str(t.next_observations.shape()) << ", dones "
                     << shape_str(t.dones.shape()) << " does not fit a buffer of obs dim " << s << ", action dim " << a);
    // Only the last `capacity` rows of an oversized batch survive.
    const std::size_t first = m > capacity_ ? m - capacity_ : 0;
    for (std::size_t i = first; i < m; ++i) {
        const std::size_t r = head_;
        std::copy_n(&t.observations(i, 0), s, &obs_(r, 0));
        std::copy_n(&t.actions(i, 0), a, &act_(r, 0));
        rew_(r) = t.rewards(i);
        std::copy_n(&t.next_observations(i, 0), s, &next_(r, 0));
        done_(r) = t.dones(i);
        head_ = (head_ + 1) % capacity_;
        size_ = std::min(size_ + 1, capacity_);
    }
}

void ReplayBuffer::clear() noexcept {
    size_ = 0;
    head_ = 0;
}

Transitions ReplayBuffer::storage_rows() const {
    Transitions t = Transitions::zeros(size_, obs_dim(), action_dim());
    if (size_ == 0) return t;
    std::copy_n(obs_.data(), size_ * obs_dim(), t.observations.data());
    std::copy_n(act_.data(), size_ * action_dim(), t.actions.data());
    std::copy_n(rew_.data(), size_, t.rewards.data());
    std::copy_n(next_.data(), size_ * obs_dim(), t.next_observations.data());
    std::copy_n(done_.data(), size_, t.dones.data());
    return t;
}

void ReplayBuffer::restore(const Transitions& rows, std::size_t head) {
    const std::size_t n = rows.size();
    DYDIFF_CHECK(n <= capacity_ && rows.observations.shape()[1] == obs_dim() &&
                     rows.actions.shape()[1] == action_dim() && head < capacity_ && (n == capacity_ || head == n % capacity_),
                 "ReplayBuffer::restore: " << n << " rows of widths " << rows.observations.shape()[1] << "/"
                                           << rows.actions.shape()[1] << " with head " << head
                                           << " do not fit a buffer of capacity " << capacity_ << " and widths "
                                           << obs_dim() << "/" << action_dim());
    std::copy_n(rows.observations.data(), n * obs_dim(), obs_.data());
    std::copy_n(rows.actions.data(), n * action_dim(), act_.data());
    std::copy_n(rows.rewards.data(), n, rew_.data());
    std::copy_n(rows.next_observations.data(), n * obs_dim(), next_.data());
    std::copy_n(rows.dones.data(), n, done_.data());
    size_ = n;
    head_ = head;
}

Transitions ReplayBuffer::at(std::size_t k) const {
    DYDIFF_CHECK(k < size_, "ReplayBuffer::at: row " << k << " of a buffer holding " << size_);
    Transitions t = Transitions::zeros(1, obs_dim(), action_dim());
    const std::size_t r = slot(k);
    std::copy_n(&obs_(r, 0), obs_dim(), &t.observations(0, 0));
    std::copy_n(&act_(r, 0), action_dim(), &t.actions(0, 0));
    t.rewards(0) = rew_(r);
    std::copy_n(&next_(r, 0), obs_dim(), &t.next_observations(0, 0));
    t.dones(0) = done_(r);
    return t;
}

void ReplayBuffer::sample_into(Rng& rng, Transitions& out, std::size_t offset, std::size_t count) const {
    DYDIFF_CHECK(size_ > 0 || count == 0, "ReplayBuffer::sample: the buffer is empty");
    DYDIFF_CHECK(offset + count <= out.size() && out.observations.shape()[1] == obs_dim() &&
                     out.actions.shape()[1] == action_dim(),
                 "ReplayBuffer::sample_into: rows [" << offset << ", " << offset + count << ") do not fit the output "
                                                     << shape_str(out.observations.shape()));
    const std::size_t s = obs_dim(), a = action_dim();
    for (std::size_t k = offset; k < offset + count; ++k) {
        // Uniform over the rows held; storage order does not matter for a uniform draw.
        const std::size_t r = rng.randint(size_);
        std::copy_n(&obs_(r, 0), s, &out.observations(k, 0));
        std::copy_n(&act_(r, 0), a, &out.actions(k, 0));
        out.rewards(k) = rew_(r);
        std::copy_n(&next_(r, 0), s, &out.next_observations(k, 0));
        out.dones(k) = done_(r);
    }
}

Transitions ReplayBuffer::sample(Rng& rng, std::size_t batch) const {
    Transitions out = Transitions::zeros(batch, obs_dim(), action_dim());
    sample_into(rng, out, 0, batch);
    return out;
}

Transitions sample_mixed(const ReplayBuffer& real, const ReplayBuffer& synthetic, std::size_t batch, Rng& rng,
                         const MixedSamplerConfig& config) {
    DYDIFF_CHECK(config.real_fraction >= 0.0 && config.real_fraction <= 1.0,
                 "sample_mixed: real_fraction must be in [0, 1], got " << config.real_fraction);
    DYDIFF_CHECK(real.obs_dim() == synthetic.obs_dim() && real.action_dim() == synthetic.action_dim(),
                 "sample_mixed: the real buffer has obs dim " << real.obs_dim() << ", action dim " << real.action_dim()
                     << " but the synthetic one " << synthetic.obs_dim() << ", " << synthetic.action_dim());
    // docs/algorithm.md §11 P15: too few synthetic rows -> an all-real batch.
    const bool fallback = synthetic.size() < std::max<std::size_t>(config.min_synthetic, 1);
    const std::size_t n_real =
        fallback ? batch : static_cast<std::size_t>(std::floor(static_cast<double>(batch) * config.real_fraction));
    Transitions out = Transitions::zeros(batch, real.obs_dim(), real.action_dim());
    real.sample_into(rng, out, 0, n_real);
    synthetic.sample_into(rng, out, n_real, batch - n_real);
    return out;
}

}  // namespace dydiff::data
