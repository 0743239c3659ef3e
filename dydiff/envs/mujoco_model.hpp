// Compiling an MJCF text with libmujoco, shared by the MuJoCo envs (locomotion_sim.cpp, maze2d_mujoco_sim.cpp): the
// text goes through an in-memory file (mjVFS), so no model path is needed at run time, and each model is compiled
// once per process and shared read-only by every env that steps it. MuJoCo's warning and error handlers print to
// stderr instead of appending to MUJOCO_LOG.TXT. Built only with the `mujoco` feature; not an installed header.
#pragma once

#include <mujoco/mujoco.h>

#include <memory>
#include <string>

namespace dydiff::envs {

/// The model of `xml`, compiled on the first call for `name` ("hopper", "maze2d-umaze") and shared afterwards; the
/// same name must always come with the same text. A text MuJoCo rejects is an Error with its message.
std::shared_ptr<const mjModel> compile_mjcf(const std::string& name, const std::string& xml);

/// mj_deleteData as a unique_ptr deleter: each env owns one mjData.
struct MjDataDeleter {
    void operator()(mjData* d) const { mj_deleteData(d); }
};
using MjDataPtr = std::unique_ptr<mjData, MjDataDeleter>;

}  // namespace dydiff::envs
