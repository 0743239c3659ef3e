// Allocator tuning (see allocator.hpp).
#include "nn/allocator.hpp"

#include <atomic>
#include <cstdlib>
#include <cstring>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace dydiff::nn {
namespace {

std::atomic<bool> g_kept{false};

}  // namespace

bool keep_freed_memory() noexcept {
#if defined(__GLIBC__)
    const char* env = std::getenv("DYDIFF_KEEP_FREED_MEMORY");
    if (env != nullptr && std::strcmp(env, "0") == 0) return false;
    // The largest values mallopt accepts: never serve from mmap by size, never trim the heap top.
    const bool ok = mallopt(M_MMAP_THRESHOLD, 32 * 1024 * 1024) == 1 && mallopt(M_TRIM_THRESHOLD, 0x7fffffff) == 1;
    g_kept = ok;
    return ok;
#else
    return false;
#endif
}

bool freed_memory_kept() noexcept { return g_kept; }

}  // namespace dydiff::nn
