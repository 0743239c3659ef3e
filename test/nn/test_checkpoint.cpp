// Checkpoints: a module round-trips exactly; loading into another shape fails with one error listing every
// missing, unexpected and mis-shaped parameter and leaves the model untouched; typed scalars and byte blobs.
#include "nn/checkpoint.hpp"
#include "nn/mlp.hpp"

#include <boost/test/unit_test.hpp>

#include <filesystem>

using namespace dydiff;
namespace fs = std::filesystem;

namespace {

fs::path temp_file(const std::string& name) {
    const fs::path dir = fs::temp_directory_path() / ("dydiff_test_nn_" + std::to_string(::getpid()));
    fs::create_directories(dir);
    return dir / name;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(checkpoint)

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

BOOST_AUTO_TEST_SUITE_END()
