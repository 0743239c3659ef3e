// Allocator tuning for training loops. Layering: nn/ (no dependencies).
// Training allocates and frees the same large activation and gradient buffers (megabytes each) every step. glibc's
// malloc serves blocks above its mmap threshold with fresh mmap calls and trims freed heap tops back to the kernel,
// so each step page-faults its buffers in again: CQL at hopper dims spent about 27% of its time in the kernel on page
// faults (measured, 2-core EPYC). keep_freed_memory() raises both thresholds so freed blocks stay in the heap and are
// reused; the process's peak memory is unchanged, it is just not returned between steps.
#pragma once

namespace dydiff::nn {

/// Call once at program start, before threads are started. A no-op where the C library is not glibc.
void keep_freed_memory() noexcept;

}  // namespace dydiff::nn
