// Test module for dydiff/ (the algorithm, environments, configs, runs): Boost.Test's main lives here.
#define BOOST_TEST_MODULE dydiff
#include <boost/test/unit_test.hpp>
