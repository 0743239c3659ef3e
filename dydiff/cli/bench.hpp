// `dydiff bench <workload> [options]`: micro-benchmarks of the kernels, as a readable table or as JSON lines for
// docs/performance.md. Workloads are a table by name in bench.cpp (gemm now; mlp and others append an entry).
#pragma once

#include <string>
#include <vector>

namespace dydiff::cli {

/// Runs `dydiff bench`; args are the words after "bench". Returns the exit code: 0 done, 2 usage error.
int run_bench(const std::vector<std::string>& args);

}  // namespace dydiff::cli
