// Test module for the `dydiff` executable (dydiff/cli/): Boost.Test's main lives here. The tests run the built
// binary, whose path Meson passes in the environment variable DYDIFF_EXE.
#define BOOST_TEST_MODULE cli
#include <boost/test/unit_test.hpp>
