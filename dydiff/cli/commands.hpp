// The subcommands of `dydiff`, one function each, dispatched by the table in main.cpp. Each takes the words after
// its name and returns the exit code: 0 success, 1 failure (a dydiff::Error, printed by main), 2 usage error.
#pragma once

#include <string>
#include <vector>

namespace dydiff::cli {

using Words = std::vector<std::string>;

int run_bench(const Words& args);    // bench.cpp
int run_dataset(const Words& args);  // cmd_dataset.cpp

}  // namespace dydiff::cli
