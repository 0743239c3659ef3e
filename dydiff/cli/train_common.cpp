// prepare_run: config resolution and run directories for the train-* commands.
#include "dydiff/cli/train_common.hpp"

#include <iostream>

namespace dydiff::cli {

PreparedRun prepare_run(Args& args, const std::string& command, ConfigFields& fields,
                        const std::function<void(const std::string&)>& apply_preset) {
    const bool resume = args.flag("resume");
    const auto out = args.value("out");
    const auto preset = args.value("preset");
    const auto config_file = args.value("config");
    const auto sets = args.values("set");
    const auto seed = args.value("seed");
    apply_threads(args);
    args.finish(1);
    if (args.positional().empty()) throw UsageError("dydiff " + command + ": give the dataset file (see --help)");
    if (!out) throw UsageError("dydiff " + command + ": give the run directory with --out RUN");
    if (preset && !apply_preset) throw UsageError("dydiff " + command + ": has no presets; use --config or --set");

    if (resume) {
        if (preset || config_file)
            throw UsageError("dydiff " + command + ": --resume takes the config saved in the run; drop --preset/--config");
        RunDir run = RunDir::open_existing(*out);
        fields.load_file(run.file("config.txt"));
        for (const auto& s : sets) fields.set_assignment(s, "--set");
        if (seed) fields.set("seed", *seed, "--seed");
        std::cout << command << ": resuming " << *out << " with\n" << fields.to_text() << std::flush;
        return {args.positional()[0], std::move(run), true};
    }
    if (preset) apply_preset(*preset);
    if (config_file) fields.load_file(*config_file);
    for (const auto& s : sets) fields.set_assignment(s, "--set");
    if (seed) fields.set("seed", *seed, "--seed");
    RunDir run = RunDir::create(*out);
    run.write_text("config.txt", "# dydiff " + command + " " + args.positional()[0] + "\n" + fields.to_text());
    std::cout << command << ": " << *out << " with\n" << fields.to_text() << std::flush;
    return {args.positional()[0], std::move(run), false};
}

}  // namespace dydiff::cli
