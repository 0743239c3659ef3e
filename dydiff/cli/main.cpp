// The `dydiff` command-line tool: one executable, one subcommand per job, dispatched by the table below
// (`dydiff help` prints it). Errors from the library (dydiff::Error) end the program with exit code 1 and one
// message; usage mistakes (cli::UsageError) with exit code 2.
#include "autograd/error.hpp"
#include "dydiff/cli/args.hpp"
#include "dydiff/cli/commands.hpp"
#include "nn/allocator.hpp"
#include "nn/parallel.hpp"
#include "nn/simd/batch.hpp"

#include <iomanip>
#include <iostream>
#include <string>
#include <vector>

namespace {

constexpr const char* kVersion = "0.1.0";

struct Command {
    const char* name;
    const char* help;
    int (*run)(const dydiff::cli::Words& args);
};

const Command kCommands[] = {
    {"bench", "kernel and training-step benchmarks (dydiff bench --help)", &dydiff::cli::run_bench},
    {"dataset", "datasets: info, convert, generate (dydiff dataset --help)", &dydiff::cli::run_dataset},
    {"evaluate-controller", "scripted expert and random policies on a built-in env", &dydiff::cli::run_evaluate_controller},
    {"rollout-error", "state error vs horizon: true env, one-step ensemble, diffusion, DyDiff (--help)",
     &dydiff::cli::run_rollout_error},
    {"train-diffusion", "train the diffusion model (EDM, temporal U-Net) on a dataset (--help)",
     &dydiff::cli::run_train_diffusion},
    {"train-dynamics", "fit the one-step dynamics ensemble on a dataset (--help)", &dydiff::cli::run_train_dynamics},
    {"train-reward", "fit the reward model on a dataset (--help)", &dydiff::cli::run_train_reward},
};

void print_help(std::ostream& os) {
    os << "usage: dydiff <command> [options]\n"
          "\n"
          "commands:\n";
    for (const Command& c : kCommands) os << "  " << std::left << std::setw(22) << c.name << c.help << "\n";
    os << "  " << std::left << std::setw(22) << "help" << "this text\n"
       << "  " << std::left << std::setw(22) << "--version" << "version and build configuration\n"
       << "\n"
          "environment: DYDIFF_NUM_THREADS sets the thread count (commands also take --threads N).\n";
}

}  // namespace

int main(int argc, char** argv) {
    dydiff::nn::keep_freed_memory();  // before any thread starts (nn/allocator.hpp)
    const std::vector<std::string> args(argv + 1, argv + argc);
    try {
        if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
            print_help(std::cout);
            return args.empty() ? 2 : 0;
        }
        if (args[0] == "--version" || args[0] == "version") {
            std::cout << "dydiff " << kVersion << " (simd: " << dydiff::nn::simd::arch_name()
                      << ", float lanes: " << dydiff::nn::simd::kFloatWidth
                      << ", threads: " << dydiff::nn::num_threads() << ")\n";
            return 0;
        }
        for (const Command& c : kCommands)
            if (args[0] == c.name) return c.run({args.begin() + 1, args.end()});
        std::cerr << "dydiff: unknown command '" << args[0] << "' (see 'dydiff help')\n";
        return 2;
    } catch (const dydiff::cli::UsageError& e) {
        std::cerr << e.what() << " (see 'dydiff help')\n";
        return 2;
    } catch (const dydiff::Error& e) {
        std::cerr << "dydiff: error: " << e.what() << "\n";
        return 1;
    }
}
