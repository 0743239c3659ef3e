// The `dydiff` command-line tool: one executable, one subcommand per job, dispatched by the table of commands.cpp
// (`dydiff help` prints it). Every error ends here as one message and an exit code: 2 for a usage mistake
// (cli::UsageError: a flag, a config key or value), 1 for anything else (dydiff::Error from the library, and any
// std::exception, e.g. std::bad_alloc when a size does not fit in memory).
#include "autograd/error.hpp"
#include "dydiff/cli/args.hpp"
#include "dydiff/cli/commands.hpp"
#include "nn/allocator.hpp"
#include "nn/parallel.hpp"
#include "nn/simd/arch.hpp"
#include "nn/simd/gemm.hpp"

#include <csignal>
#include <exception>
#include <iomanip>
#include <iostream>
#include <new>
#include <string>
#include <vector>

namespace {

void print_help(std::ostream& os) {
    os << "usage: dydiff <command> [options]     (dydiff <command> --help for its flags and keys)\n"
          "\n"
          "commands:\n";
    for (const auto& c : dydiff::cli::commands())
        os << "  " << std::left << std::setw(22) << c.name << c.summary << "\n";
    os << "  " << std::left << std::setw(22) << "help"
       << "this text\n"
       << "  " << std::left << std::setw(22) << "--version"
       << "version and build configuration\n"
       << "\n"
          "environment: DYDIFF_NUM_THREADS sets the thread count (commands also take --threads N); DYDIFF_SIMD\n"
          "picks the instruction set of the kernels (one of those --version lists; default: the best this CPU runs).\n"
          "exit codes: 0 success, 1 runtime error, 2 usage error (a flag, a config key or value).\n";
}

}  // namespace

int main(int argc, char** argv) {
    dydiff::nn::keep_freed_memory();  // before any thread starts (nn/allocator.hpp)
    // A file-size limit (`ulimit -f`) would kill us with SIGXFSZ mid-write; ignored, the write fails with EFBIG and
    // the error names the file, like a full disk (data/atomic_file.hpp keeps the previous file).
    std::signal(SIGXFSZ, SIG_IGN);
    const std::vector<std::string> args(argv + 1, argv + argc);
    try {
        if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
            print_help(args.empty() ? std::cerr : std::cout);
            return args.empty() ? 2 : 0;
        }
        if (args[0] == "--version" || args[0] == "version") {
            namespace simd = dydiff::nn::simd;
            std::string compiled;
            for (const auto& set : simd::compiled_sets())
                compiled += (compiled.empty() ? "" : ", ") + set + (simd::cpu_supports(set) ? "" : " (not on this CPU)");
            const auto [tile_rows, tile_cols] = simd::gemm_micro_tile();
            std::cout << "dydiff " << dydiff::cli::version() << " (simd: " << simd::arch_name()
                      << ", float lanes: " << simd::float_lanes() << ", gemm tile: " << tile_rows << "x" << tile_cols
                      << ", compiled sets: " << compiled
                      << (std::string(simd::arch_name()) != simd::baseline_arch_name()
                              ? ", also Mish, GroupNorm + Mish rows and Adam on it"
                              : "")
                      << ", other kernels: " << simd::baseline_arch_name() << ", threads: " << dydiff::nn::num_threads() << ")\n";
            return 0;
        }
        // Reads DYDIFF_SIMD now, so that a set this build lacks or this CPU cannot run is reported before any work.
        dydiff::nn::simd::arch_name();
        for (const auto& c : dydiff::cli::commands())
            if (args[0] == c.name) return c.run({args.begin() + 1, args.end()});
        std::cerr << "dydiff: unknown command '" << args[0] << "' (see 'dydiff help')\n";
        return 2;
    } catch (const dydiff::cli::UsageError& e) {
        std::cerr << e.what() << "\n";
        return 2;
    } catch (const dydiff::Error& e) {
        std::cerr << "dydiff: error: " << e.what() << "\n";
        return 1;
    } catch (const std::bad_alloc&) {
        std::cerr << "dydiff: error: out of memory (std::bad_alloc): an input asked for more memory than this machine "
                     "has; check sizes such as batch, steps or the dataset\n";
        return 1;
    } catch (const std::exception& e) {
        std::cerr << "dydiff: error: " << e.what()
                  << " (an unexpected failure; please report it with the command line)\n";
        return 1;
    }
}
