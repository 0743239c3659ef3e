// `dydiff plot RUN... --out F.svg`: learning curves of training runs, one line per algo / env / dataset group, the
// mean normalised score over the group's runs (seeds) with a +- std band (issue 8; dydiff/eval/run_stats.hpp).
#include "dydiff/cli/args.hpp"
#include "dydiff/cli/commands.hpp"
#include "dydiff/eval/run_stats.hpp"
#include "dydiff/eval/svg_plot.hpp"

#include <cstdio>
#include <iostream>

namespace dydiff::cli {
namespace {

constexpr const char* kUsage =
    "usage: dydiff plot RUN... --out F.svg [--title TEXT]\n"
    "Reads each run directory's config (algo, env, dataset) and eval.csv, groups the runs by algo, env and dataset,\n"
    "and draws one learning curve per group: at every evaluation step all its runs share, the mean normalised score\n"
    "over the runs, with a band of +- one (population) std.\n"
    "  RUN...         train-agent run directories\n"
    "  --out F.svg    the SVG file to write (required)\n"
    "  --title TEXT   the plot's title (default: the algo, env and dataset the groups share)\n";

}  // namespace

int run_plot(const Words& words) {
    Args args("plot", words, {"help"});
    if (args.flag("help")) {
        std::cout << kUsage;
        return 0;
    }
    const auto out = args.value("out");
    const std::string title = args.value_or("title", "");
    args.finish(SIZE_MAX);
    if (args.positional().empty()) throw UsageError("dydiff plot: give at least one RUN directory (dydiff plot --help)");
    if (!out) throw UsageError("dydiff plot: --out F.svg is required");
    std::vector<eval::RunRecord> runs;
    for (const auto& dir : args.positional()) runs.push_back(eval::read_run(dir));
    const LinePlot plot = eval::learning_curves_plot(runs, title);
    write_svg(*out, plot);
    std::printf("wrote %s: %zu curve(s) from %zu run(s)\n", out->c_str(), plot.series.size(), runs.size());
    return 0;
}

}  // namespace dydiff::cli
