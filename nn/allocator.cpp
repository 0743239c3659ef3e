// Allocator tuning (see allocator.hpp).
#include "nn/allocator.hpp"

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace dydiff::nn {

void keep_freed_memory() noexcept {
#if defined(__GLIBC__)
    // The largest values mallopt accepts: never serve from mmap by size, never trim the heap top.
    mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 0x7fffffff);
#endif
}

}  // namespace dydiff::nn
