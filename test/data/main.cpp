// Test module for data/: Boost.Test's main lives here; every other file adds suites.
#define BOOST_TEST_MODULE data
#include <boost/test/unit_test.hpp>
