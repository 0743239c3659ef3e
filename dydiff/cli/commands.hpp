// The subcommands of `dydiff`, one function each, dispatched by the table in main.cpp. Each takes the words after
// its name and returns the exit code: 0 success, 1 failure (a dydiff::Error, printed by main), 2 usage error.
#pragma once

#include <string>
#include <vector>

namespace dydiff::cli {

using Words = std::vector<std::string>;

int run_bench(const Words& args);                // bench.cpp
int run_dataset(const Words& args);              // cmd_dataset.cpp: info, convert, generate
int run_dataset_generate(const Words& args);     // cmd_generate.cpp: `dataset generate`, dispatched by run_dataset
int run_evaluate_controller(const Words& args);  // cmd_evaluate.cpp
int run_plot(const Words& args);                 // cmd_plot.cpp
int run_rollout_error(const Words& args);        // cmd_rollout_error.cpp
int run_stats(const Words& args);                // cmd_stats.cpp
int run_train_diffusion(const Words& args);      // cmd_train.cpp
int run_train_dynamics(const Words& args);       // cmd_train.cpp
int run_train_reward(const Words& args);         // cmd_train.cpp

}  // namespace dydiff::cli
