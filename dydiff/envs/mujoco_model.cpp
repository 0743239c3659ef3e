// compile_mjcf: an MJCF text to a shared mjModel through MuJoCo's virtual file system (see mujoco_model.hpp).
#include "dydiff/envs/mujoco_model.hpp"

#include "autograd/error.hpp"

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>

namespace dydiff::envs {
namespace {

// MuJoCo's default handlers also append to MUJOCO_LOG.TXT in the working directory; ours only print. An error (such
// as an exhausted stack) cannot be recovered from: MuJoCo expects the handler not to return.
void print_mujoco_warning(const char* message) { std::fprintf(stderr, "MuJoCo warning: %s\n", message); }
[[noreturn]] void print_mujoco_error(const char* message) {
    std::fprintf(stderr, "MuJoCo error (dydiff's MuJoCo envs cannot continue): %s\n", message);
    std::abort();
}

struct ModelDeleter {
    void operator()(mjModel* m) const { mj_deleteModel(m); }
};

}  // namespace

std::shared_ptr<const mjModel> compile_mjcf(const std::string& name, const std::string& xml) {
    static std::mutex mutex;
    static std::map<std::string, std::shared_ptr<const mjModel>> cache;
    const std::lock_guard<std::mutex> lock(mutex);
    if (const auto it = cache.find(name); it != cache.end()) return it->second;
    mju_user_warning = &print_mujoco_warning;
    mju_user_error = &print_mujoco_error;

    // mjVFS holds 2000 file names of 1000 bytes: too large for the stack.
    auto vfs = std::make_unique<mjVFS>();
    mj_defaultVFS(vfs.get());
    const std::string vfs_name = name + ".xml";
    DYDIFF_CHECK(mj_makeEmptyFileVFS(vfs.get(), vfs_name.c_str(), static_cast<int>(xml.size())) == 0,
                 "MuJoCo VFS: cannot add " << vfs_name);
    const int index = mj_findFileVFS(vfs.get(), vfs_name.c_str());
    std::memcpy(vfs->filedata[index], xml.data(), xml.size());
    char error[1000] = "";
    mjModel* raw = mj_loadXML(vfs_name.c_str(), vfs.get(), error, sizeof error);
    mj_deleteVFS(vfs.get());
    DYDIFF_CHECK(raw != nullptr, "MuJoCo " << mj_versionString() << " cannot load the MJCF " << vfs_name << ": "
                                           << error);
    std::shared_ptr<const mjModel> model(raw, ModelDeleter{});
    cache.emplace(name, model);
    return model;
}

}  // namespace dydiff::envs
