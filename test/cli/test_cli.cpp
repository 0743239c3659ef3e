// The `dydiff` executable as a user meets it (its path comes from the environment variable DYDIFF_EXE, set by
// test/meson.build): every command answers --help and -h; docs/cli.md is what `dydiff config docs` prints; every
// bad input ends in one message and exit code 2 (usage) or 1 (runtime), names the key, flag or file, carries no
// source location, and leaves nothing on disk; a failed start can be retried; --resume refuses changes to the model
// or the data, accepts a larger `steps`, rewrites config.toml, and logs its errors in the run's log.txt. Datasets are
// small generated ones (maze2d-umaze, 2000 rows) so that the suite takes seconds.
#include "support/run_dydiff.hpp"
#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <sys/wait.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using dydiff::test::TempDir;
using dydiff::test::read_text;
using dydiff::test::run_dydiff;
using Result = dydiff::test::CliResult;

namespace {


/// A directory holding data.npz (maze2d-umaze, 2000 rows) and other.npz (another seed of the same size).
const TempDir& data_dir() {
    static const TempDir dir;
    static const bool made = [] {
        for (const auto& [name, seed] : {std::pair<std::string, std::string>{"data.npz", "0"}, {"other.npz", "1"}}) {
            const Result r = run_dydiff(dir, {"dataset", "generate", "--env", "maze2d-umaze", "--steps", "2000",
                                              "--seed", seed, "--out", name});
            BOOST_TEST_REQUIRE(r.code == 0, r.err);
        }
        return true;
    }();
    (void)made;
    return dir;
}

/// A fresh working directory with a copy of the data sets.
struct Work {
    TempDir dir;
    Work() {
        for (const char* name : {"data.npz", "other.npz"}) fs::copy_file(data_dir().path() / name, dir.path() / name);
    }
    Result run(const std::vector<std::string>& words, const std::string& env = "") const {
        return run_dydiff(dir, words, env);
    }
    bool exists(const std::string& name) const { return fs::exists(dir.path() / name); }
    std::string text(const std::string& name) const { return read_text(dir.path() / name); }
    /// The entries of the directory other than the two data sets.
    std::size_t extra_entries() const {
        std::size_t n = 0;
        for (const auto& e : fs::directory_iterator(dir.path()))
            n += e.path().filename() != "data.npz" && e.path().filename() != "other.npz";
        return n;
    }
};

/// The usage or runtime error of a bad input: exit code, one message naming what was wrong, no source location
/// ("file.cpp:123"), nothing left on disk.
void expect_clean_failure(const Work& w, const Result& r, int code, const std::string& message) {
    BOOST_TEST(r.code == code, "exit code " << r.code << ", stderr: " << r.err);
    BOOST_TEST(r.err.find(message) != std::string::npos, "stderr '" << r.err << "' lacks '" << message << "'");
    BOOST_TEST(std::count(r.err.begin(), r.err.end(), '\n') == 1, "not one line: " << r.err);
    BOOST_TEST(!std::regex_search(r.err, std::regex(R"(\.(cpp|hpp):[0-9]+)")), "source location in: " << r.err);
    BOOST_TEST(w.extra_entries() == 0u, "something was left on disk");
}

// A tiny diffusion run: 4 steps, a checkpoint every 2.
const std::vector<std::string> kTinyDiffusion{"--set",       "steps=4", "--set",
                                              "log_every=2", "--set",   "checkpoint_every=2"};

std::vector<std::string> cat(std::vector<std::string> a, const std::vector<std::string>& b) {
    a.insert(a.end(), b.begin(), b.end());
    return a;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(cli)

BOOST_AUTO_TEST_CASE(every_command_has_help) {
    const TempDir dir;
    const std::vector<std::vector<std::string>> pages{
        {"help"},
        {"dataset", "--help"},
        {"dataset", "info", "--help"},
        {"dataset", "info", "-h"},
        {"dataset", "convert", "--help"},
        {"dataset", "generate", "-h"},
        {"evaluate-controller", "--help"},
        {"train-diffusion", "--help"},
        {"train-dynamics", "-h"},
        {"train-reward", "--help"},
        {"rollout-error", "--help"},
        {"config", "--help"},
        {"config", "show", "--help"},
        {"config", "docs", "-h"},
        {"bench", "--help"},
        {"bench", "gemm", "--help"},
    };
    for (const auto& words : pages) {
        const Result r = run_dydiff(dir, words);
        BOOST_TEST(r.code == 0, words[0] << ": " << r.err);
        BOOST_TEST(r.out.rfind("usage: dydiff", 0) == 0, words[0] << ": " << r.out);
    }
    // A config-driven command lists every key with its default, range and doc.
    const Result r = run_dydiff(dir, {"train-diffusion", "--help"});
    for (const char* line : {"--resume", "unet.dim = 16", "edm.sigma_data = 0.5", "lr = 0.001", "[finite and > 0]",
                             "writes:", "metrics.csv"})
        BOOST_TEST(r.out.find(line) != std::string::npos, "missing '" << line << "'");
    BOOST_TEST(run_dydiff(dir, {"rollout-error", "-h"}).out.find("sampler.num_steps = 34") != std::string::npos);
    BOOST_TEST(run_dydiff(dir, {"train-dynamics", "--help"}).out.find("activation = \"silu\"") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(docs_cli_md_is_current) {
    // The suite runs in test/ of the source tree (meson: workdir).
    BOOST_TEST_REQUIRE(fs::exists("../docs/cli.md"),
                       "docs/cli.md is missing: generate it with "
                       "./build/dydiff/cli/dydiff config docs > docs/cli.md");
    const std::string committed = read_text("../docs/cli.md");
    const TempDir dir;
    const Result r = run_dydiff(dir, {"config", "docs"});
    BOOST_TEST_REQUIRE(r.code == 0, r.err);
    BOOST_TEST(r.out == committed,
               "docs/cli.md is stale: regenerate it with "
               "./build/dydiff/cli/dydiff config docs > docs/cli.md");
}

BOOST_AUTO_TEST_CASE(config_show_round_trips_through_config) {
    Work w;
    // Every command and preset: the printed file, read back with --config, prints the same file.
    const std::vector<std::vector<std::string>> shows{{"train-diffusion"},
                                                      {"train-diffusion", "--preset", "small"},
                                                      {"train-diffusion", "--preset", "paper"},
                                                      {"train-dynamics"},
                                                      {"train-reward"},
                                                      {"rollout-error"}};
    for (const auto& show : shows) {
        const Result first = w.run(cat({"config", "show"}, show));
        BOOST_TEST_REQUIRE(first.code == 0, first.err);
        std::ofstream(w.dir / "shown.toml") << first.out;
        const Result second = w.run({"config", "show", show[0], "--config", "shown.toml"});
        BOOST_TEST(second.code == 0, second.err);
        BOOST_TEST(second.out == first.out, show[0]);
    }
    const Result small = w.run({"config", "show", "train-diffusion", "--preset", "small", "--set", "lr=0.5"});
    BOOST_TEST(small.out.find("\ndim = 32 ") != std::string::npos, small.out);
    BOOST_TEST(small.out.find("\nlr = 0.5 ") != std::string::npos, small.out);
    BOOST_TEST(w.run({"config", "show", "train-diffusion", "--set", "lr=-1"}).code == 2);

    // Real runs from the printed files.
    for (const char* command : {"train-diffusion", "train-dynamics", "train-reward", "rollout-error"}) {
        const Result show = w.run({"config", "show", command});
        std::ofstream(w.dir / (std::string(command) + ".toml")) << show.out;
    }
    const Result tiny = w.run(
        cat({"train-diffusion", "data.npz", "--out", "tiny", "--config", "train-diffusion.toml"}, kTinyDiffusion));
    BOOST_TEST_REQUIRE(tiny.code == 0, tiny.err);
    BOOST_TEST(w.text("tiny/config.toml").find("preset = \"tiny\"") != std::string::npos);
    // A run's config.toml is a config file too (its [run] table is ignored): the same keys again.
    const Result again = w.run({"train-diffusion", "data.npz", "--out", "again", "--config", "tiny/config.toml"});
    BOOST_TEST(again.code == 0, again.err);
    const auto keys = [&](const std::string& run) {
        const std::string text = w.text(run + "/config.toml");
        return text.substr(0, text.find("\n[run]"));
    };
    BOOST_TEST(keys("again") == keys("tiny"));
    const Result reward = w.run(
        {"train-reward", "data.npz", "--out", "reward", "--config", "train-reward.toml", "--set", "max_epochs=1"});
    BOOST_TEST(reward.code == 0, reward.err);
    BOOST_TEST(w.text("reward/metrics.csv").rfind("epoch,train_loss,holdout_mse\n1,", 0) == 0);
    const Result dynamics =
        w.run({"train-dynamics", "data.npz", "--out", "dynamics", "--config", "train-dynamics.toml", "--set",
               "max_epochs=1", "--set", "members=2", "--set", "elites=1", "--set", "hidden=8"});
    BOOST_TEST_REQUIRE(dynamics.code == 0, dynamics.err);
    BOOST_TEST(w.text("dynamics/metrics.csv").rfind("epoch,train_loss,holdout_mse_mean,holdout_mse_0,", 0) == 0);
    const Result rollout = w.run({"rollout-error", "--env", "maze2d-umaze", "--diffusion", "tiny", "--dynamics",
                                  "dynamics", "--config", "rollout-error.toml", "--starts", "2", "--set",
                                  "sampler.num_steps=2", "--set", "refinements=1", "--out", "rollout"});
    BOOST_TEST(rollout.code == 0, rollout.err);
    for (const char* file : {"config.toml", "log.txt", "rollout_error.csv", "rollout_error_z.svg", "summary.txt"})
        BOOST_TEST(w.exists(std::string("rollout/") + file), file);
    BOOST_TEST(w.text("rollout/config.toml").find("\nstarts = 2 ") != std::string::npos);
    BOOST_TEST(w.text("rollout/rollout_error.csv").rfind("step,ensemble,diffusion,dydiff_m1\n", 0) == 0);
    // rollout-error refuses models that do not fit the env, before it creates anything.
    const Result pendulum = w.run(
        {"rollout-error", "--env", "pendulum", "--diffusion", "tiny", "--dynamics", "dynamics", "--out", "wrong"});
    BOOST_TEST(pendulum.code == 1);
    const std::string refused = "tiny/checkpoint.npz was trained on data of env maze2d-umaze, not pendulum";
    BOOST_TEST(pendulum.err.find(refused) != std::string::npos, pendulum.err);
    BOOST_TEST(!w.exists("wrong"));
}

BOOST_AUTO_TEST_CASE(bad_inputs_fail_clean) {
    {
        Work w;
        expect_clean_failure(w, w.run({"train-diffusion", "data.npz", "--out", "r", "--set", "lr=-1"}), 2,
                             "config key 'lr' = -1.0 is out of range (valid: finite and > 0)");
    }
    for (const char* command : {"train-diffusion", "train-dynamics", "train-reward"}) {
        Work w;
        expect_clean_failure(w, w.run({command, "data.npz", "--out", "r"}, "DYDIFF_NUM_THREADS=abc"), 2,
                             "DYDIFF_NUM_THREADS must be an integer in [1, 1024], got 'abc'");
    }
    {
        Work w;
        std::ofstream(w.dir / "taken") << "x";
        const Result r =
            w.run({"rollout-error", "--env", "maze2d-umaze", "--diffusion", "d", "--dynamics", "e", "--out", "taken"});
        BOOST_TEST(r.code == 2, r.err);
        BOOST_TEST(r.err.find("taken: exists and is not a directory; choose another --out") != std::string::npos,
                   r.err);
    }
    {
        // train-reward --config FILE, FILE written with `text` (or a directory when text is empty), then removed.
        Work w;
        const auto with_config = [&](const std::string& name, const std::string& text) {
            if (text.empty()) fs::create_directories(w.dir / name);
            else std::ofstream(w.dir / name) << text;
            const Result r = w.run({"train-reward", "data.npz", "--out", "r", "--config", name});
            fs::remove(w.dir / name);
            return r;
        };
        expect_clean_failure(w, with_config("dup.toml", "lr = 0.1\nbatch = 4\nlr = 0.2\n"), 2,
                             "dup.toml:3: duplicate key 'lr' (first set on line 1)");
        expect_clean_failure(w, with_config("confdir", ""), 2, "confdir: is a directory; give a config file");
        expect_clean_failure(w, with_config("t.toml", "[unet]\ndim = 8\n"), 2,
                             "t.toml:1: unknown config table [unet] (valid tables: [adam], [run])");
    }
    {
        Work w;
        expect_clean_failure(w, w.run({"train-diffusion", "data.npz", "--out", "r", "--set", "unet.dimm=3"}), 2,
                             "unknown config key 'unet.dimm' in table [unet] (valid keys: dim, dim_mults");
        expect_clean_failure(w, w.run({"train-diffusion", "data.npz", "--out", "r", "--set", "horizon=30"}), 2,
                             "horizon 30 must be a positive multiple of 4");
        expect_clean_failure(w, w.run({"train-dynamics", "data.npz", "--out", "r", "--set", "elites=9"}), 2,
                             "elites = 9 must be <= members = 7");
        expect_clean_failure(w, w.run({"train-diffusion", "data.npz", "--out", "r", "--preset", "huge"}), 2,
                             "unknown preset 'huge' (valid: tiny, small, paper)");
        expect_clean_failure(w, w.run({"train-reward", "data.npz", "--out", "r", "--bogus", "1"}), 2,
                             "unknown option '--bogus'");
        expect_clean_failure(w, w.run({"train-reward", "missing.npz", "--out", "r"}), 1,
                             "cannot open 'missing.npz' for reading");
        expect_clean_failure(w, w.run({"train-reward", "--out", "r"}), 2, "give the dataset file DATA");
    }
}

BOOST_AUTO_TEST_CASE(a_failed_start_leaves_nothing_and_can_be_retried) {
    Work w;
    // A dataset that does not load: found before the run directory exists.
    std::ofstream(w.dir / "broken.npz") << "not a zip";
    const Result broken = w.run(cat({"train-diffusion", "broken.npz", "--out", "r"}, kTinyDiffusion));
    fs::remove(w.dir / "broken.npz");
    expect_clean_failure(w, broken, 1, "broken.npz: not a ZIP/NPZ file");
    // A hold-out that would be empty: found after loading, still before the run directory exists.
    expect_clean_failure(w, w.run({"train-reward", "data.npz", "--out", "r", "--set", "holdout_fraction=0.0001"}), 1,
                         "leaves an empty part");
    const Result retry = w.run(cat({"train-diffusion", "data.npz", "--out", "r"}, kTinyDiffusion));
    BOOST_TEST(retry.code == 0, retry.err);
    for (const char* file : {"config.toml", "metrics.csv", "log.txt", "checkpoint.npz"})
        BOOST_TEST(w.exists(std::string("r/") + file), file);
    // A used --out is refused before anything is loaded, with the way out.
    const Result used = w.run({"train-diffusion", "data.npz", "--out", "r"});
    BOOST_TEST(used.code == 2);
    BOOST_TEST(used.err.find("r: is not empty (it holds a run; pass --resume to continue it)") != std::string::npos,
               used.err);
}

BOOST_AUTO_TEST_CASE(resume_is_honest) {
    Work w;
    BOOST_TEST_REQUIRE(w.run(cat({"train-diffusion", "data.npz", "--out", "r"}, kTinyDiffusion)).code == 0);
    const std::string config = w.text("r/config.toml");
    BOOST_TEST(config.find("dataset_sha256 = \"") != std::string::npos);
    BOOST_TEST(config.find("version = \"") != std::string::npos);
    BOOST_TEST(config.find("started = \"") != std::string::npos);
    // Changes to the model or the data are refused, naming the key; the error also goes to the run's log.
    const Result horizon = w.run({"train-diffusion", "data.npz", "--out", "r", "--resume", "--set", "horizon=16"});
    BOOST_TEST(horizon.code == 2);
    BOOST_TEST(horizon.err.find("--resume cannot change 'horizon' (32 in r/config.toml, now 16)") != std::string::npos,
               horizon.err);
    const Result dim = w.run({"train-diffusion", "data.npz", "--out", "r", "--resume", "--set", "unet.dim=32"});
    BOOST_TEST(dim.err.find("cannot change 'unet.dim'") != std::string::npos, dim.err);
    const Result data = w.run({"train-diffusion", "other.npz", "--out", "r", "--resume", "--set", "steps=6"});
    BOOST_TEST(data.code == 2);
    BOOST_TEST(data.err.find("--resume cannot change the dataset: run.dataset_sha256") != std::string::npos, data.err);
    const Result fewer = w.run({"train-diffusion", "data.npz", "--out", "r", "--resume", "--set", "steps=2"});
    BOOST_TEST(fewer.err.find("--resume can only raise 'steps' (4 in r/config.toml, now 2)") != std::string::npos,
               fewer.err);
    BOOST_TEST(w.text("r/config.toml") == config);  // nothing rewritten
    const std::string log = w.text("r/log.txt");
    BOOST_TEST(log.find("error: dydiff train-diffusion: --set: --resume cannot change 'horizon'") != std::string::npos,
               log);
    BOOST_TEST(log.find("run.dataset_sha256") != std::string::npos, log);
    // Nothing left to do: said so, nothing changed.
    const Result done = w.run({"train-diffusion", "--out", "r", "--resume"});
    BOOST_TEST(done.code == 0, done.err);
    BOOST_TEST(done.out.find("is complete; nothing to resume") != std::string::npos, done.out);
    // A larger budget continues (DATA defaults to the run's dataset); config.toml records it; seconds continue.
    const Result more = w.run({"train-diffusion", "--out", "r", "--resume", "--set", "steps=6"});
    BOOST_TEST(more.code == 0, more.err);
    const std::string resumed = w.text("r/config.toml");
    BOOST_TEST(resumed.find("steps = 6") != std::string::npos);
    BOOST_TEST(resumed.find("resumed = \"20") != std::string::npos);
    std::istringstream metrics(w.text("r/metrics.csv"));
    std::string line;
    std::getline(metrics, line);
    BOOST_TEST(line == "step,loss,lr,ema_beta,seconds");
    std::vector<double> seconds;
    std::vector<std::string> steps;
    while (std::getline(metrics, line)) {
        steps.push_back(line.substr(0, line.find(',')));
        seconds.push_back(std::stod(line.substr(line.rfind(',') + 1)));
    }
    BOOST_TEST((steps == std::vector<std::string>{"2", "4", "6"}));
    BOOST_TEST_REQUIRE(seconds.size() == 3u);
    BOOST_TEST(seconds[2] >= seconds[1]);
    // The progress lines show the loss metrics.csv records.
    const std::string last_row = w.text("r/metrics.csv");
    const std::string loss6 = last_row.substr(last_row.rfind("\n6,") + 3, 6);
    BOOST_TEST(more.err.find("step 6/6  loss " + loss6.substr(0, 5)) != std::string::npos, more.err << " / " << loss6);
}

BOOST_AUTO_TEST_CASE(a_diverging_run) {
    Work w;
    // A loss that is not finite before the first checkpoint says that none exists; the run keeps its log.
    const Result diverged = w.run({"train-diffusion", "data.npz", "--out", "d", "--set", "lr=1e30", "--set",
                                   "lr_rampup_kimg=0", "--set", "steps=40", "--set", "checkpoint_every=40"});
    BOOST_TEST(diverged.code == 1);
    BOOST_TEST(diverged.err.find("no checkpoint exists yet (the first is due at step 40)") != std::string::npos,
               diverged.err);
    BOOST_TEST(w.text("d/log.txt").find("error: train-diffusion: the loss is") != std::string::npos);
}

BOOST_AUTO_TEST_SUITE_END()
