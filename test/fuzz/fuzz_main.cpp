// libFuzzer's entry point for one target (test/fuzz/meson.build compiles this file once per target with
// -DDYDIFF_FUZZ_TARGET=fuzz_<name>): `build-fuzz/test/fuzz/fuzz_npy CORPUS_DIR -max_total_time=600`.
#include "fuzz/targets.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    return dydiff::fuzz::DYDIFF_FUZZ_TARGET(data, size);
}
