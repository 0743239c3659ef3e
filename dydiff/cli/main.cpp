// The `dydiff` command-line tool: one executable, one subcommand per job (`dydiff help` lists them).
// Each subcommand parses its own flags; errors from the library (dydiff::Error) end the program with exit code 1
// and one message line.
#include "autograd/error.hpp"
#include "dydiff/cli/bench.hpp"
#include "nn/simd/batch.hpp"

#include <cstring>
#include <iostream>
#include <string>
#include <vector>

namespace {

constexpr const char* kVersion = "0.1.0";

void print_help(std::ostream& os) {
    os << "usage: dydiff <command> [options]\n"
          "\n"
          "commands:\n"
          "  help            this text\n"
          "  --version       version and build configuration\n"
          "  bench           kernel micro-benchmarks (dydiff bench --help)\n";
}

}  // namespace

int main(int argc, char** argv) {
    const std::vector<std::string> args(argv + 1, argv + argc);
    try {
        if (args.empty() || args[0] == "help" || args[0] == "--help" || args[0] == "-h") {
            print_help(std::cout);
            return args.empty() ? 2 : 0;
        }
        if (args[0] == "--version" || args[0] == "version") {
            std::cout << "dydiff " << kVersion << " (simd: " << dydiff::nn::simd::arch_name()
                      << ", float lanes: " << dydiff::nn::simd::kFloatWidth << ")\n";
            return 0;
        }
        if (args[0] == "bench") return dydiff::cli::run_bench({args.begin() + 1, args.end()});
        std::cerr << "dydiff: unknown command '" << args[0] << "' (see 'dydiff help')\n";
        return 2;
    } catch (const dydiff::Error& e) {
        std::cerr << "dydiff: error: " << e.what() << "\n";
        return 1;
    }
}
