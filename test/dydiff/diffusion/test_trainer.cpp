// train-diffusion: the learning-rate ramp and EMA schedule against docs/algorithm.md §6.1's values, the struct's
// defaults equal to the default preset, a resumed run equal to an uninterrupted one bit for bit (checkpoint bytes and
// metrics) whose `seconds` continue, a diverging loss before the first checkpoint saying so, the tiny preset's loss
// falling on a small maze2d dataset within a fixed budget (and the model loading back from the run directory), and
// a resume refusing other data or another horizon.
#include "autograd/error.hpp"
#include "data/data_identity.hpp"
#include "dydiff/diffusion/trainer.hpp"
#include "dydiff/envs/generate.hpp"
#include "support/errors.hpp"

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace dydiff;
using dydiff::test::contains;
using dydiff::test::error_of;
namespace fs = std::filesystem;

namespace {

fs::path fresh_dir(const std::string& name) {
    const fs::path dir = fs::temp_directory_path() / ("dydiff_test_train_" + std::to_string(::getpid())) / name;
    fs::remove_all(dir);
    return dir;
}

std::string file_bytes(const fs::path& p) {
    std::ifstream in(p, std::ios::binary);
    std::stringstream s;
    s << in.rdbuf();
    return s.str();
}

// metrics.csv without its wall-clock column.
std::string metrics_without_seconds(const fs::path& p) {
    std::ifstream in(p);
    std::string line, out;
    while (std::getline(in, line)) out += line.substr(0, line.rfind(',')) + "\n";
    return out;
}

// A generated dataset written to a file and read back, so that it has an identity (a file to hash).
data::Dataset generated(const std::string& env, const std::string& kind, std::size_t steps, std::uint64_t seed) {
    envs::GenerateConfig g;
    g.env = env;
    g.kind = kind;
    g.steps = steps;
    g.seed = seed;
    const fs::path dir = fs::temp_directory_path() / ("dydiff_test_train_" + std::to_string(::getpid())) / "data";
    fs::create_directories(dir);
    const fs::path file = dir / (env + "_" + std::to_string(steps) + "_" + std::to_string(seed) + ".npz");
    data::save_dataset_npz(envs::generate_dataset(g), file.string());
    return data::load_dataset(file.string());
}

data::Dataset small_maze(std::size_t steps, std::uint64_t seed = 3) {
    return generated("maze2d-umaze", "", steps, seed);
}

DiffusionTrainConfig tiny_config(std::int64_t steps) {
    DiffusionTrainConfig c;
    c.apply_preset("tiny");
    c.horizon = 16;
    c.batch = 4;
    c.steps = steps;
    c.log_every = 5;
    c.checkpoint_every = 10;
    return c;
}

double train(const data::Dataset& d, const DiffusionTrainConfig& c, const fs::path& dir, bool resume) {
    RunDir run =
        resume ? RunDir::open_existing(dir.string()) : RunDir::create(dir.string(), {{RunDir::kConfig, "# test\n"}});
    std::ostringstream quiet;
    Progress progress("test", c.steps, nullptr, quiet);
    return train_diffusion(d, data::identify_dataset(d), c, run, resume, progress);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(diffusion_trainer)

BOOST_AUTO_TEST_CASE(schedules_match_the_reference) {
    DiffusionTrainConfig c;
    c.apply_preset("paper");  // lr 1e-3, ramp 10,000 kimg, EMA half-life cap 500 kimg, ratio 0.05, batch 8
    BOOST_TEST(diffusion_learning_rate(c, 0.0) == 0.0);
    BOOST_TEST(std::abs(diffusion_learning_rate(c, 3e6) - 3e-4) < 1e-9);  // §6.1: 3e-4 at 3,000 kimg
    BOOST_TEST(std::abs(diffusion_learning_rate(c, 4e6) - 4e-4) < 1e-9);  // and 4e-4 at the end
    BOOST_TEST(std::abs(diffusion_learning_rate(c, 2e7) - 1e-3) < 1e-9);  // capped at the base rate
    // §6.1: beta = 0.5^(8 / min(500e3, 0.05 n)); at 3,000 kimg the half-life is 150,000 images.
    BOOST_TEST(std::abs(diffusion_ema_beta(c, 3e6) - std::pow(0.5, 8.0 / 150000.0)) < 1e-12);
    BOOST_TEST(std::abs(diffusion_ema_beta(c, 3e6) - 0.999963) < 1e-6);
    BOOST_TEST(std::abs(diffusion_ema_beta(c, 2e7) - std::pow(0.5, 8.0 / 500000.0)) < 1e-12);  // the cap
}

BOOST_AUTO_TEST_CASE(defaults_are_the_tiny_preset) {
    // The command's default preset is the struct's defaults: a run without --preset is a tiny run.
    DiffusionTrainConfig defaults, tiny;
    tiny.apply_preset("tiny");
    ConfigFields a, b;
    defaults.fields(a);
    tiny.fields(b);
    BOOST_TEST(a.to_toml() == b.to_toml());
    BOOST_TEST(DiffusionTrainConfig::presets().front() == "tiny");
    // Every preset names a U-Net and a budget that pass validation.
    for (const auto& name : DiffusionTrainConfig::presets()) {
        DiffusionTrainConfig c;
        c.apply_preset(name);
        ConfigFields f;
        c.fields(f);
        BOOST_CHECK_NO_THROW(f.validate());
    }
    BOOST_CHECK_THROW(defaults.apply_preset("huge"), UserError);
}

BOOST_AUTO_TEST_CASE(seconds_continue_across_a_resume) {
    const data::Dataset d = small_maze(4000);
    const fs::path dir = fresh_dir("seconds");
    train(d, tiny_config(10), dir, false);
    // Pretend the first session took 1000 s up to its checkpoint at step 10: the resumed rows continue from there.
    std::string text = file_bytes(dir / "metrics.csv");
    const auto row10 = text.find("\n10,");
    text = text.substr(0, text.rfind(',') + 1) + "1000\n";
    BOOST_TEST_REQUIRE(row10 != std::string::npos);
    std::ofstream(dir / "metrics.csv") << text;
    train(d, tiny_config(20), dir, true);
    std::ifstream in(dir / "metrics.csv");
    std::string line;
    std::getline(in, line);
    BOOST_TEST(line == "step,loss,lr,ema_beta,seconds");
    std::vector<double> seconds;
    while (std::getline(in, line)) seconds.push_back(std::stod(line.substr(line.rfind(',') + 1)));
    BOOST_TEST_REQUIRE(seconds.size() == 4u);  // steps 5, 10 | 15, 20
    BOOST_TEST(seconds[1] == 1000.0);
    BOOST_TEST(seconds[2] >= 1000.0);
    BOOST_TEST(seconds[3] >= seconds[2]);
}

BOOST_AUTO_TEST_CASE(non_finite_loss_before_the_first_checkpoint_says_so) {
    const data::Dataset d = small_maze(4000);
    const fs::path dir = fresh_dir("diverge");
    DiffusionTrainConfig c = tiny_config(40);
    c.lr = 1e30f;  // Adam's first steps move every weight by about lr: the next loss is not finite
    c.lr_rampup_kimg = 0;
    c.checkpoint_every = 40;
    try {
        train(d, c, dir, false);
        BOOST_FAIL("no error");
    } catch (const UserError& e) {
        const std::string what = e.what();
        BOOST_TEST(what.find("no checkpoint exists yet") != std::string::npos, what);
        BOOST_TEST(what.find("lower the learning rate") != std::string::npos, what);
    }
    BOOST_TEST(!fs::exists(dir / "checkpoint.npz"));
}

BOOST_AUTO_TEST_CASE(resume_equals_uninterrupted) {
    const data::Dataset d = small_maze(4000);
    const fs::path a = fresh_dir("a"), b = fresh_dir("b");
    train(d, tiny_config(20), a, false);
    train(d, tiny_config(10), b, false);  // stops after the checkpoint at step 10
    train(d, tiny_config(20), b, true);
    BOOST_TEST(file_bytes(a / "checkpoint.npz") == file_bytes(b / "checkpoint.npz"));
    BOOST_TEST(metrics_without_seconds(a / "metrics.csv") == metrics_without_seconds(b / "metrics.csv"));
}

BOOST_AUTO_TEST_CASE(tiny_preset_loss_falls, *boost::unit_test::label("slow")) {
    constexpr std::int64_t kSteps = 600;
    constexpr double kMaxFinalOverFirst = 0.7;  // the last logged loss is 30% below the first (at step 50)
    constexpr double kMaxFinalLoss = 65.0;      // and below this absolute value (measured: 61 at step 600)
    const data::Dataset d = small_maze(20000);
    const fs::path dir = fresh_dir("learn");
    DiffusionTrainConfig c = tiny_config(kSteps);
    c.batch = 16;
    c.log_every = 50;
    c.lr_rampup_kimg = 0.5;
    c.checkpoint_every = kSteps;
    const double last = train(d, c, dir, false);
    std::ifstream in(dir / "metrics.csv");
    std::string header, first;
    std::getline(in, header);
    std::getline(in, first);
    const double first_loss = std::stod(first.substr(first.find(',') + 1));
    BOOST_TEST_MESSAGE("tiny preset: first logged loss " << first_loss << ", last " << last);
    BOOST_TEST(last < kMaxFinalOverFirst * first_loss);
    BOOST_TEST(last < kMaxFinalLoss);
    // The model loads back from the run directory, with its EMA, normaliser, architecture and data.
    const DiffusionModel m = DiffusionModel::load(dir.string());
    BOOST_TEST(m.file == (dir / "checkpoint.npz").string());
    BOOST_TEST(m.obs_dim() == 4u);
    BOOST_TEST(m.action_dim() == 2u);
    BOOST_TEST(m.normalizer.dim() == 6u);
    BOOST_TEST(m.horizon == c.horizon);
    BOOST_TEST(m.unet.describe() == unet_preset("tiny").describe());
    BOOST_TEST((m.data == data::identify_dataset(d)));
    BOOST_TEST(m.data.env == "maze2d-umaze");
}

BOOST_AUTO_TEST_CASE(resume_refuses_other_data_naming_both_files) {
    const fs::path dir = fresh_dir("dims");
    const data::Dataset maze = small_maze(3000);
    train(maze, tiny_config(10), dir, false);
    const data::Dataset pendulum = generated("pendulum", "random", 3000, 0);
    std::string e = error_of([&] { train(pendulum, tiny_config(20), dir, true); });
    BOOST_TEST(contains(e, (dir / "checkpoint.npz").string() + ": env maze2d-umaze, obs/action dims 4/2"), e);
    BOOST_TEST(contains(e, pendulum.source + ": env pendulum, obs/action dims 3/1"), e);
    // The same env and dims, other rows (another seed): refused by the SHA-256.
    const data::Dataset other_seed = small_maze(3000, 4);
    e = error_of([&] { train(other_seed, tiny_config(20), dir, true); });
    BOOST_TEST(contains(e, "differ in dataset SHA-256)"), e);
}

BOOST_AUTO_TEST_CASE(resume_refuses_another_horizon_naming_the_key) {
    const fs::path dir = fresh_dir("horizon");
    const data::Dataset maze = small_maze(3000);
    train(maze, tiny_config(10), dir, false);
    DiffusionTrainConfig longer = tiny_config(20);
    longer.horizon = 32;
    const std::string e = error_of([&] { train(maze, longer, dir, true); });
    BOOST_TEST(contains(e, "key 'arch/horizon' is 16 but the run's config gives 32"), e);
}

BOOST_AUTO_TEST_SUITE_END()
