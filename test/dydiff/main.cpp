// Test module for dydiff/: Boost.Test's main lives here; every other file adds suites.
#define BOOST_TEST_MODULE dydiff
#include <boost/test/unit_test.hpp>
