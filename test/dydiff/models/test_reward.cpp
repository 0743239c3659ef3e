// Tests of the reward model (dydiff/models/reward_model.hpp; docs/algorithm.md §5.3): shape and init, predict, the
// best-weight restore (bitwise), and learning r = w·[s, a] to a stated hold-out MSE (model files:
// test_model_files.cpp).
#include "dydiff/models/reward_model.hpp"

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstring>

using namespace dydiff;
using autograd::Array;
using autograd::Tensor;

namespace {

constexpr float kLinearRewardTargetMse = 1e-3f;  // the rewards' variance is about 1.5
constexpr float kInitStdTol = 0.05f;             // relative, on 256·256 normal draws

std::vector<float> all_values(const nn::Module& m) {
    std::vector<float> out;
    for (const auto& p : m.parameters()) out.insert(out.end(), p.value().begin(), p.value().end());
    return out;
}

bool bitwise_equal(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(reward)

BOOST_AUTO_TEST_CASE(shape_and_normal_fan_in_init) {
    data::Rng rng(1);
    const RewardModel model(11, 3, RewardConfig{}, rng);
    // (14·256 + 256) + (256·256 + 256) + (256 + 1)
    BOOST_TEST(model.num_parameters() == 14u * 256 + 256 + 256 * 256 + 256 + 256 + 1);
    for (const auto& [name, p] : model.named_parameters()) {
        if (name.find("bias") != std::string::npos) {
            BOOST_TEST(xt::all(xt::equal(p.value(), 0.0f)), name);
        } else {
            const double fan_in = static_cast<double>(p.shape()[1]);
            const double sd = std::sqrt(static_cast<double>(xt::mean(xt::square(p.value()))()));
            if (p.numel() > 10000) BOOST_TEST(sd == 1.0 / std::sqrt(fan_in), boost::test_tools::tolerance(double(kInitStdTol)));
            BOOST_TEST(sd < 1.5 / std::sqrt(fan_in), name);
        }
    }
}

BOOST_AUTO_TEST_CASE(predict_is_the_forward_pass_as_a_vector) {
    data::Rng rng(2);
    const RewardModel model(3, 2, RewardConfig{}, rng);
    Array obs = xt::empty<float>({5, 3}), act = xt::empty<float>({5, 2});
    rng.fill_normal(obs.data(), obs.size());
    rng.fill_uniform(act.data(), act.size(), -1.0f, 1.0f);
    const Array r = model.predict(obs, act);
    BOOST_TEST(r.shape() == (autograd::Shape{5}));
    const Array x = xt::concatenate(xt::xtuple(obs, act), 1);
    const Array f = model.forward(Tensor(x)).value();
    for (std::size_t i = 0; i < 5; ++i) BOOST_TEST(r(i) == f(i, 0));
    BOOST_CHECK_THROW(model.predict(act, obs), Error);
}

BOOST_AUTO_TEST_CASE(training_restores_the_best_weights_bitwise) {
    // Pure-noise rewards on a tiny set: the hold-out error bottoms out early and rises as the model overfits.
    const std::size_t n = 60;
    RewardConfig config;
    config.hidden = 64;
    config.lr = 3e-3f;
    config.batch = 16;
    config.patience = 5;
    config.max_epochs = 200;
    data::Rng rng(3);
    RewardModel model(2, 1, config, rng);
    Array inputs = xt::empty<float>({n, std::size_t{3}}), rewards = xt::empty<float>({n});
    rng.fill_normal(inputs.data(), inputs.size());
    rng.fill_normal(rewards.data(), rewards.size());
    std::vector<std::vector<float>> per_epoch;
    const RewardTrainReport report = train_reward_model(model, inputs, rewards, config, rng,
                                                        [&](const RewardEpoch&) { per_epoch.push_back(all_values(model)); });
    BOOST_TEST_MESSAGE("reward overfit run: " << report.epochs.size() << " epochs, best " << report.best_epoch);
    BOOST_TEST(report.early_stopped);
    BOOST_TEST_REQUIRE(report.best_epoch >= 1u);
    BOOST_TEST(report.best_epoch < report.epochs.size());
    BOOST_TEST(report.epochs.size() == report.best_epoch + config.patience + 1);
    BOOST_TEST(bitwise_equal(all_values(model), per_epoch[report.best_epoch - 1]));
    BOOST_TEST(!bitwise_equal(all_values(model), per_epoch.back()));
    BOOST_TEST(report.best_holdout_mse == report.epochs[report.best_epoch - 1].holdout_mse);
}

BOOST_AUTO_TEST_CASE(learns_a_linear_reward, *boost::unit_test::label("slow")) {
    // r = w·[s, a] with s ~ N(0, 1) (z-scored) and a ~ U(−1, 1) (raw).
    const std::size_t s = 5, a = 2, n = 3000;
    data::Rng rng(5);
    Array w = xt::empty<float>({s + a});
    rng.fill_uniform(w.data(), w.size(), -0.8f, 0.8f);
    Array inputs = xt::empty<float>({n, s + a}), rewards = xt::zeros<float>({n});
    for (std::size_t i = 0; i < n; ++i) {
        for (std::size_t j = 0; j < s; ++j) inputs(i, j) = rng.normal();
        for (std::size_t j = 0; j < a; ++j) inputs(i, s + j) = rng.uniform(-1.0f, 1.0f);
        for (std::size_t j = 0; j < s + a; ++j) rewards(i) += w(j) * inputs(i, j);
    }
    RewardConfig config;  // the §5.3 architecture, 2 x 256 ReLU
    config.lr = 1e-3f;
    config.max_epochs = 100;  // the fixed budget
    RewardModel model(s, a, config, rng);
    const RewardTrainReport report = train_reward_model(model, inputs, rewards, config, rng);
    BOOST_TEST_MESSAGE("linear reward: best hold-out MSE " << report.best_holdout_mse << " at epoch "
                                                           << report.best_epoch << " of " << report.epochs.size());
    BOOST_TEST(report.best_holdout_mse < kLinearRewardTargetMse);
    BOOST_TEST(report.holdout_rows == 600u);
}

BOOST_AUTO_TEST_SUITE_END()
