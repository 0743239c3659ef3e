// The out-of-line half of autograd/error.hpp.
#include "autograd/error.hpp"

namespace dydiff {

void fail(const char* file, int line, const std::string& message) {
    // Meson compiles "../autograd/ops_shape.cpp" from the build directory: report "autograd/ops_shape.cpp".
    std::string path(file);
    while (path.rfind("../", 0) == 0 || path.rfind("./", 0) == 0) path.erase(0, path.find('/') + 1);
    throw Error(path + ":" + std::to_string(line) + ": " + message);
}

void user_fail(const std::string& message) { throw UserError(message); }

}  // namespace dydiff
