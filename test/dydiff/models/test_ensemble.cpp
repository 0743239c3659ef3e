// Tests of the dynamics ensemble (dydiff/models/dynamics_ensemble.hpp, dydiff/models/holdout.hpp; docs/algorithm.md
// §5.2): parameter counts, init bounds, the log-variance bounds in closed form, the loss on a hand-made case,
// gradients, elite selection, early stopping, the best-weight restore (bitwise), bootstrap indices, elite-only
// prediction, and a learning run on synthetic linear dynamics with a stated hold-out MSE (model files:
// test_model_files.cpp).
#include "autograd/ops.hpp"
#include "dydiff/models/dynamics_ensemble.hpp"
#include "support/gradcheck.hpp"

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstring>
#include <limits>
#include <memory>
#include <set>

using namespace dydiff;
using autograd::Array;
using autograd::Tensor;

namespace {

constexpr float kLossTol = 1e-5f;      // float evaluation of a few exp/mean terms
constexpr float kLogvarTol = 1e-5f;    // softplus in float vs double
constexpr float kLinearTargetMse = 2e-3f;  // hold-out MSE on the linear system (noise variance 1e-4)

/// A small ensemble for the fast tests.
EnsembleConfig small_config(std::size_t members, std::size_t elites, std::size_t hidden) {
    EnsembleConfig c;
    c.members = members;
    c.elites = elites;
    c.hidden = hidden;
    c.layers = 2;
    c.weight_decay = {0.0f, 0.0f, 0.0f};
    return c;
}

/// Member e's slice of every parameter, concatenated.
std::vector<float> member_values(const nn::Module& m, std::size_t members, std::size_t e) {
    std::vector<float> out;
    for (const auto& p : m.parameters()) {
        const std::size_t chunk = p.numel() / members;
        out.insert(out.end(), p.value().data() + e * chunk, p.value().data() + (e + 1) * chunk);
    }
    return out;
}

bool bitwise_equal(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

double softplus_d(double x) { return x > 30 ? x : std::log1p(std::exp(x)); }

}  // namespace

BOOST_AUTO_TEST_SUITE(ensemble)

BOOST_AUTO_TEST_CASE(parameter_counts_match_the_reference) {
    // §5.2: 896,154 for hopper (S 11, A 3) and 925,638 for walker2d / halfcheetah (S 17, A 6).
    data::Rng rng(0);
    const DynamicsEnsemble hopper(11, 3, EnsembleConfig{}, rng);
    BOOST_TEST(hopper.num_parameters() == 896154u);
    BOOST_TEST(hopper.layers().size() == 5u);
    const DynamicsEnsemble walker(17, 6, EnsembleConfig{}, rng);
    BOOST_TEST(walker.num_parameters() == 925638u);
}

BOOST_AUTO_TEST_CASE(weight_decay_groups_are_per_layer) {
    data::Rng rng(0);
    const EnsembleConfig config;
    const DynamicsEnsemble model(11, 3, config, rng);
    const auto groups = ensemble_param_groups(model, config.weight_decay);
    BOOST_TEST_REQUIRE(groups.size() == 5u);
    for (std::size_t l = 0; l < 5; ++l) {
        BOOST_TEST(groups[l].weight_decay == config.weight_decay[l]);
        BOOST_TEST_REQUIRE(groups[l].params.size() == 2u);
        BOOST_TEST(groups[l].params[0].first == "layers." + std::to_string(l) + ".weight");
        BOOST_TEST(groups[l].params[1].first == "layers." + std::to_string(l) + ".bias");
    }
    BOOST_CHECK_THROW(ensemble_param_groups(model, {1e-4f}), Error);
}

BOOST_AUTO_TEST_CASE(init_is_uniform_within_one_over_sqrt_in_times_out) {
    data::Rng rng(1);
    const DynamicsEnsemble model(11, 3, EnsembleConfig{}, rng);
    const std::size_t widths[] = {14, 200, 200, 200, 200, 22};
    for (std::size_t l = 0; l < model.layers().size(); ++l) {
        const auto& layer = *model.layers()[l];
        const float bound = 1.0f / std::sqrt(static_cast<float>(widths[l] * widths[l + 1]));
        BOOST_TEST(layer.weight.shape() == (autograd::Shape{7, widths[l], widths[l + 1]}));
        BOOST_TEST(layer.bias.shape() == (autograd::Shape{7, 1, widths[l + 1]}));
        for (const Tensor& t : {layer.weight, layer.bias}) {
            const float lo = xt::amin(t.value())(), hi = xt::amax(t.value())();
            BOOST_TEST(lo >= -bound);
            BOOST_TEST(hi <= bound);
            // Not a much narrower distribution: the extremes come close to the bound.
            BOOST_TEST(std::max(-lo, hi) > 0.8f * bound);
        }
    }
}

BOOST_AUTO_TEST_CASE(logvar_stays_within_the_bounds_and_matches_closed_form) {
    const float max_lv = 0.5f, min_lv = -10.0f;
    // NOTE: the bounds are soft. The outer softplus lifts a saturated upper value by softplus(min − max), so the
    // exact range is (min, max + log(1 + e^{min − max})] = (−10, 0.5 + 2.75e-5]: "within [min, max]" holds only to
    // 3e-5, as in the official code.
    const float sup = max_lv + static_cast<float>(std::log1p(std::exp(double(min_lv) - max_lv)));
    Array raw = xt::linspace<float>(-1000.0f, 1000.0f, 2001);
    const Array lv = bound_logvar(Tensor(raw), max_lv, min_lv).value();
    std::size_t outside = 0;
    for (std::size_t i = 0; i < raw.size(); ++i)
        if (!(lv(i) >= min_lv && lv(i) <= sup + kLogvarTol)) ++outside;
    BOOST_TEST(outside == 0u);
    BOOST_TEST(xt::amax(lv)() > max_lv);  // the soft upper bound is reached and slightly exceeded
    for (const float v : {-20.0f, -10.0f, -3.0f, 0.0f, 0.25f, 0.5f, 2.0f, 40.0f}) {
        const double upper = max_lv - softplus_d(max_lv - double(v));
        const double expected = min_lv + softplus_d(upper - min_lv);
        const float got = bound_logvar(Tensor(Array{v}), max_lv, min_lv).value()(0);
        BOOST_TEST(got == expected, boost::test_tools::tolerance(double(kLogvarTol)));
    }
    // Far inside the bounds the map is close to the identity; far outside it saturates.
    BOOST_TEST(bound_logvar(Tensor(Array{-4.0f}), max_lv, min_lv).value()(0) ==
               -4.0f, boost::test_tools::tolerance(0.2f));
    BOOST_TEST(bound_logvar(Tensor(Array{1e3f}), max_lv, min_lv).value()(0) ==
               max_lv, boost::test_tools::tolerance(1e-4f));
    BOOST_TEST(bound_logvar(Tensor(Array{-1e3f}), max_lv, min_lv).value()(0) ==
               min_lv, boost::test_tools::tolerance(1e-4f));
}

BOOST_AUTO_TEST_CASE(loss_on_a_hand_made_case) {
    // E 2, B 1, S 2, target 0.
    // member 0: μ (1, 0), logvar (0, 0):     mean((1 + 0) e^0) + 0                    = 0.5
    // member 1: μ (2, 2), logvar (ln2, ln2): mean(4/2, 4/2) + ln2                     = 2 + ln 2
    // loss = average over members = (2.5 + ln 2) / 2
    const float ln2 = std::log(2.0f);
    EnsembleOutput out{Tensor(Array{{{1.0f, 0.0f}}, {{2.0f, 2.0f}}}), Tensor(Array{{{0.0f, 0.0f}}, {{ln2, ln2}}})};
    const Tensor target(Array{{{0.0f, 0.0f}}, {{0.0f, 0.0f}}});
    const float expected = (2.5f + ln2) / 2.0f;
    BOOST_TEST(ensemble_loss(out, target).item() == expected, boost::test_tools::tolerance(kLossTol));
}

BOOST_AUTO_TEST_CASE(loss_and_bounds_gradcheck) {
    const Array mean = test::test_array({2, 3, 2}, -1.0f, 1.0f, 1);
    const Array raw = test::test_array({2, 3, 2}, -3.0f, 1.5f, 2);
    const Array target = test::test_array({2, 3, 2}, -1.0f, 1.0f, 3);
    DYDIFF_CHECK_GRAD(
        [](const std::vector<Tensor>& in) {
            return ensemble_loss({in[0], bound_logvar(in[1], 0.5f, -10.0f)}, in[2]);
        },
        {mean, raw, target});
}

BOOST_AUTO_TEST_CASE(elites_are_the_lowest_errors_best_first) {
    const std::vector<float> errors = {0.5f, 0.1f, 0.9f, 0.1f, 0.3f, 2.0f, 0.05f};
    BOOST_TEST(select_lowest(errors, 5) == (std::vector<std::size_t>{6, 1, 3, 4, 0}));
    BOOST_TEST(select_lowest(errors, 1) == (std::vector<std::size_t>{6}));
    BOOST_CHECK_THROW(select_lowest(errors, 8), Error);
}

BOOST_AUTO_TEST_CASE(early_stopping_counts_epochs_without_any_improvement) {
    EarlyStopping stop(2, 2);
    BOOST_TEST(stop.update({1.0f, 1.0f}) == (std::vector<bool>{true, true}));
    BOOST_TEST(stop.update({0.5f, 2.0f}) == (std::vector<bool>{true, false}));
    BOOST_TEST(stop.update({0.6f, 0.9f}) == (std::vector<bool>{false, true}));  // member 1 improves: count resets
    BOOST_TEST(!stop.should_stop());
    stop.update({0.7f, 0.9f});  // equal is not an improvement
    stop.update({0.7f, 0.95f});
    BOOST_TEST(!stop.should_stop());  // 2 epochs without improvement: not more than patience
    stop.update({0.5f, 0.95f});       // ties member 0's best: still no improvement
    BOOST_TEST(stop.should_stop());
    BOOST_TEST(stop.best() == (std::vector<float>{0.5f, 0.9f}));
    BOOST_TEST(stop.best_epoch() == (std::vector<std::size_t>{2, 3}));
}

BOOST_AUTO_TEST_CASE(holdout_split_sizes_and_disjointness) {
    BOOST_TEST(holdout_size(1000, 0.2f, 5000) == 200u);
    BOOST_TEST(holdout_size(100000, 0.2f, 5000) == 5000u);
    BOOST_CHECK_THROW(holdout_size(3, 0.2f, 5000), Error);
    data::Rng rng(4);
    const HoldoutSplit split = split_holdout(57, 0.2f, 5000, rng);
    BOOST_TEST(split.holdout.size() == 11u);
    std::set<std::size_t> all(split.train.begin(), split.train.end());
    all.insert(split.holdout.begin(), split.holdout.end());
    BOOST_TEST(all.size() == 57u);
    BOOST_TEST(*all.rbegin() == 56u);
}

BOOST_AUTO_TEST_CASE(bootstrap_differs_per_member_and_is_deterministic) {
    data::Rng a(7), b(7), c(8);
    const auto boot = draw_bootstrap(7, 200, a);
    BOOST_TEST(boot == draw_bootstrap(7, 200, b));
    BOOST_TEST(boot != draw_bootstrap(7, 200, c));
    for (std::size_t e = 0; e < boot.size(); ++e) {
        BOOST_TEST(boot[e].size() == 200u);
        for (std::size_t i : boot[e]) BOOST_TEST(i < 200u);
        // With replacement: ~1 - 1/e ≈ 63% distinct rows, never all of them.
        const std::set<std::size_t> distinct(boot[e].begin(), boot[e].end());
        BOOST_TEST(distinct.size() < 180u);
        BOOST_TEST(distinct.size() > 100u);
        for (std::size_t f = e + 1; f < boot.size(); ++f) BOOST_TEST(boot[e] != boot[f]);
    }
}

BOOST_AUTO_TEST_CASE(predict_uses_only_elites_and_is_deterministic) {
    const std::size_t s = 3, a = 2, b = 64;
    data::Rng rng(5);
    DynamicsEnsemble model(s, a, small_config(4, 2, 16), rng);
    BOOST_CHECK_THROW(model.predict(xt::zeros<float>({b, s}), xt::zeros<float>({b, a}), rng), Error);
    model.set_elites({3, 1});
    Array obs = xt::empty<float>({b, s}), act = xt::empty<float>({b, a});
    rng.fill_normal(obs.data(), obs.size());
    rng.fill_uniform(act.data(), act.size(), -1.0f, 1.0f);

    data::Rng r1(9), r2(9);
    const Array first = model.predict(obs, act, r1);
    BOOST_TEST(first.shape() == (autograd::Shape{b, s}));
    BOOST_TEST(xt::all(xt::equal(first, model.predict(obs, act, r2))));  // same seed, same elites drawn

    // Each row is obs + μ of one elite, and both elites are used.
    Array x = xt::empty<float>({std::size_t{4}, b, s + a});
    for (std::size_t e = 0; e < 4; ++e)
        for (std::size_t i = 0; i < b; ++i) {
            for (std::size_t j = 0; j < s; ++j) x(e, i, j) = obs(i, j);
            for (std::size_t j = 0; j < a; ++j) x(e, i, s + j) = act(i, j);
        }
    Array mean;
    {
        const autograd::NoGradGuard no_grad;
        mean = model.forward(Tensor(x)).mean.value();
    }
    std::set<std::size_t> used;
    for (std::size_t i = 0; i < b; ++i) {
        std::size_t matches = 0;
        for (std::size_t k : {std::size_t{1}, std::size_t{3}}) {
            bool all = true;
            for (std::size_t j = 0; j < s; ++j) all = all && first(i, j) == obs(i, j) + mean(k, i, j);
            if (all) {
                ++matches;
                used.insert(k);
            }
        }
        BOOST_TEST(matches >= 1u);
    }
    BOOST_TEST(used.size() == 2u);

    // Garbage in the non-elites (members 0 and 2) changes nothing.
    for (const auto& p : model.parameters()) {
        Tensor t = p;
        const std::size_t chunk = t.numel() / 4;
        for (std::size_t e : {std::size_t{0}, std::size_t{2}})
            std::fill(t.mutable_value().data() + e * chunk, t.mutable_value().data() + (e + 1) * chunk,
                      std::numeric_limits<float>::quiet_NaN());
    }
    data::Rng r3(9);
    const Array garbage = model.predict(obs, act, r3);
    BOOST_TEST(std::memcmp(garbage.data(), first.data(), first.size() * sizeof(float)) == 0);
}

BOOST_AUTO_TEST_CASE(training_restores_each_members_best_weights_bitwise) {
    // A tiny data set of pure noise targets: the hold-out error bottoms out early, then rises as the members overfit.
    const std::size_t s = 2, a = 1, n = 60, members = 3;
    EnsembleConfig config = small_config(members, 2, 64);
    config.lr = 3e-3f;
    config.batch = 16;
    config.patience = 5;
    config.max_epochs = 200;
    data::Rng rng(12);
    DynamicsEnsemble model(s, a, config, rng);
    Array inputs = xt::empty<float>({n, s + a}), targets = xt::empty<float>({n, s});
    rng.fill_normal(inputs.data(), inputs.size());
    rng.fill_normal(targets.data(), targets.size());

    std::vector<std::vector<std::vector<float>>> per_epoch;  // [epoch][member] -> live weights after that epoch
    const EnsembleTrainReport report = train_ensemble(model, inputs, targets, config, rng, [&](const EnsembleEpoch&) {
        std::vector<std::vector<float>> members_now;
        for (std::size_t e = 0; e < members; ++e) members_now.push_back(member_values(model, members, e));
        per_epoch.push_back(members_now);
    });
    BOOST_TEST_MESSAGE("overfit run: " << report.epochs.size() << " epochs");
    BOOST_TEST(report.holdout_rows == 12u);
    BOOST_TEST(report.train_rows == 48u);
    BOOST_TEST(per_epoch.size() == report.epochs.size());
    BOOST_TEST(report.early_stopped);
    std::size_t last_best = 0, restored_earlier = 0;
    for (std::size_t e = 0; e < members; ++e) {
        const std::size_t best = report.best_epoch[e];
        BOOST_TEST_REQUIRE(best >= 1u);
        BOOST_TEST(bitwise_equal(member_values(model, members, e), per_epoch[best - 1][e]));
        BOOST_TEST(report.best_holdout_mse[e] == report.epochs[best - 1].holdout_mse[e]);
        for (const auto& ep : report.epochs) BOOST_TEST(ep.holdout_mse[e] >= report.best_holdout_mse[e]);
        if (best < report.epochs.size()) {
            ++restored_earlier;
            BOOST_TEST(!bitwise_equal(member_values(model, members, e), per_epoch.back()[e]));
        }
        last_best = std::max(last_best, best);
    }
    BOOST_TEST(restored_earlier >= 1u);  // the test exercised a real restore
    // Stopped once no member had improved for more than `patience` epochs.
    BOOST_TEST(report.epochs.size() == last_best + config.patience + 1);
    BOOST_TEST(report.elites == select_lowest(report.best_holdout_mse, 2));
    BOOST_TEST(model.elites() == report.elites);
}

BOOST_AUTO_TEST_CASE(training_is_deterministic_per_seed) {
    const std::size_t s = 2, a = 1, n = 80, members = 3;
    EnsembleConfig config = small_config(members, 2, 16);
    config.batch = 16;
    config.max_epochs = 3;
    Array inputs = xt::empty<float>({n, s + a}), targets = xt::empty<float>({n, s});
    data::Rng data_rng(40);
    data_rng.fill_normal(inputs.data(), inputs.size());
    data_rng.fill_normal(targets.data(), targets.size());
    auto run = [&](std::uint64_t seed) {
        data::Rng rng(seed);
        auto model = std::make_unique<DynamicsEnsemble>(s, a, config, rng);
        const EnsembleTrainReport report = train_ensemble(*model, inputs, targets, config, rng);
        std::vector<float> weights;
        for (std::size_t e = 0; e < members; ++e) {
            const auto v = member_values(*model, members, e);
            weights.insert(weights.end(), v.begin(), v.end());
        }
        return std::make_pair(weights, report.epochs.back().holdout_mse);
    };
    const auto first = run(41), second = run(41), other = run(42);
    BOOST_TEST(bitwise_equal(first.first, second.first));
    BOOST_TEST(first.second == second.second);
    BOOST_TEST(!bitwise_equal(first.first, other.first));
}

BOOST_AUTO_TEST_CASE(learns_linear_dynamics) {
    // s' = A s + B a + 0.01 ε, so Δ = (A − I) s + B a + 0.01 ε; s ~ N(0, 1) (z-scored), a ~ U(−1, 1) (raw).
    const std::size_t s = 4, a = 2, n = 2500;
    data::Rng rng(31);
    Array A = xt::empty<float>({s, s}), B = xt::empty<float>({s, a});
    rng.fill_uniform(A.data(), A.size(), -0.5f, 0.5f);
    rng.fill_uniform(B.data(), B.size(), -0.5f, 0.5f);
    Array inputs = xt::empty<float>({n, s + a}), targets = xt::zeros<float>({n, s});
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = 0; j < s; ++j) inputs(i, j) = rng.normal();
        for (std::size_t j = 0; j < a; ++j) inputs(i, s + j) = rng.uniform(-1.0f, 1.0f);
        for (std::size_t r = 0; r < s; ++r) {
            float v = -inputs(i, r) + 0.01f * rng.normal();
            for (std::size_t j = 0; j < s; ++j) v += A(r, j) * inputs(i, j);
            for (std::size_t j = 0; j < a; ++j) v += B(r, j) * inputs(i, s + j);
            targets(i, r) = v;
        }
    }
    EnsembleConfig config = small_config(3, 2, 64);
    config.weight_decay = {2.5e-5f, 5e-5f, 1e-4f};
    config.lr = 2e-3f;
    config.batch = 64;
    config.max_epochs = 25;  // the fixed budget
    DynamicsEnsemble model(s, a, config, rng);
    const EnsembleTrainReport report = train_ensemble(model, inputs, targets, config, rng);
    float worst = 0.0f;
    for (float m : report.best_holdout_mse) worst = std::max(worst, m);
    BOOST_TEST_MESSAGE("linear dynamics: worst member hold-out MSE " << worst << " after " << report.epochs.size()
                                                                    << " epochs, first epoch loss "
                                                                    << report.epochs.front().train_loss);
    BOOST_TEST(worst < kLinearTargetMse);
    // The restored elites predict ŝ' = ŝ + μ_k on fresh rows, against the noiseless A s + B a.
    const std::size_t m = 256;
    Array obs = xt::empty<float>({m, s}), act = xt::empty<float>({m, a});
    rng.fill_normal(obs.data(), obs.size());
    rng.fill_uniform(act.data(), act.size(), -1.0f, 1.0f);
    const Array next = model.predict(obs, act, rng);
    double sse = 0.0;
    for (std::size_t i = 0; i < m; ++i)
        for (std::size_t r = 0; r < s; ++r) {
            double v = 0.0;
            for (std::size_t j = 0; j < s; ++j) v += A(r, j) * obs(i, j);
            for (std::size_t j = 0; j < a; ++j) v += B(r, j) * act(i, j);
            sse += (next(i, r) - v) * (next(i, r) - v);
        }
    BOOST_TEST_MESSAGE("linear dynamics: predict MSE on fresh rows " << sse / double(m * s));
    BOOST_TEST(sse / double(m * s) < kLinearTargetMse);
}

BOOST_AUTO_TEST_SUITE_END()
