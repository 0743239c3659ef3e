// Test module for dydiff/eval/ (policy evaluation, eval.csv, run statistics, plots): Boost.Test's main lives here.
#define BOOST_TEST_MODULE dydiff_eval
#include <boost/test/unit_test.hpp>
