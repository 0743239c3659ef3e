// The MuJoCo locomotion envs (dydiff/envs/locomotion.hpp): the embedded models against the published model facts
// (sizes, masses, timesteps), the D4RL dimensions, the termination rule of model rollouts against the env's own
// termination over long random rollouts, seeded resets, rewards computed by hand on free-flight steps, velocity
// clipping, D4RL names, and the random dataset recipe.
#if DYDIFF_HAVE_MUJOCO

#include "support/errors.hpp"
#include "data/dataset.hpp"
#include "dydiff/envs/controllers.hpp"
#include "dydiff/envs/env.hpp"
#include "dydiff/envs/generate.hpp"
#include "dydiff/envs/locomotion.hpp"
#include "dydiff/envs/mjcf_models.hpp"
#include "dydiff/envs/mujoco_model.hpp"
#include "dydiff/envs/scores.hpp"
#include "dydiff/envs/termination.hpp"
#include "dydiff/eval/synthetic_check.hpp"
#include "data/transitions.hpp"

#include <boost/test/unit_test.hpp>
#include <mujoco/mujoco.h>

#include <cmath>
#include <memory>
#include <string>
#include <vector>

using dydiff::test::contains;
using dydiff::test::error_of;
using namespace dydiff;
using namespace dydiff::envs;

namespace {

constexpr double kMassTol = 5e-3;  // the published masses are printed with 3 decimals (kg)

/// The embedded MJCF of `task`, compiled through the shared compile_mjcf (the env's own code is not involved).
std::shared_ptr<const mjModel> load_embedded(const std::string& task) {
    for (const auto& f : embedded_mjcf_files())
        if (f.name == task) return compile_mjcf(task, f.xml);
    BOOST_FAIL("no embedded MJCF " << task);
    return nullptr;
}

double body_mass(const mjModel* m, const char* body) {
    const int id = mj_name2id(m, mjOBJ_BODY, body);
    BOOST_REQUIRE_MESSAGE(id >= 0, "no body " << body);
    return m->body_mass[id];
}

xt::xtensor<float, 2> row(const std::vector<float>& v) {
    xt::xtensor<float, 2> out = xt::zeros<float>({std::size_t{1}, v.size()});
    std::copy(v.begin(), v.end(), out.data());
    return out;
}

std::vector<float> uniform_action(const Box& box, data::Rng& rng) {
    std::vector<float> a(box.dim());
    for (std::size_t k = 0; k < a.size(); ++k)
        a[k] = static_cast<float>(box.low[k] + (box.high[k] - box.low[k]) * rng.uniform_double());
    return a;
}

/// `steps` rows of the random recipe of locomotion task `name`.
data::Dataset random_dataset(const std::string& name, std::size_t steps, std::uint64_t seed) {
    GenerateConfig config;
    config.env = name;
    config.kind = "random";
    config.steps = steps;
    config.seed = seed;
    return generate_dataset(config);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(models)

// Masses follow from capsule volumes at density 1000 (hopper, walker2d) or from settotalmass 14 (halfcheetah); a
// wrong size, fromto or body placement shows up here.
BOOST_AUTO_TEST_CASE(masses_and_sizes_match_the_published_models) {
    const auto hopper = load_embedded("hopper");
    BOOST_TEST(hopper->nq == 6);
    BOOST_TEST(hopper->nu == 3);
    BOOST_TEST(hopper->opt.timestep == 0.002);
    BOOST_TEST(hopper->opt.integrator == mjINT_RK4);
    BOOST_TEST(std::abs(body_mass(hopper.get(), "torso") - 3.665) < kMassTol);
    BOOST_TEST(std::abs(body_mass(hopper.get(), "thigh") - 4.058) < kMassTol);
    BOOST_TEST(std::abs(body_mass(hopper.get(), "leg") - 2.781) < kMassTol);
    BOOST_TEST(std::abs(body_mass(hopper.get(), "foot") - 5.316) < kMassTol);
    BOOST_TEST(hopper->qpos0[1] == 1.25);  // rootz ref: the torso's height at rest
    for (int k = 0; k < hopper->nu; ++k) BOOST_TEST(hopper->actuator_gear[6 * k] == 200.0);

    const auto walker = load_embedded("walker2d");
    BOOST_TEST(walker->nq == 9);
    BOOST_TEST(walker->nu == 6);
    BOOST_TEST(walker->opt.timestep == 0.002);
    BOOST_TEST(std::abs(body_mass(walker.get(), "foot") - 3.167) < kMassTol);
    BOOST_TEST(std::abs(body_mass(walker.get(), "foot_left") - 3.167) < kMassTol);
    double total = 0.0;
    for (int b = 0; b < walker->nbody; ++b) total += walker->body_mass[b];
    BOOST_TEST(std::abs(total - 23.68) < kMassTol);
    const int right = mj_name2id(walker.get(), mjOBJ_GEOM, "foot_geom");
    const int left = mj_name2id(walker.get(), mjOBJ_GEOM, "foot_left_geom");
    BOOST_TEST(walker->geom_friction[3 * right] == 0.9);
    BOOST_TEST(walker->geom_friction[3 * left] == 1.9);

    const auto cheetah = load_embedded("halfcheetah");
    BOOST_TEST(cheetah->nq == 9);
    BOOST_TEST(cheetah->nu == 6);
    BOOST_TEST(cheetah->opt.timestep == 0.01);
    BOOST_TEST(cheetah->opt.integrator == mjINT_EULER);
    const char* bodies[] = {"torso", "bthigh", "bshin", "bfoot", "fthigh", "fshin", "ffoot"};
    const double masses[] = {6.25, 1.54, 1.59, 1.10, 1.44, 1.20, 0.88};
    for (int i = 0; i < 7; ++i)
        BOOST_TEST(std::abs(body_mass(cheetah.get(), bodies[i]) - masses[i]) < kMassTol, bodies[i]);
    const double gears[] = {120, 90, 60, 120, 60, 30};
    for (int k = 0; k < 6; ++k) BOOST_TEST(cheetah->actuator_gear[6 * k] == gears[k]);
}

// D4RL's files: hopper observations (N, 11) and actions (N, 3); halfcheetah and walker2d (N, 17) and (N, 6); their
// infos/qpos and infos/qvel hold nq and nv columns.
BOOST_AUTO_TEST_CASE(dimensions_match_d4rl) {
    const std::pair<const char*, std::array<std::size_t, 4>> expected[] = {
        {"hopper", {11, 3, 6, 6}}, {"halfcheetah", {17, 6, 9, 9}}, {"walker2d", {17, 6, 9, 9}}};
    for (const auto& [name, dims] : expected) {
        LocomotionEnv env(name);
        BOOST_TEST(env.obs_dim() == dims[0], name);
        BOOST_TEST(env.action_dim() == dims[1], name);
        BOOST_TEST(env.qpos().size() == dims[2], name);
        BOOST_TEST(env.qvel().size() == dims[3], name);
        BOOST_TEST(env.reset(0).size() == dims[0], name);
        BOOST_TEST(env.max_episode_steps() == 1000u, name);
        const Box box = env.action_space();
        for (std::size_t k = 0; k < box.dim(); ++k) BOOST_TEST((box.low[k] == -1.0f && box.high[k] == 1.0f), name);
    }
    BOOST_TEST(LocomotionEnv("hopper").dt() == 0.008);
    BOOST_TEST(LocomotionEnv("walker2d").dt() == 0.008);
    BOOST_TEST(std::abs(LocomotionEnv("halfcheetah").dt() - 0.05) < 1e-15);
}

BOOST_AUTO_TEST_CASE(d4rl_names_and_factory) {
    auto env = make_env("hopper-medium-v2");
    BOOST_TEST(env->name() == "hopper-medium-v2");
    BOOST_TEST(env->obs_dim() == 11u);
    BOOST_TEST(make_env("walker2d-medium-replay-v2")->action_dim() == 6u);
    const auto names = known_env_names();
    for (const char* task : {"hopper", "halfcheetah", "walker2d"})
        BOOST_TEST((std::find(names.begin(), names.end(), task) != names.end()), task);
    BOOST_TEST(contains(error_of([] { make_env("hoppers"); }), "unknown environment 'hoppers'"));
    BOOST_TEST(policy_kinds(*env) == std::vector<std::string>{"random"});
    BOOST_TEST(contains(error_of([&] { make_policy(*env, "expert"); }), "known: random"));
    BOOST_TEST(*normalized_score(env->name(), 3234.3) == 100.0);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(wrapper)

// The same seed gives the same start and, under the same actions, the same trajectory bit for bit, also after the
// env was used (mj_resetData clears the warm start); the reset noise stays within the spec's bounds.
BOOST_AUTO_TEST_CASE(seeded_resets_are_reproducible) {
    for (const char* name : {"hopper", "halfcheetah", "walker2d"}) {
        const auto run = [&](LocomotionEnv& env, std::uint64_t seed) {
            std::vector<float> trace = env.reset(seed);
            data::Rng actions(99);
            for (int t = 0; t < 30; ++t) {
                const StepResult r = env.step(uniform_action(env.action_space(), actions));
                trace.insert(trace.end(), r.obs.begin(), r.obs.end());
                trace.push_back(static_cast<float>(r.reward));
                if (r.terminated) break;
            }
            return trace;
        };
        LocomotionEnv a(name), b(name);
        const auto first = run(a, 7);
        run(b, 3);  // b has stepped before
        BOOST_TEST(run(b, 7) == first, name);
        BOOST_TEST(run(a, 8) != first, name);

        const LocomotionSpec& spec = a.spec();
        a.reset(11);
        const auto q = a.qpos(), v = a.qvel();
        for (std::size_t k = 0; k < spec.nq; ++k) {
            const double rest = (k == 1 && spec.name != "halfcheetah") ? 1.25 : 0.0;
            BOOST_TEST(std::abs(q[k] - rest) <= spec.reset_qpos_noise, name << " qpos " << k);
        }
        if (!spec.reset_qvel_normal)
            for (std::size_t k = 0; k < spec.nv; ++k) BOOST_TEST(std::abs(v[k]) <= spec.reset_qvel_noise);
    }
}

// In free flight with the joints at rest, nothing acts along x and the chain moves as one rigid body: rootx advances
// by v0 dt exactly, so the reward is v0 + healthy_reward with no action. The control cost reads the action as
// given, while the motors saturate at 1 (an action of 2 moves the body as an action of 1 does).
BOOST_AUTO_TEST_CASE(reward_by_hand_in_free_flight) {
    constexpr double kTol = 1e-9;
    struct Case {
        const char* name;
        std::vector<double> qpos;
        double healthy, ctrl_cost;
    };
    const Case cases[] = {
        {"hopper", {0.3, 3.0, 0.0, -0.5, -0.5, 0.2}, 1.0, 1e-3},
        {"walker2d", {0.3, 1.9, 0.0, -0.5, -0.5, 0.2, -0.3, -0.4, 0.1}, 1.0, 1e-3},
        {"halfcheetah", {0.3, 2.0, 0.0, 0, 0, 0, 0, 0, 0}, 0.0, 0.1},
    };
    constexpr double kV0 = 1.5;
    for (const Case& c : cases) {
        LocomotionEnv env(c.name);
        env.reset(0);
        std::vector<double> qvel(c.qpos.size(), 0.0);
        qvel[0] = kV0;
        env.set_state(c.qpos, qvel);
        const std::vector<float> zero(env.action_dim(), 0.0f);
        const StepResult r = env.step(zero);
        BOOST_TEST(std::abs(r.reward - (kV0 + c.healthy)) < kTol, c.name << ": reward " << r.reward);
        BOOST_TEST(std::abs(env.qpos()[0] - (0.3 + kV0 * env.dt())) < kTol, c.name);
        BOOST_TEST(!r.terminated, c.name);

        std::vector<float> a(env.action_dim(), 0.0f), saturated(env.action_dim(), 0.0f);
        a[0] = 2.0f;
        a[1] = -0.5f;
        saturated[0] = 1.0f;
        saturated[1] = -0.5f;
        env.set_state(c.qpos, qvel);
        const StepResult ra = env.step(a);
        const double x_a = env.qpos()[0];
        env.set_state(c.qpos, qvel);
        const StepResult rs = env.step(saturated);
        BOOST_TEST(ra.obs == rs.obs, c.name);
        const double progress = (x_a - 0.3) / env.dt();
        BOOST_TEST(std::abs(ra.reward - (progress + c.healthy - c.ctrl_cost * (4.0 + 0.25))) < kTol, c.name);
        BOOST_TEST(std::abs(rs.reward - (progress + c.healthy - c.ctrl_cost * (1.0 + 0.25))) < kTol, c.name);
    }
}

// hopper and walker2d clip the observation's velocities to +-10; halfcheetah does not. The state keeps them.
BOOST_AUTO_TEST_CASE(velocity_clipping) {
    for (const char* name : {"hopper", "halfcheetah", "walker2d"}) {
        LocomotionEnv env(name);
        env.reset(0);
        std::vector<double> qpos = env.qpos(), qvel(env.qvel().size(), 0.0);
        qvel[3] = 50.0;
        qvel[4] = -50.0;
        const auto obs = env.set_state(qpos, qvel);
        const std::size_t at = qpos.size() - 1;  // qvel starts after qpos[1:]
        const float expected = std::string(name) == "halfcheetah" ? 50.0f : 10.0f;
        BOOST_TEST(obs[at + 3] == expected, name);
        BOOST_TEST(obs[at + 4] == -expected, name);
        BOOST_TEST(env.qvel()[3] == 50.0, name);
        for (std::size_t k = 1; k < qpos.size(); ++k) BOOST_TEST(obs[k - 1] == static_cast<float>(qpos[k]));
    }
}

// hopper terminates on |s[2:]| >= 100 over the unclipped state; its observation clips the velocities.
BOOST_AUTO_TEST_CASE(env_termination_rules) {
    const LocomotionSpec& hopper = locomotion_spec("hopper");
    double q[6] = {0, 1.25, 0, 0, 0, 0}, v[6] = {0, 0, 0, 0, 0, 0};
    BOOST_TEST(!locomotion_terminated(hopper, q, v));
    v[5] = 100.0;
    BOOST_TEST(locomotion_terminated(hopper, q, v));
    v[5] = 0.0;
    q[1] = 0.7;
    BOOST_TEST(locomotion_terminated(hopper, q, v));
    q[1] = 1.25;
    q[2] = -0.2;
    BOOST_TEST(locomotion_terminated(hopper, q, v));
    q[2] = 0.0;
    v[0] = std::nan("");
    BOOST_TEST(locomotion_terminated(hopper, q, v));

    const LocomotionSpec& walker = locomotion_spec("walker2d");
    double wq[9] = {0, 1.25, 0}, wv[9] = {};
    BOOST_TEST(!locomotion_terminated(walker, wq, wv));
    wq[1] = 2.0;
    BOOST_TEST(locomotion_terminated(walker, wq, wv));
    wq[1] = 1.25;
    wq[2] = 1.0;
    BOOST_TEST(locomotion_terminated(walker, wq, wv));

    const LocomotionSpec& cheetah = locomotion_spec("halfcheetah");
    double cq[9] = {0, -5, 3}, cv[9] = {};
    BOOST_TEST(!locomotion_terminated(cheetah, cq, cv));
}

// The rule of model rollouts (termination_fn, reading observations) agrees with the env's own termination (reading
// the simulator state) on every step of long random rollouts: the same steps end the same episodes.
BOOST_AUTO_TEST_CASE(rollout_termination_agrees_with_the_env) {
    struct Case {
        const char* name;
        std::size_t steps;      // env steps in total
        std::size_t min_ends;   // terminations the rollouts must contain (so both outcomes are exercised)
    };
    const Case cases[] = {{"hopper", 20000, 200}, {"walker2d", 20000, 200}, {"halfcheetah", 3000, 0}};
    for (const Case& c : cases) {
        LocomotionEnv env(c.name);
        const TerminationFn rule = termination_fn(c.name);
        data::Rng rng(2024);
        std::size_t steps = 0, ends = 0, disagree = 0;
        std::vector<float> obs = env.reset(rng);
        while (steps < c.steps) {
            const std::vector<float> a = uniform_action(env.action_space(), rng);
            const StepResult r = env.step(a);
            ++steps;
            const bool predicted = rule(row(obs), row(a), row(r.obs))(0) != 0.0f;
            disagree += predicted != r.terminated;
            ends += r.terminated;
            obs = r.obs;
            if (r.terminated || r.truncated) obs = env.reset(rng);
        }
        BOOST_TEST(disagree == 0u, c.name << ": " << disagree << " of " << steps << " steps disagree");
        BOOST_TEST(ends >= c.min_ends, c.name << ": " << ends << " terminations");
        if (c.min_ends == 0) BOOST_TEST(ends == 0u, c.name);
    }
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(recipes)

// `dydiff synthetic`'s true one-step model of each task (eval::transition_oracle): the state is the observation with
// x = 0, since nothing depends on x. On the random recipe's own rows it reproduces s' and the stored reward to
// float round-off, except on rows with a clipped velocity (hopper, walker2d), which are not valid states.
BOOST_AUTO_TEST_CASE(transition_oracle_reproduces_the_recipe) {
    for (const char* name : {"hopper", "walker2d", "halfcheetah"}) {
        const data::Dataset d = random_dataset(name, 1500, 5);
        const data::Transitions t = data::make_transitions(d);
        const auto oracle = eval::transition_oracle(name);
        BOOST_TEST_REQUIRE(oracle.has_value(), name);
        BOOST_TEST(oracle->obs_dim == d.obs_dim());
        BOOST_TEST(oracle->action_dim == d.action_dim());
        const eval::TransitionCheck c =
            eval::check_transitions(*oracle, t, std::vector<double>(d.obs_dim(), 1.0), 0, 0);
        BOOST_TEST(c.total == t.size());
        // Random walker2d flails: most of its rows have a velocity at the clip.
        BOOST_TEST(c.checked > t.size() / 10, name << ": " << c.checked << " of " << c.total);
        BOOST_TEST(c.state_error_mean < 1e-4, name << ": " << c.state_error_mean);
        BOOST_TEST(c.state_error_p90 < 1e-4, name << ": " << c.state_error_p90);
        BOOST_TEST(c.reward_error_mean < 1e-4, name << ": " << c.reward_error_mean);
        // A changed action moves the true step (the check is not vacuous).
        std::vector<float> a(d.action_dim(), 1.0f), b(d.action_dim(), -1.0f), next_a(d.obs_dim()), next_b(d.obs_dim());
        oracle->step(&t.observations(0, 0), a.data(), next_a.data());
        oracle->step(&t.observations(0, 0), b.data(), next_b.data());
        BOOST_TEST(next_a != next_b);
    }
    std::vector<float> clipped(11, 0.0f);
    clipped[0] = 1.25f;
    clipped[8] = 10.0f;  // a velocity at hopper's clip
    BOOST_TEST(!eval::transition_oracle("hopper")->valid(clipped.data()));
    clipped[8] = 9.0f;
    BOOST_TEST(eval::transition_oracle("hopper")->valid(clipped.data()));
}

// The random recipe: D4RL layout, next_observations[t] = observations[t + 1] inside an episode, terminals where
// the rollout rule says so, timeouts at the 1000-step limit and on the last row, infos/qpos matching observations,
// identical arrays for the same seed.
BOOST_AUTO_TEST_CASE(random_datasets) {
    for (const char* name : {"hopper", "walker2d", "halfcheetah"}) {
        const data::Dataset d = random_dataset(name, 2500, 3);
        BOOST_TEST(d.env == name);
        BOOST_TEST(d.size() == 2500u);
        const std::size_t S = d.obs_dim();
        BOOST_REQUIRE(d.next_observations.has_value());
        const auto& next = *d.next_observations;
        BOOST_TEST(S == LocomotionEnv(name).obs_dim());
        const auto done = termination_fn(name)(d.observations, d.actions, next);
        const auto& qpos = d.infos.at("infos/qpos");
        std::size_t ends = 0, length = 0;
        for (std::size_t t = 0; t < d.size(); ++t) {
            ++length;
            BOOST_TEST(d.terminals(t) == done(t), name << " row " << t);
            for (std::size_t k = 1; k < qpos.shape()[1]; ++k) BOOST_TEST(qpos(t, k) == d.observations(t, k - 1));
            const bool end = d.terminals(t) != 0.0f || d.timeouts(t) != 0.0f;
            BOOST_TEST(!(d.terminals(t) != 0.0f && d.timeouts(t) != 0.0f));
            if (d.timeouts(t) != 0.0f) BOOST_TEST((length == 1000u || t + 1 == d.size()), name << " row " << t);
            if (!end && t + 1 < d.size())
                for (std::size_t k = 0; k < S; ++k) BOOST_TEST(next(t, k) == d.observations(t + 1, k));
            if (end) {
                ++ends;
                length = 0;
            }
        }
        BOOST_TEST(d.timeouts(d.size() - 1) + d.terminals(d.size() - 1) == 1.0f);
        BOOST_TEST(ends >= (std::string(name) == "halfcheetah" ? 3u : 20u), name);
        const data::Dataset again = random_dataset(name, 2500, 3);
        BOOST_TEST(again.observations == d.observations);
        BOOST_TEST(again.rewards == d.rewards);
    }
    GenerateConfig bad;
    bad.env = "hopper";
    bad.kind = "medium";
    BOOST_TEST(contains(error_of([&] { generate_dataset(bad); }), "unknown dataset kind 'medium' for hopper (known: random)"));
}

BOOST_AUTO_TEST_SUITE_END()

#endif
