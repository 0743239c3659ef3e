// Test module for dydiff/learners/: Boost.Test's main lives here.
#define BOOST_TEST_MODULE dydiff_learners
#include <boost/test/unit_test.hpp>
