// The rollout pieces of Algorithm 2 and the error-vs-horizon experiment (docs/algorithm.md §2, §4.2), with
// injected functions instead of trained models: the SVG writer's structure, model <-> raw round trips, a perfect
// one-step model giving zero ensemble-rollout error, DyDiff refinement keeping s0 bit for bit and relabelling every
// action with the policy, the 50/50 average, open-loop draws of a stochastic policy, and determinism per seed.
#include "autograd/error.hpp"
#include "dydiff/envs/pendulum.hpp"
#include "dydiff/eval/rollout_error.hpp"
#include "dydiff/eval/svg_plot.hpp"

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <regex>
#include <stack>

using namespace dydiff;

namespace {

constexpr float kRoundTripTol = 1e-5f;     // float32 min-max forward + inverse, relative to the box size
constexpr double kPerfectModelTol = 1e-4;  // 31 pendulum steps through float32 model-scale round trips

// A min-max box over pendulum's [cos, sin, theta_dot, u] that contains every reachable state.
data::MinMaxNormalizer pendulum_box() {
    xt::xtensor<float, 1> lo = {-1.1f, -1.1f, -8.5f, -2.0f}, hi = {1.1f, 1.1f, 8.5f, 2.0f};
    return data::MinMaxNormalizer(lo, hi);
}

// The true pendulum dynamics on raw observations [cos, sin, theta_dot]: a perfect stand-in for the ensemble.
Array2 pendulum_true_step(const Array2& s, const Array2& a) {
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

// A sampler over a cheap fake denoiser: Algorithm 3's in-painting and noise, without a network.
ConditionalSampler fake_sampler(std::size_t* calls = nullptr) {
    EdmConfig config;
    config.num_steps = 6;
    return diffusion_sampler(
        [calls](const SamplerState& x, double) {
            if (calls) ++*calls;
            return SamplerState(0.5 * x);
        },
        config);
}

std::unique_ptr<envs::Env> make_pendulum() { return envs::make_env("pendulum"); }

// Minimal XML structure check: every start tag closed in order, self-closing tags allowed.
bool well_formed(const std::string& svg) {
    std::stack<std::string> open;
    const std::regex tag("<(/?)([a-zA-Z][a-zA-Z0-9]*)[^>]*?(/?)>");
    for (auto it = std::sregex_iterator(svg.begin(), svg.end(), tag); it != std::sregex_iterator(); ++it) {
        const auto& m = *it;
        if (m[1] == "/") {
            if (open.empty() || open.top() != m[2]) return false;
            open.pop();
        } else if (m[3] != "/") {
            open.push(m[2]);
        }
    }
    return open.empty();
}

std::size_t count(const std::string& s, const std::string& what) {
    std::size_t n = 0;
    for (auto p = s.find(what); p != std::string::npos; p = s.find(what, p + 1)) ++n;
    return n;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(rollout)

BOOST_AUTO_TEST_CASE(svg_has_one_polyline_per_series_and_is_well_formed) {
    LinePlot plot;
    plot.title = "error <&> horizon";
    plot.x_label = "step";
    plot.y_label = "L2";
    for (int k = 0; k < 3; ++k) {
        LineSeries s;
        s.name = "method " + std::to_string(k);
        for (int t = 0; t < 10; ++t) {
            s.x.push_back(t);
            s.y.push_back(0.1 * k * t);
        }
        plot.series.push_back(s);
    }
    const std::string svg = render_svg(plot);
    BOOST_TEST(svg.rfind("<?xml", 0) == 0u);
    BOOST_TEST(count(svg, "<svg ") == 1u);
    BOOST_TEST(count(svg, "<polyline ") == 3u);
    BOOST_TEST(well_formed(svg));
    BOOST_TEST(svg.find("error &lt;&amp;&gt; horizon") != std::string::npos);
    // Each polyline carries one "x,y" pair per point.
    const std::regex points("points=\"([^\"]*)\"");
    for (auto it = std::sregex_iterator(svg.begin(), svg.end(), points); it != std::sregex_iterator(); ++it)
        BOOST_TEST(count((*it)[1].str(), ",") == 10u);
    for (int k = 0; k < 3; ++k) BOOST_TEST(svg.find(">method " + std::to_string(k) + "<") != std::string::npos);
    BOOST_TEST(!well_formed("<svg><g></svg></g>"));  // the checker itself can fail

    const std::vector<double> ticks = nice_ticks(0.0, 1.0, 6);
    const std::vector<double> want = {0.0, 0.2, 0.4, 0.6, 0.8, 1.0};
    BOOST_REQUIRE_EQUAL(ticks.size(), want.size());
    for (std::size_t i = 0; i < want.size(); ++i) BOOST_TEST(ticks[i] == want[i], boost::test_tools::tolerance(1e-12));

    LineSeries bad;
    bad.name = "bad";
    bad.x = {0.0, 1.0};
    bad.y = {0.0};
    plot.series.push_back(bad);
    BOOST_CHECK_THROW(render_svg(plot), dydiff::Error);
}

BOOST_AUTO_TEST_CASE(model_scale_round_trips_in_range_and_clips_outside) {
    const ModelScale scale(pendulum_box(), 3);
    BOOST_TEST(scale.obs_dim() == 3u);
    BOOST_TEST(scale.action_dim() == 1u);
    const Array2 s = {{1.0f, 0.0f, 0.0f}, {-0.6f, 0.8f, 7.9f}, {0.3f, -0.95f, -8.4f}};
    const Array2 back = scale.states_to_raw(scale.states_to_model(s));
    const float range[3] = {2.2f, 2.2f, 17.0f};
    for (std::size_t i = 0; i < 3; ++i)
        for (std::size_t k = 0; k < 3; ++k) BOOST_TEST(std::abs(back(i, k) - s(i, k)) <= kRoundTripTol * range[k]);
    const Array2 model = scale.states_to_model(s);
    BOOST_TEST(xt::amax(xt::abs(model))() <= 1.0f);
    // Outside the box: the model -> raw path clips to [-1, 1] first (§2), so raw values land on the box.
    const Array2 far = {{3.0f, -3.0f, 0.0f}};
    const Array2 clipped = scale.states_to_raw(far);
    BOOST_TEST(clipped(0, 0) == 1.1f, boost::test_tools::tolerance(1e-6f));
    BOOST_TEST(clipped(0, 1) == -1.1f, boost::test_tools::tolerance(1e-6f));
    const Array2 u = {{-2.0f}, {0.5f}, {2.0f}};
    const Array2 u_back = scale.actions_to_raw(scale.actions_to_model(u));
    for (std::size_t i = 0; i < 3; ++i) BOOST_TEST(std::abs(u_back(i, 0) - u(i, 0)) <= kRoundTripTol * 4.0f);
    BOOST_CHECK_THROW(ModelScale(pendulum_box(), 4), dydiff::Error);  // no action column left
}

BOOST_AUTO_TEST_CASE(perfect_one_step_model_has_zero_ensemble_error) {
    auto env = make_pendulum();
    auto policy = envs::make_policy(*env, "medium");
    const RawPolicyFn pi = policy_fn(*policy, env->action_space(), 7);
    RolloutErrorConfig config;
    config.starts = 16;
    config.refinements = 1;
    config.seed = 3;
    const std::vector<float> unit(3, 1.0f);
    const RolloutErrorResult r = rollout_error(make_pendulum, ModelScale(pendulum_box(), 3), 32, pi,
                                               pendulum_true_step, fake_sampler(), unit, config);
    BOOST_REQUIRE(r.methods.size() == 3u);
    BOOST_TEST(r.methods[0] == "ensemble");
    BOOST_REQUIRE_EQUAL(r.error[0].size(), 32u);
    double worst = 0.0;
    for (double e : r.error[0]) worst = std::max(worst, e);
    BOOST_TEST(worst <= kPerfectModelTol);
    // The truth itself moves: the zero above is not a frozen trajectory.
    const std::vector<double> motion = mean_l2_error(
        xt::xtensor<float, 3>(xt::view(r.truth.states, xt::all(), xt::range(31, 32), xt::all())),
        xt::xtensor<float, 3>(xt::view(r.truth.states, xt::all(), xt::range(0, 1), xt::all())));
    BOOST_TEST(motion[0] > 0.1);
    // The fake sampler is a poor model: its column must show error, so the comparison can fail.
    BOOST_TEST(r.error[1][31] > 10 * kPerfectModelTol);
}

BOOST_AUTO_TEST_CASE(refinement_keeps_s0_averages_and_relabels_with_the_policy) {
    const std::size_t B = 5, H = 12, S = 3, A = 1;
    const ModelScale scale(pendulum_box(), S);
    auto env = make_pendulum();
    auto policy = envs::make_policy(*env, "expert");
    const ModelPolicyFn pi = model_policy_fn(policy_fn(*policy, env->action_space(), 1), scale);
    const ModelStepFn f = model_step_fn(pendulum_true_step, scale);
    Array2 x0_raw = xt::empty<float>({B, S});
    data::Rng rng(11);
    for (std::size_t b = 0; b < B; ++b) {
        const double th = rng.uniform(-3.0f, 3.0f);
        x0_raw(b, 0) = static_cast<float>(std::cos(th));
        x0_raw(b, 1) = static_cast<float>(std::sin(th));
        x0_raw(b, 2) = rng.uniform(-1.0f, 1.0f);
    }
    const Array2 x0 = scale.states_to_model(x0_raw);
    Array xi = xt::empty<float>({B, H, S + A});
    rng.fill_normal(xi.data(), xi.size());
    std::size_t calls = 0;
    data::Rng sampler_rng(5);
    const DyDiffRollout roll = dydiff_rollout(x0, H, 3, pi, f, fake_sampler(&calls), xi, sampler_rng);
    BOOST_TEST(calls == 3u * (6u + 5u));  // three passes of 6 Heun steps (Euler last)
    BOOST_REQUIRE_EQUAL(roll.refinements.size(), 3u);
    const Trajectory* prev = &roll.initial;
    for (const Refinement& r : roll.refinements) {
        for (std::size_t b = 0; b < B; ++b)
            for (std::size_t k = 0; k < S; ++k) {
                BOOST_TEST(r.refined.states(b, 0, k) == x0(b, k));  // bit for bit
                BOOST_TEST(r.diffusion_states(b, 0, k) == x0(b, k));  // in-painted by the sampler
                for (std::size_t t = 1; t < H; ++t)
                    BOOST_TEST(r.refined.states(b, t, k) ==
                               0.5f * (r.diffusion_states(b, t, k) + prev->states(b, t, k)));
            }
        for (std::size_t t = 0; t < H; ++t) {
            const Array2 s = xt::view(r.refined.states, xt::all(), t, xt::all());
            const Array2 a = pi(s, t);
            for (std::size_t b = 0; b < B; ++b) BOOST_TEST(r.refined.actions(b, t, 0) == a(b, 0));
        }
        prev = &r.refined;
    }
    // The relabel changes the actions: the refined states differ from the ensemble's, so do the expert's actions.
    double moved = 0.0;
    for (std::size_t t = 1; t < H; ++t)
        moved += std::abs(roll.refinements[0].refined.actions(0, t, 0) - roll.initial.actions(0, t, 0));
    BOOST_TEST(moved > 0.0);
}

BOOST_AUTO_TEST_CASE(stochastic_policy_is_open_loop_and_runs_are_deterministic_per_seed) {
    auto env = make_pendulum();
    auto policy = envs::make_policy(*env, "random");
    const ModelScale scale(pendulum_box(), 3);
    const std::vector<float> unit(3, 1.0f);
    auto run = [&](std::uint64_t seed) {
        RolloutErrorConfig config;
        config.starts = 8;
        config.refinements = 2;
        config.seed = seed;
        const RawPolicyFn pi = policy_fn(*policy, env->action_space(), seed, 0.3);
        // A noisy stand-in for the ensemble, with its own stream like ensemble_step_fn's.
        auto step_rng = std::make_shared<data::Rng>(seed + 100);
        const RawStepFn step = [step_rng](const Array2& s, const Array2& a) {
            Array2 next = pendulum_true_step(s, a);
            for (auto& v : next) v += 0.01f * step_rng->normal();
            return next;
        };
        return rollout_error(make_pendulum, scale, 16, pi, step, fake_sampler(), unit, config);
    };
    const RolloutErrorResult a = run(1), b = run(1), c = run(2);
    BOOST_TEST(a.error == b.error);
    BOOST_TEST(a.error_z == b.error_z);
    BOOST_TEST(a.error != c.error);
    // A random policy's draws depend on (start, step) only: the model rollouts see the truth's actions.
    const Trajectory& ens = a.rollouts[0];
    for (std::size_t i = 0; i < a.truth.actions.size(); ++i)
        BOOST_TEST(std::abs(ens.actions.data()[i] - a.truth.actions.data()[i]) <= kRoundTripTol * 4.0f);
    // The CSV has a header and one row per step.
    const std::string csv = rollout_error_csv(a.methods, a.error);
    BOOST_TEST(csv.rfind("step,ensemble,diffusion,dydiff_m1,dydiff_m2\n", 0) == 0u);
    BOOST_TEST(count(csv, "\n") == 17u);
}

BOOST_AUTO_TEST_CASE(mismatched_dims_fail_clearly) {
    auto env = make_pendulum();
    auto policy = envs::make_policy(*env, "medium");
    xt::xtensor<float, 1> lo = {-1, -1, -1, -1, -1, -1}, hi = {1, 1, 1, 1, 1, 1};
    const ModelScale maze_like(data::MinMaxNormalizer(lo, hi), 4);  // maze2d's 4 + 2
    RolloutErrorConfig config;
    config.starts = 2;
    BOOST_CHECK_THROW(rollout_error(make_pendulum, maze_like, 8, policy_fn(*policy, env->action_space(), 0),
                                    pendulum_true_step, fake_sampler(), {}, config),
                      dydiff::Error);
}

BOOST_AUTO_TEST_SUITE_END()
