// ConfigFields (every value type and a nested table round-trip through TOML; files, --set overrides, validation
// and the --resume rules with their errors) and RunDir/RunInfo/Progress (a run appears whole, the [run] table round-
// trips, metrics rows after a checkpoint dropped on resume, plain progress lines).
#include "autograd/error.hpp"
#include "dydiff/run/config.hpp"
#include "dydiff/run/run_dir.hpp"
#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <functional>
#include <fstream>
#include <sstream>
#include <unistd.h>

using namespace dydiff;
using dydiff::test::TempDir;
namespace fs = std::filesystem;

namespace {

enum class Mode { fast, careful };

struct Inner {
    std::size_t dim = 16;  // an architecture key
    std::vector<std::size_t> mults = {1, 2, 4};

    void fields(ConfigFields& f) {
        f.add("dim", &dim, "base width").at_least(1).fixed_on_resume();
        f.add("mults", &mults, "width multipliers").at_least(1).non_empty().fixed_on_resume();
        f.check([this] { DYDIFF_USER_CHECK(dim % 2 == 0, "dim = " << dim << " must be even"); });
    }
};

struct Sample {
    float lr = 1e-3f;                        // learning rate
    double sigma = 0.5;                      // a double
    std::int64_t steps = 100;                // signed integer
    std::size_t batch = 8;                   // unsigned integer
    bool ema = true;                         // a switch
    std::string name = "tiny";               // a name
    std::vector<float> decay = {2.5e-5f, 1e-4f};
    float fraction = 0.2f;
    Mode mode = Mode::fast;
    Inner inner;

    void fields(ConfigFields& f) {
        f.add("lr", &lr, "learning rate").positive();
        f.add("sigma", &sigma, "a double");
        f.add("steps", &steps, "signed integer").at_least(1).grows_on_resume();
        f.add("batch", &batch, "unsigned integer").at_least(1);
        f.add("ema", &ema, "a switch");
        f.add("name", &name, "a name").one_of({"tiny", "small"});
        f.add("decay", &decay, "per-layer decay").at_least(0);
        f.add("fraction", &fraction, "a share").positive().below(1);
        f.add_choice("mode", &mode, {{"fast", Mode::fast}, {"careful", Mode::careful}}, "an enum by name");
        f.table("inner", "a nested struct", inner);
    }
};

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

BOOST_AUTO_TEST_CASE(toml_round_trips_every_type_and_table) {
    Sample a;
    a.lr = 3.0e-4f;
    a.sigma = 0.1234567890123;
    a.steps = 5;
    a.name = "small";
    a.decay = {0.1f, 0.2f, 0.3f};
    a.mode = Mode::careful;
    a.inner.dim = 32;
    a.inner.mults = {1, 4};
    ConfigFields fa;
    a.fields(fa);
    const std::string text = fa.to_toml();
    BOOST_TEST(text.find("\n[inner]  # a nested struct\ndim = 32") != std::string::npos, text);
    BOOST_TEST(text.find("lr = 0.0003  ") != std::string::npos, text);
    BOOST_TEST(text.find("mode = \"careful\"") != std::string::npos, text);
    BOOST_TEST(text.find("# learning rate [finite and > 0]") != std::string::npos, text);
    TempDir dir;
    std::ofstream(dir / "a.toml") << text;
    Sample b;
    ConfigFields fb;
    b.fields(fb);
    fb.load_file(dir / "a.toml");
    BOOST_TEST(b.lr == a.lr);
    BOOST_TEST(b.sigma == a.sigma);
    BOOST_TEST(b.steps == a.steps);
    BOOST_TEST(b.decay == a.decay);
    BOOST_TEST((b.mode == Mode::careful));
    BOOST_TEST(b.inner.dim == 32u);
    BOOST_TEST((b.inner.mults == std::vector<std::size_t>{1, 4}));
    BOOST_TEST(fb.to_toml() == text);
    BOOST_TEST(fb.snapshot() == fa.snapshot());
    BOOST_TEST(fb.get("inner.mults") == "[1, 4]");
    BOOST_TEST(fb.get("mode") == "\"careful\"");
}

BOOST_AUTO_TEST_CASE(set_overrides_and_errors) {
    Sample s;
    ConfigFields f;
    s.fields(f);
    f.set_assignment("batch=64", "--set");
    f.set_assignment("inner.mults = [1, 2]", "--set");
    f.set_assignment("ema=false", "--set");
    f.set_assignment("name=small", "--set");        // a bare word is a string
    f.set_assignment("mode=\"careful\"", "--set");  // so is a quoted one
    f.set_assignment("lr=1", "--set");              // an integer is a number
    BOOST_TEST(s.batch == 64u);
    BOOST_TEST((s.inner.mults == std::vector<std::size_t>{1, 2}));
    BOOST_TEST(!s.ema);
    BOOST_TEST(s.name == "small");
    BOOST_TEST((s.mode == Mode::careful));
    BOOST_TEST(s.lr == 1.0f);
    const std::string unknown = message_of([&] { f.set_assignment("bacth=3", "--set"); });
    BOOST_TEST(unknown ==
                   "--set: unknown config key 'bacth' (valid keys: lr, sigma, steps, batch, ema, name, decay, "
                   "fraction, mode)",
               unknown);
    const std::string in_table = message_of([&] { f.set_assignment("inner.dimm=3", "--set"); });
    BOOST_TEST(in_table == "--set: unknown config key 'inner.dimm' in table [inner] (valid keys: dim, mults)");
    const std::string table = message_of([&] { f.set_assignment("outer.dim=3", "--set"); });
    BOOST_TEST(table == "--set: unknown config table [outer] (key 'outer.dim'; valid tables: [inner])");
    const std::string bad = message_of([&] { f.set_assignment("batch=-1", "--set"); });
    BOOST_TEST(bad == "--set: config key 'batch' wants an integer >= 0, got '-1'");
    BOOST_TEST(message_of([&] { f.set_assignment("steps=1e5", "--set"); }).find("wants an integer") !=
               std::string::npos);
    BOOST_TEST(message_of([&] { f.set_assignment("mode=slow", "--set"); }).find("wants one of: fast, careful") !=
               std::string::npos);
    BOOST_TEST(!message_of([&] { f.set_assignment("lr=fast", "--set"); }).empty());
    BOOST_TEST(!message_of([&] { f.set_assignment("ema=1", "--set"); }).empty());
    BOOST_TEST(!message_of([&] { f.set_assignment("no equals sign", "--set"); }).empty());
    BOOST_TEST(!message_of([&] { f.set_assignment("lr=1e39", "--set"); }).empty());  // beyond float32
}

BOOST_AUTO_TEST_CASE(validation_names_key_value_origin_and_range) {
    Sample s;
    ConfigFields f;
    s.fields(f);
    BOOST_CHECK_NO_THROW(f.validate());
    const auto invalid = [&](const std::string& assignment) {
        Sample t;
        ConfigFields g;
        t.fields(g);
        g.set_assignment(assignment, "--set");
        return message_of([&] { g.validate(); });
    };
    BOOST_TEST(invalid("lr=-1") == "--set: config key 'lr' = -1.0 is out of range (valid: finite and > 0)");
    BOOST_TEST(invalid("lr=inf") == "--set: config key 'lr' = inf is out of range (valid: finite and > 0)");
    BOOST_TEST(invalid("lr=nan").find("'lr' = nan is out of range") != std::string::npos);
    BOOST_TEST(invalid("steps=0") == "--set: config key 'steps' = 0 is out of range (valid: >= 1)");
    BOOST_TEST(invalid("fraction=1") == "--set: config key 'fraction' = 1.0 is out of range (valid: in (0, 1))");
    BOOST_TEST(invalid("decay=[0.1, -0.1]").find("(valid: each finite and >= 0)") != std::string::npos);
    BOOST_TEST(invalid("name=huge") ==
               "--set: config key 'name' = \"huge\" is out of range (valid: one of: tiny, small)");
    BOOST_TEST(invalid("inner.mults=[]").find("'inner.mults' = [] is out of range") != std::string::npos);
    BOOST_TEST(invalid("inner.dim=3") == "config [inner]: dim = 3 must be even");
    // A file names file:line as the origin of a bad value.
    TempDir dir;
    std::ofstream(dir / "bad.toml") << "# comment\n\nlr = 0.1\nbatch = 0\n";
    Sample t;
    ConfigFields g;
    t.fields(g);
    g.load_file(dir / "bad.toml");
    BOOST_TEST(message_of([&] { g.validate(); }) ==
               dir / "bad.toml" + ":4: config key 'batch' = 0 is out of range (valid: >= 1)");
}

BOOST_AUTO_TEST_CASE(files_name_file_and_line) {
    TempDir dir;
    const auto load = [&](const std::string& text) {
        std::ofstream(dir / "c.toml") << text;
        Sample s;
        ConfigFields f;
        s.fields(f);
        return message_of([&] { f.load_file(dir / "c.toml", {"run"}); });
    };
    const std::string path = dir / "c.toml";
    BOOST_TEST(load("lr = 0.1\nlr = 0.2\n") == path + ":2: duplicate key 'lr' (first set on line 1)");
    BOOST_TEST(load("lr = 0.1\n[outer]\nx = 1\n") ==
               path + ":2: unknown config table [outer] (valid tables: [inner], [run])");
    BOOST_TEST(load("[inner]\ndimm = 2\n").find(path + ":2: unknown config key 'inner.dimm'") == 0);
    BOOST_TEST(load("batch = \"8\"\n") ==
               path + ":1: config key 'batch' wants an integer >= 0, got \"8\" (a TOML string)");
    BOOST_TEST(load("lr = 0.1\n[run]\ncommand = \"x\"\nanything = 1\n").empty());  // [run] is skipped
    BOOST_TEST(message_of([&] {
                   Sample s;
                   ConfigFields f;
                   s.fields(f);
                   f.load_file(dir.path().string());
               }).find("is a directory") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(resume_rules) {
    Sample s;
    ConfigFields f;
    s.fields(f);
    const auto saved = f.snapshot();
    f.set_assignment("steps=200", "--set");  // may grow
    f.set_assignment("lr=0.5", "--set");     // may change
    const auto changed = f.check_resume(saved, "run/config.toml");
    BOOST_TEST((changed == std::vector<std::string>{"lr", "steps"}));
    f.set_assignment("steps=50", "--set");
    BOOST_TEST(message_of([&] { f.check_resume(saved, "run/config.toml"); }) ==
               "--set: --resume can only raise 'steps' (100 in run/config.toml, now 50)");
    f.set_assignment("steps=100", "--set");
    f.set_assignment("inner.dim=32", "--set");
    BOOST_TEST(message_of([&] {
                   f.check_resume(saved, "run/config.toml");
               }).find("--set: --resume cannot change 'inner.dim' (16 in run/config.toml, now 32)") == 0);
}

BOOST_AUTO_TEST_CASE(describe_lists_keys_for_help) {
    Sample s;
    ConfigFields f;
    s.fields(f);
    const auto infos = f.describe();
    BOOST_TEST_REQUIRE(infos.size() == 11u);
    BOOST_TEST(infos[0].key == "lr");
    BOOST_TEST(infos[0].value == "0.001");
    BOOST_TEST(infos[0].valid == "finite and > 0");
    BOOST_TEST(infos[9].key == "inner.dim");
    BOOST_TEST(infos[9].table == "inner");
    BOOST_TEST(infos[9].valid == ">= 1");
    BOOST_TEST((infos[9].on_resume == OnResume::fixed));
    BOOST_TEST(infos[8].valid == "one of: fast, careful");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(run_dir)

BOOST_AUTO_TEST_CASE(new_run_appears_whole_and_refuses_a_used_directory) {
    TempDir tmp;
    const std::string dir = tmp / "runs/a";  // the parent is created too
    RunDir::check_new(dir);
    BOOST_TEST(!fs::exists(dir));  // check_new creates nothing
    RunDir::create(dir, {{RunDir::kConfig, "x = 1\n"}});
    BOOST_TEST(fs::exists(fs::path(dir) / RunDir::kConfig));
    BOOST_TEST(fs::exists(fs::path(dir) / "log.txt"));
    std::size_t entries = 0;
    for (const auto& e : fs::directory_iterator(tmp / "runs")) entries += e.path().filename() == "a" ? 1 : 100;
    BOOST_TEST(entries == 1u);  // no temporary directory left beside it
    const std::string used = message_of([&] { RunDir::check_new(dir); });
    BOOST_TEST(used.find("is not empty (it holds a run; pass --resume to continue it)") != std::string::npos, used);
    BOOST_CHECK_THROW(RunDir::create(dir, {}), UserError);
    // An empty directory may be used; a file may not.
    fs::create_directories(tmp / "empty");
    RunDir::create(tmp / "empty", {{RunDir::kConfig, "x = 1\n"}});
    std::ofstream(tmp / "file") << "x";
    BOOST_TEST(message_of([&] { RunDir::check_new(tmp / "file"); }).find("exists and is not a directory") !=
               std::string::npos);
    BOOST_TEST(!message_of([&] { RunDir::open_existing(tmp / "missing"); }).empty());
    BOOST_TEST(message_of([&] { RunDir::check_existing(tmp / "runs"); }).find("no config.toml") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(run_info_round_trips_through_config_text) {
    Sample s;
    ConfigFields f;
    s.fields(f);
    RunInfo info;
    info.command = "train-test";
    info.argv = {"data.npz", "--out", "r \"q\""};
    info.threads = 2;
    info.started = utc_now();
    info.dataset_sha256 = std::string(64, 'a');
    const std::string text = run_config_text(f, info);
    BOOST_TEST(text.find("\n[run]  # provenance") != std::string::npos, text);
    const toml::Document doc = toml::parse(text, "config.toml");
    const RunInfo back = read_run_info(doc);
    BOOST_TEST(back.argv == info.argv);
    BOOST_TEST(back.started == info.started);
    BOOST_TEST(back.dataset_sha256 == info.dataset_sha256);
    BOOST_TEST(info.started.size() == 20u);  // 2025-01-31T12:00:00Z
    Sample t;
    ConfigFields g;
    t.fields(g);
    g.apply(doc, {"run"});  // the hyperparameters read back; [run] is not theirs
    BOOST_TEST(g.to_toml() == f.to_toml());
}

BOOST_AUTO_TEST_CASE(resume_drops_rows_after_the_checkpoint) {
    TempDir tmp;
    const std::string dir = tmp / "resume";
    {
        RunDir run = RunDir::create(dir, {{RunDir::kConfig, "x = 1\n"}});
        run.open_metrics({"epoch", "loss"});
        for (int s = 1; s <= 5; ++s) run.append_metrics({double(s), 1.0 / s});
    }
    RunDir resumed = RunDir::open_existing(dir);
    const std::vector<double> last = resumed.open_metrics({"epoch", "loss"}, 3);  // the checkpoint was at epoch 3
    BOOST_TEST((last == std::vector<double>{3, 0.333333333}));
    resumed.append_metrics({4, 0.25});
    std::ifstream in(fs::path(dir) / "metrics.csv");
    std::stringstream text;
    text << in.rdbuf();
    BOOST_TEST(text.str() == "epoch,loss\n1,1\n2,0.5\n3,0.333333333\n4,0.25\n");
    BOOST_CHECK_THROW(resumed.open_metrics({"epoch", "other"}, 3), Error);
    RunDir::append_log(dir, "error: something");
    std::ifstream log(fs::path(dir) / "log.txt");
    std::string line;
    std::getline(log, line);
    BOOST_TEST(line == "error: something");
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
