// Test module for dydiff/ (environments, termination rules, scores, dataset recipes): Boost.Test's main lives here.
#define BOOST_TEST_MODULE dydiff
#include <boost/test/unit_test.hpp>
