// The MJCF models of the MuJoCo locomotion envs (hopper, halfcheetah, walker2d), embedded in the library at build
// time from dydiff/envs/mjcf/*.xml (dydiff/envs/mjcf/embed_mjcf.py), so no model path is needed at run time.
// Built only with the `mujoco` feature; the files are also installed to <datadir>/dydiff/mjcf/ for MuJoCo's tools.
#pragma once

#include <string>
#include <vector>

namespace dydiff::envs {

struct MjcfFile {
    std::string name;  // the env name: "hopper", "halfcheetah", "walker2d"
    std::string xml;   // the whole MJCF text
};

/// The embedded models, in the order the build lists them.
const std::vector<MjcfFile>& embedded_mjcf_files();

}  // namespace dydiff::envs
