// Small helpers every test suite uses: the message of the dydiff::Error a call throws, and substring checks on it.
#pragma once

#include "autograd/error.hpp"

#include <string>
#include <utility>

namespace dydiff::test {

/// The what() of the dydiff::Error that f() throws, or "no error".
template <class F>
std::string error_of(F&& f) {
    try {
        std::forward<F>(f)();
    } catch (const dydiff::Error& e) {
        return e.what();
    }
    return "no error";
}

inline bool contains(const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; }

}  // namespace dydiff::test
