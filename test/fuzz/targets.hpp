// The fuzz targets' entry points (docs/reliability.md): plain functions over one input's bytes, linked both into the
// libFuzzer executables (Meson option `fuzz`, test/fuzz/fuzz_main.cpp) and into the `fuzz_replay` test, which runs
// every committed input of test/fuzz/corpus/<target>/ through them in the normal test suite.
// A target accepts every input: what the readers refuse is a dydiff::Error (or a cli::UsageError), caught here.
// Anything else escapes (std::bad_alloc, std::length_error, a sanitizer report): that is a finding.
// Layering: test/ (on dydiff/cli and the library).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dydiff::fuzz {

using Target = int (*)(const std::uint8_t* data, std::size_t size);

struct NamedTarget {
    const char* name;  // the corpus folder: test/fuzz/corpus/<name>/
    Target run;
};

/// Every target, in a fixed order: npy, npz, dataset_npz, dataset_hdf5, config, cli_flags, checkpoint.
const std::vector<NamedTarget>& targets();

int fuzz_npy(const std::uint8_t* data, std::size_t size);           // data::decode_npy, then to_float
int fuzz_npz(const std::uint8_t* data, std::size_t size);           // data::decode_npz
int fuzz_dataset_npz(const std::uint8_t* data, std::size_t size);   // dataset_from_npz(decode_npz), summarize
int fuzz_dataset_hdf5(const std::uint8_t* data, std::size_t size);  // load_dataset_hdf5 of a temp file, summarize
int fuzz_config(const std::uint8_t* data, std::size_t size);        // toml::parse, then train-agent's and
                                                                    // train-diffusion's keys applied and validated
int fuzz_cli_flags(const std::uint8_t* data, std::size_t size);     // words split at NUL or newline: train-agent's
                                                                    // flags and config resolution, nothing run
int fuzz_checkpoint(const std::uint8_t* data, std::size_t size);    // Checkpoint::from_npz and every model reader

}  // namespace dydiff::fuzz
