// The batched rollout generator (dydiff/rollout/generator.hpp) with injected models: pendulum's true dynamics as the
// one-step model, a fake denoiser in Algorithm 3, a deterministic policy and a reward on raw values. Checked: real
// start observations in the stored transitions, actions relabelled by the policy, the kept fraction, the length
// prefix, M = 0 without a sampler, bounded rows, determinism per seed, and errors. Behaviour rollouts (the §9.1
// control): starts inside episodes by the window rule, s0 and the actions exactly the dataset's, the sampler
// conditioned on them (padding past an episode end), short episodes truncated, and never a policy or ensemble call.
#include "support/errors.hpp"
#include "data/window_dataset.hpp"
#include "dydiff/envs/pendulum.hpp"
#include "dydiff/rollout/generator.hpp"

#include <boost/test/unit_test.hpp>

#include <cmath>

using namespace dydiff;

namespace {

constexpr float kRelabelTol = 2e-3f;  // policy(raw(model(s))) vs the stored action: two float32 min-max round trips

data::MinMaxNormalizer pendulum_box() {
    xt::xtensor<float, 1> lo = {-1.1f, -1.1f, -8.5f, -2.0f}, hi = {1.1f, 1.1f, 8.5f, 2.0f};
    return data::MinMaxNormalizer(lo, hi);
}

Array2 true_step(const Array2& s, const Array2& a) {
    Array2 out = xt::empty<float>(s.shape());
    for (std::size_t b = 0; b < s.shape()[0]; ++b) {
        envs::PendulumState st{std::atan2(static_cast<double>(s(b, 1)), static_cast<double>(s(b, 0))), s(b, 2)};
        envs::pendulum_step(st, a(b, 0));
        out(b, 0) = static_cast<float>(std::cos(st.theta));
        out(b, 1) = static_cast<float>(std::sin(st.theta));
        out(b, 2) = static_cast<float>(st.theta_dot);
    }
    return out;
}

// u = clip(-2 sin(theta) - 0.5 theta_dot, -2, 2): deterministic, so relabelled actions can be recomputed.
Array2 policy(const Array2& s, std::size_t) {
    Array2 a = xt::empty<float>({s.shape()[0], std::size_t{1}});
    for (std::size_t b = 0; b < s.shape()[0]; ++b)
        a(b, 0) = std::clamp(-2.0f * s(b, 1) - 0.5f * s(b, 2), -2.0f, 2.0f);
    return a;
}

xt::xtensor<float, 1> reward(const Array2& s, const Array2& a) {
    xt::xtensor<float, 1> r = xt::empty<float>({s.shape()[0]});
    for (std::size_t b = 0; b < s.shape()[0]; ++b) r(b) = s(b, 0) - 0.01f * a(b, 0) * a(b, 0);
    return r;
}

struct Fixture {
    ModelScale scale{pendulum_box(), 3};
    GeneratorModels models;
    xt::xtensor<float, 2> pool;
    Fixture() {
        EdmConfig sampler;
        sampler.num_steps = 4;
        models.policy = policy;
        models.step = true_step;
        models.sample = diffusion_sampler([](const SamplerState& x, double) { return SamplerState(0.5 * x); }, sampler);
        models.scale = &scale;
        models.horizon = 8;
        models.reward = reward;
        models.terminated = envs::termination_fn("pendulum");
        pool = xt::empty<float>({std::size_t{20}, std::size_t{3}});
        data::Rng rng(3);
        for (std::size_t i = 0; i < 20; ++i) {
            const double th = rng.uniform(-3.0f, 3.0f);
            pool(i, 0) = static_cast<float>(std::cos(th));
            pool(i, 1) = static_cast<float>(std::sin(th));
            pool(i, 2) = rng.uniform(-1.0f, 1.0f);
        }
    }
};

GeneratorConfig config(std::size_t starts, std::size_t chunk, std::size_t m, const std::string& filter = "hardmax") {
    GeneratorConfig c;
    c.starts = starts;
    c.chunk = chunk;
    c.iterations = m;
    c.filter.kind = filter;
    return c;
}

bool is_pool_row(const xt::xtensor<float, 2>& pool, const float* row) {
    for (std::size_t i = 0; i < pool.shape()[0]; ++i)
        if (std::equal(row, row + 3, &pool(i, 0))) return true;
    return false;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(generator)

BOOST_AUTO_TEST_CASE(transitions_start_at_real_observations_and_actions_are_relabelled) {
    Fixture f;
    const Generation g = generate_rollouts(f.pool, f.models, config(30, 7, 2), data::Rng(1));
    const std::size_t K = g.stats.kept, H = 8;
    BOOST_TEST(g.stats.trajectories == 30u);
    BOOST_TEST(K >= 18u);  // hardmax q = 0.6 of 30; repeated start states tie and may keep more
    BOOST_TEST(K < 30u);
    BOOST_TEST(g.transitions.size() == K * (H - 1));  // pendulum never terminates
    // Step-major rows: the first K rows are t = 0, each starting at a real pool observation, the kept start.
    for (std::size_t i = 0; i < K; ++i) {
        BOOST_TEST(is_pool_row(f.pool, &g.transitions.observations(i, 0)));
        BOOST_TEST(std::equal(&g.kept_starts(i, 0), &g.kept_starts(i, 0) + 3, &g.transitions.observations(i, 0)));
    }
    // Every action equals the policy at its (raw, refined) state: relabelled after the last refinement.
    const Array2 s = xt::reshape_view(g.kept.states, {K * H, std::size_t{3}});
    const Array2 a = policy(s, 0);
    for (std::size_t i = 0; i < K * H; ++i)
        BOOST_TEST(std::abs(a(i, 0) - g.kept.actions.data()[i]) < kRelabelTol);
    BOOST_TEST(g.stats.kept_return_mean >= g.stats.return_mean);
}

BOOST_AUTO_TEST_CASE(one_step_only_needs_no_sampler_and_length_keeps_a_prefix) {
    Fixture f;
    f.models.sample = {};
    GeneratorConfig c = config(10, 4, 0, "none");
    c.length = 5;
    const Generation g = generate_rollouts(f.pool, f.models, c, data::Rng(2));
    BOOST_TEST(g.kept.states.shape()[1] == 5u);
    BOOST_TEST(g.transitions.size() == 10u * 4u);
    // With M = 0 and the true dynamics, s_{t+1} = f(s_t, pi(s_t)) up to the model-scale round trip.
    const Array2 s0 = xt::view(g.kept.states, xt::all(), 0, xt::all());
    const Array2 a0 = xt::view(g.kept.actions, xt::all(), 0, xt::all());
    const Array2 s1 = true_step(s0, a0);
    for (std::size_t b = 0; b < 10; ++b)
        for (std::size_t k = 0; k < 3; ++k) BOOST_TEST(std::abs(s1(b, k) - g.kept.states(b, 1, k)) < kRelabelTol);
    c.iterations = 1;
    BOOST_TEST(test::contains(test::error_of([&] { generate_rollouts(f.pool, f.models, c, data::Rng(2)); }),
                              "needs the diffusion sampler"));
}

BOOST_AUTO_TEST_CASE(deterministic_per_seed_and_bounded) {
    Fixture f;
    const Generation a = generate_rollouts(f.pool, f.models, config(12, 5, 1, "softmax"), data::Rng(9));
    const Generation b = generate_rollouts(f.pool, f.models, config(12, 5, 1, "softmax"), data::Rng(9));
    BOOST_TEST(a.transitions.observations == b.transitions.observations);
    BOOST_TEST(a.transitions.rewards == b.transitions.rewards);
    BOOST_TEST(a.stats.kept == 7u);  // floor(0.6 * 12)
    const Generation c = generate_rollouts(f.pool, f.models, config(12, 5, 1, "softmax"), data::Rng(10));
    BOOST_TEST(!(a.transitions.observations == c.transitions.observations));
}

BOOST_AUTO_TEST_CASE(bad_inputs_name_what_is_wrong) {
    Fixture f;
    GeneratorConfig c = config(4, 2, 1);
    c.length = 9;
    BOOST_TEST(test::contains(test::error_of([&] { generate_rollouts(f.pool, f.models, c, data::Rng(0)); }),
                              "generator.length = 9"));
    const xt::xtensor<float, 2> wrong = xt::zeros<float>({std::size_t{3}, std::size_t{2}});
    BOOST_TEST(test::contains(test::error_of([&] { generate_rollouts(wrong, f.models, config(4, 2, 1), data::Rng(0)); }),
                              "start pool"));
}

// ---- behaviour rollouts ---------------------------------------------------------------------------------------

namespace {

// Pendulum-shaped rows whose third entry, 0.01 i, names row i; actions 1.5 sin(i) (inside the box), three episodes,
// the middle one (3 rows) shorter than the rollout length 5.
BehaviourData behaviour_data() {
    constexpr std::size_t N = 30;
    BehaviourData d;
    d.observations = xt::empty<float>({N, std::size_t{3}});
    d.actions = xt::empty<float>({N, std::size_t{1}});
    for (std::size_t i = 0; i < N; ++i) {
        const double th = 0.2 * static_cast<double>(i) - 3.0;
        d.observations(i, 0) = static_cast<float>(std::cos(th));
        d.observations(i, 1) = static_cast<float>(std::sin(th));
        d.observations(i, 2) = 0.01f * static_cast<float>(i);
        d.actions(i, 0) = 1.5f * static_cast<float>(std::sin(static_cast<double>(i)));
    }
    d.episodes = {{0, 12}, {12, 15}, {15, 30}};
    return d;
}

std::size_t row_of(const float* obs) { return static_cast<std::size_t>(std::lround(obs[2] / 0.01f)); }

const data::EpisodeRange& episode_of(const BehaviourData& d, std::size_t row) {
    for (const auto& e : d.episodes)
        if (row >= e.start && row < e.end) return e;
    BOOST_FAIL("row " << row << " is in no episode");
    return d.episodes.front();
}

}  // namespace

BOOST_AUTO_TEST_CASE(behaviour_rollouts_keep_the_dataset_start_and_actions_and_never_call_the_policy) {
    Fixture f;
    f.models.policy = [](const Array2&, std::size_t) -> Array2 { throw std::logic_error("the policy was called"); };
    f.models.step = [](const Array2&, const Array2&) -> Array2 { throw std::logic_error("the ensemble was called"); };
    // Record what the sampler is conditioned on, then sample as the fixture does.
    std::vector<Array> cond_states, cond_actions;
    const ConditionalSampler inner = f.models.sample;
    f.models.sample = [&](const Array& xi, const Array& s0, const Array& a, data::Rng& rng) {
        cond_states.push_back(s0);
        cond_actions.push_back(a);
        return inner(xi, s0, a, rng);
    };
    const BehaviourData d = behaviour_data();
    GeneratorConfig c = config(200, 64, 2, "none");
    c.actions = "behaviour";
    c.length = 5;
    const std::size_t L = 5, H = 8;
    const Generation g = generate_behaviour_rollouts(d, f.models, c, data::Rng(4));
    BOOST_TEST(cond_states.size() == 4u);  // one sampler pass per chunk of 64
    BOOST_TEST_REQUIRE(g.stats.kept == 200u);
    BOOST_TEST(g.kept.states.shape()[1] == L);
    std::size_t transitions = 0, truncated = 0;
    for (std::size_t b = 0; b < 200; ++b) {
        const std::size_t i = row_of(&g.kept_starts(b, 0));
        BOOST_TEST_REQUIRE(std::equal(&g.kept_starts(b, 0), &g.kept_starts(b, 0) + 3, &d.observations(i, 0)));
        BOOST_TEST(std::equal(&g.kept_starts(b, 0), &g.kept_starts(b, 0) + 3, &g.kept.states(b, 0, 0)));
        // The window rule: L states inside the episode, or an episode shorter than L from its first row.
        const data::EpisodeRange& e = episode_of(d, i);
        const std::size_t n = g.kept_lengths[b];
        BOOST_TEST((i + L <= e.end ? n == L : (i == e.start && n == e.length())), "start row " << i);
        if (n < L) ++truncated;
        for (std::size_t t = 0; t < n; ++t) BOOST_TEST(g.kept.actions(b, t, 0) == d.actions(i + t, 0));
        for (std::size_t t = n; t < L; ++t) BOOST_TEST(g.kept.states(b, t, 0) == 0.0f);
        transitions += n - 1;
        // The sampler saw s0 and the actions over the whole horizon H, padded past the episode end.
        const Array& s0 = cond_states[b / 64];
        const Array& a = cond_actions[b / 64];
        const Array2 model_s0 = f.scale.states_to_model(Array2(xt::view(d.observations, xt::range(i, i + 1), xt::all())));
        for (std::size_t k = 0; k < 3; ++k) BOOST_TEST(s0(b % 64, k) == model_s0(0, k));
        for (std::size_t t = 0; t < H; ++t) {
            const float expected =
                i + t < e.end
                    ? f.scale.actions_to_model(Array2(xt::view(d.actions, xt::range(i + t, i + t + 1), xt::all())))(0, 0)
                    : data::kWindowPad;
            BOOST_TEST(a(b % 64, t, 0) == expected);
        }
    }
    BOOST_TEST(truncated > 0u);  // the 3-row episode is drawn: 1 of 8 + 1 + 11 windows
    BOOST_TEST(g.transitions.size() == transitions);  // pendulum never terminates; a truncated trajectory stops early
    BOOST_TEST(g.stats.transitions == transitions);
}

BOOST_AUTO_TEST_CASE(behaviour_rollouts_are_deterministic_and_refuse_the_wrong_entry) {
    Fixture f;
    const BehaviourData d = behaviour_data();
    GeneratorConfig c = config(12, 5, 1, "softmax");
    c.actions = "behaviour";
    const Generation a = generate_behaviour_rollouts(d, f.models, c, data::Rng(5));
    const Generation b = generate_behaviour_rollouts(d, f.models, c, data::Rng(5));
    BOOST_TEST(a.transitions.next_observations == b.transitions.next_observations);
    BOOST_TEST(a.stats.kept == 7u);
    BOOST_TEST(test::contains(test::error_of([&] { generate_rollouts(f.pool, f.models, c, data::Rng(0)); }),
                              "generate_behaviour_rollouts"));
    c.actions = "policy";
    BOOST_TEST(test::contains(test::error_of([&] { generate_behaviour_rollouts(d, f.models, c, data::Rng(0)); }),
                              "generate_rollouts"));
    c.actions = "behavior";
    BOOST_TEST(test::contains(test::error_of([&] { c.validate(); }), "generator.actions = \"behavior\""));
}

BOOST_AUTO_TEST_SUITE_END()
