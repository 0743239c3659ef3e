// Test module for embed/ (the policy inference library): Boost.Test's main lives here.
#define BOOST_TEST_MODULE embed
#include <boost/test/unit_test.hpp>
