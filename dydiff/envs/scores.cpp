// Reference returns for normalized scores (see scores.hpp).
#include "dydiff/envs/scores.hpp"

#include "autograd/error.hpp"
#include "dydiff/envs/maze2d.hpp"

#include <cstring>

namespace dydiff::envs {
namespace {

struct Entry {
    const char* task;
    double ref_min;
    double ref_max;
};

// D4RL infos.py / gym_mujoco / pointmaze registrations (docs/algorithm.md §8); locomotion: same for v0, v1, v2.
constexpr Entry kD4rlLocomotion[] = {
    {"hopper", -20.272305, 3234.3},
    {"halfcheetah", -280.178953, 12135.0},
    {"walker2d", 1.629008, 4592.3},
};
constexpr Entry kD4rlMaze[] = {
    {"maze2d-umaze-v1", 23.85, 161.86},
    {"maze2d-medium-v1", 13.13, 277.39},
    {"maze2d-large-v1", 6.7, 273.99},
    {"maze2d-umaze-dense-v1", 68.537689, 193.66285642381482},
    {"maze2d-medium-dense-v1", 44.264742, 297.4552547777125},
    {"maze2d-large-dense-v1", 30.569041, 303.4857382709002},
};
// Our built-in envs: mean returns of the random and expert policies, measured with
//   dydiff evaluate-controller --env <task> --episodes 1000 --seed 0
// (docs/environments.md, "Reference scores").
constexpr Entry kBuiltin[] = {
    {"maze2d-umaze", 26.1790, 243.2050},
    {"maze2d-medium", 18.1600, 469.5240},
    {"maze2d-large", 11.2130, 623.3110},
    {"maze2d-umaze-dense", 71.6706, 250.6946},
    {"maze2d-medium-dense", 44.6700, 477.8634},
    {"maze2d-large-dense", 38.6911, 634.2782},
    {"pendulum", -1218.9865, -146.0608},
};

}  // namespace

std::optional<ReferenceScores> reference_scores(const std::string& task) {
    // maze2d-<size>[-dense]-mujoco: the same task on MuJoCo's simulator keeps the constants of our env. The expert
    // never touches a wall and the random policy rarely does, so their MuJoCo returns agree with ours (measured in
    // docs/environments.md, "maze2d on MuJoCo").
    if (const auto maze = parse_maze_env_name(task); maze && maze->mujoco) {
        const std::string ours = "maze2d-" + maze->size + (maze->dense ? "-dense" : "");
        for (const Entry& e : kBuiltin)
            if (ours == e.task)
                return ReferenceScores{e.ref_min, e.ref_max,
                                       "measured on our simulator: dydiff evaluate-controller --env " + ours +
                                           " --episodes 1000 --seed 0"};
        DYDIFF_FAIL("reference_scores: no constants for " << ours);
    }
    for (const Entry& e : kBuiltin)
        if (task == e.task)
            return ReferenceScores{e.ref_min, e.ref_max,
                                   "measured: dydiff evaluate-controller --env " + task + " --episodes 1000 --seed 0"};
    for (const Entry& e : kD4rlMaze)
        if (task == e.task) return ReferenceScores{e.ref_min, e.ref_max, "D4RL pointmaze"};
    for (const Entry& e : kD4rlLocomotion) {
        const std::size_t len = std::strlen(e.task);
        if (task.compare(0, len, e.task) == 0 && (task.size() == len || task[len] == '-'))
            return ReferenceScores{e.ref_min, e.ref_max, "D4RL infos.py"};
    }
    return std::nullopt;
}

std::optional<double> normalized_score(const std::string& task, double episode_return) {
    const auto ref = reference_scores(task);
    if (!ref) return std::nullopt;
    return 100.0 * (episode_return - ref->ref_min) / (ref->ref_max - ref->ref_min);
}

}  // namespace dydiff::envs
