// Error reporting for the whole library: DYDIFF_CHECK at every public boundary, dydiff::Error as the one exception.
// Bottom of the layering: everything may include this, it includes only the standard library.
// A message names the place (file:line), what was expected and what was found, e.g.
//   "autograd/ops_shape.cpp:88: add: shapes (3, 4) and (5,) do not broadcast"
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace dydiff {

/// The one exception type thrown by dydiff. what() is a complete, user-facing message.
class Error : public std::runtime_error {
public:
    explicit Error(const std::string& message) : std::runtime_error(message) {}
};

/// Throws Error("file:line: message"). Not inline-expanded at call sites, to keep checks cheap.
[[noreturn]] void fail(const char* file, int line, const std::string& message);

/// "(3, 4)": the spelling of a shape in every error message.
template <class Shape>
std::string shape_str(const Shape& shape) {
    std::ostringstream os;
    os << '(';
    std::size_t i = 0;
    for (auto d : shape) os << (i++ ? ", " : "") << d;
    if (i == 1) os << ',';
    os << ')';
    return os.str();
}

}  // namespace dydiff

/// DYDIFF_FAIL("what " << value): throw dydiff::Error with file:line and a streamed message.
#define DYDIFF_FAIL(stream_expr)                                          \
    do {                                                                  \
        std::ostringstream dydiff_fail_os_;                               \
        dydiff_fail_os_ << stream_expr;                                   \
        ::dydiff::fail(__FILE__, __LINE__, dydiff_fail_os_.str());        \
    } while (0)

/// DYDIFF_CHECK(cond, "what " << value): DYDIFF_FAIL unless cond holds.
#define DYDIFF_CHECK(cond, stream_expr)                                   \
    do {                                                                  \
        if (!(cond)) DYDIFF_FAIL(stream_expr);                            \
    } while (0)
