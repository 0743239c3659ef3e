// maze2d on MuJoCo (dydiff/envs/maze2d_mujoco.hpp) and the divergence tool (dydiff/eval/maze_divergence.hpp): the
// generated MJCF against D4RL's model facts, free-space steps against the closed form and against our simulator,
// the soft-contact penetration bound under saturated driving, seeded resets, the env names and reference scores,
// the divergence result's shape, and `evaluate-controller --against` end to end.
#if DYDIFF_HAVE_MUJOCO

#include "support/errors.hpp"
#include "support/run_dydiff.hpp"
#include "data/rng.hpp"
#include "dydiff/envs/controllers.hpp"
#include "dydiff/envs/env.hpp"
#include "dydiff/envs/maze2d.hpp"
#include "dydiff/envs/maze2d_mujoco.hpp"
#include "dydiff/envs/mujoco_model.hpp"
#include "dydiff/envs/scores.hpp"
#include "dydiff/eval/maze_divergence.hpp"
#include "dydiff/eval/synthetic_check.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

using dydiff::test::contains;
using dydiff::test::error_of;
using namespace dydiff;
using namespace dydiff::envs;

namespace {

constexpr double kExactTol = 1e-12;  // MuJoCo against the closed form with MuJoCo's own mass: round-off only
// Our simulator against MuJoCo's in free space: our mass constant 4.18879 is 4/3 pi r^3 rho rounded (relative error
// 4.9e-8), which moves a velocity by at most ~2e-8 per step; 300 steps stay far below this.
constexpr double kFreeSpaceTol = 1e-5;
constexpr double kMarginTol = 1e-12;  // clearance comparisons against MuJoCo's contact margin

const char* const kMazes[] = {"umaze", "medium", "large"};

std::shared_ptr<const mjModel> model_of(const Maze& maze) {
    return compile_mjcf("maze2d-" + maze.name, maze_mjcf(maze));
}

}  // namespace

BOOST_AUTO_TEST_SUITE(maze2d_mujoco)

// The model MuJoCo compiles from maze_mjcf holds D4RL's facts: two slide joints with damping 1, the ball's mass from
// density 1000, gear 100 and ctrlrange [-1, 1], Euler at 0.01 s without gravity, condim 1 and margin 0.002, and one
// unit box per wall cell centred at world (i + 1, j + 1), the ball body at world (1.2, 1.2).
BOOST_AUTO_TEST_CASE(mjcf_holds_the_point_maze_facts) {
    for (const char* size : kMazes) {
        const Maze& maze = maze_by_name(size);
        const auto m = model_of(maze);
        BOOST_TEST_REQUIRE(m->nq == 2);
        BOOST_TEST(m->nv == 2);
        BOOST_TEST(m->nu == 2);
        BOOST_TEST(m->opt.timestep == PointMass::kTimestep);
        BOOST_TEST(m->opt.integrator == mjINT_EULER);
        BOOST_TEST(m->opt.gravity[2] == 0.0);
        const int ball = mj_name2id(m.get(), mjOBJ_BODY, "ball");
        BOOST_TEST_REQUIRE(ball >= 0);
        BOOST_TEST(m->body_pos[3 * ball] == MujocoMaze::kBallWorldOffset);
        BOOST_TEST(m->body_pos[3 * ball + 1] == MujocoMaze::kBallWorldOffset);
        BOOST_TEST(std::abs(m->body_mass[ball] - 4.0 / 3.0 * M_PI * std::pow(PointMass::kRadius, 3) * 1000.0) < 1e-12);
        BOOST_TEST(std::abs(m->body_mass[ball] - PointMass::kMass) < 1e-5);
        for (int k = 0; k < 2; ++k) {
            BOOST_TEST(m->dof_damping[k] == PointMass::kDamping);
            BOOST_TEST(m->actuator_gear[6 * k] == PointMass::kGear);
            BOOST_TEST(m->actuator_ctrlrange[2 * k] == -1.0);
            BOOST_TEST(m->actuator_ctrlrange[2 * k + 1] == 1.0);
        }
        int walls = 0;
        for (int i = 0; i < maze.rows; ++i)
            for (int j = 0; j < maze.cols; ++j) walls += maze.wall(i, j);
        BOOST_TEST(m->ngeom == walls + 1);
        for (int g = 0; g < m->ngeom; ++g) {
            BOOST_TEST(m->geom_condim[g] == 1);
            BOOST_TEST(m->geom_margin[g] == MujocoMaze::kMargin);
        }
        const int wall = mj_name2id(m.get(), mjOBJ_GEOM, "wall_0_0");
        BOOST_TEST_REQUIRE(wall >= 0);
        BOOST_TEST(m->geom_type[wall] == mjGEOM_BOX);
        BOOST_TEST(m->geom_pos[3 * wall] == 1.0);
        BOOST_TEST(m->geom_pos[3 * wall + 1] == 1.0);
        BOOST_TEST(m->geom_size[3 * wall] == MujocoMaze::kWallHalfSize);
    }
}

// In free space MuJoCo's Euler step with implicit damping is the closed form of maze2d.hpp, to round-off with
// MuJoCo's own mass; our simulator (mass 4.18879) stays within kFreeSpaceTol over 300 steps. The first step starts
// above the velocity clip, which both apply before integrating.
BOOST_AUTO_TEST_CASE(free_space_steps_agree_with_the_closed_form_and_ours) {
    const Maze& maze = maze_by_name("large");
    const auto m = model_of(maze);
    const double mass = m->body_mass[mj_name2id(m.get(), mjOBJ_BODY, "ball")];
    const double h = PointMass::kTimestep, b = PointMass::kDamping;
    auto mujoco = make_mujoco_point_mass(maze);
    auto ours = make_our_point_mass(maze);
    // Cell (3, 1) of the large maze's free row i = 3 (cells j = 1..6, y in [0.4, 6.2] for the ball), vy above the
    // clip; a PD law (computed on the closed-form state, so every simulator gets the same actions) follows a target
    // that swings along the row.
    const PointMassState start{2.8, 1.0, 0.5, 6.0};
    mujoco->set_state(start);
    ours->set_state(start);
    PointMassState closed = start;
    for (int t = 0; t < 300; ++t) {
        const double tx = 2.8 + 0.1 * std::sin(0.05 * t), ty = 3.0 + 1.5 * std::sin(0.02 * t);
        const double ux = std::clamp(10.0 * (tx - closed.x) - 1.5 * closed.vx, -1.0, 1.0);
        const double uy = std::clamp(10.0 * (ty - closed.y) - 1.5 * closed.vy, -1.0, 1.0);
        closed.vx = std::clamp(closed.vx, -PointMass::kVelocityLimit, PointMass::kVelocityLimit);
        closed.vy = std::clamp(closed.vy, -PointMass::kVelocityLimit, PointMass::kVelocityLimit);
        closed.vx += h * (PointMass::kGear * ux - b * closed.vx) / (mass + h * b);
        closed.vy += h * (PointMass::kGear * uy - b * closed.vy) / (mass + h * b);
        closed.x += h * closed.vx;
        closed.y += h * closed.vy;
        const PointMassState a = mujoco->step(ux, uy);
        const PointMassState o = ours->step(ux, uy);
        BOOST_TEST_REQUIRE(wall_clearance(maze, a.x, a.y) > MujocoMaze::kMargin, "step " << t << " reached a wall");
        for (const auto& [got, want] : {std::pair{a.x, closed.x}, {a.y, closed.y}, {a.vx, closed.vx}, {a.vy, closed.vy}})
            BOOST_TEST_REQUIRE(std::abs(got - want) < kExactTol, "step " << t << ": MuJoCo " << got << ", closed form "
                                                                         << want);
        for (const auto& [got, want] : {std::pair{o.x, a.x}, {o.y, a.y}, {o.vx, a.vx}, {o.vy, a.vy}})
            BOOST_TEST_REQUIRE(std::abs(got - want) < kFreeSpaceTol, "step " << t << ": ours " << got << ", MuJoCo "
                                                                             << want);
    }
}

// Saturated random driving (each axis +-1, a new sign every ~8 steps) sinks MuJoCo's ball into the walls by a few
// cm at most: the soft contact's transient. It never ends a step deeper than MujocoMaze::kPenetrationBound or faster
// than MujocoMaze::kSpeedBound (the bounds of the env's observation box), it does penetrate and does leave a wall
// faster than the clip (the contact is soft), and a ball pushed steadily into a wall comes to rest inside the contact
// margin, not inside the wall.
BOOST_AUTO_TEST_CASE(ball_never_ends_inside_a_wall_beyond_the_soft_contact_bound) {
    constexpr std::size_t kStepsPerMaze = 40000;
    data::Rng rng(77);
    for (const char* size : kMazes) {
        const Maze& maze = maze_by_name(size);
        Maze2dEnv env(maze, false, make_mujoco_point_mass(maze));
        const Box box = env.observation_space();
        double deepest = 0.0, fastest = 0.0, ux = 1.0, uy = -1.0;
        env.reset(rng);
        for (std::size_t t = 0; t < kStepsPerMaze; ++t) {
            if (env.elapsed_steps() == env.max_episode_steps()) env.reset(rng);
            if (rng.randint(8) == 0) ux = rng.randint(2) ? 1.0 : -1.0;
            if (rng.randint(8) == 0) uy = rng.randint(2) ? 1.0 : -1.0;
            const std::vector<float> obs = env.step({static_cast<float>(ux), static_cast<float>(uy)}).obs;
            const PointMassState& s = env.state();
            deepest = std::max(deepest, -wall_clearance(maze, s.x, s.y));
            fastest = std::max(fastest, std::max(std::abs(s.vx), std::abs(s.vy)));
            for (std::size_t k = 0; k < 4; ++k)
                BOOST_TEST_REQUIRE((obs[k] >= box.low[k] && obs[k] <= box.high[k]),
                                   size << " step " << t << ": obs[" << k << "] = " << obs[k] << " outside ["
                                        << box.low[k] << ", " << box.high[k] << "]");
        }
        BOOST_TEST_MESSAGE(size << ": deepest penetration " << deepest << ", fastest " << fastest);
        BOOST_TEST(deepest < MujocoMaze::kPenetrationBound, size << ": " << deepest);
        BOOST_TEST(deepest > 0.01, size << ": " << deepest);
        BOOST_TEST(fastest < MujocoMaze::kSpeedBound, size << ": " << fastest);
        BOOST_TEST(fastest > PointMass::kVelocityLimit, size << ": " << fastest);
    }
    // Pushed into the wall of cell (0, 3) from cell (1, 3) at full speed: it rests within the margin, outside the box.
    const Maze& umaze = maze_by_name("umaze");
    auto mujoco = make_mujoco_point_mass(umaze);
    mujoco->set_state({1.0, 3.0, -5.0, 0.0});
    PointMassState s;
    for (int t = 0; t < 200; ++t) s = mujoco->step(-1.0, 0.0);
    const double rest = wall_clearance(umaze, s.x, s.y);
    BOOST_TEST(rest > 0.0);
    BOOST_TEST(rest < MujocoMaze::kMargin + kMarginTol);
    BOOST_TEST(std::abs(s.vx) < 1e-6);
}

// The same seed gives the same start as our env (both draw maze_reset_state) and, under the same actions, the same
// MuJoCo trajectory bit for bit, also after the env was used (mj_resetData clears the solver's warm start).
BOOST_AUTO_TEST_CASE(seeded_resets_are_reproducible) {
    auto env = make_env("maze2d-medium-mujoco");
    auto ours = make_env("maze2d-medium");
    const auto run = [&](std::uint64_t seed) {
        std::vector<float> trace = env->reset(seed);
        data::Rng actions(seed + 1000);
        for (int t = 0; t < 150; ++t) {
            const float ux = actions.randint(2) ? 1.0f : -1.0f, uy = actions.uniform(-1.0f, 1.0f);
            const auto obs = env->step({ux, uy}).obs;
            trace.insert(trace.end(), obs.begin(), obs.end());
        }
        return trace;
    };
    const std::vector<float> first = run(5);
    run(6);
    BOOST_TEST(run(5) == first);
    BOOST_TEST(env->reset(9) == ours->reset(9));
}

BOOST_AUTO_TEST_CASE(names_factory_and_reference_scores) {
    const auto names = known_env_names();
    for (const char* size : kMazes)
        for (const char* suffix : {"-mujoco", "-dense-mujoco"}) {
            const std::string name = std::string("maze2d-") + size + suffix;
            BOOST_TEST((std::find(names.begin(), names.end(), name) != names.end()), name);
            auto env = make_env(name);
            BOOST_TEST(env->name() == name);
            const auto& maze_env = dynamic_cast<const Maze2dEnv&>(*env);
            BOOST_TEST(maze_env.simulator().kind() == "mujoco");
            BOOST_TEST(maze_env.dense() == (std::string(suffix) == "-dense-mujoco"));
            BOOST_TEST(policy_kinds(*env) == (std::vector<std::string>{"expert", "random"}));
        }
    BOOST_TEST(contains(error_of([] { make_env("maze2d-umaze-mujoco-dense"); }), "unknown environment"));
    BOOST_TEST(reference_scores("maze2d-large-dense-mujoco")->ref_max == reference_scores("maze2d-large-dense")->ref_max);
    // The expert never touches a wall, so its MuJoCo returns are ours; the random policy's agree within a fraction
    // of a normalised point (docs/environments.md has the 1000-episode means).
    constexpr double kRandomScoreTol = 2.0;  // normalised points, 200 episodes
    auto env = make_env("maze2d-umaze-mujoco");
    auto ours = make_env("maze2d-umaze");
    for (const char* kind : {"expert", "random"}) {
        const auto mean_return = [&](Env& e) {
            auto policy = make_policy(e, kind);
            double sum = 0.0;
            for (const auto& s : run_episodes(e, *policy, 200, 3)) sum += s.episode_return;
            return sum / 200.0;
        };
        const double a = *normalized_score(env->name(), mean_return(*env));
        const double b = *normalized_score(ours->name(), mean_return(*ours));
        BOOST_TEST(std::abs(a - b) < (std::string(kind) == "expert" ? 1e-9 : kRandomScoreTol), kind << ": " << a << " vs " << b);
    }
}

// The synthetic-data check's oracle of a -mujoco maze steps MuJoCo from the given state (the env's own step after a
// reset to it) and accepts states as deep in a wall as MuJoCo's contact lets a ball go.
BOOST_AUTO_TEST_CASE(transition_oracle_steps_mujoco) {
    const auto oracle = eval::transition_oracle("maze2d-umaze-mujoco");
    BOOST_TEST_REQUIRE(oracle.has_value());
    const Maze& maze = maze_by_name("umaze");
    auto sim = make_mujoco_point_mass(maze);
    // Cell (1, 3) beside the wall cell (0, 3), whose face is at x = 0.3: the ball touches it at x = 0.4.
    const float s[4] = {0.41f, 3.0f, -4.0f, 0.5f}, a[2] = {-1.0f, 0.3f};
    sim->set_state({s[0], s[1], s[2], s[3]});
    const PointMassState want = sim->step(a[0], a[1]);
    float next[4];
    oracle->step(s, a, next);
    BOOST_TEST(next[0] == static_cast<float>(want.x));
    BOOST_TEST(next[2] == static_cast<float>(want.vx));
    BOOST_TEST(next[0] < 0.4f);  // it sinks into the wall
    const float inside[4] = {0.35f, 3.0f, 0.0f, 0.0f}, too_deep[4] = {0.25f, 3.0f, 0.0f, 0.0f};
    BOOST_TEST(oracle->valid(inside));
    BOOST_TEST(!oracle->valid(too_deep));
    BOOST_TEST(!eval::transition_oracle("maze2d-umaze")->valid(inside));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(divergence)

// The result has one entry per source and one row per requested horizon within the episode; every row's free and
// contact groups split its episodes; free-space episodes agree to kFreeSpaceTol; saturated driving touches walls
// often, and only MuJoCo's ball penetrates.
BOOST_AUTO_TEST_CASE(result_shape_and_free_space_agreement) {
    MazeDivergenceConfig config;
    config.episodes = 6;
    config.steps = 120;
    config.horizons = {100, 1, 10, 500, 10};
    const MazeDivergenceResult r = maze_divergence("maze2d-umaze", "maze2d-umaze-mujoco", config);
    BOOST_TEST(r.steps == 120u);
    BOOST_TEST_REQUIRE(r.sources.size() == 3u);
    const char* const sources[] = {"waypoint", "saturated", "uniform"};
    for (std::size_t s = 0; s < 3; ++s) {
        const SourceDivergence& src = r.sources[s];
        BOOST_TEST(src.source == sources[s]);
        BOOST_TEST_REQUIRE(src.rows.size() == 3u);
        const std::size_t steps[] = {1, 10, 100};
        for (std::size_t k = 0; k < 3; ++k) {
            const DivergenceRow& row = src.rows[k];
            BOOST_TEST(row.step == steps[k]);
            BOOST_TEST(row.all.episodes == 6u);
            BOOST_TEST(row.free.episodes + row.contact.episodes == 6u);
            BOOST_TEST(row.free.pos_max < kFreeSpaceTol);
            BOOST_TEST(row.free.vel_max < kFreeSpaceTol);
            BOOST_TEST(row.all.pos_max >= row.all.pos_mean);
        }
        BOOST_TEST(src.penetration_a < 1e-12);
        BOOST_TEST(src.penetration_b < MujocoMaze::kPenetrationBound);
    }
    BOOST_TEST(r.sources[1].contact_share_a > 0.2);
    BOOST_TEST(r.sources[1].contact_share_b > 0.2);
    BOOST_TEST(r.sources[1].rows[2].contact.episodes > 0u);
    BOOST_TEST(r.sources[1].penetration_b > 0.0);

    const std::string text = maze_divergence_text(r);
    BOOST_TEST(contains(text, "divergence of maze2d-umaze-mujoco from maze2d-umaze"));
    BOOST_TEST(contains(text, "source saturated: steps in contact"));
    std::size_t lines = 0;
    for (char c : text) lines += c == '\n';
    BOOST_TEST(lines == 1u + 3u * (3u + 3u * 3u));  // title; per source: blank, header, column names, 3 x 3 rows

    BOOST_TEST(contains(error_of([&] { maze_divergence("maze2d-umaze", "maze2d-medium-mujoco", config); }),
                        "different mazes"));
    BOOST_TEST(contains(error_of([&] { maze_divergence("maze2d-umaze", "pendulum", config); }), "not a maze2d env"));
    config.steps = 301;
    BOOST_TEST(contains(error_of([&] { maze_divergence("maze2d-umaze", "maze2d-umaze-mujoco", config); }),
                        "exceed the episode limit 300"));
}

// `evaluate-controller --against` end to end, and `dataset generate` and `train-agent` on a MuJoCo maze.
BOOST_AUTO_TEST_CASE(cli_against_and_generate) {
    test::TempDir dir;
    test::CliResult r = test::run_dydiff(dir, {"evaluate-controller", "--env", "maze2d-umaze", "--against",
                                               "maze2d-umaze-mujoco", "--episodes", "3", "--steps", "20"});
    BOOST_TEST_REQUIRE(r.code == 0, r.all());
    BOOST_TEST(contains(r.out, "3 episodes of 20 steps per action source"), r.out);
    BOOST_TEST(contains(r.out, "source uniform"), r.out);
    BOOST_TEST(contains(r.out, "    10  contact"), r.out);
    r = test::run_dydiff(dir, {"evaluate-controller", "--env", "maze2d-umaze", "--steps", "20"});
    BOOST_TEST(r.code == 2);
    BOOST_TEST(contains(r.err, "--steps needs --against"), r.err);
    r = test::run_dydiff(dir, {"evaluate-controller", "--env", "maze2d-umaze-mujoco", "--episodes", "2"});
    BOOST_TEST_REQUIRE(r.code == 0, r.all());
    BOOST_TEST(contains(r.out, "measured on our simulator"), r.out);
    r = test::run_dydiff(dir, {"dataset", "generate", "--env", "maze2d-umaze-mujoco", "--steps", "500", "--out",
                               "m.npz"});
    BOOST_TEST_REQUIRE(r.code == 0, r.all());
    BOOST_TEST(contains(test::run_dydiff(dir, {"dataset", "info", "m.npz"}).out, "maze2d-umaze-mujoco"));
    // A learner trained on it evaluates in the env the file records, MuJoCo's.
    r = test::run_dydiff(dir, {"train-agent", "m.npz", "--algo", "bc", "--out", "bc", "--set", "steps=4", "--set",
                               "eval_every=2", "--set", "log_every=2", "--set", "eval_episodes=2", "--set",
                               "bc.hidden=16", "--set", "bc.batch=16", "--threads", "1"});
    BOOST_TEST_REQUIRE(r.code == 0, r.all());
    BOOST_TEST(contains(test::read_text(dir.path() / "bc" / "config.toml"), "maze2d-umaze-mujoco"));
    BOOST_TEST(contains(test::read_text(dir.path() / "bc" / "eval.csv"), "\n4,2,"));
}

BOOST_AUTO_TEST_SUITE_END()

#endif
