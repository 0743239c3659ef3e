// `dydiff sweep` (dydiff/cli/sweep.hpp, cmd_sweep.cpp): the example grid file expands to its 18 named runs and
// their exact commands; names do not depend on the order of the axes in the file; labels; learner and [dydiff] keys
// reach only the runs they affect; every mistake in a grid is one error naming the file, the line and the key; the
// GNU parallel list and the Slurm script hold one resumable command per run. End to end on a generated pendulum
// dataset (2000 rows) with 200-step BC runs: a sweep of 4 runs writes the runs, logs and stats; run again it reruns
// nothing; a larger `steps` extends the runs it selects; the parallel list and the Slurm script run with bash
// continue the others; a run that fails leaves the others and the stats standing.
#include "dydiff/cli/sweep.hpp"

#include "dydiff/run/toml.hpp"
#include "support/errors.hpp"
#include "support/run_dydiff.hpp"
#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <string>
#include <vector>

#include <sys/wait.h>

namespace fs = std::filesystem;
using dydiff::cli::Sweep;
using dydiff::cli::SweepRun;
using dydiff::test::CliResult;
using dydiff::test::contains;
using dydiff::test::error_of;
using dydiff::test::read_text;
using dydiff::test::run_dydiff;
using dydiff::test::TempDir;

namespace {

Sweep parse(const std::string& text) { return dydiff::cli::parse_sweep(dydiff::toml::parse(text, "grid.toml")); }

std::vector<std::string> names(const Sweep& s) {
    std::vector<std::string> out;
    for (const SweepRun& r : s.runs) out.push_back(r.name);
    return out;
}

std::string join(const std::vector<std::string>& words) {
    std::string out;
    for (const std::string& w : words) out += (out.empty() ? "" : " ") + w;
    return out;
}

bool has_key(const SweepRun& r, const std::string& key) {
    return std::any_of(r.keys.begin(), r.keys.end(), [&](const auto& k) { return k.first == key; });
}

void write(const std::string& path, const std::string& text) { std::ofstream(path, std::ios::binary) << text; }

// A small grid around one dataset; `extra` goes into [grid] after seed (line 5), `sweep` into [sweep] (line 3).
std::string grid(const std::string& extra, const std::string& sweep = "") {
    return "[sweep]\nout = \"out\"\n" + sweep + "[grid]\nseed = [0]\n" + extra + "\n[data.a]\npath = \"a.npz\"\n";
}

int run_bash(const TempDir& dir, const std::string& script, const std::string& env = "") {
    const std::string command =
        "cd " + dydiff::test::shell_quoted(dir.path().string()) + " && " + env + " bash " + script + " > bash.out 2>&1";
    const int status = std::system(command.c_str());
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(sweep)

BOOST_AUTO_TEST_CASE(example_file_expands_to_named_runs) {
    const Sweep s = dydiff::cli::read_sweep("../examples/sweep_umaze.toml");
    BOOST_TEST(s.out == "runs/sweep-umaze");
    // 2 algos x (base + DyDiff with M in {0, 2}) x 3 seeds; seeds outermost.
    BOOST_TEST_REQUIRE(s.runs.size() == 18u);
    const std::vector<std::string> first{"umaze/td3bc-base-s0", "umaze/td3bc-dydiff-m0-s0", "umaze/td3bc-dydiff-m2-s0",
                                         "umaze/iql-base-s0",   "umaze/iql-dydiff-m0-s0",   "umaze/iql-dydiff-m2-s0",
                                         "umaze/td3bc-base-s1"};
    for (std::size_t i = 0; i < first.size(); ++i) BOOST_TEST(s.runs[i].name == first[i]);
    BOOST_TEST(s.runs.back().name == "umaze/iql-dydiff-m2-s2");
    const auto all = names(s);
    BOOST_TEST(std::set<std::string>(all.begin(), all.end()).size() == all.size());
    for (const SweepRun& r : s.runs) {
        BOOST_TEST(r.dir == "runs/sweep-umaze/" + r.name);
        BOOST_TEST(r.dataset == "umaze.npz");
    }
    // A run without DyDiff gets none of the dataset's model paths.
    BOOST_TEST(!has_key(s.runs[0], "dydiff.diffusion"));
    BOOST_TEST(!has_key(s.runs[0], "dydiff.generator.iterations"));
    // The words of a DyDiff run and of a base run (no word holds a space, so joining them is exact).
    const SweepRun& r = s.runs[8];
    BOOST_TEST_REQUIRE(r.name == "umaze/td3bc-dydiff-m2-s1");
    BOOST_TEST(join(r.args) ==
               "train-agent umaze.npz --out runs/sweep-umaze/umaze/td3bc-dydiff-m2-s1 --set steps=100000 --set "
               "eval_every=5000 --set eval_episodes=10 --diffusion runs/umaze-diffusion --dynamics runs/umaze-dynamics "
               "--reward runs/umaze-reward --algo td3bc --dydiff --set dydiff.generator.iterations=2 --seed 1 "
               "--threads 1");
    BOOST_TEST(join(s.runs[6].args) ==
               "train-agent umaze.npz --out runs/sweep-umaze/umaze/td3bc-base-s1 --set steps=100000 --set "
               "eval_every=5000 --set eval_episodes=10 --algo td3bc --set dydiff.enabled=false --seed 1 --threads 1");
}

BOOST_AUTO_TEST_CASE(names_do_not_depend_on_the_order_of_axes) {
    const Sweep a = parse(
        "[sweep]\nout = \"o\"\n[grid]\nseed = [0, 1]\nalgo = [\"bc\", \"td3bc\"]\n"
        "eval_episodes = [2, 3]\n[data.x]\npath = \"x.npz\"\n[data.y]\npath = \"y.npz\"\n");
    const Sweep b = parse(
        "[data.x]\npath = \"x.npz\"\n[grid]\neval_episodes = [2, 3]\nalgo = [\"bc\", \"td3bc\"]\n"
        "seed = [0, 1]\n[sweep]\nout = \"o\"\n[data.y]\npath = \"y.npz\"\n");
    BOOST_TEST(a.runs.size() == 16u);
    BOOST_TEST(names(a) == names(b));
    BOOST_TEST(a.runs[0].name == "x/bc-eval_episodes2-s0");
    BOOST_TEST(a.runs[8].name == "x/bc-eval_episodes2-s1");  // seeds outermost, then datasets
    BOOST_TEST(a.runs[4].name == "y/bc-eval_episodes2-s0");
}

BOOST_AUTO_TEST_CASE(labels_and_value_parts) {
    // Default labels: the key's last part (the whole key, dots as '_', where two axes share it); dydiff.enabled as
    // dydiff/base; label+value for a number, label_value otherwise; [label] replaces a default.
    const Sweep s =
        parse(grid("algo = [\"bc\", \"td3bc\"]\ntd3bc.hidden = [8]\nbc.hidden = [16]\n"
                   "td3bc.alpha = [2.5]\ntd3bc.tau = [0.005]\ndydiff.enabled = [true]\n"
                   "dydiff.generator.filter.kind = [\"softmax\"]\n[label]\ntd3bc.tau = \"t\"\nseed = \"seed\"\n"
                   "[set]\ndydiff.diffusion = \"d\"\ndydiff.dynamics = \"d\"\ndydiff.reward = \"r\"\n"));
    BOOST_TEST(names(s) ==
               (std::vector<std::string>{"a/bc-bc_hidden16-dydiff-kind_softmax-seed0",
                                         "a/td3bc-dydiff-kind_softmax-alpha2.5-td3bc_hidden8-t0.005-seed0"}));
}

BOOST_AUTO_TEST_CASE(learner_and_dydiff_keys_reach_only_their_runs) {
    const Sweep s = parse(
        "[sweep]\nout = \"o\"\n[set]\nbc.hidden = 16\ntd3bc.hidden = 32\n"
        "[grid]\nalgo = [\"bc\", \"td3bc\"]\ntd3bc.alpha = [1, 2.5]\ndydiff.enabled = [false, true]\n"
        "dydiff.generator.iterations = [0, 2]\n"
        "[data.a]\npath = \"a.npz\"\ndydiff.diffusion = \"d\"\ndydiff.dynamics = \"y\"\ndydiff.reward = \"r\"\n");
    // bc: base + 2 DyDiff; td3bc: 2 alphas x (base + 2 DyDiff).
    // Name parts in key order: dydiff.enabled, dydiff.generator.iterations, td3bc.alpha.
    BOOST_TEST(names(s) ==
               (std::vector<std::string>{"a/bc-base", "a/bc-dydiff-iterations0", "a/bc-dydiff-iterations2",
                                         "a/td3bc-base-alpha1", "a/td3bc-base-alpha2.5",
                                         "a/td3bc-dydiff-iterations0-alpha1", "a/td3bc-dydiff-iterations0-alpha2.5",
                                         "a/td3bc-dydiff-iterations2-alpha1", "a/td3bc-dydiff-iterations2-alpha2.5"}));
    const SweepRun& bc = s.runs[0];
    BOOST_TEST(has_key(bc, "bc.hidden"));
    BOOST_TEST(!has_key(bc, "td3bc.hidden"));
    BOOST_TEST(!has_key(bc, "dydiff.diffusion"));
    const SweepRun& td3bc = s.runs[5];
    BOOST_TEST(!has_key(td3bc, "bc.hidden"));
    BOOST_TEST(has_key(td3bc, "td3bc.hidden"));
    BOOST_TEST(has_key(td3bc, "dydiff.reward"));
    // Values as train-agent writes them.
    BOOST_TEST(contains(dydiff::cli::parallel_commands({td3bc}, "dydiff"), "--set td3bc.alpha=1.0 "));
}

BOOST_AUTO_TEST_CASE(every_mistake_names_the_file_line_and_key) {
    const std::string models = "dydiff.diffusion = \"d\"\ndydiff.dynamics = \"y\"\ndydiff.reward = \"r\"\n";
    const std::vector<std::pair<std::string, std::string>> cases{
        {grid("foo.bar = [1]"),
         "grid.toml:5: 'foo.bar' in [grid] is not a train-agent key (dydiff config show train-agent lists them)"},
        {grid("") + "lr = 3", "grid.toml:8: 'lr' in [data.a] is not a train-agent key"},
        {"[set]\nstep = 3\n" + grid(""), "grid.toml:2: 'step' in [set] is not a train-agent key"},
        {grid("algo = []"), "grid.toml:5: grid.algo is empty; an axis needs at least one value"},
        {grid("algo = \"bc\""),
         "grid.toml:5: grid.algo = \"bc\" is not an array; an axis is a list of values (a fixed value goes in [set])"},
        {"[sweep]\nout = \"o\"\n[grid]\nseed = [0]\n", "grid.toml: no dataset; add a table [data.NAME] with path"},
        {"[sweep]\nout = \"o\"\n[grid]\nseed = [0]\n[data.a]\nenv = \"pendulum\"\n",
         "grid.toml:6: [data.a] has no path = \"FILE.npz\""},
        {"[grid]\nseed = [0]\n[data.a]\npath = \"a.npz\"\n", "grid.toml: [sweep] needs out = \"DIR\""},
        {"[sweep]\nout = \"o\"\n[data.a]\npath = \"a.npz\"\n", "grid.toml: [grid] has no axis"},
        {grid("") + "[sweeps]\nx = 1\n",
         "grid.toml:8: unknown table [sweeps] (a sweep has [sweep], [set], [grid], [label] and [data.NAME]"},
        {grid("", "jobs = 2\n"),
         "grid.toml:3: unknown key 'jobs' in [sweep] (valid: out, threads, preset, executable)"},
        {grid("", "threads = 0\n"), "grid.toml:3: sweep.threads wants an integer in [1, 1024]"},
        {grid("", "preset = \"fast\"\n"),
         "grid.toml:3: sweep.preset wants a train-agent preset (one of: official, cpu), got \"fast\""},
        {"seed = 1\n" + grid(""), "grid.toml:1: 'seed' is outside the sweep's tables"},
        {grid("") + "[set]\nseed = 1\n", "grid.toml:9: 'seed' is fixed in [set] and an axis of [grid] (line 4)"},
        {grid("algo = [\"bc\", \"bc\"]"), "grid.toml:5: grid.algo lists \"bc\" twice"},
        {grid("bc.lr = [1e-3, 0.001]"), "grid.toml:5: grid.bc.lr lists 0.001 twice"},
        {grid("algo = [\"bc\", \"dqn\"]"),
         "grid.toml:5: config key 'algo' = \"dqn\" is out of range (valid: one of: bc, td3bc, iql, cql, diffql, sac)"},
        {grid("steps = [100, 0]"), "grid.toml:5: config key 'steps' = 0 is out of range"},
        {grid("eval_every = [\"often\"]"), "grid.toml:5: config key 'eval_every' wants an integer"},
        {grid("dydiff.enabled = [true]"), "grid.toml: run a/dydiff-s0: config [dydiff]: dydiff.diffusion is empty"},
        {grid("algo = [\"bc\"]\ntd3bc.alpha = [1, 2]"),
         "grid.toml:6: grid.td3bc.alpha applies to no run (no run has algo = td3bc)"},
        {grid("dydiff.generator.iterations = [1, 2]"),
         "grid.toml:5: grid.dydiff.generator.iterations applies to no run (its [dydiff] key needs dydiff.enabled = "
         "true)"},
        {grid("") + "[label]\nalgo = \"A\"\n", "grid.toml:9: label.algo labels no axis of [grid]"},
        {grid("") + "[label]\nseed = \"s/\"\n", "grid.toml:9: label.seed wants a string of A-Z a-z 0-9 . _ + -"},
        {grid("env = [\"x y\", \"x_y\"]"),
         "grid.toml: two different runs would both be named a/env_x_y-s0; give the axes distinct labels in [label]"},
        {grid("") + "[data.b]\n" + models + "path = 4\n",
         "grid.toml:12: data.b.path wants the dataset file as a string, got 4"},
    };
    for (const auto& [text, expected] : cases) {
        const std::string e = error_of([&] { parse(text); });
        BOOST_TEST(contains(e, expected), "grid:\n" << text << "\nerror: " << e << "\nexpected: " << expected);
    }
    BOOST_TEST(contains(error_of([&] { dydiff::cli::read_sweep("no/such/grid.toml"); }), "no/such/grid.toml"));
}

BOOST_AUTO_TEST_CASE(only_selects_by_shell_pattern) {
    const Sweep s =
        parse("[sweep]\nout = \"o\"\n[grid]\nseed = [0, 1]\nalgo = [\"bc\", \"td3bc\"]\n[data.a]\npath = \"a.npz\"\n");
    BOOST_TEST_REQUIRE(s.runs.size() == 4u);
    BOOST_TEST(names(s) == (std::vector<std::string>{"a/bc-s0", "a/td3bc-s0", "a/bc-s1", "a/td3bc-s1"}));
    const auto picked = dydiff::cli::select_runs(s, "*td3bc*");
    BOOST_TEST_REQUIRE(picked.size() == 2u);
    BOOST_TEST(picked[1].name == "a/td3bc-s1");
    BOOST_TEST(dydiff::cli::select_runs(s, "").size() == 4u);
    BOOST_TEST(contains(error_of([&] { dydiff::cli::select_runs(s, "b/*"); }),
                        "no run of grid.toml matches 'b/*' (its 4 runs are named like a/bc-s0, a/td3bc-s0, a/bc-s1)"));
}

BOOST_AUTO_TEST_CASE(parallel_list_and_slurm_script) {
    BOOST_TEST(dydiff::cli::shell_word("runs/a-b_c.d=1,2:3@4%5+6") == "runs/a-b_c.d=1,2:3@4%5+6");
    BOOST_TEST(dydiff::cli::shell_word("a b") == "'a b'");
    BOOST_TEST(dydiff::cli::shell_word("it's") == "'it'\\''s'");
    BOOST_TEST(dydiff::cli::shell_word("") == "''");
    BOOST_TEST(dydiff::cli::shell_word("$(x)") == "'$(x)'");

    const Sweep s = parse(
        "[sweep]\nout = \"my runs\"\nthreads = 2\nexecutable = \"/opt/dydiff\"\n"
        "[grid]\nseed = [0, 1, 2]\n[data.a]\npath = \"a.npz\"\n");
    const std::string list = dydiff::cli::parallel_commands(s.runs, s.executable);
    BOOST_TEST(std::count(list.begin(), list.end(), '\n') == 3);
    BOOST_TEST(list.rfind("/opt/dydiff train-agent a.npz --out 'my runs/a/s0' --seed 0 --threads 2 "
                          "$(test -f 'my runs/a/s0/config.toml' && echo --resume)\n",
                          0) == 0,
               list);
    BOOST_TEST(contains(list, "--out 'my runs/a/s2' --seed 2 --threads 2 $(test -f 'my runs/a/s2/config.toml'"));

    const std::vector<SweepRun> two(s.runs.begin() + 1, s.runs.end());
    const std::string script = dydiff::cli::slurm_script(s, two, s.executable);
    BOOST_TEST(script.rfind("#!/bin/bash\n", 0) == 0);
    for (const char* line :
         {"#SBATCH --array=0-1\n", "#SBATCH --cpus-per-task=2\n", "#SBATCH --job-name=dydiff-grid\n", "  0)  # a/s1\n",
          "  1)  # a/s2\n", "#   /opt/dydiff sweep grid.toml --stats-only\n", "(0-1)\" >&2; exit 2 ;;\n"})
        BOOST_TEST(contains(script, line), line);
    BOOST_TEST(contains(script, "    " + dydiff::cli::run_shell_command(s.executable, two[1]) + " ;;\n"));
    BOOST_TEST(!contains(script, "a/s0"));
    // The #SBATCH lines come before the first command (sbatch reads no further).
    BOOST_TEST(script.find("#SBATCH --array") < script.find("case "));

    // With a preset: a new run gets --preset, a resumed one its saved config.
    const Sweep cpu = parse(grid("", "preset = \"cpu\"\n"));
    const std::vector<std::string> words{"train-agent", "a.npz", "--out", "out/a/s0", "--seed", "0", "--threads", "1"};
    BOOST_TEST(cpu.runs[0].args == words);
    BOOST_TEST(dydiff::cli::start_words(cpu.runs[0], true).back() == "--resume");
    const auto fresh = dydiff::cli::start_words(cpu.runs[0], false);
    BOOST_TEST((std::vector<std::string>(fresh.end() - 2, fresh.end()) == std::vector<std::string>{"--preset", "cpu"}));
    BOOST_TEST(contains(dydiff::cli::run_shell_command("dydiff", cpu.runs[0]),
                        " --threads 1 $(test -f out/a/s0/config.toml && echo --resume || echo --preset cpu)"));

    TempDir dir;
    write(dir / "s.sbatch", script);
    write(dir / "list.txt", list);
    BOOST_TEST(run_bash(dir, "-n s.sbatch") == 0, read_text(dir / "bash.out"));
    BOOST_TEST(run_bash(dir, "-n list.txt") == 0, read_text(dir / "bash.out"));
}

// ---- end to end -------------------------------------------------------------------------------------------------

BOOST_AUTO_TEST_CASE(help_and_usage_errors) {
    TempDir dir;
    CliResult r = run_dydiff(dir, {"sweep", "--help"});
    BOOST_TEST(r.code == 0);
    BOOST_TEST(r.out.rfind("usage: dydiff sweep GRID.toml", 0) == 0, r.out);
    BOOST_TEST(contains(r.out, "--slurm FILE"));
    BOOST_TEST(contains(run_dydiff(dir, {"sweep"}).err, "dydiff sweep: give the grid file GRID.toml"));
    r = run_dydiff(dir, {"sweep", "g.toml", "--stats-only", "--dry-run"});
    BOOST_TEST(r.code == 2);
    BOOST_TEST(contains(r.err, "--stats-only runs nothing and covers every run"), r.err);
    BOOST_TEST(run_dydiff(dir, {"sweep", "g.toml", "--jobs", "0"}).code == 2);
    BOOST_TEST(run_dydiff(dir, {"sweep", "g.toml", "--job", "2"}).code == 2);
    // A mistake in the grid file: exit code 2, the file, line and key, no source location, nothing written.
    write(dir / "g.toml", grid("algo = [\"bc\", \"dqn\"]"));
    r = run_dydiff(dir, {"sweep", "g.toml", "--parallel", "list.txt"});
    BOOST_TEST(r.code == 2);
    BOOST_TEST(contains(r.err, "dydiff sweep: g.toml: run a/dqn-s0: g.toml:5: config key 'algo' = \"dqn\""), r.err);
    BOOST_TEST(!contains(r.err, ".cpp:"));
    BOOST_TEST(!fs::exists(dir / "list.txt"));
}

namespace {

const char* const kGrid = R"([sweep]
out = "sweep"

[set]
steps = STEPS
eval_every = 100
log_every = 100
eval_episodes = 2
bc.hidden = 16
bc.batch = 16

[grid]
algo = ["bc"]
bc.lr = [0.001, 0.0003]
seed = [0, 1]

[data.pendulum]
path = "p.npz"
)";

std::string grid_with_steps(int steps) {
    std::string text = kGrid;
    text.replace(text.find("STEPS"), 5, std::to_string(steps));
    return text;
}

const std::vector<std::string> kRuns{"bc-lr0.001-s0", "bc-lr0.0003-s0", "bc-lr0.001-s1", "bc-lr0.0003-s1"};

std::string run_file(const TempDir& dir, const std::string& run, const std::string& file) {
    return read_text(dir.path() / "sweep" / "pendulum" / run / file);
}

}  // namespace

BOOST_AUTO_TEST_CASE(runs_resumes_extends_and_writes_stats) {
    TempDir dir;
    CliResult r = run_dydiff(dir, {"dataset", "generate", "--env", "pendulum", "--steps", "2000", "--out", "p.npz"});
    BOOST_TEST_REQUIRE(r.code == 0, r.err);
    write(dir / "grid.toml", grid_with_steps(200));

    r = run_dydiff(dir, {"sweep", "grid.toml", "--dry-run"});
    BOOST_TEST_REQUIRE(r.code == 0, r.err);
    BOOST_TEST(contains(r.out, "pendulum/bc-lr0.0003-s1  (new)\n"));
    BOOST_TEST(!fs::exists(dir / "sweep"));  // a dry run creates nothing

    r = run_dydiff(dir, {"sweep", "grid.toml", "--jobs", "2"});
    BOOST_TEST_REQUIRE(r.code == 0, r.out << r.err);
    BOOST_TEST(contains(r.out, "4 new, 0 to resume"));
    BOOST_TEST(contains(r.out, "4 of 4 runs succeeded"));
    for (const std::string& run : kRuns) {
        BOOST_TEST(contains(run_file(dir, run, "eval.csv"), "\n200,2,"), run);
        BOOST_TEST(
            contains(read_text(dir.path() / "sweep" / "logs" / "pendulum" / (run + ".log")), "train-agent bc done"),
            run);
    }
    const std::string stats = read_text(dir / "sweep/stats.md");
    // The two learning rates are two groups of two seeds each.
    BOOST_TEST(contains(stats, "| bc | bc.lr=0.001 | pendulum | p.npz | 2 | 0, 1 | 200 |"), stats);
    BOOST_TEST(contains(stats, "| bc | bc.lr=0.0003 | pendulum | p.npz | 2 | 0, 1 | 200 |"), stats);
    BOOST_TEST(contains(r.out, stats));  // printed too
    BOOST_TEST(contains(r.out, "(4 of 4 runs have evaluations; wrote sweep/stats.md and stats.csv)"));
    BOOST_TEST(read_text(dir / "sweep/stats.csv").rfind("algo,", 0) == 0);

    // Again: every run is complete, so nothing is trained and no file of a run changes.
    std::vector<std::string> before;
    for (const std::string& run : kRuns)
        before.push_back(run_file(dir, run, "eval.csv") + run_file(dir, run, "metrics.csv") +
                         run_file(dir, run, "log.txt"));
    r = run_dydiff(dir, {"sweep", "grid.toml", "--jobs", "2"});
    BOOST_TEST_REQUIRE(r.code == 0, r.out << r.err);
    BOOST_TEST(contains(r.out, "0 new, 4 to resume"));
    for (std::size_t i = 0; i < kRuns.size(); ++i) {
        BOOST_TEST(run_file(dir, kRuns[i], "eval.csv") + run_file(dir, kRuns[i], "metrics.csv") +
                           run_file(dir, kRuns[i], "log.txt") ==
                       before[i],
                   kRuns[i]);
        BOOST_TEST(contains(read_text(dir.path() / "sweep" / "logs" / "pendulum" / (kRuns[i] + ".log")),
                            "is complete; nothing to resume"));
    }

    // A larger budget in the grid extends the selected runs (--resume --set steps=300), and only them.
    write(dir / "grid.toml", grid_with_steps(300));
    r = run_dydiff(dir, {"sweep", "grid.toml", "--only", "*-s0"});
    BOOST_TEST_REQUIRE(r.code == 0, r.out << r.err);
    BOOST_TEST(contains(r.out, "2 runs of 4"));
    BOOST_TEST(contains(run_file(dir, kRuns[0], "eval.csv"), "\n300,2,"));
    BOOST_TEST(contains(run_file(dir, kRuns[1], "eval.csv"), "\n300,2,"));
    BOOST_TEST(!contains(run_file(dir, kRuns[2], "eval.csv"), "\n300,2,"));
    BOOST_TEST(contains(r.out, "(4 of 4 runs have evaluations"));  // the stats cover the whole grid

    // The GNU parallel list, run one line at a time by bash, extends one of the others; the Slurm script's index
    // for the last one extends it too, and an index past the end fails.
    r = run_dydiff(dir, {"sweep", "grid.toml", "--parallel", "list.txt", "--only", "*0.001-s1", "--slurm", "s.sbatch"});
    BOOST_TEST_REQUIRE(r.code == 0, r.out << r.err);
    BOOST_TEST(contains(r.out, "wrote list.txt: 1 commands"));
    BOOST_TEST(!contains(run_file(dir, kRuns[2], "eval.csv"), "\n300,2,"));  // writing runs nothing
    BOOST_TEST(run_bash(dir, "list.txt") == 0, read_text(dir / "bash.out"));
    BOOST_TEST(contains(run_file(dir, kRuns[2], "eval.csv"), "\n300,2,"));
    r = run_dydiff(dir, {"sweep", "grid.toml", "--slurm", "all.sbatch"});
    BOOST_TEST_REQUIRE(r.code == 0, r.out << r.err);
    BOOST_TEST(run_bash(dir, "all.sbatch", "SLURM_ARRAY_TASK_ID=3") == 0, read_text(dir / "bash.out"));
    BOOST_TEST(contains(run_file(dir, kRuns[3], "eval.csv"), "\n300,2,"));
    BOOST_TEST(run_bash(dir, "all.sbatch", "SLURM_ARRAY_TASK_ID=4") == 2);
    BOOST_TEST(contains(read_text(dir / "bash.out"), "no run has array index 4 (0-3)"));

    fs::remove(dir / "sweep/stats.md");
    r = run_dydiff(dir, {"sweep", "grid.toml", "--stats-only"});
    BOOST_TEST_REQUIRE(r.code == 0, r.out << r.err);
    BOOST_TEST(fs::exists(dir / "sweep/stats.md"));
    BOOST_TEST(contains(r.out, "4 of 4 runs have evaluations"));
    BOOST_TEST(run_dydiff(dir, {"sweep", "grid.toml", "--stats-only", "--only", "x"}).code == 2);
}

BOOST_AUTO_TEST_CASE(a_failed_run_leaves_the_others_and_the_stats) {
    TempDir dir;
    CliResult r = run_dydiff(dir, {"dataset", "generate", "--env", "pendulum", "--steps", "2000", "--out", "p.npz"});
    BOOST_TEST_REQUIRE(r.code == 0, r.err);
    // Dataset b claims another env than the file records: its run fails when it loads the file.
    std::string text = grid_with_steps(200) + "\n[data.b]\npath = \"p.npz\"\nenv = \"maze2d-umaze\"\n";
    text.replace(text.find("bc.lr = [0.001, 0.0003]\n"), 24, "");
    text.replace(text.find("seed = [0, 1]"), 13, "seed = [0]");
    write(dir / "grid.toml", text);
    r = run_dydiff(dir, {"sweep", "grid.toml", "--jobs", "2"});
    BOOST_TEST(r.code == 1);
    BOOST_TEST(contains(r.err, "1 of 2 runs of grid.toml failed:\n  b/bc-s0 (exit 1; log sweep/logs/b/bc-s0.log)"),
               r.err);
    BOOST_TEST(!contains(r.err, ".cpp:"));  // a user's error, without a source location
    BOOST_TEST(contains(read_text(dir / "sweep/logs/b/bc-s0.log"), "maze2d-umaze"));
    BOOST_TEST(contains(r.out, "1 of 2 runs succeeded"));
    BOOST_TEST(contains(read_text(dir / "sweep/pendulum/bc-s0/eval.csv"), "\n200,2,"));
    BOOST_TEST(contains(r.out, "(1 of 2 runs have evaluations"));

    // --stats-only before any run has evaluated.
    write(dir / "missing.toml", "[sweep]\nout = \"other\"\n[grid]\nseed = [0]\n[data.x]\npath = \"x.npz\"\n");
    r = run_dydiff(dir, {"sweep", "missing.toml", "--stats-only"});
    BOOST_TEST(r.code == 1);
    BOOST_TEST(contains(r.err, "dydiff: error: no run of missing.toml has evaluations yet (no eval.csv under other)"),
               r.err);

    // A missing dataset is found before anything starts.
    r = run_dydiff(dir, {"sweep", "missing.toml"});
    BOOST_TEST(r.code == 2);
    BOOST_TEST(contains(r.err, "dydiff sweep: x.npz: no such dataset (the path of [data.x] in missing.toml)"), r.err);
    BOOST_TEST(!fs::exists(dir / "other"));
}

BOOST_AUTO_TEST_SUITE_END()
