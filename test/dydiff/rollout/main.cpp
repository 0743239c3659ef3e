// Test module for dydiff/rollout/: Boost.Test's main lives here.
#define BOOST_TEST_MODULE dydiff_rollout
#include <boost/test/unit_test.hpp>
