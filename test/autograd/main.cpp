// Test module for autograd/: Boost.Test's main lives here; every other file adds suites.
#define BOOST_TEST_MODULE autograd
#include <boost/test/unit_test.hpp>
