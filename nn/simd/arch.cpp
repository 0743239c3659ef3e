// The run-time choice of instruction set (nn/simd/arch.hpp): the table of the sets compiled into this build, what
// this CPU and its OS can run, and DYDIFF_SIMD. Compiled with the baseline flags, like everything but the variants.
#include "nn/simd/arch.hpp"

#include "autograd/error.hpp"
#include "nn/simd/kernel_set.hpp"

#include <array>
#include <atomic>
#include <cstdlib>
#include <mutex>

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif

namespace dydiff::nn::simd {
namespace {

#if DYDIFF_SIMD_AVX512
/// Whether this CPU runs the avx512f set's code (compiled for x86-64-v3 plus AVX-512F): CPUID says so, and the OS
/// has enabled the state the instructions use. NOTE: GCC's __builtin_cpu_supports reads CPUID only; an OS (or a
/// hypervisor) that does not save the zmm and mask registers leaves XCR0 bits 5 to 7 clear, and zmm code would then
/// fault, so XCR0 is read too (xgetbv, allowed once CPUID.1:ECX.OSXSAVE is set).
bool avx512_usable() noexcept {
    __builtin_cpu_init();
    if (!__builtin_cpu_supports("x86-64-v3") || !__builtin_cpu_supports("avx512f")) return false;
    unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
    if (!__get_cpuid(1, &eax, &ebx, &ecx, &edx) || !(ecx & bit_OSXSAVE)) return false;
    unsigned xcr0_low = 0, xcr0_high = 0;
    __asm__("xgetbv" : "=a"(xcr0_low), "=d"(xcr0_high) : "c"(0));
    // XCR0 bits 1 (SSE), 2 (AVX: upper ymm), 5 (opmask k0-k7), 6 (upper zmm0-15), 7 (zmm16-31).
    constexpr unsigned kZmmState = (1u << 1) | (1u << 2) | (1u << 5) | (1u << 6) | (1u << 7);
    return (xcr0_low & kZmmState) == kZmmState;
}
#endif

/// One compiled set and whether this machine runs it.
struct Entry {
    const KernelSet* set;
    bool (*usable)() noexcept;
};

bool always() noexcept { return true; }

/// The compiled sets, the baseline first, then by preference (the last usable one is the default).
#if DYDIFF_SIMD_AVX512
constexpr std::array<Entry, 2> kSets = {{{&kBaselineSet, &always}, {&kAvx512Set, &avx512_usable}}};
#else
constexpr std::array<Entry, 1> kSets = {{{&kBaselineSet, &always}}};
#endif

/// The entry `name` (a set's name or alias, or "baseline") denotes, or nullptr.
const Entry* find(const std::string& name) noexcept {
    if (name == "baseline") return &kSets[0];
    for (const Entry& e : kSets)
        if (name == e.set->name || (e.set->alias[0] != '\0' && name == e.set->alias)) return &e;
    return nullptr;
}

/// "baseline, fma3+avx2 (avx2), avx512f (avx512)": the spellings DYDIFF_SIMD and use_set accept.
std::string spellings() {
    std::string out = "baseline";
    for (const Entry& e : kSets) {
        out += (out.empty() ? "" : ", ") + std::string(e.set->name);
        if (e.set->alias[0] != '\0') out += " (" + std::string(e.set->alias) + ")";
    }
    return out;
}

std::string runnable() {
    std::string out;
    for (const Entry& e : kSets)
        if (e.usable()) out += (out.empty() ? "" : ", ") + std::string(e.set->name);
    return out;
}

/// The set `name` selects; `what` names where the name came from, for the message.
const KernelSet& resolve(const std::string& name, const std::string& what) {
    const Entry* e = find(name);
    if (e == nullptr)
        DYDIFF_USER_FAIL(what << " '" << name << "' is not an instruction set of this build (compiled: " << spellings()
                              << ")");
    if (!e->usable())
        DYDIFF_USER_FAIL(what << " '" << name << "': this CPU (or its OS) cannot run " << e->set->name
                              << " (runnable here: " << runnable() << ")");
    return *e->set;
}

/// The default choice: DYDIFF_SIMD, else the most preferred usable set.
const KernelSet& default_set() {
    if (const char* env = std::getenv("DYDIFF_SIMD"); env != nullptr && env[0] != '\0')
        return resolve(env, "DYDIFF_SIMD");
    const KernelSet* best = kSets[0].set;
    for (const Entry& e : kSets)
        if (e.usable()) best = e.set;
    return *best;
}

std::mutex g_choice_mutex;                      // guards the first choice and use_set
std::atomic<const KernelSet*> g_set{nullptr};  // nullptr until the first choice

}  // namespace

// NOTE: not std::call_once, for the reason nn/parallel.cpp gives: a bad DYDIFF_SIMD throws through it.
const KernelSet& kernel_set() {
    if (const KernelSet* s = g_set.load(std::memory_order_acquire)) return *s;
    std::lock_guard<std::mutex> lock(g_choice_mutex);
    if (g_set.load(std::memory_order_relaxed) == nullptr) g_set.store(&default_set(), std::memory_order_release);
    return *g_set.load(std::memory_order_relaxed);
}

const char* arch_name() { return kernel_set().name; }

const char* baseline_arch_name() noexcept { return kBaselineSet.name; }

std::size_t float_lanes() { return kernel_set().lanes; }

std::vector<std::string> compiled_sets() {
    std::vector<std::string> out;
    for (const Entry& e : kSets) out.emplace_back(e.set->name);
    return out;
}

bool cpu_supports(const std::string& set) {
    const Entry* e = find(set);
    DYDIFF_CHECK(e != nullptr, "cpu_supports: '" << set << "' is not a set of this build (" << spellings() << ")");
    return e->usable();
}

void use_set(const std::string& set) {
    std::lock_guard<std::mutex> lock(g_choice_mutex);
    g_set.store(set.empty() ? &default_set() : &resolve(set, "instruction set"), std::memory_order_release);
}

float fma_peak_loop(std::size_t steps) {
    // Seeds the compiler cannot see through, one per chain.
    static volatile float seed = 0.1f;
    float seeds[gemm_detail::kPeakChains];
    for (std::size_t i = 0; i < gemm_detail::kPeakChains; ++i) seeds[i] = seed + 0.01f * static_cast<float>(i);
    return kernel_set().fma_peak(steps, seeds);
}

std::size_t fma_peak_flops_per_step() { return kernel_set().fma_peak_flops_per_step; }

}  // namespace dydiff::nn::simd
