// The embedded policy against the training library: a policy file written by nn::Checkpoint in the exported format
// (dydiff/learners/actor_export) gives, through dydiff::embed::Policy, the action of the same networks evaluated with
// nn::MLP forward (mlp kind: to 1e-6; ddpm kind: Diffusion-QL's sampler and critic selection written out with nn and
// data::Rng), and every learner's save_actor() export gives its act(obs, true). Also: the Rng streams agree bitwise,
// act() allocates nothing, bad files fail with clear messages, and the example program gives the same actions.
#include "data/normalizer.hpp"
#include "data/rng.hpp"
#include "dydiff/learners/actor_export.hpp"
#include "dydiff/learners/common.hpp"
#include "dydiff/learners/registry.hpp"
#include "embed/policy.hpp"
#include "nn/embedding.hpp"
#include "nn/mlp.hpp"
#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <atomic>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <new>
#include <sstream>

// Counts every allocation of this test program, to check that act() makes none. NOTE: noinline, or g++ 12 inlines
// free() next to a call of operator new and warns of a mismatch (-Wmismatched-new-delete) that is not one.
namespace {
std::atomic<long> g_allocations{0};
}
[[gnu::noinline]] void* operator new(std::size_t n) {
    ++g_allocations;
    if (void* p = std::malloc(n ? n : 1)) return p;
    throw std::bad_alloc();
}
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }

using namespace dydiff;
using dydiff::test::TempDir;

namespace {

constexpr float kMlpTol = 1e-6f;   // the brief's bound: float sums in another order, nothing else differs
constexpr float kDdpmTol = 1e-5f;  // x0 = 12.5 x_t - ... at the last step amplifies the last-bit differences

using Array2 = xt::xtensor<float, 2>;

struct Box {
    std::vector<float> low, high;
};

// A learner's spec with random normaliser statistics, exported as a ZScoreNormalizer-based learner would.
learners::ExportSpec make_spec(std::size_t S, const Box& box, data::Rng& rng) {
    learners::LearnerSpec learner;
    learner.obs_dim = S;
    learner.action_dim = box.low.size();
    for (std::size_t k = 0; k < S; ++k) {
        learner.obs_mean.push_back(rng.uniform(-2.0f, 2.0f));
        learner.obs_std.push_back(rng.uniform(0.1f, 3.0f));
    }
    learner.action_low = box.low;
    learner.action_high = box.high;
    const auto spec = learners::export_spec(learner, data::ZScoreNormalizer::kDefaultEps);
    BOOST_CHECK(spec.obs_std == learner.obs_std && spec.action_high == box.high);
    return spec;
}

Array2 random_obs(std::size_t rows, std::size_t S, data::Rng& rng) {
    Array2 obs = Array2::from_shape({rows, S});
    for (float& x : obs) x = 3.0f * rng.normal();
    return obs;
}

Array2 normalise(const learners::ExportSpec& spec, const Array2& obs) {
    data::ZScoreNormalizer norm(xt::adapt(spec.obs_mean, {spec.obs_mean.size()}),
                                xt::adapt(spec.obs_std, {spec.obs_std.size()}), spec.obs_eps);
    return norm.apply(obs);
}

Array2 forward(const nn::MLP& net, const Array2& x) {
    autograd::NoGradGuard no_grad;
    return net.forward(autograd::Tensor(autograd::Array(x), false)).value();
}

// y (B, A) in network units -> the box, as the learners map it (learners::to_box_action).
Array2 to_box(const Array2& y, const Box& box) {
    learners::LearnerSpec spec;
    spec.action_dim = box.low.size();
    spec.action_low = box.low;
    spec.action_high = box.high;
    return learners::to_box_action(spec, y);
}

Array2 embed_actions(embed::Policy& policy, const Array2& obs) {
    Array2 out = Array2::from_shape({obs.shape()[0], policy.action_dim()});
    for (std::size_t b = 0; b < obs.shape()[0]; ++b) policy.act(&obs(b, 0), &out(b, 0));
    return out;
}

float max_abs_diff(const Array2& a, const Array2& b) {
    BOOST_REQUIRE(a.shape() == b.shape());
    float m = 0.0f;
    for (std::size_t i = 0; i < a.size(); ++i) m = std::max(m, std::abs(a.data()[i] - b.data()[i]));
    return m;
}

// The Diffusion-QL beta schedule of docs/algorithm.md §5.4.5: beta_t = 1 - exp(-0.1/T - 0.5 (10 - 0.1)(2t - 1)/T^2).
std::vector<double> vp_betas(std::size_t T) {
    std::vector<double> b;
    const double t2 = static_cast<double>(T * T);
    for (std::size_t t = 1; t <= T; ++t)
        b.push_back(1.0 - std::exp(-0.1 / T - 0.5 * (10.0 - 0.1) * (2.0 * t - 1.0) / t2));
    return b;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(embed_policy)

// Hopper dims, a TD3+BC-style deterministic actor: 11 -> 256 -> 256 -> 3, ReLU, tanh; an asymmetric action box.
BOOST_AUTO_TEST_CASE(mlp_equals_nn_forward_at_hopper_dims) {
    data::Rng rng(1);
    const Box box{{-1.0f, -2.0f, 0.0f}, {1.0f, 2.0f, 3.0f}};
    nn::MLP actor({11, 256, 256, 3}, nn::Activation::relu, rng, nn::Init::torch_default, nn::Activation::tanh);
    const auto spec = make_spec(11, box, rng);
    nn::Checkpoint ckpt;
    learners::put_mlp_policy(ckpt, spec, learners::export_net(actor, nn::Activation::relu, nn::Activation::tanh));
    TempDir dir;
    ckpt.save(dir / "policy.npz");

    embed::Policy policy = embed::Policy::load(dir / "policy.npz");
    BOOST_CHECK_EQUAL(policy.kind(), "mlp");
    BOOST_CHECK_EQUAL(policy.obs_dim(), 11u);
    BOOST_CHECK_EQUAL(policy.action_dim(), 3u);
    const Array2 obs = random_obs(200, 11, rng);
    const Array2 expected = to_box(forward(actor, normalise(spec, obs)), box);
    const float diff = max_abs_diff(embed_actions(policy, obs), expected);
    BOOST_TEST_MESSAGE("hopper-dims mlp: max |embed - nn| = " << diff);
    BOOST_CHECK_LE(diff, kMlpTol);
}

// A Tanh-Gaussian actor (TD3+BC official, CQL): the MLP outputs [mu, log sigma]; the export keeps mu and applies tanh.
// Maze2d dims, Mish hidden layers.
BOOST_AUTO_TEST_CASE(tanh_gaussian_mean_head) {
    data::Rng rng(2);
    const Box box{{-1.0f, -1.0f}, {1.0f, 1.0f}};
    nn::MLP actor({4, 64, 64, 4}, nn::Activation::mish, rng, nn::Init::normal_fan_in);
    const auto spec = make_spec(4, box, rng);
    nn::Checkpoint ckpt;
    learners::put_mlp_policy(
        ckpt, spec,
        learners::keep_outputs(learners::export_net(actor, nn::Activation::mish, nn::Activation::tanh), 2));
    TempDir dir;
    ckpt.save(dir / "policy.npz");
    embed::Policy policy = embed::Policy::load(dir / "policy.npz");
    const Array2 obs = random_obs(100, 4, rng);
    const Array2 out = forward(actor, normalise(spec, obs));  // (B, 4) = [mu, log sigma]
    const Array2 mu = xt::tanh(xt::view(out, xt::all(), xt::range(0, 2)));
    const float diff = max_abs_diff(embed_actions(policy, obs), to_box(mu, box));
    BOOST_TEST_MESSAGE("tanh-gaussian mean head: max |embed - nn| = " << diff);
    BOOST_CHECK_LE(diff, kMlpTol);
}

// An identity output is clipped to the box; SiLU hidden layers; pendulum dims (A = 1, box [-2, 2]).
BOOST_AUTO_TEST_CASE(identity_output_is_clipped) {
    data::Rng rng(3);
    const Box box{{-2.0f}, {2.0f}};
    nn::MLP actor({3, 32, 1}, nn::Activation::silu, rng);
    const auto spec = make_spec(3, box, rng);
    nn::Checkpoint ckpt;
    auto net = learners::export_net(actor, nn::Activation::silu, nn::Activation::identity);
    net.weights.back() *= 40.0f;  // outputs far outside [-1, 1]
    learners::put_mlp_policy(ckpt, spec, net);
    TempDir dir;
    ckpt.save(dir / "policy.npz");
    embed::Policy policy = embed::Policy::load(dir / "policy.npz");
    const Array2 obs = random_obs(100, 3, rng);
    const Array2 got = embed_actions(policy, obs);
    std::size_t clipped = 0;
    for (float a : got) {
        BOOST_CHECK(a >= -2.0f && a <= 2.0f);
        clipped += (a == -2.0f || a == 2.0f) ? 1 : 0;
    }
    BOOST_CHECK_GT(clipped, 10u);
    // The reference, with the same scaled last layer.
    nn::Checkpoint weights;
    weights.put_module("m", actor);
    weights.put("m/layers.1.weight", autograd::Array(net.weights.back()));
    weights.load_module("m", actor);
    const float diff = max_abs_diff(got, to_box(forward(actor, normalise(spec, obs)), box));
    BOOST_TEST_MESSAGE("identity output, clipped: max |embed - nn| = " << diff);
    BOOST_CHECK_LE(diff, kMlpTol);
}

// The sampler's schedule: the beta and alpha-bar values of docs/algorithm.md §5.4.5 for T = 5.
BOOST_AUTO_TEST_CASE(vp_schedule_golden) {
    const auto b = vp_betas(5);
    const double betas[] = {0.195875, 0.458818, 0.635781, 0.754878, 0.835031};
    const double abar[] = {0.804125, 0.435178, 0.158500, 0.038852, 0.006409};
    double prod = 1.0;
    for (std::size_t t = 0; t < 5; ++t) {
        prod *= 1.0 - b[t];
        BOOST_CHECK_SMALL(b[t] - betas[t], 1e-6);
        BOOST_CHECK_SMALL(prod - abar[t], 1e-6);
    }
}

// Diffusion-QL's actor: K = 50 candidates through 5 denoising steps, the critics' softmax choice. The reference is the
// sampler written with nn::MLP, nn::SinusoidalEmbedding and data::Rng in the documented draw order.
BOOST_AUTO_TEST_CASE(ddpm_equals_reference_sampler) {
    constexpr std::size_t S = 4, A = 2, T = 5, D = 16, Dt = 16;
    for (const std::size_t K : {std::size_t{1}, std::size_t{50}}) {
        data::Rng rng(4);
        const Box box{{-1.0f, -0.5f}, {1.0f, 1.5f}};
        nn::MLP time_net({D, 32, Dt}, nn::Activation::mish, rng);
        nn::MLP noise_net({A + Dt + S, 64, 64, 64, A}, nn::Activation::mish, rng);
        nn::MLP q1({S + A, 64, 64, 1}, nn::Activation::relu, rng, nn::Init::normal_fan_in);
        nn::MLP q2({S + A, 64, 64, 1}, nn::Activation::relu, rng, nn::Init::normal_fan_in);
        const auto spec = make_spec(S, box, rng);
        const auto betas = vp_betas(T);
        const auto q1_net = learners::export_net(q1, nn::Activation::relu, nn::Activation::identity);
        const auto q2_net = learners::export_net(q2, nn::Activation::relu, nn::Activation::identity);
        nn::Checkpoint ckpt;
        learners::put_ddpm_policy(ckpt, spec, betas, static_cast<std::int64_t>(K),
                                  learners::export_net(time_net, nn::Activation::mish, nn::Activation::identity),
                                  learners::export_net(noise_net, nn::Activation::mish, nn::Activation::identity),
                                  &q1_net, &q2_net);
        TempDir dir;
        ckpt.save(dir / "policy.npz");
        embed::Policy policy = embed::Policy::load(dir / "policy.npz");
        BOOST_CHECK_EQUAL(policy.kind(), "ddpm");
        BOOST_CHECK_EQUAL(policy.diffusion_steps(), T);
        BOOST_CHECK_EQUAL(policy.candidates(), K);
        policy.seed(77);

        // Reference: time embeddings, then per observation the K-row sampler and the selection.
        autograd::NoGradGuard no_grad;
        xt::xtensor<float, 1> steps = xt::arange<float>(0.0f, static_cast<float>(T));
        const Array2 temb = forward(time_net, nn::SinusoidalEmbedding(D).forward(autograd::Tensor(autograd::Array(steps), false)).value());
        data::Rng noise(77);
        const Array2 obs = random_obs(8, S, rng);
        const Array2 z = normalise(spec, obs);
        Array2 expected = Array2::from_shape({obs.shape()[0], A});
        for (std::size_t b = 0; b < obs.shape()[0]; ++b) {
            Array2 x = Array2::from_shape({K, A});
            for (float& v : x) v = noise.normal();
            double abar_prev_t[T], abar_t[T];
            double prod = 1.0;
            for (std::size_t t = 0; t < T; ++t) {
                abar_prev_t[t] = prod;
                prod *= 1.0 - betas[t];
                abar_t[t] = prod;
            }
            for (std::size_t t = T; t-- > 0;) {
                Array2 in = Array2::from_shape({K, A + Dt + S});
                for (std::size_t r = 0; r < K; ++r) {
                    for (std::size_t k = 0; k < A; ++k) in(r, k) = x(r, k);
                    for (std::size_t k = 0; k < Dt; ++k) in(r, A + k) = temb(t, k);
                    for (std::size_t k = 0; k < S; ++k) in(r, A + Dt + k) = z(b, k);
                }
                const Array2 eps = forward(noise_net, in);
                const double ab = abar_t[t], abp = abar_prev_t[t], beta = betas[t];
                const float c_x = static_cast<float>(std::sqrt(1.0 / ab)), c_e = static_cast<float>(std::sqrt(1.0 / ab - 1.0));
                const float p0 = static_cast<float>(beta * std::sqrt(abp) / (1.0 - ab));
                const float pt = static_cast<float>((1.0 - abp) * std::sqrt(1.0 - beta) / (1.0 - ab));
                const float ps = static_cast<float>(std::sqrt(beta * (1.0 - abp) / (1.0 - ab)));
                for (std::size_t r = 0; r < K; ++r)
                    for (std::size_t k = 0; k < A; ++k) {
                        const float x0 = std::min(std::max(c_x * x(r, k) - c_e * eps(r, k), -1.0f), 1.0f);
                        x(r, k) = p0 * x0 + pt * x(r, k);
                        if (t > 0) x(r, k) += ps * noise.normal();
                    }
            }
            x = xt::clip(x, -1.0f, 1.0f);
            std::size_t pick = 0;
            if (K > 1) {
                Array2 qin = Array2::from_shape({K, S + A});
                for (std::size_t r = 0; r < K; ++r) {
                    for (std::size_t k = 0; k < S; ++k) qin(r, k) = z(b, k);
                    for (std::size_t k = 0; k < A; ++k) qin(r, S + k) = x(r, k);
                }
                const Array2 qa = forward(q1, qin), qb = forward(q2, qin);
                std::vector<double> w(K);
                double qmax = -HUGE_VAL, total = 0.0;
                for (std::size_t r = 0; r < K; ++r) qmax = std::max(qmax, static_cast<double>(std::min(qa(r, 0), qb(r, 0))));
                for (std::size_t r = 0; r < K; ++r) total += w[r] = std::exp(std::min(qa(r, 0), qb(r, 0)) - qmax);
                const double u = noise.uniform_double() * total;
                double cum = 0.0;
                pick = K - 1;
                for (std::size_t r = 0; r < K; ++r)
                    if ((cum += w[r]) > u) {
                        pick = r;
                        break;
                    }
            }
            for (std::size_t k = 0; k < A; ++k) expected(b, k) = x(pick, k);
        }
        const float diff = max_abs_diff(embed_actions(policy, obs), to_box(expected, box));
        BOOST_TEST_MESSAGE("ddpm K=" << K << ": max |embed - reference| = " << diff);
        BOOST_CHECK_LE(diff, kDdpmTol);
    }
}

// The learners' own export: save_actor() -> policy_from_actor() -> file -> embed::Policy gives learner.act(obs, true)
// for every learner and actor variant (after a few updates, so that the weights are trained ones), Diffusion-QL's
// sampled choice included.
BOOST_AUTO_TEST_CASE(learners_export_through_save_actor) {
    constexpr std::size_t S = 4, A = 2;
    learners::LearnerSpec spec;
    spec.obs_dim = S;
    spec.action_dim = A;
    spec.obs_mean = {0.5f, -0.5f, 1.0f, 0.0f};
    spec.obs_std = {1.0f, 2.0f, 0.5f, 1.5f};
    spec.action_low = {-2.0f, -1.0f};
    spec.action_high = {2.0f, 1.0f};
    spec.seed = 11;
    struct Variant {
        const char* algo;
        const char* label;
        void (*set)(learners::LearnerConfigs&);
    };
    const Variant variants[] = {
        {"bc", "bc", [](learners::LearnerConfigs&) {}},
        {"td3bc", "td3bc canonical", [](learners::LearnerConfigs& c) { c.td3bc.variant = "canonical"; }},
        {"td3bc", "td3bc official", [](learners::LearnerConfigs& c) { c.td3bc.variant = "official"; }},
        {"iql", "iql gaussian", [](learners::LearnerConfigs& c) { c.iql.actor = "gaussian"; }},
        {"iql", "iql deterministic", [](learners::LearnerConfigs& c) { c.iql.actor = "deterministic"; }},
        {"cql", "cql", [](learners::LearnerConfigs&) {}},
    };
    data::Rng rng(12);
    TempDir dir;
    for (const Variant& v : variants) {
        learners::LearnerConfigs configs;
        configs.bc.hidden = configs.td3bc.hidden = configs.iql.hidden = configs.cql.hidden = 64;
        v.set(configs);
        const auto learner = learners::make_learner(v.algo, configs, spec);
        for (int step = 0; step < 4; ++step) {
            data::Transitions batch = data::Transitions::zeros(32, S, A);
            rng.fill_normal(batch.observations.data(), batch.observations.size());
            rng.fill_normal(batch.next_observations.data(), batch.next_observations.size());
            rng.fill_uniform(batch.actions.data(), batch.actions.size(), -1.0f, 1.0f);
            rng.fill_normal(batch.rewards.data(), batch.rewards.size());
            learner->update(batch);
        }
        nn::Checkpoint part;
        learner->save_actor(part);
        learners::policy_from_actor(part).save(dir / "policy.npz");
        embed::Policy policy = embed::Policy::load(dir / "policy.npz");
        const Array2 obs = random_obs(64, S, rng);
        const float diff = max_abs_diff(embed_actions(policy, obs), learner->act(obs, true));
        BOOST_TEST_MESSAGE(v.label << ": max |embed - learner.act| = " << diff);
        BOOST_CHECK_MESSAGE(diff <= kMlpTol, v.label << ": max |embed - learner.act| = " << diff);
    }
    // Diffusion-QL: the same sampler and choice with the same noise. The learner's Rng is set to Rng(77) through its
    // checkpoint and the policy is seeded with 77; act() one observation at a time draws in the same order in both.
    {
        learners::LearnerConfigs configs;
        configs.diffql.actor_hidden = 32;
        configs.diffql.critic_hidden = 32;
        configs.diffql.eval_samples = 20;
        const auto learner = learners::make_learner("diffql", configs, spec);
        for (int step = 0; step < 3; ++step) {
            data::Transitions batch = data::Transitions::zeros(32, S, A);
            rng.fill_normal(batch.observations.data(), batch.observations.size());
            rng.fill_normal(batch.next_observations.data(), batch.next_observations.size());
            rng.fill_uniform(batch.actions.data(), batch.actions.size(), -1.0f, 1.0f);
            rng.fill_normal(batch.rewards.data(), batch.rewards.size());
            learner->update(batch);
        }
        nn::Checkpoint state;
        learner->save(state);
        state.put_bytes("learner/rng", data::Rng(77).state());
        learner->load(state);
        nn::Checkpoint part;
        learner->save_actor(part);
        learners::policy_from_actor(part).save(dir / "diffql.npz");
        embed::Policy policy = embed::Policy::load(dir / "diffql.npz");
        BOOST_CHECK_EQUAL(policy.kind(), "ddpm");
        BOOST_CHECK_EQUAL(policy.candidates(), 20u);
        policy.seed(77);
        const Array2 obs = random_obs(16, S, rng);
        Array2 expected = Array2::from_shape({16, A});
        for (std::size_t b = 0; b < 16; ++b) {
            const Array2 row = xt::view(obs, xt::range(b, b + 1), xt::all());
            const Array2 a = learner->act(row, true);
            for (std::size_t k = 0; k < A; ++k) expected(b, k) = a(0, k);
        }
        const float diff = max_abs_diff(embed_actions(policy, obs), expected);
        BOOST_TEST_MESSAGE("diffql: max |embed - learner.act| = " << diff);
        BOOST_CHECK_MESSAGE(diff <= kDdpmTol, "diffql: max |embed - learner.act| = " << diff);
    }

    nn::Checkpoint bad;
    const auto learner = learners::make_learner("bc", learners::LearnerConfigs{}, spec);
    learner->save_actor(bad);
    bad.put_bytes("actor/head", {'g', 'r', 'u'});
    try {
        learners::policy_from_actor(bad);
        BOOST_ERROR("policy_from_actor accepted actor/head 'gru'");
    } catch (const dydiff::Error& e) {
        BOOST_CHECK(std::string(e.what()).find("actor/head 'gru'") != std::string::npos);
    }
}

BOOST_AUTO_TEST_CASE(rng_streams_match_data_rng) {
    for (std::uint64_t seed : {0ull, 1ull, 0xDEADBEEFull}) {
        embed::Rng e(seed);
        data::Rng d(seed);
        for (int i = 0; i < 1000; ++i) {
            BOOST_REQUIRE_EQUAL(e.normal(), d.normal());
            BOOST_REQUIRE_EQUAL(e.uniform_double(), d.uniform_double());
            BOOST_REQUIRE_EQUAL(e.next_u64(), d.next_u64());
        }
    }
}

// After load(), act() allocates nothing (this program counts every operator new).
BOOST_AUTO_TEST_CASE(act_does_not_allocate) {
    data::Rng rng(5);
    const Box box{{-1.0f, -1.0f}, {1.0f, 1.0f}};
    nn::MLP actor({4, 32, 2}, nn::Activation::relu, rng, nn::Init::torch_default, nn::Activation::tanh);
    nn::MLP t({16, 16}, nn::Activation::mish, rng), n({2 + 16 + 4, 32, 2}, nn::Activation::mish, rng);
    nn::MLP q({6, 16, 1}, nn::Activation::relu, rng);
    const auto spec = make_spec(4, box, rng);
    const auto qn = learners::export_net(q, nn::Activation::relu, nn::Activation::identity);
    nn::Checkpoint mlp, ddpm;
    learners::put_mlp_policy(mlp, spec, learners::export_net(actor, nn::Activation::relu, nn::Activation::tanh));
    learners::put_ddpm_policy(ddpm, spec, vp_betas(5), 10, learners::export_net(t, nn::Activation::mish, nn::Activation::identity),
                              learners::export_net(n, nn::Activation::mish, nn::Activation::identity), &qn, &qn);
    TempDir dir;
    mlp.save(dir / "mlp.npz");
    ddpm.save(dir / "ddpm.npz");
    for (const char* file : {"mlp.npz", "ddpm.npz"}) {
        embed::Policy policy = embed::Policy::load(dir / file);
        float obs[4] = {0.1f, -0.3f, 2.0f, 0.5f}, action[2];
        const long before = g_allocations.load();
        for (int i = 0; i < 100; ++i) {
            obs[0] = 0.01f * static_cast<float>(i);
            policy.act(obs, action);
        }
        BOOST_CHECK_MESSAGE(g_allocations.load() == before, file << ": act() allocated " << g_allocations.load() - before << " times");
    }
}

BOOST_AUTO_TEST_CASE(bad_files_fail_clearly) {
    data::Rng rng(6);
    const Box box{{-1.0f}, {1.0f}};
    nn::MLP actor({3, 8, 1}, nn::Activation::relu, rng);
    const auto spec = make_spec(3, box, rng);
    TempDir dir;
    auto error_of = [](const std::string& path) -> std::string {
        try {
            embed::Policy::load(path);
        } catch (const embed::PolicyError& e) {
            return e.what();
        }
        return "no error";
    };
    auto contains = [](const std::string& s, const std::string& part) { return s.find(part) != std::string::npos; };
    nn::Checkpoint good;
    learners::put_mlp_policy(good, spec, learners::export_net(actor, nn::Activation::relu, nn::Activation::tanh));
    good.save(dir / "good.npz");

    BOOST_CHECK(contains(error_of(dir / "missing.npz"), "cannot open the policy file"));
    nn::Checkpoint plain;  // a training checkpoint, not a policy
    plain.put_int64("meta/step", 3);
    plain.save(dir / "plain.npz");
    BOOST_CHECK(contains(error_of(dir / "plain.npz"), "missing entry 'format'"));
    nn::Checkpoint v2 = nn::Checkpoint::load(dir / "good.npz");
    v2.put_int64("version", 2);
    v2.save(dir / "v2.npz");
    BOOST_CHECK(contains(error_of(dir / "v2.npz"), "policy format version 2; this library reads version 1"));
    nn::Checkpoint kind = nn::Checkpoint::load(dir / "good.npz");
    kind.put_bytes("kind", {'g', 'r', 'u'});
    kind.save(dir / "kind.npz");
    BOOST_CHECK(contains(error_of(dir / "kind.npz"), "entry 'kind' is 'gru'"));
    nn::Checkpoint wide = nn::Checkpoint::load(dir / "good.npz");
    wide.put("obs/mean", autograd::Array(xt::zeros<float>({4})));
    wide.put("obs/std", autograd::Array(xt::ones<float>({4})));
    wide.save(dir / "wide.npz");
    BOOST_CHECK(contains(error_of(dir / "wide.npz"), "network 'actor' maps 3 -> 1, expected 4 -> 1"));
    nn::Checkpoint act = nn::Checkpoint::load(dir / "good.npz");
    act.put_bytes("actor/activation", {'g', 'e', 'l', 'u'});
    act.save(dir / "act.npz");
    BOOST_CHECK(contains(error_of(dir / "act.npz"), "activation 'gelu'"));
    // One flipped byte in the middle of a member: the CRC-32 catches it.
    std::ifstream in(dir / "good.npz", std::ios::binary);
    std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    bytes[bytes.size() / 3] ^= 0x20;
    std::ofstream(dir / "flip.npz", std::ios::binary) << bytes;
    BOOST_CHECK(contains(error_of(dir / "flip.npz"), "CRC-32 mismatch"));
    std::ofstream(dir / "short.npz", std::ios::binary) << bytes.substr(0, 100);
    BOOST_CHECK(contains(error_of(dir / "short.npz"), "no ZIP end record"));
}

// The example program (examples/embed_policy.cpp, linked with libdydiff_embed.a alone) prints the same actions.
BOOST_AUTO_TEST_CASE(example_program_runs) {
    const char* exe = std::getenv("EMBED_POLICY_EXE");
    BOOST_REQUIRE_MESSAGE(exe != nullptr, "EMBED_POLICY_EXE is not set (run through meson test)");
    data::Rng rng(7);
    const Box box{{-1.0f, -1.0f}, {1.0f, 1.0f}};
    nn::MLP actor({4, 256, 256, 2}, nn::Activation::relu, rng, nn::Init::torch_default, nn::Activation::tanh);
    const auto spec = make_spec(4, box, rng);
    nn::Checkpoint ckpt;
    learners::put_mlp_policy(ckpt, spec, learners::export_net(actor, nn::Activation::relu, nn::Activation::tanh));
    TempDir dir;
    ckpt.save(dir / "policy.npz");
    const Array2 obs = random_obs(20, 4, rng);
    {
        std::ofstream out(dir / "obs.txt");
        char buf[64];
        for (std::size_t b = 0; b < 20; ++b) {
            for (std::size_t k = 0; k < 4; ++k) {
                std::snprintf(buf, sizeof buf, "%.9g", static_cast<double>(obs(b, k)));
                out << (k ? (b % 2 ? ", " : " ") : "") << buf;  // commas or spaces
            }
            out << "\n" << (b == 10 ? "\n" : "");                 // a blank line is skipped
        }
    }
    const std::string cmd = std::string(exe) + " " + (dir / "policy.npz") + " < " + (dir / "obs.txt") + " > " +
                            (dir / "actions.txt");
    BOOST_REQUIRE_EQUAL(std::system(cmd.c_str()), 0);
    const Array2 expected = to_box(forward(actor, normalise(spec, obs)), box);
    std::ifstream in(dir / "actions.txt");
    Array2 got = Array2::from_shape({20, 2});
    for (float& a : got) BOOST_REQUIRE(in >> a);
    std::string extra;
    BOOST_CHECK(!(in >> extra));
    BOOST_CHECK_LE(max_abs_diff(got, expected), kMlpTol);

    const std::string bench = std::string(exe) + " " + (dir / "policy.npz") + " --bench 100 > " + (dir / "bench.txt");
    BOOST_REQUIRE_EQUAL(std::system(bench.c_str()), 0);
    std::ifstream b(dir / "bench.txt");
    std::stringstream ss;
    ss << b.rdbuf();
    BOOST_CHECK(ss.str().find("ns per call") != std::string::npos);
    std::ofstream(dir / "bad.txt") << "1 2 3\n";
    const std::string bad = std::string(exe) + " " + (dir / "policy.npz") + " < " + (dir / "bad.txt") + " 2> " + (dir / "err.txt");
    BOOST_CHECK_NE(std::system(bad.c_str()), 0);
}

BOOST_AUTO_TEST_SUITE_END()
