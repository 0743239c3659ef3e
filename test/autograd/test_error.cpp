// DYDIFF_CHECK messages: file:line relative to the source tree, the streamed text, shapes spelled one way.
#include "autograd/error.hpp"

#include <boost/test/unit_test.hpp>

#include <vector>

BOOST_AUTO_TEST_SUITE(error)

BOOST_AUTO_TEST_CASE(check_message_names_place_and_values) {
    const std::vector<std::size_t> shape{3, 4};
    try {
        DYDIFF_CHECK(shape.size() == 1, "op: got shape " << dydiff::shape_str(shape));
        BOOST_FAIL("DYDIFF_CHECK did not throw");
    } catch (const dydiff::Error& e) {
        const std::string what = e.what();
        BOOST_TEST(what.rfind("test/autograd/test_error.cpp:", 0) == 0, what);
        BOOST_TEST(what.find("op: got shape (3, 4)") != std::string::npos, what);
    }
}

BOOST_AUTO_TEST_CASE(shape_str_spells_rank_one_and_zero) {
    BOOST_TEST(dydiff::shape_str(std::vector<int>{5}) == "(5,)");
    BOOST_TEST(dydiff::shape_str(std::vector<int>{}) == "()");
}

BOOST_AUTO_TEST_CASE(check_passes_silently) {
    BOOST_CHECK_NO_THROW(DYDIFF_CHECK(1 + 1 == 2, "never"));
}

BOOST_AUTO_TEST_SUITE_END()
