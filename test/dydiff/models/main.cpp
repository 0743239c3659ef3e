// Test module for dydiff/models/: Boost.Test's main lives here.
#define BOOST_TEST_MODULE dydiff_models
#include <boost/test/unit_test.hpp>
