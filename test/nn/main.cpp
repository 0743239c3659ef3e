// Test module for nn/: Boost.Test's main lives here; every other file adds suites.
#define BOOST_TEST_MODULE nn
#include <boost/test/unit_test.hpp>
