// `dydiff stats RUN...`: the last and best normalised score of training runs, mean +- std over the runs (seeds) of
// each algo / env / dataset group, as a Markdown table or CSV (issue 8; dydiff/eval/run_stats.hpp).
#include "data/atomic_file.hpp"
#include "dydiff/cli/args.hpp"
#include "dydiff/cli/commands.hpp"
#include "dydiff/eval/run_stats.hpp"

#include <iostream>

namespace dydiff::cli {
CommandDoc stats_doc() {
    return {"stats",
            "RUN... [--csv] [--out FILE]",
            "Reads each run directory's config (algo, env, dataset, seed) and eval.csv, groups the runs by algo, env\n"
            "and dataset (its SHA-256 when recorded), and prints per group: the runs, their seeds, the step of the\n"
            "last evaluation, and the last and the best normalised score (0 = random policy, 100 = expert), each as\n"
            "mean +- std over the runs (population std). 'best' is each run's highest evaluation, 'last' its final\n"
            "one.",
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
