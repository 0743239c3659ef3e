// `dydiff plot RUN... --out F.svg`: learning curves of training runs, one line per algo / env / dataset / settings group, the
// mean normalised score over the group's runs (seeds) with a +- std band (issue 8; dydiff/eval/run_stats.hpp).
#include "dydiff/cli/args.hpp"
#include "dydiff/cli/commands.hpp"
#include "dydiff/eval/run_stats.hpp"
#include "dydiff/eval/svg_plot.hpp"

#include <cstdio>
#include <iostream>

namespace dydiff::cli {
CommandDoc plot_doc() {
    return {"plot",
            "RUN... --out F.svg [--title TEXT]",
            "Reads each run directory's config (algo, env, dataset) and eval.csv, groups the runs by algo, env and\n"
            "dataset, and draws one learning curve per group: at every evaluation step all its runs share, the mean\n"
            "normalised score over the runs, with a band of +- one (population) std.",
            {{"RUN...", "train-agent run directories"},
             {"--out F.svg", "the SVG file to write (required)"},
             {"--title TEXT", "the plot's title (default: the algo, env and dataset the groups share)"},
             {"-h, --help", "this help"}},
            {{"F.svg", "the learning curves"}}};
}

std::vector<Page> plot_pages() { return {{plot_doc()}}; }

int run_plot(const Words& words) {
    Args args("plot", words);
    if (args.help()) {
        std::cout << help_text(plot_doc());
        return 0;
    }
    const auto out = args.value("out");
    const std::string title = args.value_or("title", "");
    args.finish(SIZE_MAX);
    if (args.positional().empty()) args.fail("give at least one RUN directory");
    if (!out) args.fail("--out F.svg is required");
    std::vector<eval::RunRecord> runs;
    for (const auto& dir : args.positional()) runs.push_back(eval::read_run(dir));
    const LinePlot plot = eval::learning_curves_plot(runs, title);
    write_svg(*out, plot);
    std::printf("wrote %s: %zu curve(s) from %zu run(s)\n", out->c_str(), plot.series.size(), runs.size());
    return 0;
}

}  // namespace dydiff::cli
