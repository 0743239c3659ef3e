// Allocator tuning for training loops. Layering: nn/ (no dependencies).
// Training allocates and frees the same large activation and gradient buffers (megabytes each) every step. glibc's
// malloc serves blocks above its mmap threshold with fresh mmap calls and trims freed heap tops back to the kernel,
// so each step page-faults its buffers in again: CQL at hopper dims spent about 27% of its time in the kernel on page
// faults (measured, 2-core EPYC). keep_freed_memory() raises both thresholds so freed blocks stay in the heap and are
// reused; the process's peak memory is unchanged, it is just not returned between steps. The `dydiff` CLI calls it
// first thing in main(); docs/performance.md ("Learner steps") measures the difference.
#pragma once

namespace dydiff::nn {

/// Call once at program start, before threads are started. Raises glibc's mmap and trim thresholds, unless the
/// environment sets DYDIFF_KEEP_FREED_MEMORY=0 (glibc's own adaptive thresholds then stay, for comparisons; any
/// other value, or none, raises them). A no-op where the C library is not glibc. Returns whether it raised them.
bool keep_freed_memory() noexcept;

/// True once keep_freed_memory() has raised the thresholds in this process (benchmarks print it beside their numbers).
bool freed_memory_kept() noexcept;

}  // namespace dydiff::nn
