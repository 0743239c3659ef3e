// The subcommands of `dydiff`, their documentation and the table main.cpp dispatches from. Each command is a
// function that takes the words after its name and returns the exit code: 0 success; errors are thrown and main
// turns them into one message and exit code 1 (runtime: dydiff::Error, std::exception) or 2 (usage:
// cli::UsageError). Each command also describes itself as one or more pages (CommandDoc): `--help` prints its page,
// and `dydiff config docs` prints every page as docs/cli.md, so the help and the docs cannot drift apart.
#pragma once

#include <string>
#include <vector>

namespace dydiff::cli {

using Words = std::vector<std::string>;

struct FlagDoc {
    std::string flag;  // "--env NAME", "DATA"
    std::string doc;   // one line (or a few)
};

struct FileDoc {
    std::string name;  // "metrics.csv"
    std::string doc;   // what it holds; for a table, its columns
};

/// The documentation of one command or subcommand.
struct CommandDoc {
    std::string name;              // as typed after `dydiff`: "train-diffusion", "dataset info"
    std::string synopsis;          // the arguments: "DATA --out RUN [options]"
    std::string summary;           // what it does, plain text (a paragraph)
    std::vector<FlagDoc> flags;    // positional arguments and flags, in the order they are explained
    std::vector<FileDoc> outputs;  // files it writes
};

class JobCommand;  // dydiff/cli/run_command.hpp: a command driven by a config (keys, presets, run directory)

/// One page: a command's doc, and its JobCommand when it is config-driven (then the page lists its keys).
struct Page {
    CommandDoc doc;
    const JobCommand* job = nullptr;
};

struct Command {
    const char* name;     // the word after `dydiff`
    const char* summary;  // one line for `dydiff help`
    int (*run)(const Words& args);
    std::vector<Page> (*pages)();  // its documentation (one page per subcommand)
};

/// Every command, in `dydiff help` order (commands.cpp).
const std::vector<Command>& commands();

/// train-agent as a JobCommand (cmd_agent.cpp): `dydiff sweep` checks its grids against these keys and flags.
const JobCommand& train_agent_command();

/// "usage: dydiff NAME SYNOPSIS", the summary, the flags and the output files: what --help prints.
std::string help_text(const CommandDoc& doc);

/// The version of this build ("0.1.0", from meson.build).
const char* version();

int run_bench(const Words& args);                // bench.cpp
int run_config(const Words& args);               // cmd_config.cpp: show, docs
int run_dataset(const Words& args);              // cmd_dataset.cpp: info, convert, generate
int run_dataset_generate(const Words& args);     // cmd_generate.cpp: `dataset generate`, dispatched by run_dataset
int run_evaluate(const Words& args);             // cmd_agent.cpp
int run_evaluate_controller(const Words& args);  // cmd_evaluate.cpp
int run_export(const Words& args);               // cmd_agent.cpp
int run_synthetic(const Words& args);            // cmd_agent.cpp
int run_plot(const Words& args);                 // cmd_plot.cpp
int run_quickstart(const Words& args);           // cmd_quickstart.cpp
int run_rollout_error(const Words& args);        // cmd_rollout_error.cpp
int run_train_online(const Words& args);         // cmd_online.cpp
int run_stats(const Words& args);                // cmd_stats.cpp
int run_sweep(const Words& args);                // cmd_sweep.cpp
int run_train_agent(const Words& args);          // cmd_agent.cpp
int run_train_diffusion(const Words& args);      // cmd_train.cpp
int run_train_dynamics(const Words& args);       // cmd_train.cpp
int run_train_reward(const Words& args);         // cmd_train.cpp

std::vector<Page> bench_pages();                // bench.cpp
std::vector<Page> config_pages();               // cmd_config.cpp
std::vector<Page> dataset_pages();              // cmd_dataset.cpp (generate's page from cmd_generate.cpp)
CommandDoc dataset_generate_doc();              // cmd_generate.cpp
std::vector<Page> evaluate_controller_pages();  // cmd_evaluate.cpp
std::vector<Page> evaluate_pages();             // cmd_agent.cpp
std::vector<Page> export_pages();               // cmd_agent.cpp
std::vector<Page> synthetic_pages();            // cmd_agent.cpp
std::vector<Page> plot_pages();                 // cmd_plot.cpp
std::vector<Page> quickstart_pages();           // cmd_quickstart.cpp
std::vector<Page> rollout_error_pages();        // cmd_rollout_error.cpp
std::vector<Page> train_online_pages();         // cmd_online.cpp
std::vector<Page> stats_pages();                // cmd_stats.cpp
std::vector<Page> sweep_pages();                // cmd_sweep.cpp
std::vector<Page> train_agent_pages();          // cmd_agent.cpp
std::vector<Page> train_diffusion_pages();      // cmd_train.cpp
std::vector<Page> train_dynamics_pages();       // cmd_train.cpp
std::vector<Page> train_reward_pages();         // cmd_train.cpp

}  // namespace dydiff::cli
