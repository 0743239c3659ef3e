// Test module for dydiff/diffusion/: Boost.Test's main lives here.
#define BOOST_TEST_MODULE dydiff_diffusion
#include <boost/test/unit_test.hpp>
