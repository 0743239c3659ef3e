// The HDF5 half of load_dataset_hdf5 (data/dataset.hpp), compiled only when the Meson feature `hdf5` found libhdf5
// (DYDIFF_HAVE_HDF5 == 1). It walks a file with the HDF5 C API and returns every numeric dataset by its path
// ("observations", "infos/qpos"), read into NpyArray without conversion: float32/float64 as such, integers as
// int32/int64/uint8, h5py's bool enum (int8 {FALSE, TRUE}) as bool. metadata/* is skipped unread; strings,
// compound and other types are listed as ignored. Gzip (deflate) datasets are read through HDF5's own filters.
// A Minari main_data.hdf5 (episode_<id> groups at the root) is returned already flattened into D4RL keys
// (observations, next_observations, actions, rewards, terminals, timeouts; docs/data_format.md "Minari HDF5").
// Internal to data/: include only from data/*.cpp and the HDF5 test.
#pragma once

#include "data/dataset.hpp"

#include <map>
#include <string>
#include <vector>

namespace dydiff::data::detail {

struct Hdf5Contents {
    std::map<std::string, RawArray> arrays;  // dataset path -> array and its stored dtype
    std::vector<std::string> ignored;        // paths not read, with the reason: "metadata/algorithm (metadata)"
};

Hdf5Contents read_hdf5_arrays(const std::string& path);

}  // namespace dydiff::data::detail
