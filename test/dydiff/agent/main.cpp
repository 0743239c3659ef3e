// Test module for dydiff/agent/: Boost.Test's main lives here.
#define BOOST_TEST_MODULE dydiff_agent
#include <boost/test/unit_test.hpp>
