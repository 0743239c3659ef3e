// A small persistent thread pool for the kernels (no dependency beyond <thread>).
// The thread count comes from set_num_threads(), else DYDIFF_NUM_THREADS, else the hardware concurrency.
// parallel_for splits [0, n) into one contiguous chunk per thread, the same split for the same (n, threads): a
// kernel whose chunks write disjoint outputs is then bitwise reproducible for any thread count.
#pragma once

#include <cstddef>
#include <functional>

namespace dydiff::nn {

/// Threads used by parallel_for (>= 1).
std::size_t num_threads();

/// Sets the thread count; 0 means "the default" (DYDIFF_NUM_THREADS, else std::thread::hardware_concurrency()).
void set_num_threads(std::size_t n);

/// Calls fn(begin, end) on disjoint contiguous chunks covering [0, n), at most num_threads() at once, and returns
/// when all are done. Chunks are at least `grain` long. The calling thread runs the first chunk. Nested calls from
/// inside fn run serially. An exception thrown by fn is rethrown here (the first one).
void parallel_for(std::size_t n, std::size_t grain, const std::function<void(std::size_t, std::size_t)>& fn);

}  // namespace dydiff::nn
