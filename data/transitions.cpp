// Q-learning transitions (data/transitions.hpp).
#include "data/transitions.hpp"

#include <algorithm>

namespace dydiff::data {

Transitions Transitions::zeros(std::size_t m, std::size_t obs_dim, std::size_t action_dim) {
    Transitions t;
    t.observations = xt::zeros<float>({m, obs_dim});
    t.actions = xt::zeros<float>({m, action_dim});
    t.rewards = xt::zeros<float>({m});
    t.next_observations = xt::zeros<float>({m, obs_dim});
    t.dones = xt::zeros<float>({m});
    return t;
}

Transitions make_transitions(const Dataset& d, const TransitionOptions& options, std::vector<std::size_t>* rows) {
    const std::size_t n = d.size(), s = d.obs_dim(), a = d.action_dim();
    const bool has_next = d.next_observations.has_value();
    std::vector<std::size_t> keep;
    keep.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
        const bool terminal = d.terminals(i) != 0.0f;
        const bool timeout = d.timeouts(i) != 0.0f;
        // Without next_observations the last row has no successor at all.
        if (!has_next && i + 1 == n) continue;
        // A timeout step is skipped as in D4RL's qlearning_dataset: the next row belongs to another episode and the
        // step is not a true termination, so (without a stored next observation) there is no valid next state to
        // bootstrap from. A terminal needs none (done = 1 masks it), so terminal rows stay even when timed out too.
        if (timeout && !terminal && !(has_next && options.keep_timeouts_with_next_obs)) continue;
        keep.push_back(i);
    }
    Transitions t = Transitions::zeros(keep.size(), s, a);
    for (std::size_t k = 0; k < keep.size(); ++k) {
        const std::size_t i = keep[k];
        const bool terminal = d.terminals(i) != 0.0f;
        std::copy_n(&d.observations(i, 0), s, &t.observations(k, 0));
        std::copy_n(&d.actions(i, 0), a, &t.actions(k, 0));
        t.rewards(k) = d.rewards(i);
        t.dones(k) = terminal ? 1.0f : 0.0f;
        // See the NOTE in the header: a terminal row without stored next observations never borrows the next
        // episode's first row.
        const float* next = has_next ? &(*d.next_observations)(i, 0)
                                     : (terminal ? &d.observations(i, 0) : &d.observations(i + 1, 0));
        std::copy_n(next, s, &t.next_observations(k, 0));
    }
    if (rows) *rows = std::move(keep);
    return t;
}

}  // namespace dydiff::data
