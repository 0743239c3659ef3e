// Test module for the MuJoCo envs (dydiff/envs/locomotion.cpp, dydiff/envs/maze2d_mujoco.cpp), its own `meson test` suite
// dydiff_mujoco. Built without the `mujoco` feature, main() says why and exits 77 (meson: SKIP).
#if DYDIFF_HAVE_MUJOCO

#define BOOST_TEST_MODULE dydiff_mujoco
#include <boost/test/unit_test.hpp>

#else

#include <cstdio>

int main() {
    std::puts("dydiff_mujoco: skipped, built without the `mujoco` feature (install libmujoco-dev and reconfigure)");
    return 77;
}

#endif
