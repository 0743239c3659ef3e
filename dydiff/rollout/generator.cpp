// The batched DyDiff rollout generator (see generator.hpp; docs/algorithm.md §4.2–§4.5).
#include "dydiff/rollout/generator.hpp"

#include "autograd/error.hpp"
#include "autograd/tensor.hpp"
#include "data/window_dataset.hpp"
#include "dydiff/run/config.hpp"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <array>
#include <numeric>

namespace dydiff {

void GeneratorConfig::fields(ConfigFields& f) {
    f.add("starts", &starts, "B_roll: start observations per generation, drawn from the real data (official: 2048)")
        .at_least(1);
    f.add("chunk", &chunk, "start states per Algorithm 2 call; bounds the sampler's memory").at_least(1);
    f.add("iterations", &iterations, "M: diffusion refinements; 0 = one-step ensemble rollouts only (official: 2)");
    f.add("length", &length, "rollout length in states (<= the diffusion horizon); 0 = the horizon (official: 0)");
    f.add("actions", &actions,
          "policy: Algorithm 2 (official); behaviour: the control of docs/algorithm.md §9.1 (a dataset window's s0 and "
          "recorded actions, one sampler pass, no ensemble, no policy)")
        .one_of({"policy", "behaviour"});
    f.table("filter", "the reward filter (docs/algorithm.md §4.4)", filter);
}

void GeneratorConfig::validate() const {
    DYDIFF_USER_CHECK(starts >= 1, "generator.starts = " << starts << ": expected >= 1");
    DYDIFF_USER_CHECK(chunk >= 1, "generator.chunk = " << chunk << ": expected >= 1");
    DYDIFF_USER_CHECK(actions == "policy" || actions == "behaviour",
                      "generator.actions = \"" << actions << "\": expected policy or behaviour");
    filter.validate();
}

namespace {

xt::xtensor<float, 3> first_steps(const xt::xtensor<float, 3>& x, std::size_t length) {
    const std::size_t B = x.shape()[0], K = x.shape()[2];
    xt::xtensor<float, 3> out = xt::empty<float>({B, length, K});
    for (std::size_t b = 0; b < B; ++b) std::copy_n(&x(b, 0, 0), length * K, &out(b, 0, 0));
    return out;
}

// Rows `rows` of x (first axis) in order.
template <std::size_t N>
xt::xtensor<float, N> take_rows(const xt::xtensor<float, N>& x, const std::vector<std::size_t>& rows) {
    auto shape = x.shape();
    const std::size_t width = x.size() / std::max<std::size_t>(1, shape[0]);
    std::array<std::size_t, N> out_shape;
    std::copy(shape.begin(), shape.end(), out_shape.begin());
    out_shape[0] = rows.size();
    xt::xtensor<float, N> out = xt::empty<float>(out_shape);
    for (std::size_t i = 0; i < rows.size(); ++i)
        std::copy_n(x.data() + rows[i] * width, width, out.data() + i * width);
    return out;
}

// The filter over all B trajectories (their valid pairs), the kept ones cut into transitions, the statistics.
Generation finish_generation(const Trajectory& all, const xt::xtensor<float, 2>& starts,
                             const std::vector<std::size_t>& lengths, const GeneratorModels& models,
                             const GeneratorConfig& config, const data::Rng& rng,
                             std::chrono::steady_clock::time_point t0) {
    const std::size_t B = all.states.shape()[0], L = all.states.shape()[1];
    Generation out;
    const std::vector<double> returns = trajectory_returns(all.states, all.actions, models.reward, lengths);
    data::Rng filter_rng = rng.fork(std::uint64_t{1} << 20);
    const std::vector<std::size_t> kept = filter_trajectories(returns, config.filter, filter_rng);
    out.kept = {take_rows(all.states, kept), take_rows(all.actions, kept)};
    out.kept_starts = take_rows(starts, kept);
    for (std::size_t b : kept) out.kept_lengths.push_back(lengths.empty() ? L : lengths[b]);
    out.transitions = trajectories_to_transitions(out.kept.states, out.kept.actions, out.kept_starts, models.reward,
                                                  models.terminated, lengths.empty() ? lengths : out.kept_lengths);

    GenerationStats& st = out.stats;
    st.trajectories = B;
    st.kept = kept.size();
    st.transitions = out.transitions.size();
    st.return_mean = std::accumulate(returns.begin(), returns.end(), 0.0) / static_cast<double>(B);
    double var = 0.0;
    for (double r : returns) var += (r - st.return_mean) * (r - st.return_mean);
    st.return_std = std::sqrt(var / static_cast<double>(B));
    double kept_sum = 0.0;
    for (std::size_t b : kept) kept_sum += returns[b];
    st.kept_return_mean = kept.empty() ? 0.0 : kept_sum / static_cast<double>(kept.size());
    st.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    return out;
}

}  // namespace

Generation generate_rollouts(const xt::xtensor<float, 2>& start_pool, const GeneratorModels& models,
                             const GeneratorConfig& config, const data::Rng& rng) {
    config.validate();
    const auto t0 = std::chrono::steady_clock::now();
    DYDIFF_CHECK(config.actions == "policy",
                 "generate_rollouts: generator.actions = " << config.actions << " (generate_behaviour_rollouts)");
    DYDIFF_CHECK(models.scale != nullptr && models.policy && models.step && models.reward && models.terminated,
                 "generate_rollouts: the policy, step, scale, reward and termination functions are required");
    DYDIFF_CHECK(config.iterations == 0 || models.sample,
                 "generate_rollouts: iterations = " << config.iterations << " needs the diffusion sampler");
    const ModelScale& scale = *models.scale;
    const std::size_t S = scale.obs_dim(), A = scale.action_dim(), N = start_pool.shape()[0];
    DYDIFF_CHECK(N >= 1 && start_pool.shape()[1] == S,
                 "generate_rollouts: the start pool is (" << N << ", " << start_pool.shape()[1] << "), expected (N >= 1, "
                                                          << S << ")");
    // The window Algorithm 2 works on, and the prefix kept.
    const std::size_t window = config.iterations > 0 || config.length == 0 ? models.horizon : config.length;
    DYDIFF_CHECK(window >= 2, "generate_rollouts: the rollout window has " << window << " states; at least 2 are needed");
    DYDIFF_CHECK(config.length <= window,
                 "generator.length = " << config.length << " exceeds the diffusion model's horizon " << window);
    const std::size_t L = config.length == 0 ? window : config.length;
    const std::size_t B = config.starts;
    autograd::NoGradGuard no_grad;

    // Start observations, uniform with replacement.
    data::Rng start_rng = rng.fork(0);
    xt::xtensor<float, 2> starts = xt::empty<float>({B, S});
    for (std::size_t b = 0; b < B; ++b) std::copy_n(&start_pool(start_rng.randint(N), 0), S, &starts(b, 0));

    // Algorithm 2 chunk by chunk, into raw-scale trajectories of length L.
    Trajectory all{xt::empty<float>({B, L, S}), xt::empty<float>({B, L, A})};
    const ModelPolicyFn policy = model_policy_fn(models.policy, scale);
    const ModelStepFn step = model_step_fn(models.step, scale);
    for (std::size_t begin = 0, c = 0; begin < B; begin += config.chunk, ++c) {
        const std::size_t n = std::min(config.chunk, B - begin);
        std::vector<std::size_t> rows(n);
        std::iota(rows.begin(), rows.end(), begin);
        const Array2 x0 = scale.states_to_model(take_rows(starts, rows));
        data::Rng chunk_rng = rng.fork(1 + c);
        Array xi = xt::empty<float>({n, window, S + A});
        if (config.iterations > 0) chunk_rng.fill_normal(xi.data(), xi.size());
        const DyDiffRollout roll = dydiff_rollout(x0, window, config.iterations, policy, step, models.sample, xi,
                                                  chunk_rng);
        const Trajectory& final_model = roll.refinements.empty() ? roll.initial : roll.refinements.back().refined;
        const Trajectory raw = to_raw(final_model, scale);
        const xt::xtensor<float, 3> s = first_steps(raw.states, L), a = first_steps(raw.actions, L);
        std::copy(s.begin(), s.end(), &all.states(begin, 0, 0));
        std::copy(a.begin(), a.end(), &all.actions(begin, 0, 0));
    }

    return finish_generation(all, starts, {}, models, config, rng, t0);
}

// ---- behaviour rollouts (docs/algorithm.md §9.1) ------------------------------------------------------------------

BehaviourData BehaviourData::from_dataset(const data::Dataset& dataset) {
    return {dataset.observations, dataset.actions, data::split_episodes(dataset, data::TailRows::keep)};
}

Generation generate_behaviour_rollouts(const BehaviourData& data, const GeneratorModels& models,
                                       const GeneratorConfig& config, const data::Rng& rng) {
    config.validate();
    const auto t0 = std::chrono::steady_clock::now();
    DYDIFF_CHECK(config.actions == "behaviour",
                 "generate_behaviour_rollouts: generator.actions = " << config.actions << " (generate_rollouts)");
    DYDIFF_CHECK(models.scale != nullptr && models.sample && models.reward && models.terminated,
                 "generate_behaviour_rollouts: the sampler, scale, reward and termination functions are required");
    const ModelScale& scale = *models.scale;
    const std::size_t S = scale.obs_dim(), A = scale.action_dim(), N = data.observations.shape()[0];
    const std::size_t H = models.horizon;
    DYDIFF_CHECK(data.observations.shape()[1] == S && data.actions.shape()[0] == N && data.actions.shape()[1] == A,
                 "generate_behaviour_rollouts: observations (" << N << ", " << data.observations.shape()[1]
                     << ") and actions (" << data.actions.shape()[0] << ", " << data.actions.shape()[1]
                     << "), expected (N, " << S << ") and (N, " << A << ")");
    DYDIFF_CHECK(H >= 2, "generate_behaviour_rollouts: the diffusion horizon is " << H << "; at least 2 are needed");
    DYDIFF_CHECK(config.length <= H,
                 "generator.length = " << config.length << " exceeds the diffusion model's horizon " << H);
    const std::size_t L = config.length == 0 ? H : config.length;
    DYDIFF_CHECK(L >= 2, "generator.length = " << L << ": a rollout needs at least 2 states");
    const std::size_t B = config.starts;
    autograd::NoGradGuard no_grad;

    // Start windows at length L, per episode by the diffusion windows' rule (docs/algorithm.md §7.2), drawn uniformly
    // over all of them: pick the episode by the cumulative window count, then the offset inside it.
    std::vector<std::size_t> cumulative;  // windows in episodes 0 .. e
    std::size_t windows = 0;
    for (const data::EpisodeRange& e : data.episodes) {
        DYDIFF_CHECK(e.start < e.end && e.end <= N, "generate_behaviour_rollouts: episode [" << e.start << ", " << e.end
                                                                                           << ") outside " << N << " rows");
        windows += e.length() > L ? e.length() - L + 1 : 1;
        cumulative.push_back(windows);
    }
    DYDIFF_CHECK(windows >= 1, "generate_behaviour_rollouts: the data has no episode to start from");
    data::Rng start_rng = rng.fork(0);
    std::vector<std::size_t> start_row(B), episode_end(B), lengths(B);
    xt::xtensor<float, 2> starts = xt::empty<float>({B, S});
    for (std::size_t b = 0; b < B; ++b) {
        const std::size_t w = start_rng.randint(windows);
        const std::size_t e = static_cast<std::size_t>(
            std::upper_bound(cumulative.begin(), cumulative.end(), w) - cumulative.begin());
        const std::size_t first = e == 0 ? 0 : cumulative[e - 1];
        start_row[b] = data.episodes[e].start + (w - first);
        episode_end[b] = data.episodes[e].end;
        lengths[b] = std::min(L, episode_end[b] - start_row[b]);
        std::copy_n(&data.observations(start_row[b], 0), S, &starts(b, 0));
    }

    // One sampler pass per chunk on (s0, the recorded actions over H rows, padded past the episode end).
    Trajectory all{xt::zeros<float>({B, L, S}), xt::zeros<float>({B, L, A})};
    for (std::size_t begin = 0, c = 0; begin < B; begin += config.chunk, ++c) {
        const std::size_t n = std::min(config.chunk, B - begin);
        std::vector<std::size_t> rows(n);
        std::iota(rows.begin(), rows.end(), begin);
        const Array2 x0 = scale.states_to_model(take_rows(starts, rows));
        Array2 raw_actions = xt::zeros<float>({n * H, A});  // (n H, A) rows inside the episode, raw
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t t = 0; t < H && start_row[begin + i] + t < episode_end[begin + i]; ++t)
                std::copy_n(&data.actions(start_row[begin + i] + t, 0), A, &raw_actions(i * H + t, 0));
        const Array2 model_actions = scale.actions_to_model(raw_actions);
        Array cond_actions = xt::empty<float>({n, H, A});
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t t = 0; t < H; ++t) {
                const bool inside = start_row[begin + i] + t < episode_end[begin + i];
                for (std::size_t k = 0; k < A; ++k)
                    cond_actions(i, t, k) = inside ? model_actions(i * H + t, k) : data::kWindowPad;
            }
        Array cond_state = xt::empty<float>({n, S});
        std::copy(x0.begin(), x0.end(), cond_state.begin());
        data::Rng chunk_rng = rng.fork(1 + c);
        Array xi = xt::empty<float>({n, H, S + A});
        chunk_rng.fill_normal(xi.data(), xi.size());
        const SamplerState x = models.sample(xi, cond_state, cond_actions, chunk_rng);  // (n, H, S + A)
        DYDIFF_CHECK(x.dimension() == 3 && x.shape()[0] == n && x.shape()[1] == H && x.shape()[2] == S + A,
                     "generate_behaviour_rollouts: the sampler returned a sample not of shape (" << n << ", " << H
                                                                                                << ", " << S + A << ")");
        Array2 model_states = xt::empty<float>({n * L, S});  // (n L, S) the first L states of each sample
        for (std::size_t i = 0; i < n; ++i)
            for (std::size_t t = 0; t < L; ++t)
                for (std::size_t k = 0; k < S; ++k) model_states(i * L + t, k) = static_cast<float>(x(i, t, k));
        const Array2 raw_states = scale.states_to_raw(model_states);
        for (std::size_t i = 0; i < n; ++i) {
            const std::size_t b = begin + i;
            std::copy_n(&starts(b, 0), S, &all.states(b, 0, 0));  // s0: the real observation, not its round trip
            for (std::size_t t = 1; t < lengths[b]; ++t) std::copy_n(&raw_states(i * L + t, 0), S, &all.states(b, t, 0));
            for (std::size_t t = 0; t < lengths[b]; ++t)
                std::copy_n(&data.actions(start_row[b] + t, 0), A, &all.actions(b, t, 0));
        }
    }

    return finish_generation(all, starts, lengths, models, config, rng, t0);
}

}  // namespace dydiff
