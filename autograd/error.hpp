// Error reporting for the whole library: dydiff::Error as the one exception type, in two flavours.
// Bottom of the layering: everything may include this, it includes only the standard library.
// - DYDIFF_CHECK / DYDIFF_FAIL: an internal invariant or a programming mistake. The message names the place
//   (file:line), what was expected and what was found, e.g.
//     "autograd/ops_shape.cpp:88: add: shapes (3, 4) and (5,) do not broadcast"
// - DYDIFF_USER_CHECK / DYDIFF_USER_FAIL: a mistake in what a user gave us (a file, a config key, a flag, a value).
//   The message names that input and what was expected, and carries no source location, e.g.
//     "runs/a/config.toml:12: config key 'lr' = -1 is out of range (want finite and > 0)"
//   It throws dydiff::UserError, a dydiff::Error, so callers that catch Error see both.
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

/// An Error caused by the user's input; what() names the input, not a source line.
class UserError : public Error {
public:
    explicit UserError(const std::string& message) : Error(message) {}
};

/// A UserError for a NaN or Inf met while training (a loss, a gradient, a value about to be saved): the usual causes
/// are a learning rate or data out of scale. Trainers catch it to add where the run can go back to
/// (nn/checkpoint.hpp: stop_non_finite), and no checkpoint holding a NaN or Inf is written (Checkpoint::require_finite).
class NonFiniteError : public UserError {
public:
    explicit NonFiniteError(const std::string& message) : UserError(message) {}
};

/// Throws Error("file:line: message"). Not inline-expanded at call sites, to keep checks cheap.
[[noreturn]] void fail(const char* file, int line, const std::string& message);
/// Throws UserError(message).
[[noreturn]] void user_fail(const std::string& message);

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

/// DYDIFF_USER_FAIL("config key '" << key << "' ..."): throw dydiff::UserError, no source location.
#define DYDIFF_USER_FAIL(stream_expr)                                     \
    do {                                                                  \
        std::ostringstream dydiff_fail_os_;                               \
        dydiff_fail_os_ << stream_expr;                                   \
        ::dydiff::user_fail(dydiff_fail_os_.str());                       \
    } while (0)

/// DYDIFF_USER_CHECK(cond, "what " << value): DYDIFF_USER_FAIL unless cond holds.
#define DYDIFF_USER_CHECK(cond, stream_expr)                              \
    do {                                                                  \
        if (!(cond)) DYDIFF_USER_FAIL(stream_expr);                       \
    } while (0)
