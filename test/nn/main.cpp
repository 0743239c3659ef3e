// Test module for nn/: Boost.Test's main lives here; every other file adds suites.
// The whole module runs on the instruction set DYDIFF_SIMD names (test/meson.build runs it once per set of the
// build, nn/simd/arch.hpp); a set this CPU cannot run skips the run (exit 77, Meson's SKIP) with one message.
#define BOOST_TEST_MODULE nn
#include <boost/test/unit_test.hpp>

#include "nn/simd/arch.hpp"

#include <algorithm>
#include <cstdlib>
#include <iostream>
#include <string>

namespace {

struct RunOnTheChosenSet {
    RunOnTheChosenSet() {
        namespace simd = dydiff::nn::simd;
        const char* env = std::getenv("DYDIFF_SIMD");
        const auto sets = simd::compiled_sets();
        if (env != nullptr && std::find(sets.begin(), sets.end(), env) != sets.end() && !simd::cpu_supports(env)) {
            std::cout << "nn: skipped: DYDIFF_SIMD=" << env << ", which this CPU (or its OS) cannot run\n";
            std::exit(77);
        }
        std::cout << "nn: instruction set " << simd::arch_name() << "\n";
    }
};

}  // namespace

BOOST_TEST_GLOBAL_FIXTURE(RunOnTheChosenSet);
