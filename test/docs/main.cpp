// Test module for the repository's documentation: Boost.Test's main lives here.
#define BOOST_TEST_MODULE docs
#include <boost/test/unit_test.hpp>
