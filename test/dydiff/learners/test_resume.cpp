// Whole-learner tests on random transitions: save -> load (through an NPZ file) -> N updates equals the
// uninterrupted run bit for bit (stats, every saved array, the Rng's next draws) for each learner and variant; the
// same seed gives the same run and another seed another; TD3+BC's actor and targets move on steps 2, 4, ... only;
// IQL's actor learning rate follows the cosine schedule; the exported actor alone reproduces act(obs, true).
#include "dydiff/learners/registry.hpp"

#include "autograd/ops.hpp"
#include "data/npz.hpp"
#include "dydiff/learners/common.hpp"
#include "nn/activation_ops.hpp"
#include "nn/linear_ops.hpp"
#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstring>
#include <functional>
#include <string>

using namespace dydiff;
using namespace dydiff::learners;

namespace {

constexpr std::size_t kS = 4, kA = 2, kBatch = 16;

struct Variant {
    const char* algo;
    const char* label;
    std::function<void(LearnerConfigs&)> set;
};

// Small networks so that each case runs in milliseconds.
LearnerConfigs small_configs() {
    LearnerConfigs c;
    c.bc.hidden = 16;
    c.td3bc.hidden = 16;
    c.iql.hidden = 16;
    c.iql.max_steps = 10;
    c.cql.hidden = 16;
    c.cql.num_random = 3;
    c.diffql.actor_hidden = 16;
    c.diffql.critic_hidden = 16;
    c.diffql.ema_start = 1;  // the EMA actor moves on steps 2, 4, 6 of these short runs
    c.diffql.ema_every = 2;
    c.diffql.eval_samples = 4;
    c.sac.hidden = 16;
    return c;
}

const std::vector<Variant>& variants() {
    static const std::vector<Variant> v = {
        {"bc", "bc", [](LearnerConfigs&) {}},
        {"td3bc", "td3bc canonical", [](LearnerConfigs& c) { c.td3bc.variant = "canonical"; }},
        {"td3bc", "td3bc official", [](LearnerConfigs& c) { c.td3bc.variant = "official"; }},
        {"iql", "iql gaussian", [](LearnerConfigs& c) { c.iql.actor = "gaussian"; }},
        {"iql", "iql deterministic", [](LearnerConfigs& c) { c.iql.actor = "deterministic"; }},
        {"cql", "cql", [](LearnerConfigs&) {}},
        {"diffql", "diffql", [](LearnerConfigs&) {}},
        {"sac", "sac", [](LearnerConfigs&) {}},
    };
    return v;
}

LearnerSpec spec(std::uint64_t seed) {
    LearnerSpec s;
    s.obs_dim = kS;
    s.action_dim = kA;
    s.obs_mean = {0.5f, -0.5f, 1.0f, 0.0f};
    s.obs_std = {1.0f, 2.0f, 0.5f, 1.5f};
    s.action_low = {-2.0f, -1.0f};
    s.action_high = {2.0f, 1.0f};
    s.seed = seed;
    return s;
}

std::unique_ptr<Learner> make(const Variant& v, std::uint64_t seed = 3) {
    LearnerConfigs c = small_configs();
    v.set(c);
    return make_learner(v.algo, c, spec(seed));
}

data::Transitions random_batch(data::Rng& rng) {
    data::Transitions t = data::Transitions::zeros(kBatch, kS, kA);
    rng.fill_normal(t.observations.data(), t.observations.size());
    rng.fill_normal(t.next_observations.data(), t.next_observations.size());
    for (std::size_t i = 0; i < kBatch; ++i) {
        t.actions(i, 0) = rng.uniform(-2.0f, 2.0f);
        t.actions(i, 1) = rng.uniform(-1.0f, 1.0f);
        t.rewards(i) = rng.normal();
        t.dones(i) = rng.uniform() < 0.2f ? 1.0f : 0.0f;
    }
    return t;
}

std::vector<data::Transitions> random_batches(std::size_t n) {
    data::Rng rng(42);
    std::vector<data::Transitions> out;
    for (std::size_t i = 0; i < n; ++i) out.push_back(random_batch(rng));
    return out;
}

void expect_same_checkpoints(const nn::Checkpoint& a, const nn::Checkpoint& b, const std::string& label) {
    BOOST_TEST_REQUIRE((a.keys() == b.keys()), label);
    for (const std::string& key : a.keys()) {
        const data::NpyArray& x = a.array(key);
        const data::NpyArray& y = b.array(key);
        BOOST_TEST((x.dtype == y.dtype && x.shape == y.shape && x.bytes == y.bytes), label << ": " << key);
    }
}

bool same_stats(const Stats& a, const Stats& b) {
    if (a.size() != b.size()) return false;
    for (std::size_t i = 0; i < a.size(); ++i)
        if (a[i].first != b[i].first || std::memcmp(&a[i].second, &b[i].second, sizeof(double)) != 0) return false;
    return true;
}

Array2 probe_obs() {
    Array2 obs = xt::empty<float>({std::size_t{3}, kS});
    data::Rng rng(9);
    rng.fill_normal(obs.data(), obs.size());
    return obs;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(resume)

BOOST_AUTO_TEST_CASE(save_load_continues_bit_for_bit) {
    const auto batches = random_batches(7);
    for (const Variant& v : variants()) {
        const auto uninterrupted = make(v);
        for (std::size_t i = 0; i < 3; ++i) uninterrupted->update(batches[i]);
        nn::Checkpoint saved;
        uninterrupted->save(saved);
        test::TempDir dir;
        const std::string path = (dir.path() / "learner.npz").string();
        saved.save(path);

        const auto resumed = make(v, /*seed=*/99);  // a different init and Rng, all overwritten by load
        resumed->load(nn::Checkpoint::load(path));
        BOOST_TEST(resumed->steps() == 3, v.label);
        for (std::size_t i = 3; i < batches.size(); ++i) {
            const Stats a = uninterrupted->update(batches[i]);
            const Stats b = resumed->update(batches[i]);
            BOOST_TEST(same_stats(a, b), v.label << " step " << i + 1);
        }
        nn::Checkpoint end_a, end_b;
        uninterrupted->save(end_a);
        resumed->save(end_b);
        // The spec's seed is the only entry that differs by construction; everything learned must be equal.
        end_b.put_int64("learner/spec/seed", 3);
        expect_same_checkpoints(end_a, end_b, v.label);
        const Array2 obs = probe_obs();
        BOOST_TEST(xt::all(xt::equal(uninterrupted->act(obs, false), resumed->act(obs, false))), v.label);
        BOOST_TEST(xt::all(xt::equal(uninterrupted->act(obs, true), resumed->act(obs, true))), v.label);
    }
}

BOOST_AUTO_TEST_CASE(same_seed_same_run_other_seed_other_run) {
    const auto batches = random_batches(4);
    for (const Variant& v : variants()) {
        const auto a = make(v, 3), b = make(v, 3), c = make(v, 4);
        Stats sa, sb, sc;
        for (const auto& batch : batches) {
            sa = a->update(batch);
            sb = b->update(batch);
            sc = c->update(batch);
        }
        BOOST_TEST(same_stats(sa, sb), v.label);
        BOOST_TEST(!same_stats(sa, sc), v.label);
        BOOST_TEST(a->steps() == 4, v.label);
        // Stats: the same names in the same order on every step, all finite.
        const Stats first = make(v)->update(batches[0]);
        BOOST_TEST_REQUIRE(first.size() == sa.size(), v.label);
        for (std::size_t i = 0; i < sa.size(); ++i) {
            BOOST_TEST(first[i].first == sa[i].first, v.label);
            BOOST_TEST(std::isfinite(sa[i].second), v.label << " " << sa[i].first);
        }
    }
}

BOOST_AUTO_TEST_CASE(actions_lie_in_the_box) {
    const auto batches = random_batches(2);
    Array2 obs = xt::empty<float>({std::size_t{64}, kS});
    data::Rng rng(5);
    rng.fill_normal(obs.data(), obs.size(), 0.0f, 10.0f);
    for (const Variant& v : variants()) {
        const auto learner = make(v);
        for (const auto& batch : batches) learner->update(batch);
        for (const bool deterministic : {true, false}) {
            const Array2 a = learner->act(obs, deterministic);
            BOOST_TEST((a.shape()[0] == 64u && a.shape()[1] == kA), v.label);
            for (std::size_t i = 0; i < 64; ++i) {
                BOOST_TEST((a(i, 0) >= -2.0f && a(i, 0) <= 2.0f), v.label);
                BOOST_TEST((a(i, 1) >= -1.0f && a(i, 1) <= 1.0f), v.label);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(td3bc_actor_and_targets_move_on_even_steps_only) {
    const auto batches = random_batches(3);
    for (const char* variant : {"canonical", "official"}) {
        LearnerConfigs c = small_configs();
        c.td3bc.variant = variant;
        const auto learner = make_learner("td3bc", c, spec(3));
        auto snapshot = [&] {
            nn::Checkpoint ckpt;
            learner->save(ckpt);
            return ckpt;
        };
        auto same = [](const nn::Checkpoint& a, const nn::Checkpoint& b, const std::string& prefix) {
            for (const std::string& key : a.keys())
                if (key.rfind(prefix, 0) == 0 && a.array(key).bytes != b.array(key).bytes) return false;
            return true;
        };
        const nn::Checkpoint s0 = snapshot();
        learner->update(batches[0]);
        const nn::Checkpoint s1 = snapshot();
        BOOST_TEST(!same(s0, s1, "learner/critic/"), variant);
        BOOST_TEST(same(s0, s1, "learner/actor/"), variant);
        BOOST_TEST(same(s0, s1, "learner/actor_target/"), variant);
        BOOST_TEST(same(s0, s1, "learner/critic_target/"), variant);
        learner->update(batches[1]);
        const nn::Checkpoint s2 = snapshot();
        BOOST_TEST(!same(s1, s2, "learner/actor/"), variant);
        BOOST_TEST(!same(s1, s2, "learner/actor_target/"), variant);
        BOOST_TEST(!same(s1, s2, "learner/critic_target/"), variant);
        learner->update(batches[2]);
        const nn::Checkpoint s3 = snapshot();
        BOOST_TEST(same(s2, s3, "learner/actor/"), variant);
        BOOST_TEST(same(s2, s3, "learner/critic_target/"), variant);
    }
}

BOOST_AUTO_TEST_CASE(iql_actor_lr_follows_the_cosine) {
    const auto batches = random_batches(12);
    LearnerConfigs c = small_configs();  // max_steps = 10
    const auto learner = make_learner("iql", c, spec(3));
    for (std::size_t k = 1; k <= batches.size(); ++k) {
        const Stats s = learner->update(batches[k - 1]);
        BOOST_TEST_REQUIRE(s.back().first == "actor_lr");
        const double t = static_cast<double>(std::min<std::size_t>(k - 1, 10));
        const double expected = 3e-4 * 0.5 * (1.0 + std::cos(M_PI * t / 10.0));
        BOOST_TEST(s.back().second == expected, boost::test_tools::tolerance(1e-6));
    }
}

BOOST_AUTO_TEST_CASE(exported_actor_reproduces_the_deterministic_action) {
    const auto batches = random_batches(2);
    const Array2 obs = probe_obs();
    for (const Variant& v : variants()) {
        // Diffusion-QL's exported actor is a sampler, not an MLP head: test_diffql.cpp checks its recipe.
        if (std::string(v.algo) == "diffql") continue;
        const auto learner = make(v);
        for (const auto& batch : batches) learner->update(batch);
        nn::Checkpoint exported;
        learner->save_actor(exported);
        // The embedding recipe of common.hpp, from the exported arrays only.
        const LearnerSpec s = load_spec(exported);
        const auto head_bytes = exported.get_bytes("actor/head");
        const std::string head(head_bytes.begin(), head_bytes.end());
        autograd::Tensor y(Array(normalize_obs(s, obs)));
        for (std::size_t i = 0;; ++i) {
            const std::string layer = "actor/net.layers." + std::to_string(i);
            y = nn::linear(y, autograd::Tensor(exported.get(layer + ".weight")),
                           autograd::Tensor(exported.get(layer + ".bias")));
            if (!exported.contains("actor/net.layers." + std::to_string(i + 1) + ".weight")) break;
            y = nn::relu(y);
        }
        if (head == "tanh_gaussian_mean") y = autograd::slice(y, 1, 0, s.action_dim);
        BOOST_TEST((head == "tanh" || head == "tanh_gaussian_mean"), v.label);
        const Array2 unit = nn::tanh(y).value();
        BOOST_TEST(xt::all(xt::equal(to_box_action(s, unit), learner->act(obs, true))), v.label);
        BOOST_TEST(load_algo(exported) == v.algo, v.label);
    }
}

BOOST_AUTO_TEST_SUITE_END()
