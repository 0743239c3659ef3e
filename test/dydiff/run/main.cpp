// Test module for dydiff/run/: Boost.Test's main lives here.
#define BOOST_TEST_MODULE dydiff_run
#include <boost/test/unit_test.hpp>
