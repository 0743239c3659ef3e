// What the train-* commands share: resolving a config and opening the run directory (see cmd_train.cpp).
#pragma once

#include "dydiff/cli/args.hpp"
#include "dydiff/cli/commands.hpp"
#include "dydiff/run/config.hpp"
#include "dydiff/run/run_dir.hpp"

#include <functional>
#include <string>

namespace dydiff::cli {

struct PreparedRun {
    std::string data_path;  // the dataset file (first positional argument)
    RunDir run;             // created fresh, or reopened with --resume
    bool resume = false;
};

/// Parses DATA --out RUN [--preset NAME] [--config FILE] [--set key=value]... [--seed S] [--threads N] [--resume]
/// into `fields` (order: preset defaults, config file, --set, --seed) and opens the run. With --resume the config
/// comes from RUN/config.txt (then --set, e.g. a larger `steps`); --preset and --config are refused there.
/// `apply_preset` is null for commands without presets (then --preset is an error).
PreparedRun prepare_run(Args& args, const std::string& command, ConfigFields& fields,
                        const std::function<void(const std::string&)>& apply_preset);

}  // namespace dydiff::cli
