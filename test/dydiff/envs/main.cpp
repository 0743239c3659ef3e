// Test module for dydiff/envs/: Boost.Test's main lives here.
#define BOOST_TEST_MODULE dydiff_envs
#include <boost/test/unit_test.hpp>
