// The instruction sets a cross-set test compares (nn/simd/arch.hpp): the sets of this build that this CPU runs,
// and a Boost.Test precondition that skips such a test, with the reason, where fewer than two of them run.
#pragma once

#include "nn/simd/arch.hpp"

#include <boost/test/unit_test.hpp>

#include <string>
#include <vector>

namespace dydiff::test {

/// The sets of this build that this CPU runs.
inline std::vector<std::string> runnable_sets() {
    std::vector<std::string> out;
    for (const auto& set : nn::simd::compiled_sets())
        if (nn::simd::cpu_supports(set)) out.push_back(set);
    return out;
}

/// Precondition of a cross-set case: it needs two sets to compare (skipped with this message otherwise).
inline boost::test_tools::assertion_result two_runnable_sets(boost::unit_test::test_unit_id) {
    boost::test_tools::assertion_result result(runnable_sets().size() >= 2);
    result.message() << "only one instruction set of this build runs on this CPU (compiled: "
                     << nn::simd::compiled_sets().size() << "): nothing to compare";
    return result;
}

}  // namespace dydiff::test
