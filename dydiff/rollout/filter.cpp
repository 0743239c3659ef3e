// Reward filter and synthetic transitions (see filter.hpp; docs/algorithm.md §4.4, §4.5).
#include "dydiff/rollout/filter.hpp"

#include "autograd/error.hpp"
#include "dydiff/run/config.hpp"

#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>

namespace dydiff {

void FilterConfig::fields(ConfigFields& f) {
    f.add("kind", &kind, "trajectory filter: hardmax (top fraction by predicted return), softmax (sampled), none")
        .one_of({"hardmax", "softmax", "none"});
    f.add("keep", &keep, "q, the fraction of trajectories kept, in (0, 1] (official code: 0.6)").in_range(0.0, 1.0);
    f.add("temperature", &temperature, "softmax temperature τ on standardised returns (official code: 0.05)").finite();
    f.add("epsilon", &epsilon, "softmax ε: std guard and uniform mixing weight (official code: 1e-6)").in_range(0.0, 0.5);
    f.check([this] { validate(); });
}

void FilterConfig::validate() const {
    DYDIFF_USER_CHECK(kind == "hardmax" || kind == "softmax" || kind == "none",
                 "filter.kind = '" << kind << "': expected hardmax, softmax or none");
    DYDIFF_USER_CHECK(keep > 0.0 && keep <= 1.0, "filter.keep = " << keep << ": expected a fraction in (0, 1]");
    DYDIFF_USER_CHECK(std::isfinite(temperature), "filter.temperature = " << temperature << ": expected a finite number");
    DYDIFF_USER_CHECK(epsilon >= 0.0 && epsilon < 1.0, "filter.epsilon = " << epsilon << ": expected a value in [0, 1)");
}

double quantile_linear(std::vector<double> values, double p) {
    DYDIFF_CHECK(!values.empty(), "quantile: no values");
    DYDIFF_CHECK(p >= 0.0 && p <= 1.0, "quantile: p = " << p << " outside [0, 1]");
    std::sort(values.begin(), values.end());
    // numpy 'linear' (Hyndman & Fan type 7): position p (n - 1), interpolated between its neighbours.
    const double pos = p * static_cast<double>(values.size() - 1);
    const auto lo = static_cast<std::size_t>(std::floor(pos));
    const std::size_t hi = std::min(lo + 1, values.size() - 1);
    const double frac = pos - static_cast<double>(lo);
    return values[lo] + frac * (values[hi] - values[lo]);
}

namespace {

// Sequential sampling without replacement from log-probabilities = the k largest log p_b + Gumbel_b (Gumbel-top-k).
std::vector<std::size_t> gumbel_top_k(const std::vector<double>& log_p, std::size_t k, data::Rng& rng) {
    std::vector<double> key(log_p.size());
    for (std::size_t b = 0; b < log_p.size(); ++b) {
        double u = rng.uniform_double();
        while (u <= 0.0) u = rng.uniform_double();  // -log(-log 0) is undefined; 0 has probability 2^-53
        key[b] = log_p[b] - std::log(-std::log(u));
    }
    std::vector<std::size_t> order(log_p.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::partial_sort(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(k), order.end(),
                      [&](std::size_t a, std::size_t b) { return key[a] > key[b] || (key[a] == key[b] && a < b); });
    order.resize(k);
    std::sort(order.begin(), order.end());
    return order;
}

double log_sum_exp(const std::vector<double>& x) {
    const double m = *std::max_element(x.begin(), x.end());
    double s = 0.0;
    for (double v : x) s += std::exp(v - m);
    return m + std::log(s);
}

}  // namespace

std::vector<std::size_t> filter_trajectories(const std::vector<double>& returns, const FilterConfig& config,
                                             data::Rng& rng) {
    config.validate();
    const std::size_t K = returns.size();
    for (std::size_t b = 0; b < K; ++b)
        if (!std::isfinite(returns[b]))
            throw NonFiniteError("DyDiff filter: trajectory " + std::to_string(b) +
                                 " has a non-finite predicted return " + std::to_string(returns[b]));
    std::vector<std::size_t> all(K);
    std::iota(all.begin(), all.end(), std::size_t{0});
    if (K == 0 || config.kind == "none") return all;

    if (config.kind == "hardmax") {
        const double threshold = quantile_linear(returns, 1.0 - config.keep);
        std::vector<std::size_t> kept;
        for (std::size_t b = 0; b < K; ++b)
            if (returns[b] >= threshold) kept.push_back(b);
        return kept;
    }

    // softmax: logits z / τ (or R - mean R for τ <= 0), log p by log-sum-exp, ε-mixed in log space.
    const double mean = std::accumulate(returns.begin(), returns.end(), 0.0) / static_cast<double>(K);
    double var = 0.0;
    for (double r : returns) var += (r - mean) * (r - mean);
    const double std_pop = std::sqrt(var / static_cast<double>(K));
    std::vector<double> logits(K);
    for (std::size_t b = 0; b < K; ++b)
        logits[b] = config.temperature > 0.0 ? (returns[b] - mean) / (std_pop + config.epsilon) / config.temperature
                                             : returns[b] - mean;
    const double lse = log_sum_exp(logits);
    std::vector<double> log_p(K);
    const double log_mix = std::log1p(-config.epsilon);
    const double log_uniform = config.epsilon > 0.0 ? std::log(config.epsilon / static_cast<double>(K))
                                                    : -std::numeric_limits<double>::infinity();
    for (std::size_t b = 0; b < K; ++b) {
        const double a = logits[b] - lse + log_mix;
        const double m = std::max(a, log_uniform);
        log_p[b] = m + std::log(std::exp(a - m) + std::exp(log_uniform - m));  // log(p (1 - ε) + ε / K)
    }
    const auto k = std::max<std::size_t>(1, static_cast<std::size_t>(std::floor(config.keep * static_cast<double>(K))));
    return gumbel_top_k(log_p, k, rng);
}

namespace {

// Checks per-trajectory valid lengths (K, each in 1..H) or none.
void check_lengths(const char* what, const std::vector<std::size_t>& lengths, std::size_t K, std::size_t H) {
    DYDIFF_CHECK(lengths.empty() || lengths.size() == K,
                 what << ": " << lengths.size() << " lengths for " << K << " trajectories");
    for (std::size_t b = 0; b < lengths.size(); ++b)
        DYDIFF_CHECK(lengths[b] >= 1 && lengths[b] <= H,
                     what << ": trajectory " << b << " has length " << lengths[b] << ", expected 1.." << H);
}

}  // namespace

std::vector<double> trajectory_returns(const xt::xtensor<float, 3>& states, const xt::xtensor<float, 3>& actions,
                                       const RewardFn& reward, const std::vector<std::size_t>& lengths) {
    const std::size_t K = states.shape()[0], H = states.shape()[1], S = states.shape()[2], A = actions.shape()[2];
    DYDIFF_CHECK(actions.shape()[0] == K && actions.shape()[1] == H,
                 "trajectory_returns: states (" << K << ", " << H << ", S) but actions (" << actions.shape()[0]
                                                << ", " << actions.shape()[1] << ", A)");
    check_lengths("trajectory_returns", lengths, K, H);
    // All K H pairs in one reward-model call: (K H, S) and (K H, A) are the same memory as (K, H, .).
    xt::xtensor<float, 2> obs = xt::empty<float>({K * H, S});
    xt::xtensor<float, 2> act = xt::empty<float>({K * H, A});
    std::copy(states.begin(), states.end(), obs.begin());
    std::copy(actions.begin(), actions.end(), act.begin());
    const xt::xtensor<float, 1> r = reward(obs, act);
    DYDIFF_CHECK(r.size() == K * H, "trajectory_returns: the reward model returned " << r.size() << " values for "
                                                                                     << K * H << " pairs");
    std::vector<double> out(K, 0.0);
    for (std::size_t b = 0; b < K; ++b) {
        const std::size_t n = lengths.empty() ? H : lengths[b];
        for (std::size_t t = 0; t < n; ++t) out[b] += static_cast<double>(r(b * H + t));
    }
    return out;
}

data::Transitions trajectories_to_transitions(const xt::xtensor<float, 3>& states,
                                              const xt::xtensor<float, 3>& actions,
                                              const xt::xtensor<float, 2>& start_obs, const RewardFn& reward,
                                              const envs::TerminationFn& terminated,
                                              const std::vector<std::size_t>& lengths) {
    const std::size_t K = states.shape()[0], H = states.shape()[1], S = states.shape()[2], A = actions.shape()[2];
    DYDIFF_CHECK(actions.shape()[0] == K && actions.shape()[1] == H && start_obs.shape()[0] == K &&
                     start_obs.shape()[1] == S,
                 "trajectories_to_transitions: states (" << K << ", " << H << ", " << S << "), actions ("
                     << actions.shape()[0] << ", " << actions.shape()[1] << ", " << A << "), start_obs ("
                     << start_obs.shape()[0] << ", " << start_obs.shape()[1] << ")");
    check_lengths("trajectories_to_transitions", lengths, K, H);
    std::vector<std::size_t> alive(K);
    std::iota(alive.begin(), alive.end(), std::size_t{0});
    std::vector<data::Transitions> steps;
    std::size_t total = 0;
    for (std::size_t t = 0; t + 1 < H && !alive.empty(); ++t) {
        if (!lengths.empty()) {  // a trajectory whose valid states end at t has no transition from t on
            std::vector<std::size_t> valid;
            for (std::size_t b : alive)
                if (t + 1 < lengths[b]) valid.push_back(b);
            alive.swap(valid);
            if (alive.empty()) break;
        }
        const std::size_t n = alive.size();
        data::Transitions step = data::Transitions::zeros(n, S, A);
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t b = alive[i];
            const float* o = t == 0 ? &start_obs(b, 0) : &states(b, t, 0);
            std::copy_n(o, S, &step.observations(i, 0));
            std::copy_n(&actions(b, t, 0), A, &step.actions(i, 0));
            std::copy_n(&states(b, t + 1, 0), S, &step.next_observations(i, 0));
        }
        step.rewards = reward(step.observations, step.actions);
        step.dones = terminated(step.observations, step.actions, step.next_observations);
        DYDIFF_CHECK(step.rewards.size() == n && step.dones.size() == n,
                     "trajectories_to_transitions: reward/termination returned " << step.rewards.size() << "/"
                                                                                 << step.dones.size() << " values for "
                                                                                 << n << " rows");
        std::vector<std::size_t> still;
        for (std::size_t i = 0; i < n; ++i)
            if (step.dones(i) == 0.0f) still.push_back(alive[i]);
        alive.swap(still);
        total += n;
        steps.push_back(std::move(step));
    }
    data::Transitions out = data::Transitions::zeros(total, S, A);
    if (total == 0) return out;
    std::size_t row = 0;
    for (const data::Transitions& step : steps) {
        const std::size_t n = step.size();
        std::copy(step.observations.begin(), step.observations.end(), &out.observations(row, 0));
        std::copy(step.actions.begin(), step.actions.end(), &out.actions(row, 0));
        std::copy(step.next_observations.begin(), step.next_observations.end(), &out.next_observations(row, 0));
        std::copy(step.rewards.begin(), step.rewards.end(), out.rewards.begin() + static_cast<std::ptrdiff_t>(row));
        std::copy(step.dones.begin(), step.dones.end(), out.dones.begin() + static_cast<std::ptrdiff_t>(row));
        row += n;
    }
    return out;
}

}  // namespace dydiff
