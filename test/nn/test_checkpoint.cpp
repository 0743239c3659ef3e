// Checkpoints: a module round-trips exactly; loading into another shape fails with one error listing every
// missing, unexpected and mis-shaped parameter and leaves the model untouched; typed scalars, text and byte blobs,
// the format check of model files, model_file (run directory or file) and naming_errors.
#include "nn/checkpoint.hpp"
#include "nn/mlp.hpp"
#include "support/errors.hpp"

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <filesystem>
#include <limits>

using namespace dydiff;
using dydiff::test::contains;
using dydiff::test::error_of;
namespace fs = std::filesystem;

namespace {

fs::path temp_file(const std::string& name) {
    const fs::path dir = fs::temp_directory_path() / ("dydiff_test_nn_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return dir / name;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(checkpoint)

BOOST_AUTO_TEST_CASE(require_finite_names_the_key_and_last_good_checkpoint) {
    nn::Checkpoint c;
    c.put_int64("step", 3);
    c.put_float64("train/loss_sum", 1.5);
    c.put("model/w", autograd::Array{1.0f, 2.0f});
    c.require_finite("trainer");  // all finite: nothing thrown
    c.put("model/w", autograd::Array{1.0f, std::numeric_limits<float>::infinity()});
    const std::string e = error_of([&] { c.require_finite("trainer: checkpoint at step 3"); });
    BOOST_TEST(contains(e, "trainer: checkpoint at step 3: key 'model/w' holds NaN or Inf (element 1 of shape (2,) "
                           "is inf); not written"),
               e);
    c.put("model/w", autograd::Array{1.0f, 2.0f});
    c.put_float64("train/loss_sum", std::nan(""));
    BOOST_CHECK_THROW(c.require_finite("t"), NonFiniteError);
    // The one closing message of a stopped run.
    const std::string stop = error_of([] { nn::stop_non_finite(NonFiniteError("x: loss is nan at step 5"),
                                                               nn::last_good_checkpoint("r/c.npz", 3, 3)); });
    BOOST_TEST(stop.rfind("x: loss is nan at step 5; stopping. the last good checkpoint is r/c.npz (step 3); hint:", 0) ==
                   0u,
               stop);
    BOOST_TEST(nn::last_good_checkpoint("r/c.npz", 0, 40) == "no checkpoint exists yet (the first is due at step 40)");
}

BOOST_AUTO_TEST_CASE(module_round_trip_is_exact) {
    data::Rng rng(5);
    nn::MLP a({6, 32, 2}, nn::Activation::relu, rng);
    nn::MLP b({6, 32, 2}, nn::Activation::relu, rng);  // different weights
    nn::Checkpoint c;
    c.put_module("model", a);
    c.put_int64("meta/step", 1234567890123LL);
    c.put_bytes("rng/state", rng.state());
    const fs::path path = temp_file("round_trip.npz");
    c.save(path.string());
    const nn::Checkpoint loaded = nn::Checkpoint::load(path.string());
    loaded.load_module("model", b);
    const auto pa = a.named_parameters(), pb = b.named_parameters();
    for (std::size_t i = 0; i < pa.size(); ++i) BOOST_TEST(pa[i].second.value() == pb[i].second.value());
    BOOST_TEST(loaded.get_int64("meta/step") == 1234567890123LL);
    BOOST_TEST(loaded.get_bytes("rng/state") == rng.state());
    BOOST_TEST(loaded.keys().front() == "model/layers.0.weight");
}

BOOST_AUTO_TEST_CASE(wrong_model_lists_every_problem_and_changes_nothing) {
    data::Rng rng(6);
    nn::MLP small({6, 32, 2}, nn::Activation::relu, rng);
    nn::Checkpoint c;
    c.put_module("model", small);
    const fs::path path = temp_file("wrong.npz");
    c.save(path.string());
    const nn::Checkpoint loaded = nn::Checkpoint::load(path.string());

    nn::MLP other({7, 32, 32, 2}, nn::Activation::relu, rng);  // another obs dim and one more layer
    const auto before = other.named_parameters()[0].second.value();
    try {
        loaded.load_module("model", other);
        BOOST_FAIL("no error");
    } catch (const Error& e) {
        const std::string what = e.what();
        BOOST_TEST(what.find(path.string()) != std::string::npos, what);
        BOOST_TEST(what.find("missing (2): layers.2.weight, layers.2.bias") != std::string::npos, what);
        BOOST_TEST(what.find("wrong shape (3): layers.0.weight (32, 6) (model (32, 7))") != std::string::npos, what);
    }
    BOOST_TEST(other.named_parameters()[0].second.value() == before);

    nn::MLP fewer({6, 2}, nn::Activation::relu, rng);
    try {
        loaded.load_module("model", fewer);
        BOOST_FAIL("no error");
    } catch (const Error& e) {
        BOOST_TEST(std::string(e.what()).find("unexpected (2): layers.1.weight, layers.1.bias") != std::string::npos,
                   e.what());
    }
    BOOST_CHECK_THROW(loaded.get("nope"), Error);
    BOOST_CHECK_THROW(loaded.get_int64("model/layers.0.bias"), Error);  // float32, not int64
}

BOOST_AUTO_TEST_CASE(typed_values_round_trip_and_their_errors_name_file_and_key) {
    nn::Checkpoint c;
    c.put_text("arch/activation", "silu");
    c.put_int64s("arch/dim_mults", {1, 4, 8});
    c.put_float32("arch/max_logvar", 0.5f);
    c.put_float64("arch/sigma_data", 0.1);
    c.put_int64("arch/hidden", 200);
    c.put_int64("arch/negative", -3);
    c.put_format("dynamics", 1);
    const fs::path path = temp_file("typed.npz");
    c.save(path.string());
    const nn::Checkpoint l = nn::Checkpoint::load(path.string());
    BOOST_TEST(l.get_text("arch/activation") == "silu");
    BOOST_TEST((l.get_int64s("arch/dim_mults") == std::vector<std::int64_t>{1, 4, 8}));
    BOOST_TEST(l.get_float32("arch/max_logvar") == 0.5f);
    BOOST_TEST(l.get_float64("arch/sigma_data") == 0.1);  // exact: stored as float64
    BOOST_TEST(l.get_size("arch/hidden") == 200u);
    BOOST_CHECK_NO_THROW(l.check_format("dynamics", 1));

    const std::string p = path.string();
    BOOST_TEST(contains(error_of([&] { l.get_size("arch/negative"); }),
                        p + ": key 'arch/negative' is -3, expected an integer >= 1"));
    BOOST_TEST(contains(error_of([&] { l.get_float64("arch/max_logvar"); }), p + ": key 'arch/max_logvar'"));
    BOOST_TEST(contains(error_of([&] { l.get_text("arch/hidden"); }), p + ": key 'arch/hidden'"));
    BOOST_TEST(contains(error_of([&] { l.get_int64s("arch/hidden"); }), "must be a 1-d int64 array"));
    BOOST_TEST(contains(error_of([&] { l.check_format("reward", 1); }),
                        p + ": a dynamics model file (key 'format/kind'), expected a reward model file"));
    BOOST_TEST(contains(error_of([&] { l.check_format("dynamics", 2); }),
                        p + ": key 'format/version' is 1; this dydiff reads model files of version 2"));
    // naming_errors: an error from inside that does not name the file gets it in front; one that does is kept.
    BOOST_TEST(error_of([&] { l.naming_errors([] { throw Error("bad value"); }); }) == p + ": bad value");
    BOOST_TEST(error_of([&] { l.naming_errors([&] { throw Error(p + ": named"); }); }) == p + ": named");
    BOOST_TEST(l.naming_errors([] { return 7; }) == 7);
}

BOOST_AUTO_TEST_CASE(model_file_takes_a_run_directory_or_a_file) {
    const fs::path file = temp_file("model.npz");
    nn::Checkpoint().save(file.string());
    const std::string dir = file.parent_path().string();
    BOOST_TEST(nn::model_file(dir, "model.npz", "train-dynamics") == file.string());
    BOOST_TEST(nn::model_file(file.string(), "model.npz", "train-dynamics") == file.string());
    BOOST_TEST(contains(error_of([&] { nn::model_file(dir, "checkpoint.npz", "train-diffusion"); }),
                        dir + ": a directory without checkpoint.npz; expected a train-diffusion run directory"));
    BOOST_TEST(contains(error_of([&] { nn::model_file(dir + "/absent", "model.npz", "train-reward"); }),
                        dir + "/absent: no such file or directory; expected a train-reward run directory"));
}

BOOST_AUTO_TEST_SUITE_END()
