// `dydiff stats RUN...`: the last and best normalised score of training runs, mean +- std over the runs (seeds) of
// each algo / env / dataset group, as a Markdown table or CSV (issue 8; dydiff/eval/run_stats.hpp).
#include "data/atomic_file.hpp"
#include "dydiff/cli/args.hpp"
#include "dydiff/cli/commands.hpp"
#include "dydiff/eval/run_stats.hpp"

#include <iostream>

namespace dydiff::cli {
namespace {

constexpr const char* kUsage =
    "usage: dydiff stats RUN... [--csv] [--out FILE]\n"
    "Reads each run directory's config (algo, env, dataset, seed) and eval.csv, groups the runs by algo, env and\n"
    "dataset (its SHA-256 when recorded), and prints per group: the runs, their seeds, the step of the last\n"
    "evaluation, and the last and the best normalised score (0 = random policy, 100 = expert), each as mean +- std\n"
    "over the runs (population std). 'best' is each run's highest evaluation, 'last' its final one.\n"
    "  RUN...       train-agent run directories (e.g. runs/td3bc-umaze-*)\n"
    "  --csv        CSV with full precision instead of a Markdown table\n"
    "  --out FILE   write the table to FILE (atomically) instead of standard output\n";

}  // namespace

int run_stats(const Words& words) {
    Args args("stats", words, {"help", "csv"});
    if (args.flag("help")) {
        std::cout << kUsage;
        return 0;
    }
    const bool csv = args.flag("csv");
    const auto out = args.value("out");
    args.finish(SIZE_MAX);
    if (args.positional().empty()) throw UsageError("dydiff stats: give at least one RUN directory (dydiff stats --help)");
    std::vector<eval::RunRecord> runs;
    for (const auto& dir : args.positional()) runs.push_back(eval::read_run(dir));
    const auto groups = eval::aggregate_runs(runs);
    const std::string text = csv ? eval::stats_csv(groups) : eval::stats_markdown(groups);
    if (out)
        data::write_file_atomic(*out, text);
    else
        std::cout << text;
    return 0;
}

}  // namespace dydiff::cli
