// ConfigFields (every value type round-trips through its text; files, --set overrides and their errors) and
// RunDir/Progress (fresh vs resumed runs, metrics rows after a checkpoint dropped on resume, plain progress lines).
#include "autograd/error.hpp"
#include "dydiff/run/config.hpp"
#include "dydiff/run/run_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace dydiff;
namespace fs = std::filesystem;

namespace {

struct Sample {
    float lr = 1e-3f;                        // learning rate
    double sigma = 0.5;                      // a double
    std::int64_t steps = 100;                // signed integer
    std::size_t batch = 8;                   // unsigned integer
    bool ema = true;                         // a switch
    std::string preset = "tiny";             // a name
    std::vector<float> decay = {2.5e-5f, 1e-4f};
    std::vector<std::size_t> mults = {1, 4, 8};

    void fields(ConfigFields& f) {
        f.add("lr", &lr, "learning rate");
        f.add("sigma", &sigma, "a double");
        f.add("steps", &steps, "signed integer");
        f.add("batch", &batch, "unsigned integer");
        f.add("ema", &ema, "a switch");
        f.add("preset", &preset, "a name");
        f.add("decay", &decay, "per-layer decay");
        f.add("mults", &mults, "width multipliers");
    }
};

fs::path temp_dir(const std::string& name) {
    const fs::path dir = fs::temp_directory_path() / ("dydiff_test_cfg_" + std::to_string(::getpid())) / name;
    fs::remove_all(dir);
    return dir;
}

std::string message_of(const std::function<void()>& f) {
    try {
        f();
    } catch (const Error& e) {
        return e.what();
    }
    return "";
}

}  // namespace

BOOST_AUTO_TEST_SUITE(config)

BOOST_AUTO_TEST_CASE(text_round_trips_every_type) {
    Sample a;
    a.lr = 3.0e-4f;
    a.sigma = 0.1234567890123;
    a.steps = -5;
    a.decay = {0.1f, 0.2f, 0.3f};
    ConfigFields fa;
    a.fields(fa);
    const fs::path dir = temp_dir("round_trip");
    fs::create_directories(dir);
    std::ofstream(dir / "a.cfg") << fa.to_text();
    Sample b;
    ConfigFields fb;
    b.fields(fb);
    fb.load_file((dir / "a.cfg").string());
    BOOST_TEST(b.lr == a.lr);
    BOOST_TEST(b.sigma == a.sigma);
    BOOST_TEST(b.steps == a.steps);
    BOOST_TEST(b.decay == a.decay);
    BOOST_TEST(b.mults == a.mults);
    BOOST_TEST(fb.to_text() == fa.to_text());
}

BOOST_AUTO_TEST_CASE(set_overrides_and_errors) {
    Sample s;
    ConfigFields f;
    s.fields(f);
    f.set_assignment("batch=64", "--set");
    f.set_assignment("mults = [1, 2]", "--set");
    f.set_assignment("ema=false", "--set");
    BOOST_TEST(s.batch == 64u);
    BOOST_TEST((s.mults == std::vector<std::size_t>{1, 2}));
    BOOST_TEST(!s.ema);
    const std::string unknown = message_of([&] { f.set_assignment("bacth=3", "--set"); });
    BOOST_TEST(unknown.find("unknown config key 'bacth'") != std::string::npos, unknown);
    BOOST_TEST(unknown.find("valid keys: lr, sigma, steps") != std::string::npos, unknown);
    const std::string bad = message_of([&] { f.set_assignment("batch=-1", "--set"); });
    BOOST_TEST(bad.find("'batch' wants a non-negative integer, got '-1'") != std::string::npos, bad);
    BOOST_TEST(!message_of([&] { f.set_assignment("lr=fast", "--set"); }).empty());
    BOOST_TEST(!message_of([&] { f.set_assignment("ema=maybe", "--set"); }).empty());
    BOOST_TEST(!message_of([&] { f.set_assignment("no equals sign", "--set"); }).empty());
}

BOOST_AUTO_TEST_CASE(file_errors_name_file_and_line) {
    const fs::path dir = temp_dir("file_errors");
    fs::create_directories(dir);
    std::ofstream(dir / "bad.cfg") << "# comment\n\nlr = 0.1\nsteps 5\n";
    Sample s;
    ConfigFields f;
    s.fields(f);
    const std::string what = message_of([&] { f.load_file((dir / "bad.cfg").string()); });
    BOOST_TEST(what.find("bad.cfg:4: expected 'key = value'") != std::string::npos, what);
    BOOST_TEST(s.lr == 0.1f);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(run_dir)

BOOST_AUTO_TEST_CASE(new_run_refuses_a_used_directory) {
    const fs::path dir = temp_dir("used");
    RunDir::create(dir.string()).write_text("config.txt", "x = 1\n");
    const std::string what = message_of([&] { RunDir::create(dir.string()); });
    BOOST_TEST(what.find("not empty; pass --resume") != std::string::npos, what);
    BOOST_TEST(!message_of([&] { RunDir::open_existing((dir / "missing").string()); }).empty());
}

BOOST_AUTO_TEST_CASE(resume_drops_rows_after_the_checkpoint) {
    const fs::path dir = temp_dir("resume");
    {
        RunDir run = RunDir::create(dir.string());
        run.write_text("config.txt", "x = 1\n");
        run.open_metrics({"step", "loss"});
        for (int s = 1; s <= 5; ++s) run.append_metrics({double(s), 1.0 / s});
    }
    RunDir resumed = RunDir::open_existing(dir.string());
    resumed.open_metrics({"step", "loss"}, 3);  // the checkpoint was taken at step 3
    resumed.append_metrics({4, 0.25});
    std::ifstream in(dir / "metrics.csv");
    std::stringstream text;
    text << in.rdbuf();
    BOOST_TEST(text.str() == "step,loss\n1,1\n2,0.5\n3,0.333333333\n4,0.25\n");
    BOOST_CHECK_THROW(resumed.open_metrics({"step", "other"}, 3), Error);
}

BOOST_AUTO_TEST_CASE(progress_prints_plain_lines_off_terminal) {
    std::ostringstream out;
    Progress p("train-test", 100, nullptr, out);
    for (int s = 1; s <= 100; ++s) p.update(s, "loss 0.5");
    p.finish("loss 0.5");
    const std::string text = out.str();
    BOOST_TEST(text.find("train-test step 5/100  loss 0.5") != std::string::npos, text);
    BOOST_TEST(text.find("train-test step 100/100") != std::string::npos, text);
    BOOST_TEST(text.find('\r') == std::string::npos);
    const auto lines = std::count(text.begin(), text.end(), '\n');
    BOOST_TEST(lines >= 20);   // about every 5%
    BOOST_TEST(lines <= 22);
}

BOOST_AUTO_TEST_SUITE_END()
