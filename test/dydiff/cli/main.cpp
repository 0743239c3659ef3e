// Test module for dydiff/cli/ (the `dydiff` executable run as a user would): Boost.Test's main lives here.
#define BOOST_TEST_MODULE dydiff_cli
#include <boost/test/unit_test.hpp>
