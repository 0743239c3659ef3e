// `dydiff stats RUN...`: the last and best normalised score of training runs, mean +- std over the runs (seeds) of
// each algo / env / dataset / settings group, as a Markdown table or CSV (issue 8; dydiff/eval/run_stats.hpp).
#include "autograd/error.hpp"
#include "data/atomic_file.hpp"
#include "dydiff/cli/args.hpp"
#include "dydiff/cli/commands.hpp"
#include "dydiff/eval/eval_log.hpp"
#include "dydiff/eval/run_stats.hpp"

#include <filesystem>
#include <iostream>

namespace dydiff::cli {
CommandDoc stats_doc() {
    return {"stats",
            "RUN... [--csv] [--out FILE]",
            "Reads each run directory's config.toml and eval.csv, groups the runs by algo, env, dataset (its SHA-256\n"
            "when recorded) and settings (every key but seed, the step budget, logging, provenance and model paths),\n"
            "and prints per group: the variant (the settings that tell it from the other groups of the same algo,\n"
            "env and dataset: base / +dydiff, key=value), the runs, their seeds, the step of the last evaluation, and\n"
            "the last and the best normalised score (0 = random policy, 100 = expert), each as mean +- std over the\n"
            "runs (population std). 'best' is each run's highest evaluation, 'last' its final one; a run without\n"
            "evaluations yet is skipped with a note. When a +dydiff\n"
            "group has a base group with the same learner settings, a second table gives the difference of their\n"
            "last scores with a 95% percentile bootstrap interval over runs (10,000 resamples, fixed seed).",
            {{"RUN...", "train-agent run directories (e.g. runs/td3bc-umaze-*)"},
             {"--csv", "CSV with full precision instead of a Markdown table"},
             {"--out FILE", "write the table to FILE (atomically) instead of standard output"},
             {"-h, --help", "this help"}},
            {}};
}

std::vector<Page> stats_pages() { return {{stats_doc()}}; }

int run_stats(const Words& words) {
    Args args("stats", words, {"csv"});
    if (args.help()) {
        std::cout << help_text(stats_doc());
        return 0;
    }
    const bool csv = args.flag("csv");
    const auto out = args.value("out");
    args.finish(SIZE_MAX);
    if (args.positional().empty()) args.fail("give at least one RUN directory");
    // A run that has not reached its first evaluation (a sweep in progress) is skipped with a note, not an error.
    std::vector<eval::RunRecord> runs;
    std::size_t skipped = 0;
    for (const auto& dir : args.positional()) {
        const std::filesystem::path log = std::filesystem::path(dir) / "eval.csv";
        if (std::filesystem::exists(std::filesystem::path(dir) / "config.toml") &&
            (!std::filesystem::exists(log) || std::filesystem::file_size(log) == 0 ||
             eval::read_eval_csv(log.string()).empty())) {
            std::cerr << "stats: skipped " << dir << ": no evaluations yet\n";
            ++skipped;
            continue;
        }
        runs.push_back(eval::read_run(dir));
    }
    DYDIFF_USER_CHECK(!runs.empty(), "none of the " << skipped << " runs has evaluations yet");
    const auto groups = eval::aggregate_runs(runs);
    const std::string text = csv ? eval::stats_csv(groups) : eval::stats_markdown(groups);
    if (out)
        data::write_file_atomic(*out, text);
    else
        std::cout << text;
    return 0;
}

}  // namespace dydiff::cli
