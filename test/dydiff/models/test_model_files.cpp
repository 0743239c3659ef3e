// Model files of the one-step models (TrainedDynamics, TrainedReward; docs/checkpoints.md): save -> load restores
// the architecture from the file alone (non-default activation, logvar bounds, widths), the elites, the normaliser
// and the data identity, with bitwise-equal predictions; a missing or renamed key, an edited architecture, a file of
// another kind or of the format before model files recorded one fail with one error naming the file (and the key).
#include "data/data_identity.hpp"
#include "dydiff/models/dynamics_ensemble.hpp"
#include "dydiff/models/reward_model.hpp"
#include "support/errors.hpp"
#include "support/gradcheck.hpp"
#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <cstring>

using namespace dydiff;
using autograd::Array;
using dydiff::test::contains;
using dydiff::test::error_of;

namespace {

constexpr std::size_t kS = 3, kA = 2, kB = 16;

data::DataIdentity test_identity() {
    data::DataIdentity d;
    d.env = "maze2d-umaze";
    d.obs_dim = kS;
    d.action_dim = kA;
    d.path = "umaze.npz";
    d.sha256 = std::string(64, 'f');
    return d;
}

data::ZScoreNormalizer test_normalizer() {
    return data::ZScoreNormalizer::fit(xt::xtensor<float, 2>(test::test_array({30, kS}, -3.0f, 5.0f, 21)));
}

// Every architecture field away from its default, so that a load falling back to defaults would show.
TrainedDynamics test_dynamics() {
    EnsembleConfig config;
    config.members = 4;
    config.elites = 2;
    config.hidden = 12;
    config.layers = 2;
    config.weight_decay = {0.0f, 0.0f, 0.0f};
    config.activation = nn::Activation::tanh;
    config.max_logvar = 1.25f;
    config.min_logvar = -4.5f;
    data::Rng rng(22);
    TrainedDynamics t{std::make_unique<DynamicsEnsemble>(kS, kA, config, rng), test_normalizer(), test_identity(), ""};
    t.model->set_elites({3, 1});
    return t;
}

TrainedReward test_reward() {
    RewardConfig config;
    config.hidden = 10;
    config.layers = 3;
    data::Rng rng(23);
    return {std::make_unique<RewardModel>(kS, kA, config, rng), test_normalizer(), test_identity(), ""};
}

bool bitwise_equal(const Array& a, const Array& b) {
    return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// Elite predictions with a fixed Rng (the elite draw included), and the raw mean and log-variance of every member.
std::vector<Array> dynamics_outputs(const TrainedDynamics& t) {
    const Array obs = t.obs_normalizer.apply(xt::xtensor<float, 2>(test::test_array({kB, kS}, -3.0f, 5.0f, 24)));
    const Array act = test::test_array({kB, kA}, -1.0f, 1.0f, 25);
    data::Rng rng(26);
    const Array next = t.model->predict(obs, act, rng);
    const autograd::NoGradGuard no_grad;
    const EnsembleOutput out =
        t.model->forward(autograd::Tensor(test::test_array({t.model->config().members, kB, kS + kA}, -1, 1, 27)));
    return {next, out.mean.value(), out.logvar.value()};
}

// The checkpoint at `path` rewritten with `key` dropped, or renamed to `renamed` when given.
std::string without_key(const std::string& path, const std::string& key, const std::string& renamed = "") {
    const nn::Checkpoint c = nn::Checkpoint::load(path);
    nn::Checkpoint out;
    for (const auto& k : c.keys()) {
        if (k != key) out.put(k, c.array(k));
        else if (!renamed.empty()) out.put(renamed, c.array(k));
    }
    const std::string out_path = path + ".edited.npz";
    out.save(out_path);
    return out_path;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(model_files)

BOOST_AUTO_TEST_CASE(dynamics_round_trip_predicts_bitwise_equal) {
    test::TempDir dir;
    const TrainedDynamics t = test_dynamics();
    t.save(dir / "model.npz");
    const TrainedDynamics back = TrainedDynamics::load(dir.path().string());  // the run directory
    BOOST_TEST(back.file == dir / "model.npz");
    const EnsembleConfig& c = back.model->config();
    BOOST_TEST(c.members == 4u);
    BOOST_TEST(c.elites == 2u);
    BOOST_TEST(c.hidden == 12u);
    BOOST_TEST(c.layers == 2u);
    BOOST_TEST((c.activation == nn::Activation::tanh));
    BOOST_TEST(c.max_logvar == 1.25f);
    BOOST_TEST(c.min_logvar == -4.5f);
    BOOST_TEST((back.model->elites() == std::vector<std::size_t>{3, 1}));
    BOOST_TEST((back.data == test_identity()));
    BOOST_TEST(bitwise_equal(back.obs_normalizer.mean(), t.obs_normalizer.mean()));
    BOOST_TEST(bitwise_equal(back.obs_normalizer.std(), t.obs_normalizer.std()));
    BOOST_TEST(back.obs_normalizer.eps() == t.obs_normalizer.eps());
    const auto expected = dynamics_outputs(t), got = dynamics_outputs(back);
    for (std::size_t i = 0; i < expected.size(); ++i) BOOST_TEST(bitwise_equal(got[i], expected[i]), "output " << i);
}

BOOST_AUTO_TEST_CASE(reward_round_trip_predicts_bitwise_equal) {
    test::TempDir dir;
    const TrainedReward t = test_reward();
    t.save(dir / "model.npz");
    const TrainedReward back = TrainedReward::load(dir / "model.npz");  // the file
    BOOST_TEST(back.model->config().hidden == 10u);
    BOOST_TEST(back.model->config().layers == 3u);
    BOOST_TEST((back.data == test_identity()));
    BOOST_TEST(bitwise_equal(back.obs_normalizer.mean(), t.obs_normalizer.mean()));
    const Array obs = test::test_array({kB, kS}, -1.0f, 1.0f, 28), act = test::test_array({kB, kA}, -1.0f, 1.0f, 29);
    BOOST_TEST(bitwise_equal(back.model->predict(obs, act), t.model->predict(obs, act)));
}

BOOST_AUTO_TEST_CASE(a_missing_or_renamed_key_names_the_file_and_the_key) {
    test::TempDir dir;
    test_dynamics().save(dir / "dynamics.npz");
    const std::string renamed = without_key(dir / "dynamics.npz", "arch/activation", "arch/nonlinearity");
    std::string e = error_of([&] { TrainedDynamics::load(renamed); });
    BOOST_TEST(contains(e, renamed + ": missing key 'arch/activation'"), e);

    const std::string no_elites = without_key(dir / "dynamics.npz", "fit/elite_indices");
    e = error_of([&] { TrainedDynamics::load(no_elites); });
    BOOST_TEST(contains(e, no_elites + ": missing key 'fit/elite_indices'"), e);

    test_reward().save(dir / "reward.npz");
    const std::string no_std = without_key(dir / "reward.npz", "norm/obs/std");
    e = error_of([&] { TrainedReward::load(no_std); });
    BOOST_TEST(contains(e, no_std + ": missing key 'norm/obs/std'"), e);

    const std::string no_weight = without_key(dir / "reward.npz", "params/mlp.layers.0.weight");
    e = error_of([&] { TrainedReward::load(no_weight); });
    BOOST_TEST(contains(e, no_weight), e);
    BOOST_TEST(contains(e, "missing (1): mlp.layers.0.weight"), e);
}

BOOST_AUTO_TEST_CASE(an_edited_architecture_or_bad_value_is_refused_naming_the_file) {
    test::TempDir dir;
    test_dynamics().save(dir / "model.npz");
    nn::Checkpoint c = nn::Checkpoint::load(dir / "model.npz");
    c.put_int64("arch/hidden", 11);  // the weights are 12 wide
    c.save(dir / "narrower.npz");
    std::string e = error_of([&] { TrainedDynamics::load(dir / "narrower.npz"); });
    BOOST_TEST(contains(e, dir / "narrower.npz"), e);
    BOOST_TEST(contains(e, "does not fit the model"), e);

    c = nn::Checkpoint::load(dir / "model.npz");
    c.put_text("arch/activation", "swish");
    c.save(dir / "swish.npz");
    e = error_of([&] { TrainedDynamics::load(dir / "swish.npz"); });
    BOOST_TEST(contains(e, dir / "swish.npz"), e);
    BOOST_TEST(contains(e, "key 'arch/activation': "), e);
    BOOST_TEST(contains(e, "unknown activation 'swish'"), e);

    c = nn::Checkpoint::load(dir / "model.npz");
    c.put_int64("arch/layers", -1);
    c.save(dir / "negative.npz");
    e = error_of([&] { TrainedDynamics::load(dir / "negative.npz"); });
    BOOST_TEST(contains(e, dir / "negative.npz" + ": key 'arch/layers' is -1, expected an integer >= 1"), e);
    // A claim far beyond the stored weights is refused before the model is built (no allocation of 2^40 x 2^40).
    for (const char* key : {"arch/hidden", "arch/members", "arch/layers"}) {
        c = nn::Checkpoint::load(dir / "model.npz");
        c.put_int64(key, std::int64_t{1} << 40);
        c.save(dir / "huge.npz");
        e = error_of([&] { TrainedDynamics::load(dir / "huge.npz"); });
        BOOST_TEST(contains(e, dir / "huge.npz" + ": key '" + key + "' is 1099511627776, but the file's weights allow "
                                                                    "at most"),
                   e);
    }
    test_reward().save(dir / "reward.npz");
    c = nn::Checkpoint::load(dir / "reward.npz");
    c.put_int64("arch/hidden", std::int64_t{1} << 40);
    c.save(dir / "huge_reward.npz");
    e = error_of([&] { TrainedReward::load(dir / "huge_reward.npz"); });
    BOOST_TEST(contains(e, "key 'arch/hidden' is 1099511627776, but the file's weights allow at most"), e);
}

BOOST_AUTO_TEST_CASE(another_kind_or_an_old_file_is_a_clear_error) {
    test::TempDir dir;
    test_reward().save(dir / "model.npz");
    std::string e = error_of([&] { TrainedDynamics::load(dir.path().string()); });
    BOOST_TEST(contains(e, dir / "model.npz" + ": a reward model file (key 'format/kind'), expected a dynamics"), e);

    // What train-dynamics wrote before model files had a format: dynamics/params/*, dynamics/act_dim, obs_normalizer/*.
    nn::Checkpoint old;
    old.put_int64("dynamics/obs_dim", 3);
    old.put_int64("dynamics/act_dim", 2);
    old.put("obs_normalizer/mean", xt::xarray<float>({0.0f, 0.0f, 0.0f}));
    old.save(dir / "old.npz");
    e = error_of([&] { TrainedDynamics::load(dir / "old.npz"); });
    BOOST_TEST(contains(e, dir / "old.npz" + ": not a dydiff dynamics model file of format version 1"), e);
    BOOST_TEST(contains(e, "older dydiff"), e);

    nn::Checkpoint future = nn::Checkpoint::load(dir / "model.npz");
    future.put_int64("format/version", 2);
    future.save(dir / "future.npz");
    e = error_of([&] { TrainedReward::load(dir / "future.npz"); });
    BOOST_TEST(contains(e, "key 'format/version' is 2; this dydiff reads model files of version 1"), e);
}

BOOST_AUTO_TEST_CASE(saving_parts_that_disagree_in_dims_is_refused) {
    TrainedDynamics t = test_dynamics();
    t.data.obs_dim = 4;
    nn::Checkpoint c;
    const std::string e = error_of([&] { t.save(c); });
    BOOST_TEST(contains(e, "the data identity 4/2"), e);
}

BOOST_AUTO_TEST_SUITE_END()
