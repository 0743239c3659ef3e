// Tests of the learners' shared pieces (dydiff/learners/common.hpp, configs, registry): the spec maps, batches, each
// loss piece in closed form on hand-made numbers (TD target with terminal masking, the expectile loss, TD3+BC's λ,
// advantage weights), the Gaussian and tanh-Gaussian log-probabilities against a direct density computation and by
// gradient check, the networks' sizes (docs/algorithm.md §12: hopper actor 70,406, Q 69,889 parameters), the
// reparameterised sample, FreezeGuard, and the errors of save/load and the registry.
#include "dydiff/learners/common.hpp"
#include "dydiff/learners/registry.hpp"

#include "autograd/ops.hpp"
#include "support/errors.hpp"
#include "support/gradcheck.hpp"

#include <boost/test/unit_test.hpp>

#include <cmath>

using namespace dydiff;
using namespace dydiff::learners;
using autograd::Array;
using autograd::Tensor;
using dydiff::test::contains;
using dydiff::test::error_of;

namespace {

constexpr float kExact = 1e-6f;       // closed forms evaluated in float
constexpr double kDensityTol = 2e-4;  // log-densities (float vs double)

LearnerSpec small_spec() {
    LearnerSpec spec;
    spec.obs_dim = 2;
    spec.action_dim = 2;
    spec.obs_mean = {1.0f, -2.0f};
    spec.obs_std = {2.0f, 0.5f};
    spec.action_low = {-1.0f, -2.0f};
    spec.action_high = {1.0f, 4.0f};
    spec.seed = 5;
    return spec;
}

Array2 array2(std::size_t rows, std::size_t cols, std::initializer_list<float> values) {
    Array2 a = xt::empty<float>({rows, cols});
    std::copy(values.begin(), values.end(), a.begin());
    return a;
}

Array column(std::initializer_list<float> values) {
    Array a = xt::empty<float>({values.size(), std::size_t{1}});
    std::copy(values.begin(), values.end(), a.begin());
    return a;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(spec_and_batches)

BOOST_AUTO_TEST_CASE(observation_z_score_and_action_box_maps) {
    const LearnerSpec spec = small_spec();
    const Array2 z = normalize_obs(spec, array2(2, 2, {3.0f, -2.0f, 1.0f, -1.0f}));
    BOOST_TEST(z(0, 0) == 1.0f);
    BOOST_TEST(z(0, 1) == 0.0f);
    BOOST_TEST(z(1, 0) == 0.0f);
    BOOST_TEST(z(1, 1) == 2.0f);
    // Box dim 1 is [-2, 4]: -2 -> -1, 1 -> 0, 4 -> 1; past the bounds clips to +-1.
    const Array2 u = to_unit_action(spec, array2(3, 2, {-1.0f, -2.0f, 0.5f, 1.0f, 7.0f, 9.0f}));
    BOOST_TEST(u(0, 0) == -1.0f);
    BOOST_TEST(u(0, 1) == -1.0f);
    BOOST_TEST(u(1, 0) == 0.5f);
    BOOST_TEST(u(1, 1) == 0.0f);
    BOOST_TEST(u(2, 0) == 1.0f);
    BOOST_TEST(u(2, 1) == 1.0f);
    const Array2 a = to_box_action(spec, array2(2, 2, {-1.0f, 0.0f, 0.25f, 1.0f}));
    BOOST_TEST(a(0, 0) == -1.0f);
    BOOST_TEST(a(0, 1) == 1.0f);
    BOOST_TEST(a(1, 0) == 0.25f);
    BOOST_TEST(a(1, 1) == 4.0f);
}

BOOST_AUTO_TEST_CASE(spec_from_data_uses_population_statistics_plus_1e_6) {
    // Column 0: 1, 2, 3 -> mean 2, population std sqrt(2/3); column 1 constant 5 -> std 1 (then + 1e-6).
    const LearnerSpec spec = make_spec(array2(3, 2, {1.0f, 5.0f, 2.0f, 5.0f, 3.0f, 5.0f}), {-2.0f}, {2.0f}, 9);
    BOOST_TEST(spec.obs_dim == 2u);
    BOOST_TEST(spec.action_dim == 1u);
    BOOST_TEST(spec.obs_mean[0] == 2.0f);
    BOOST_TEST(spec.obs_mean[1] == 5.0f);
    BOOST_TEST(spec.obs_std[0] == std::sqrt(2.0f / 3.0f) + 1e-6f, boost::test_tools::tolerance(kExact));
    BOOST_TEST(spec.obs_std[1] == 1.0f + 1e-6f);
    BOOST_TEST(spec.seed == 9u);
}

BOOST_AUTO_TEST_CASE(spec_errors_name_the_field) {
    LearnerSpec spec = small_spec();
    spec.obs_std[1] = 0.0f;
    BOOST_TEST(contains(error_of([&] { check_spec(spec, "td3bc"); }),
                        "td3bc: LearnerSpec obs_mean[1] = -2, obs_std[1] = 0"));
    spec = small_spec();
    spec.action_high[0] = -1.0f;
    BOOST_TEST(contains(error_of([&] { check_spec(spec, "bc"); }), "action box [-1, -1] in dim 0"));
    spec = small_spec();
    spec.obs_mean.pop_back();
    BOOST_TEST(contains(error_of([&] { check_spec(spec, "bc"); }),
                        "obs_mean has 1 and obs_std 2 entries, expected obs_dim = 2"));
}

BOOST_AUTO_TEST_CASE(batch_rewards_and_termination_mask) {
    const LearnerSpec spec = small_spec();
    data::Transitions t = data::Transitions::zeros(3, 2, 2);
    t.rewards = {1.0f, -2.0f, 0.5f};
    t.dones = {0.0f, 1.0f, 0.0f};
    const TensorBatch b = make_batch(spec, t, 2.0f, -1.0f);
    BOOST_TEST(b.size == 3u);
    BOOST_TEST(b.rewards.shape() == (autograd::Shape{3, 1}));
    BOOST_TEST(b.rewards.value()(0, 0) == 1.0f);
    BOOST_TEST(b.rewards.value()(1, 0) == -5.0f);
    BOOST_TEST(b.rewards.value()(2, 0) == 0.0f);
    BOOST_TEST(b.not_done.value()(1, 0) == 0.0f);
    BOOST_TEST(b.not_done.value()(2, 0) == 1.0f);
    BOOST_TEST(b.obs.value()(0, 0) == -0.5f);  // (0 - 1) / 2
    data::Transitions wrong = data::Transitions::zeros(3, 3, 2);
    BOOST_TEST(contains(error_of([&] { make_batch(spec, wrong, 1.0f, 0.0f); }), "make_batch: observations (3, 3)"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(losses)

BOOST_AUTO_TEST_CASE(td_target_masks_the_bootstrap_of_terminal_rows) {
    // y = r + γ (1 − d) v': rows (r, d, v') = (1, 0, 10), (2, 1, 20), (3, 0, 30), γ = 0.9 -> 10, 2, 30.
    TensorBatch b;
    b.size = 3;
    b.rewards = Tensor(column({1.0f, 2.0f, 3.0f}));
    b.not_done = Tensor(column({1.0f, 0.0f, 1.0f}));
    const Tensor y = td_target(b, Tensor(column({10.0f, 20.0f, 30.0f})), 0.9f);
    BOOST_TEST(y.value()(0, 0) == 10.0f);
    BOOST_TEST(y.value()(1, 0) == 2.0f);
    BOOST_TEST(y.value()(2, 0) == 30.0f);
    BOOST_TEST(!y.requires_grad());
    BOOST_TEST(contains(error_of([&] { td_target(b, Tensor(column({1.0f, 2.0f})), 0.9f); }),
                        "td_target: next value (2, 1)"));
}

BOOST_AUTO_TEST_CASE(expectile_loss_closed_form) {
    // u = (−2, 1, 3, 0), τ = 0.7: weights (0.3, 0.7, 0.7, 0.7) (u = 0 is not below 0), u² = (4, 1, 9, 0):
    // (1.2 + 0.7 + 6.3 + 0) / 4 = 2.05.
    const Tensor loss = expectile_loss(Tensor(column({-2.0f, 1.0f, 3.0f, 0.0f})), 0.7f);
    BOOST_TEST(loss.item() == 2.05f, boost::test_tools::tolerance(kExact));
    // τ = 0.5 is half the mean square.
    BOOST_TEST(expectile_loss(Tensor(column({-2.0f, 1.0f})), 0.5f).item() == 1.25f,
               boost::test_tools::tolerance(kExact));
}

BOOST_AUTO_TEST_CASE(expectile_loss_gradient) {
    // Inputs away from the kink at 0.
    const Array u = column({-1.5f, -0.4f, 0.3f, 0.8f, 2.0f});
    DYDIFF_CHECK_GRAD([](const std::vector<Tensor>& x) { return expectile_loss(x[0], 0.7f); }, {u});
}

BOOST_AUTO_TEST_CASE(td3bc_lambda_closed_form) {
    // α = 2.5, Q = (1, −3, 2, −2): mean|Q| = 2, λ = 1.25.
    BOOST_TEST(td3bc_lambda(2.5f, column({1.0f, -3.0f, 2.0f, -2.0f})) == 1.25);
}

BOOST_AUTO_TEST_CASE(advantage_weights_are_clipped_exponentials) {
    const Array w = advantage_weights(column({0.0f, 1.0f, 2.0f, -1.0f}), 3.0f, 100.0f);
    BOOST_TEST(w(0, 0) == 1.0f);
    BOOST_TEST(w(1, 0) == std::exp(3.0f), boost::test_tools::tolerance(kExact));
    BOOST_TEST(w(2, 0) == 100.0f);  // e^6 ≈ 403 clipped
    BOOST_TEST(w(3, 0) == std::exp(-3.0f), boost::test_tools::tolerance(kExact));
}

BOOST_AUTO_TEST_CASE(gaussian_log_prob_matches_the_density) {
    const Array x = test::test_array({3, 2}, -1.5f, 1.5f, 1);
    const Array mean = test::test_array({3, 2}, -1.0f, 1.0f, 2);
    const Array log_std = test::test_array({2}, -1.0f, 0.5f, 3);
    const Array lp = gaussian_log_prob(Tensor(x), Tensor(mean), Tensor(log_std)).value();
    BOOST_TEST(lp.shape() == (autograd::Shape{3, 1}));
    for (std::size_t i = 0; i < 3; ++i) {
        double expected = 0.0;
        for (std::size_t k = 0; k < 2; ++k) {
            const double sd = std::exp(static_cast<double>(log_std(k)));
            const double z = (x(i, k) - mean(i, k)) / sd;
            expected += std::log(std::exp(-0.5 * z * z) / (sd * std::sqrt(2.0 * M_PI)));
        }
        BOOST_TEST(lp(i, 0) == expected, boost::test_tools::tolerance(kDensityTol));
    }
}

BOOST_AUTO_TEST_CASE(tanh_gaussian_log_prob_matches_the_change_of_variables) {
    // a = tanh(u): log p(a) = log N(atanh a; μ, σ) − Σ log(1 − a²), computed here in double from a.
    const Array u = test::test_array({4, 3}, -2.5f, 2.5f, 4);
    const Array mean = test::test_array({4, 3}, -1.0f, 1.0f, 5);
    const Array log_std = test::test_array({4, 3}, -1.5f, 1.0f, 6);
    const Array lp = tanh_gaussian_log_prob(Tensor(u), Tensor(mean), Tensor(log_std)).value();
    BOOST_TEST(lp.shape() == (autograd::Shape{4, 1}));
    for (std::size_t i = 0; i < 4; ++i) {
        double expected = 0.0;
        for (std::size_t k = 0; k < 3; ++k) {
            const double a = std::tanh(static_cast<double>(u(i, k)));
            const double sd = std::exp(static_cast<double>(log_std(i, k)));
            const double z = (std::atanh(a) - mean(i, k)) / sd;
            expected += -0.5 * z * z - std::log(sd) - 0.5 * std::log(2.0 * M_PI) - std::log(1.0 - a * a);
        }
        BOOST_TEST(lp(i, 0) == expected, boost::test_tools::tolerance(kDensityTol));
    }
    // Far in the tail (u = 12, tanh u = 1 in float) the stable form stays finite: log(1 − tanh²u) ≈ 2 ln 2 − 2u.
    const Array far = tanh_gaussian_log_prob(Tensor(column({12.0f})), Tensor(column({12.0f})),
                                             Tensor(column({0.0f}))).value();
    BOOST_TEST(far(0, 0) == -0.5 * std::log(2.0 * M_PI) - (2.0 * std::log(2.0) - 24.0),
               boost::test_tools::tolerance(kDensityTol));
}

BOOST_AUTO_TEST_CASE(log_prob_gradients) {
    const Array u = test::test_array({3, 2}, -2.0f, 2.0f, 7);
    const Array mean = test::test_array({3, 2}, -1.0f, 1.0f, 8);
    const Array log_std = test::test_array({3, 2}, -1.0f, 0.5f, 9);
    DYDIFF_CHECK_GRAD([](const std::vector<Tensor>& x) { return tanh_gaussian_log_prob(x[0], x[1], x[2]); },
                      {u, mean, log_std});
    const Array log_std_a = test::test_array({2}, -1.0f, 0.5f, 10);
    DYDIFF_CHECK_GRAD([](const std::vector<Tensor>& x) { return gaussian_log_prob(x[0], x[1], x[2]); },
                      {u, mean, log_std_a});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(networks)

BOOST_AUTO_TEST_CASE(hopper_parameter_counts) {
    // docs/algorithm.md §12: Tanh-Gaussian actor 70,406 and Q 69,889 parameters at hopper's S = 11, A = 3.
    data::Rng rng(0);
    const TanhGaussianActor actor(11, 3, 256, 2, nn::Init::normal_fan_in, rng);
    const TwinQ critic(11, 3, 256, 2, nn::Init::normal_fan_in, rng);
    const TanhActor det(11, 3, 256, 2, nn::Init::torch_default, rng);
    BOOST_TEST(actor.num_parameters() == 70406u);
    BOOST_TEST(critic.num_parameters() == 2u * 69889u);
    BOOST_TEST(det.num_parameters() == 70406u - (256u + 1u) * 3u);
}

BOOST_AUTO_TEST_CASE(tanh_gaussian_sample_is_reparameterised_from_the_rng) {
    data::Rng init(1);
    const TanhGaussianActor actor(3, 2, 16, 2, nn::Init::normal_fan_in, init);
    const Tensor obs(test::test_array({4, 3}, -1.0f, 1.0f, 11));
    data::Rng rng(7), replay(7);
    const TanhGaussianActor::Sample s = actor.sample(obs, rng);
    const TanhGaussianActor::Head h = actor.forward(obs);
    BOOST_TEST(s.action.shape() == (autograd::Shape{4, 2}));
    BOOST_TEST(s.log_prob.shape() == (autograd::Shape{4, 1}));
    for (std::size_t i = 0; i < 4; ++i)
        for (std::size_t k = 0; k < 2; ++k) {
            const float eps = replay.normal();
            const float u = h.mean.value()(i, k) + std::exp(h.log_std.value()(i, k)) * eps;
            BOOST_TEST(s.action.value()(i, k) == std::tanh(u), boost::test_tools::tolerance(kExact));
        }
    BOOST_TEST((rng == replay));  // exactly B·A normals drawn
    const Array mode = actor.mode(obs).value();
    for (std::size_t i = 0; i < 4; ++i)
        for (std::size_t k = 0; k < 2; ++k)
            BOOST_TEST(mode(i, k) == std::tanh(h.mean.value()(i, k)), boost::test_tools::tolerance(kExact));
    // log σ is clamped to [−20, 2] (the clamp passes no gradient outside).
    BOOST_TEST(xt::all(h.log_std.value() >= -20.0f && h.log_std.value() <= 2.0f));
}

BOOST_AUTO_TEST_CASE(freeze_guard_keeps_gradients_off_the_weights_only) {
    data::Rng rng(2);
    const TwinQ critic(3, 2, 8, 1, nn::Init::torch_default, rng);
    Tensor a(test::test_array({4, 2}, -1.0f, 1.0f, 12), true);
    const Tensor obs(test::test_array({4, 3}, -1.0f, 1.0f, 13));
    {
        const FreezeGuard frozen(critic);
        autograd::mean(critic.q1(obs, a)).backward();
        for (const auto& p : critic.parameters()) BOOST_TEST(!p.requires_grad());
    }
    for (const auto& p : critic.parameters()) {
        BOOST_TEST(p.requires_grad());
        BOOST_TEST(!p.has_grad());
    }
    BOOST_TEST(a.has_grad());
    BOOST_TEST(xt::any(xt::not_equal(a.grad(), 0.0f)));
}

// The trap FreezeGuard's NOTE names: a graph built under the guard and backpropagated after it ended does reach the
// weights, so a learner keeps the guard alive through its optimiser step (Diffusion-QL's actor update).
BOOST_AUTO_TEST_CASE(freeze_guard_must_outlive_the_backward) {
    data::Rng rng(2);
    const TwinQ critic(3, 2, 8, 1, nn::Init::torch_default, rng);
    Tensor a(test::test_array({4, 2}, -1.0f, 1.0f, 12), true);
    const Tensor obs(test::test_array({4, 3}, -1.0f, 1.0f, 13));
    Tensor loss;
    {
        const FreezeGuard frozen(critic);
        loss = autograd::mean(critic.q1(obs, a));
    }
    loss.backward();
    bool any_weight_grad = false;
    for (const auto& p : critic.parameters()) any_weight_grad = any_weight_grad || p.has_grad();
    BOOST_TEST(any_weight_grad);
}

BOOST_AUTO_TEST_CASE(twin_q_min_and_copies) {
    data::Rng rng(3);
    const TwinQ critic(3, 2, 8, 2, nn::Init::torch_default, rng);
    TwinQ target(3, 2, 8, 2, nn::Init::zeros, rng);
    copy_parameters(critic, target);
    const Tensor obs(test::test_array({5, 3}, -1.0f, 1.0f, 14));
    const Tensor act(test::test_array({5, 2}, -1.0f, 1.0f, 15));
    const auto [q1, q2] = critic.forward(obs, act);
    const Array m = target.min(obs, act).value();
    BOOST_TEST(m.shape() == (autograd::Shape{5, 1}));
    for (std::size_t i = 0; i < 5; ++i) BOOST_TEST(m(i, 0) == std::min(q1.value()(i, 0), q2.value()(i, 0)));
    BOOST_TEST(xt::all(xt::equal(critic.q1(obs, act).value(), q1.value())));
    BOOST_TEST(contains(error_of([&] { critic.forward(obs, obs); }), "TwinQ: observations (5, 3) and actions (5, 3)"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(registry_and_state)

BOOST_AUTO_TEST_CASE(names_fields_and_unknown_algorithms) {
    const auto names = learner_names();
    for (const char* algo : {"bc", "td3bc", "iql", "cql", "diffql", "sac"}) {
        BOOST_TEST(is_learner(algo), algo);
        BOOST_TEST((std::find(names.begin(), names.end(), algo) != names.end()), algo);
    }
    BOOST_TEST(contains(error_of([] { make_learner("ppo", LearnerConfigs{}, small_spec()); }),
                        "unknown learner 'ppo' (known: bc, td3bc, iql, cql, diffql, sac)"));
    LearnerConfigs configs;
    ConfigFields fields;
    learner_fields("td3bc", configs, fields);
    fields.set("variant", "official", "--set");
    fields.set("alpha", "4", "--set");
    BOOST_TEST(configs.td3bc.variant == "official");
    BOOST_TEST(configs.td3bc.alpha == 4.0f);
    ConfigFields iql_fields;
    learner_fields("iql", configs, iql_fields);
    BOOST_TEST(iql_fields.get("expectile") == "0.7");  // TOML text, the shortest that reads back as the float
    BOOST_TEST(iql_fields.get("beta") == "3.0");
}

BOOST_AUTO_TEST_CASE(configs_are_validated_when_a_learner_is_built) {
    LearnerConfigs configs;
    configs.td3bc.variant = "fast";
    BOOST_TEST(contains(error_of([&] { make_learner("td3bc", configs, small_spec()); }),
                        "td3bc config: variant = 'fast' (expected canonical or official)"));
    configs.iql.expectile = 1.0f;
    BOOST_TEST(contains(error_of([&] { make_learner("iql", configs, small_spec()); }),
                        "iql config: expectile = 1 (expected in (0, 1))"));
    configs.bc.lr = -1.0f;
    BOOST_TEST(contains(error_of([&] { make_learner("bc", configs, small_spec()); }), "bc config: lr = -1"));
}

BOOST_AUTO_TEST_CASE(load_refuses_another_algorithm_or_other_statistics) {
    LearnerConfigs configs;
    configs.bc.hidden = 8;
    configs.iql.hidden = 8;
    const auto bc = make_learner("bc", configs, small_spec());
    nn::Checkpoint ckpt;
    bc->save(ckpt);
    BOOST_TEST(load_algo(ckpt) == "bc");
    const LearnerSpec stored = load_spec(ckpt);
    BOOST_TEST(stored.obs_std == small_spec().obs_std);
    BOOST_TEST(stored.action_high == small_spec().action_high);
    BOOST_TEST(stored.seed == 5u);
    const auto iql = make_learner("iql", configs, small_spec());
    BOOST_TEST(contains(error_of([&] { iql->load(ckpt); }), "checkpoint: holds a 'bc' learner, not 'iql'"));
    LearnerSpec other = small_spec();
    other.obs_mean[0] = 1.5f;
    const auto bc_other = make_learner("bc", configs, other);
    BOOST_TEST(contains(error_of([&] { bc_other->load(ckpt); }), "observation statistics"));
    configs.bc.hidden = 16;
    const auto bc_wide = make_learner("bc", configs, small_spec());
    BOOST_TEST(contains(error_of([&] { bc_wide->load(ckpt); }),
                        "'learner/actor/net.layers.0.weight' has shape (8, 2), expected (16, 2)"));
}

BOOST_AUTO_TEST_SUITE_END()
