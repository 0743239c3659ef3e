// `dydiff sweep GRID.toml` (issue 9): a grid of train-agent runs (the file: docs/sweeps.md, sweep.hpp) run here as
// child processes, at most --jobs at once, each with one thread (process_pool.hpp); a run whose directory exists is
// continued with --resume, so a finished run does nothing and a sweep can be stopped and started again. Then the
// stats table over seeds (dydiff/eval/run_stats.hpp) into OUT/stats.md and OUT/stats.csv. Or the same runs as a
// Slurm array script and as a GNU parallel command list, for a cluster.
#include "autograd/error.hpp"
#include "data/atomic_file.hpp"
#include "dydiff/cli/args.hpp"
#include "dydiff/cli/commands.hpp"
#include "dydiff/cli/process_pool.hpp"
#include "dydiff/cli/sweep.hpp"
#include "dydiff/eval/run_stats.hpp"
#include "dydiff/run/run_dir.hpp"

#include <algorithm>
#include <filesystem>
#include <iostream>
#include <optional>
#include <thread>

namespace dydiff::cli {

namespace fs = std::filesystem;

namespace {

constexpr double kEchoSeconds = 30.0;  // how often the last line of each running run's log is echoed
constexpr const char* kEvalFile = "eval.csv";

CommandDoc sweep_doc() {
    return {"sweep",
            "GRID.toml [--jobs N] [--only PATTERN] [--dry-run] [--slurm FILE] [--parallel FILE] [--stats-only]",
            "Runs a grid of train-agent runs: every combination of the datasets ([data.NAME] tables, each with its\n"
            "models) and the [grid] axes (algo, seed, dydiff.enabled, any train-agent key), with the fixed keys of\n"
            "[set] (docs/sweeps.md; examples/sweep_umaze.toml). Every run's config is checked before anything runs.\n"
            "The runs go to OUT/DATASET/NAME, named by their axis values (umaze/td3bc-dydiff-s0), as independent\n"
            "processes, --jobs at a time, each with [sweep] threads (default 1) and preset. A run whose directory\n"
            "exists is continued (--resume): a finished run does nothing, so a stopped sweep is resumed by running\n"
            "it again. Afterwards the table over seeds of every run with evaluations (as dydiff stats) goes to\n"
            "OUT/stats.md and OUT/stats.csv and is printed. --slurm and --parallel write the same runs for a\n"
            "cluster instead.",
            {{"GRID.toml", "the grid file"},
             {"--jobs N", "runs at once on this machine (default: the number of cores)"},
             {"--only PATTERN",
              "only the runs whose name matches the shell pattern, e.g. 'umaze/td3bc-*' (the stats "
              "still cover every run of the grid)"},
             {"--dry-run", "print each run's name, state (new or resume) and command; run nothing"},
             {"--slurm FILE", "write an sbatch array script, one array index per run; run nothing"},
             {"--parallel FILE",
              "write a GNU parallel command list, one run per line (parallel -j N < FILE); run "
              "nothing"},
             {"--stats-only", "run nothing; write the stats of the runs that have evaluations (after a cluster run)"},
             {"-h, --help", "this help"}},
            {{"OUT/DATASET/NAME/", "each run's directory (see train-agent)"},
             {"OUT/logs/DATASET/NAME.log", "each run's output, appended by every sweep that starts it"},
             {"OUT/stats.md", "the stats table (as dydiff stats): one row per group of runs that differ only in seed"},
             {"OUT/stats.csv", "the same as CSV with full precision (as dydiff stats --csv)"}}};
}

// Runs f; a UserError (a mistake in the grid file) becomes a UsageError of the command: exit code 2.
template <class F>
auto as_usage(const F& f) -> decltype(f()) {
    try {
        return f();
    } catch (const UserError& e) {
        throw UsageError(std::string("dydiff sweep: ") + e.what());
    }
}

std::string key_value(const SweepRun& run, const std::string& key) {
    for (const auto& [k, v] : run.keys)
        if (k == key) return v;
    return "";
}

bool has_run(const SweepRun& run) { return fs::exists(fs::path(run.dir) / RunDir::kConfig); }

std::vector<std::string> start_args(const SweepRun& run) { return start_words(run, has_run(run)); }

/// Before anything starts: every dataset and, for runs with DyDiff, every model path exists.
void check_inputs(const Sweep& sweep, const std::vector<SweepRun>& runs) {
    for (const SweepRun& r : runs) {
        DYDIFF_USER_CHECK(fs::exists(r.dataset), r.dataset << ": no such dataset (the path of [data."
                                                           << r.name.substr(0, r.name.find('/')) << "] in "
                                                           << sweep.file << ")");
        if (key_value(r, "dydiff.enabled") != "true") continue;
        for (const char* key : {"dydiff.diffusion", "dydiff.dynamics", "dydiff.reward"}) {
            const std::string path = toml::parse_value(key_value(r, key), key).string;
            DYDIFF_USER_CHECK(fs::exists(path), path << ": no such model (" << key << " of run " << r.name << " in "
                                                     << sweep.file << "); train it first");
        }
    }
}

/// The stats over every run of the grid that has evaluations, written to OUT/stats.md and OUT/stats.csv; the
/// Markdown table, or nullopt when no run has evaluated yet.
std::optional<std::string> write_stats(const Sweep& sweep) {
    std::vector<eval::RunRecord> records;
    for (const SweepRun& r : sweep.runs)
        if (fs::exists(fs::path(r.dir) / kEvalFile)) records.push_back(eval::read_run(r.dir));
    if (records.empty()) return std::nullopt;
    const auto groups = eval::aggregate_runs(records);
    const std::string markdown = eval::stats_markdown(groups);
    fs::create_directories(sweep.out);
    data::write_file_atomic((fs::path(sweep.out) / "stats.md").string(), markdown);
    data::write_file_atomic((fs::path(sweep.out) / "stats.csv").string(), eval::stats_csv(groups));
    std::cout << "\n"
              << markdown << "\n(" << records.size() << " of " << sweep.runs.size() << " runs have evaluations; wrote "
              << (fs::path(sweep.out) / "stats.md").string() << " and stats.csv)\n";
    return markdown;
}

std::string join_shell(const std::string& executable, const std::vector<std::string>& args) {
    std::string line = shell_word(executable);
    for (const std::string& a : args) line += " " + shell_word(a);
    return line;
}

}  // namespace

std::vector<Page> sweep_pages() { return {{sweep_doc()}}; }

int run_sweep(const Words& words) {
    Args args("sweep", words, {"dry-run", "stats-only"});
    if (args.help()) {
        std::cout << help_text(sweep_doc());
        return 0;
    }
    const auto cores = static_cast<std::int64_t>(std::max(1u, std::thread::hardware_concurrency()));
    const std::size_t jobs = static_cast<std::size_t>(args.integer("jobs", cores, 1, 1024));
    const auto only = args.value("only");
    const bool dry_run = args.flag("dry-run");
    const bool stats_only = args.flag("stats-only");
    const auto slurm = args.value("slurm");
    const auto parallel = args.value("parallel");
    args.finish(1);
    if (args.positional().empty()) args.fail("give the grid file GRID.toml");
    if (stats_only && (dry_run || slurm || parallel || only))
        args.fail("--stats-only runs nothing and covers every run; drop --dry-run, --slurm, --parallel and --only");

    const Sweep sweep = as_usage([&] { return read_sweep(args.positional()[0]); });
    const std::vector<SweepRun> runs = as_usage([&] { return select_runs(sweep, only ? *only : ""); });
    const std::string executable = sweep.executable.empty() ? self_executable() : sweep.executable;

    if (stats_only) {
        if (!write_stats(sweep))
            DYDIFF_USER_FAIL("no run of " << sweep.file << " has evaluations yet (no " << kEvalFile << " under "
                                          << sweep.out << ")");
        return 0;
    }
    std::cout << "sweep " << sweep.file << ": " << runs.size() << " runs"
              << (runs.size() == sweep.runs.size() ? "" : " of " + std::to_string(sweep.runs.size())) << " under "
              << sweep.out << ", " << sweep.threads << " thread" << (sweep.threads > 1 ? "s" : "") << " each\n";
    if (slurm) {
        data::write_file_atomic(*slurm, slurm_script(sweep, runs, executable));
        std::cout << "wrote " << *slurm << ": an array job of " << runs.size() << " runs; submit it with: sbatch "
                  << shell_word(*slurm) << "\n";
    }
    if (parallel) {
        data::write_file_atomic(*parallel, parallel_commands(runs, executable));
        std::cout << "wrote " << *parallel << ": " << runs.size() << " commands; run them with: parallel -j " << jobs
                  << " < " << shell_word(*parallel) << "\n";
    }
    if (dry_run) {
        for (const SweepRun& r : runs)
            std::cout << r.name << "  (" << (has_run(r) ? "resume" : "new") << ")\n  "
                      << join_shell(executable, start_args(r)) << "\n";
        return 0;
    }
    if (slurm || parallel) {
        std::cout << "afterwards: " << shell_word(executable) << " sweep " << shell_word(sweep.file)
                  << " --stats-only\n";
        return 0;
    }

    // Here, as child processes.
    as_usage([&] { check_inputs(sweep, runs); });
    std::vector<Task> tasks;
    std::size_t resumed = 0;
    for (const SweepRun& r : runs) {
        resumed += has_run(r) ? 1 : 0;
        tasks.push_back({r.name, start_args(r), (fs::path(sweep.out) / "logs" / (r.name + ".log")).string(), {}});
    }
    std::cout << runs.size() - resumed << " new, " << resumed << " to resume (a finished run does nothing), " << jobs
              << " at a time; logs in " << (fs::path(sweep.out) / "logs").string() << "\n"
              << std::flush;
    PoolOptions options;
    options.jobs = jobs;
    options.echo_seconds = kEchoSeconds;
    options.executable = executable;
    const std::vector<TaskResult> results = run_tasks(tasks, options, std::cout);

    std::size_t failed = 0;
    std::string failures;
    for (std::size_t i = 0; i < runs.size(); ++i)
        if (results[i].state != TaskState::succeeded) {
            ++failed;
            failures += "\n  " + runs[i].name + " (exit " + std::to_string(results[i].exit_code) + "; log " +
                        tasks[i].log_path + ")";
        }
    std::cout << "sweep " << sweep.file << ": " << runs.size() - failed << " of " << runs.size() << " runs succeeded\n";
    write_stats(sweep);
    if (failed > 0)
        DYDIFF_USER_FAIL(failed << " of " << runs.size() << " runs of " << sweep.file << " failed:" << failures
                                << "\nrun the sweep again to continue them");
    return 0;
}

}  // namespace dydiff::cli
