// The MuJoCo library found at build time is the one we run against: a 2.x from 2.2.2 on, header and library agree.
#if DYDIFF_HAVE_MUJOCO

#include <boost/test/unit_test.hpp>

#include <mujoco/mujoco.h>

BOOST_AUTO_TEST_SUITE(library)

BOOST_AUTO_TEST_CASE(header_and_library_versions_agree) {
    BOOST_TEST(mj_version() == mjVERSION_HEADER);
    BOOST_TEST(mj_version() >= 222);
    BOOST_TEST(mj_version() < 300);
}

BOOST_AUTO_TEST_SUITE_END()

#endif
