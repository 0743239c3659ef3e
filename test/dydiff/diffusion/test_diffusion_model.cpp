// DiffusionModel (dydiff/diffusion/diffusion_model.hpp): save -> load restores a non-preset architecture, the
// normaliser, the data identity, and weights and EMA that give bitwise-equal denoiser outputs; a file with a key
// missing or renamed, of another kind, or of the format before model files recorded one, fails with one error
// naming the file (and the key). A model made inference-only samples its EMA weights and refuses to be saved.
#include "data/data_identity.hpp"
#include "dydiff/diffusion/diffusion_model.hpp"
#include "support/errors.hpp"
#include "support/gradcheck.hpp"
#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <cstring>
#include <vector>

using namespace dydiff;
using dydiff::test::contains;
using dydiff::test::error_of;

namespace {

constexpr std::size_t kS = 3, kA = 2, kH = 8;

data::DataIdentity test_identity() {
    data::DataIdentity d;
    d.env = "pendulum";
    d.obs_dim = kS;
    d.action_dim = kA;
    d.path = "runs/data/pendulum.npz";
    d.sha256 = std::string(64, '7');
    return d;
}

// Not a preset: every field differs from tiny, so a load that fell back to a preset would not fit the weights.
UNetConfig odd_unet() {
    UNetConfig c;
    c.dim = 6;
    c.dim_mults = {1, 2};
    c.kernel_size = 3;
    c.groups = 3;
    c.time_dim = 6;
    return c;
}

// A model whose EMA differs from its weights (one EMA step after moving every weight).
DiffusionModel trained_looking_model() {
    data::Rng rng(11);
    const xt::xtensor<float, 2> rows = test::test_array({20, kS + kA}, -2.0f, 3.0f, 12);
    DiffusionModel m =
        DiffusionModel::create(test_identity(), odd_unet(), kH, 0.7, data::MinMaxNormalizer::fit(rows), rng);
    for (const auto& [name, t] : m.net->named_parameters()) {
        Tensor p = t;
        for (float& v : p.mutable_value()) v += 0.01f;
    }
    m.ema->update(0.5f);
    return m;
}

// Denoiser output of the model's network on a fixed input, (B, H, D).
autograd::Array denoise(const DiffusionModel& m) {
    const Denoiser denoiser(*m.net, m.edm_config());
    const autograd::NoGradGuard no_grad;
    autograd::Array sigma = xt::xarray<float>({0.3f, 2.0f});
    return denoiser.forward(Tensor(test::test_array({2, kH, kS + kA}, -1.0f, 1.0f, 13)), sigma).value();
}

bool bitwise_equal(const autograd::Array& a, const autograd::Array& b) {
    return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// The checkpoint at `path` rewritten without `key` (and with it under `renamed`, when given).
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

BOOST_AUTO_TEST_SUITE(diffusion_model)

BOOST_AUTO_TEST_CASE(save_load_round_trip_restores_everything_bitwise) {
    test::TempDir dir;
    const DiffusionModel m = trained_looking_model();
    m.save(dir / "checkpoint.npz");
    const DiffusionModel back = DiffusionModel::load(dir.path().string());  // the run directory
    BOOST_TEST(back.file == dir / "checkpoint.npz");
    BOOST_TEST(back.horizon == kH);
    BOOST_TEST(back.unet.describe() == odd_unet().describe());
    BOOST_TEST(back.sigma_data == 0.7);
    BOOST_TEST((back.data == test_identity()));
    BOOST_TEST(bitwise_equal(back.normalizer.apply(xt::ones<float>({std::size_t{1}, kS + kA})),
                             m.normalizer.apply(xt::ones<float>({std::size_t{1}, kS + kA}))));
    BOOST_TEST(bitwise_equal(denoise(back), denoise(m)));
    // The EMA weights too: copied into the networks, they give equal outputs, different from the raw weights'.
    const autograd::Array raw = denoise(m);
    m.ema->copy_to(m.net->named_parameters());
    back.ema->copy_to(back.net->named_parameters());
    BOOST_TEST(bitwise_equal(denoise(back), denoise(m)));
    BOOST_TEST(!bitwise_equal(denoise(m), raw));
    // The file itself loads the same way.
    BOOST_TEST(DiffusionModel::load(dir / "checkpoint.npz").horizon == kH);
}

BOOST_AUTO_TEST_CASE(a_missing_or_renamed_key_names_the_file_and_the_key) {
    test::TempDir dir;
    trained_looking_model().save(dir / "checkpoint.npz");
    const std::string renamed = without_key(dir / "checkpoint.npz", "arch/horizon", "arch/length");
    std::string e = error_of([&] { DiffusionModel::load(renamed); });
    BOOST_TEST(contains(e, renamed), e);
    BOOST_TEST(contains(e, "missing key 'arch/horizon'"), e);

    const std::string no_norm = without_key(dir / "checkpoint.npz", "norm/state_action/max");
    e = error_of([&] { DiffusionModel::load(no_norm); });
    BOOST_TEST(contains(e, no_norm), e);
    BOOST_TEST(contains(e, "'norm/state_action/max'"), e);

    const std::string no_env = without_key(dir / "checkpoint.npz", "data/env");
    e = error_of([&] { DiffusionModel::load(no_env); });
    BOOST_TEST(contains(e, no_env), e);
    BOOST_TEST(contains(e, "'data/env'"), e);
}

BOOST_AUTO_TEST_CASE(an_old_file_or_another_kind_is_a_clear_error) {
    test::TempDir dir;
    // The keys train-diffusion wrote before model files had a format (meta/*, model/*): refused, not crashed on.
    nn::Checkpoint old;
    old.put_int64("meta/obs_dim", 4);
    old.put_int64("meta/action_dim", 2);
    old.put_int64("meta/horizon", 32);
    old.put_text("meta/preset", "tiny");
    old.save(dir / "old.npz");
    std::string e = error_of([&] { DiffusionModel::load(dir / "old.npz"); });
    BOOST_TEST(contains(e, dir / "old.npz"), e);
    BOOST_TEST(contains(e, "no key 'format/version'"), e);
    BOOST_TEST(contains(e, "older dydiff"), e);

    nn::Checkpoint other;
    other.put_format("reward", DiffusionModel::kVersion);
    other.save(dir / "reward.npz");
    e = error_of([&] { DiffusionModel::load(dir / "reward.npz"); });
    BOOST_TEST(contains(e, "a reward model file (key 'format/kind'), expected a diffusion model file"), e);

    e = error_of([&] { DiffusionModel::load(dir.path().string()); });  // a directory without checkpoint.npz
    BOOST_TEST(contains(e, "a directory without checkpoint.npz; expected a train-diffusion run directory"), e);
}

BOOST_AUTO_TEST_CASE(a_normaliser_of_other_width_than_the_data_is_refused) {
    test::TempDir dir;
    trained_looking_model().save(dir / "checkpoint.npz");
    nn::Checkpoint c = nn::Checkpoint::load(dir / "checkpoint.npz");
    c.put_int64("data/obs_dim", 4);  // the data now claims 4 + 2 columns, the normaliser has 5
    c.save(dir / "edited.npz");
    const std::string e = error_of([&] { DiffusionModel::load(dir / "edited.npz"); });
    BOOST_TEST(contains(e, dir / "edited.npz"), e);
    BOOST_TEST(contains(e, "the normaliser has 5 dims, the data obs/action dims 4/2"), e);
}

// make_inference_only: the network holds the EMA weights once (the EMA is dropped) and infers bitwise what a
// trainable copy with the EMA copied in infers; save() says why it cannot write the model any more.
BOOST_AUTO_TEST_CASE(inference_only_model_samples_the_ema_and_refuses_save) {
    DiffusionModel trainable = trained_looking_model(), frozen = trained_looking_model();
    trainable.ema->copy_to(trainable.net->named_parameters());
    frozen.make_inference_only();
    BOOST_TEST(frozen.net->inference_only());
    BOOST_TEST(!frozen.ema);
    const autograd::Array x = test::test_array({3, kH, kS + kA}, -1.0f, 1.0f, 14);
    const std::vector<float> c_noise = {0.1f, 0.1f, 0.1f};
    std::vector<float> want(x.size()), got(x.size());
    UNetWorkspace ws_trainable, ws_frozen;
    trainable.net->infer(3, kH, x.data(), c_noise.data(), want.data(), ws_trainable);
    frozen.net->infer(3, kH, x.data(), c_noise.data(), got.data(), ws_frozen);
    BOOST_TEST(std::memcmp(want.data(), got.data(), want.size() * sizeof(float)) == 0);

    test::TempDir dir;
    const std::string e = error_of([&] { frozen.save(dir / "checkpoint.npz"); });
    BOOST_TEST(contains(e, "inference-only"), e);
    BOOST_TEST(contains(e, "DiffusionModel::save"), e);
}

BOOST_AUTO_TEST_SUITE_END()
