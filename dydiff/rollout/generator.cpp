// The batched DyDiff rollout generator (see generator.hpp; docs/algorithm.md §4.2–§4.5).
#include "dydiff/rollout/generator.hpp"

#include "autograd/error.hpp"
#include "autograd/tensor.hpp"
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
    f.table("filter", "the reward filter (docs/algorithm.md §4.4)", filter);
}

void GeneratorConfig::validate() const {
    DYDIFF_USER_CHECK(starts >= 1, "generator.starts = " << starts << ": expected >= 1");
    DYDIFF_USER_CHECK(chunk >= 1, "generator.chunk = " << chunk << ": expected >= 1");
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

}  // namespace

Generation generate_rollouts(const xt::xtensor<float, 2>& start_pool, const GeneratorModels& models,
                             const GeneratorConfig& config, const data::Rng& rng) {
    config.validate();
    const auto t0 = std::chrono::steady_clock::now();
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

    // Filter on the predicted return over all L pairs, then cut into transitions.
    Generation out;
    const std::vector<double> returns = trajectory_returns(all.states, all.actions, models.reward);
    data::Rng filter_rng = rng.fork(std::uint64_t{1} << 20);
    const std::vector<std::size_t> kept = filter_trajectories(returns, config.filter, filter_rng);
    out.kept = {take_rows(all.states, kept), take_rows(all.actions, kept)};
    out.kept_starts = take_rows(starts, kept);
    out.transitions = trajectories_to_transitions(out.kept.states, out.kept.actions, out.kept_starts, models.reward,
                                                  models.terminated);

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

}  // namespace dydiff
