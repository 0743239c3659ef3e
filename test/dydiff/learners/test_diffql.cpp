// Tests of Diffusion-QL (dydiff/learners/diffql.hpp; docs/algorithm.md §5.4.5): the VP β and ᾱ values, the posterior
// coefficients, the noise network's shape, the denoising terms and the Q loss against their formulas, the softmax
// choice, the EMA actor's schedule, and learning a bandit past BC's limit. Resume (save -> load -> updates bitwise
// equal to an uninterrupted run), seeding and the action box are in test_resume.cpp's table of every learner.
#include "dydiff/learners/diffql.hpp"

#include "autograd/ops.hpp"
#include "fixtures.hpp"

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstring>

using namespace dydiff;
using namespace dydiff::learners;
using autograd::Array;
using autograd::Tensor;

namespace {

constexpr double kScheduleTol = 1e-6;  // the §5.4.5 values are printed to 6 decimals
constexpr float kFloatTol = 1e-5f;

bool bitwise_equal(const Array& a, const Array& b) {
    return a.shape() == b.shape() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

// A small Diffusion-QL for tests: narrow networks and an EMA that starts at once, so every part of the state moves.
DiffQlConfig small_config() {
    DiffQlConfig c;
    c.actor_hidden = 32;
    c.critic_hidden = 32;
    c.ema_start = 2;
    c.ema_every = 2;
    c.eval_samples = 8;
    return c;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(diffql)

BOOST_AUTO_TEST_CASE(vp_schedule_matches_the_official_values) {
    const VpSchedule s(5, 0.1, 10.0);
    const double beta[] = {0.195875, 0.458818, 0.635781, 0.754878, 0.835031};
    const double alpha_bar[] = {0.804125, 0.435178, 0.158500, 0.038852, 0.006409};
    BOOST_TEST(s.steps() == 5u);
    for (std::size_t t = 0; t < 5; ++t) {
        BOOST_TEST(std::abs(s.beta[t] - beta[t]) < kScheduleTol, "β_" << t + 1 << " = " << s.beta[t]);
        BOOST_TEST(std::abs(s.alpha_bar[t] - alpha_bar[t]) < kScheduleTol, "ᾱ_" << t + 1 << " = " << s.alpha_bar[t]);
    }
    BOOST_CHECK_THROW(VpSchedule(0, 0.1, 10.0), Error);
}

BOOST_AUTO_TEST_CASE(posterior_coefficients_are_consistent) {
    const VpSchedule s(5, 0.1, 10.0);
    // t = 0: the posterior of x_{−1} is x̂₀ itself, without variance.
    BOOST_TEST(std::abs(s.posterior_mean_x0[0] - 1.0) < 1e-12);
    BOOST_TEST(std::abs(s.posterior_mean_xt[0]) < 1e-12);
    BOOST_TEST(s.posterior_std[0] == 1e-10, boost::test_tools::tolerance(1e-9));
    for (std::size_t t = 0; t < 5; ++t) {
        // A noise-free x_t = √ᾱ_t x₀ has posterior mean √ᾱ_{t−1} x₀.
        const double mean = s.posterior_mean_x0[t] + s.posterior_mean_xt[t] * std::sqrt(s.alpha_bar[t]);
        BOOST_TEST(std::abs(mean - std::sqrt(s.alpha_bar_prev[t])) < 1e-12, "t = " << t);
        // x̂₀ inverts the forward noising: x_t/√ᾱ − √(1/ᾱ − 1) ε with x_t = √ᾱ x₀ + √(1 − ᾱ) ε gives x₀.
        const double x0 = 0.3, eps = -1.7;
        const double x_t = std::sqrt(s.alpha_bar[t]) * x0 + std::sqrt(1.0 - s.alpha_bar[t]) * eps;
        BOOST_TEST(std::abs(s.sqrt_recip_alpha_bar[t] * x_t - s.sqrt_recipm1_alpha_bar[t] * eps - x0) < 1e-12);
        if (t > 0) {
            const double var = s.beta[t] * (1.0 - s.alpha_bar[t - 1]) / (1.0 - s.alpha_bar[t]);
            BOOST_TEST(std::abs(s.posterior_std[t] - std::sqrt(var)) < 1e-12);
        }
    }
}

BOOST_AUTO_TEST_CASE(noise_net_shape_and_parameters) {
    data::Rng rng(1);
    const NoiseNet net(11, 3, 16, 256, 3, rng);
    // time MLP 16·32 + 32 + 32·16 + 16; mid (3 + 16 + 11)·256 + 256 + 2 (256·256 + 256) + 256·3 + 3.
    const std::size_t expected = (16 * 32 + 32 + 32 * 16 + 16) + (30 * 256 + 256 + 2 * (256 * 256 + 256) + 256 * 3 + 3);
    BOOST_TEST(net.num_parameters() == expected);
    Array x = xt::zeros<float>({4, 3}), s = xt::zeros<float>({4, 11});
    const Tensor eps = net.forward(Tensor(x), {0, 1, 2, 4}, Tensor(s));
    BOOST_TEST(eps.shape() == (autograd::Shape{4, 3}));
    BOOST_CHECK_THROW(net.forward(Tensor(x), {0, 1, 2}, Tensor(s)), Error);
    BOOST_CHECK_THROW(net.forward(Tensor(s), {0, 1, 2, 3}, Tensor(x)), Error);
}

BOOST_AUTO_TEST_CASE(denoise_terms_follow_the_formulas) {
    data::Rng init(2);
    const NoiseNet net(3, 2, 16, 32, 3, init);
    const VpSchedule s(5, 0.1, 10.0);
    const std::size_t B = 64;
    Array obs = xt::empty<float>({B, std::size_t{3}}), act = xt::empty<float>({B, std::size_t{2}});
    init.fill_normal(obs.data(), obs.size());
    init.fill_uniform(act.data(), act.size(), -1.0f, 1.0f);
    data::Rng rng(3), replay(3);
    const DenoiseTerms d = denoise_terms(net, s, Tensor(obs), Tensor(act), rng);
    // The same draws, by hand: t for each row, then ε row-major.
    std::vector<std::size_t> t(B);
    for (auto& k : t) k = replay.randint(5);
    Array eps = xt::empty<float>({B, std::size_t{2}});
    replay.fill_normal(eps.data(), eps.size());
    BOOST_TEST((replay == rng));
    Array x_t = xt::empty<float>({B, std::size_t{2}});
    for (std::size_t b = 0; b < B; ++b)
        for (std::size_t j = 0; j < 2; ++j)
            x_t(b, j) = static_cast<float>(std::sqrt(s.alpha_bar[t[b]])) * act(b, j) +
                        static_cast<float>(std::sqrt(1.0 - s.alpha_bar[t[b]])) * eps(b, j);
    const Array eps_hat = net.forward(Tensor(x_t), t, Tensor(obs)).value();
    double mse = 0.0;
    bool clipped_somewhere = false;
    for (std::size_t b = 0; b < B; ++b)
        for (std::size_t j = 0; j < 2; ++j) {
            mse += (eps_hat(b, j) - eps(b, j)) * (eps_hat(b, j) - eps(b, j));
            const double raw =
                s.sqrt_recip_alpha_bar[t[b]] * x_t(b, j) - s.sqrt_recipm1_alpha_bar[t[b]] * eps_hat(b, j);
            clipped_somewhere = clipped_somewhere || std::abs(raw) > 1.0;
            BOOST_TEST(d.x0_hat.value()(b, j) == std::clamp(raw, -1.0, 1.0), boost::test_tools::tolerance(1e-5));
        }
    BOOST_TEST(clipped_somewhere);  // the clip to [−1, 1] is exercised
    BOOST_TEST(d.bc_loss.item() == mse / static_cast<double>(B * 2), boost::test_tools::tolerance(1e-5));
    // Gradients flow from both terms into the network.
    Tensor(d.bc_loss + autograd::sum(d.x0_hat)).backward();
    for (const auto& [name, p] : net.named_parameters()) BOOST_TEST(p.has_grad(), name);
}

BOOST_AUTO_TEST_CASE(q_loss_scales_by_a_detached_denominator) {
    const Array lead_v = test::matrix({{1.0f}, {-3.0f}, {2.0f}, {4.0f}});   // (B, 1), mean 1
    const Array other_v = test::matrix({{-2.0f}, {2.0f}, {1.0f}, {-3.0f}});  // mean |·| = 2
    Tensor lead(lead_v, true), other(other_v, true);
    Tensor loss = diffql_q_loss(lead, other);
    BOOST_TEST(loss.item() == -0.5f, boost::test_tools::tolerance(kFloatTol));
    loss.backward();
    for (std::size_t b = 0; b < 4; ++b) {
        BOOST_TEST(lead.grad()(b, 0) == -1.0f / (4.0f * 2.0f), boost::test_tools::tolerance(kFloatTol));
        BOOST_TEST(other.grad()(b, 0) == 0.0f);
    }
}

BOOST_AUTO_TEST_CASE(softmax_choice_by_inverse_cdf) {
    const float q[] = {0.0f, std::log(3.0f), 0.0f};  // probabilities 1/5, 3/5, 1/5
    data::Rng rng(4);
    std::size_t counts[3] = {0, 0, 0};
    const std::size_t n = 20000;
    for (std::size_t i = 0; i < n; ++i) {
        data::Rng replay = rng;
        const double u = replay.uniform_double();
        const std::size_t j = sample_softmax_index(q, 3, rng);
        BOOST_TEST(j == (u < 0.2 ? 0u : u < 0.8 ? 1u : 2u));
        ++counts[j];
    }
    BOOST_TEST(static_cast<double>(counts[1]) / n == 0.6, boost::test_tools::tolerance(0.03));
    const float peaked[] = {0.0f, 200.0f, -5.0f};  // overflow-safe: max subtracted
    for (int i = 0; i < 100; ++i) BOOST_TEST(sample_softmax_index(peaked, 3, rng) == 1u);
    const float bad[] = {0.0f, NAN};
    BOOST_CHECK_THROW(sample_softmax_index(bad, 2, rng), Error);
}

BOOST_AUTO_TEST_CASE(ema_actor_moves_on_its_period_from_ema_start) {
    // ema_start 3, ema_every 2: the step counter before the increment is checked, so updates 5 and 7 (counters 4
    // and 6) move the EMA actor, towards the actor as it is after that update's step; it is the initial actor before.
    DiffQlConfig config = small_config();
    config.ema_start = 3;
    config.ema_every = 2;
    DiffQl learner(test::small_spec(5), config);
    auto arrays = [&](const std::string& section) {
        nn::Checkpoint ckpt;
        learner.save(ckpt);
        std::vector<Array> out;
        for (const std::string& key : ckpt.keys())
            if (key.rfind("learner/" + section + "/", 0) == 0) out.push_back(ckpt.get(key));
        return out;
    };
    const std::vector<Array> initial_actor = arrays("actor");
    BOOST_TEST_REQUIRE(!initial_actor.empty());
    std::vector<Array> ema = arrays("ema_actor");
    for (std::size_t k = 0; k < ema.size(); ++k) BOOST_TEST(bitwise_equal(ema[k], initial_actor[k]));
    data::Rng rng(6);
    for (int update = 1; update <= 8; ++update) {
        learner.update(test::random_batch(test::small_spec(5), 16, rng));
        const std::vector<Array> actor = arrays("actor"), next = arrays("ema_actor");
        const bool moves = update == 5 || update == 7;
        for (std::size_t k = 0; k < next.size(); ++k) {
            if (!moves) {
                BOOST_TEST(bitwise_equal(next[k], ema[k]), "update " << update);
                continue;
            }
            const Array expected = config.ema_decay * ema[k] + (1.0f - config.ema_decay) * actor[k];
            BOOST_TEST(xt::allclose(next[k], expected, 0.0, 1e-6), "update " << update);
            BOOST_TEST(!bitwise_equal(next[k], ema[k]), "update " << update);
        }
        ema = next;
    }
}

BOOST_AUTO_TEST_CASE(exported_actor_reproduces_the_evaluation_action) {
    // The recipe of the "ddpm" head from the exported arrays alone (plus the learner's Rng, read from its state):
    // eval_samples candidates per state by ddpm_sample, one drawn by softmax of the exported critics' min.
    DiffQl learner(test::small_spec(5), small_config());
    data::Rng data_rng(6);
    for (int i = 0; i < 3; ++i) learner.update(test::random_batch(test::small_spec(5), 16, data_rng));
    nn::Checkpoint exported, state;
    learner.save_actor(exported);
    learner.save(state);

    const LearnerSpec s = load_spec(exported);
    const auto head = exported.get_bytes("actor/head");
    BOOST_TEST((std::string(head.begin(), head.end()) == "ddpm"));
    BOOST_TEST(load_algo(exported) == "diffql");
    auto size = [&](const char* key) { return static_cast<std::size_t>(exported.get_int64(key)); };
    data::Rng unused(0);
    NoiseNet net(s.obs_dim, s.action_dim, size("ddpm/time_dim"), size("ddpm/actor_hidden"), size("ddpm/actor_layers"),
                 unused);
    for (auto& [name, p] : net.named_parameters()) p.mutable_value() = exported.get("actor/" + name);
    TwinQ critic(s.obs_dim, s.action_dim, size("ddpm/critic_hidden"), size("ddpm/critic_layers"), nn::Init::zeros,
                 unused);
    exported.load_module("ddpm/critic", critic);
    const VpSchedule schedule(size("ddpm/diffusion_steps"), exported.get("ddpm/beta_min")(),
                              exported.get("ddpm/beta_max")());
    const std::size_t M = size("ddpm/eval_samples");

    Array2 obs = xt::empty<float>({std::size_t{4}, std::size_t{3}});
    data_rng.fill_normal(obs.data(), obs.size());
    data::Rng rng(0);
    rng.set_state(state.get_bytes("learner/rng"));
    const Array2 obs_hat = normalize_obs(s, obs);
    Array2 rep = xt::empty<float>({4 * M, std::size_t{3}});
    for (std::size_t i = 0; i < 4 * M; ++i)
        for (std::size_t k = 0; k < 3; ++k) rep(i, k) = obs_hat(i / M, k);
    const Array2 candidates = ddpm_sample(net, schedule, rep, rng);
    const autograd::NoGradGuard no_grad;
    const Array q = critic.min(Tensor(Array(rep)), Tensor(Array(candidates))).value();
    Array2 chosen = xt::empty<float>({std::size_t{4}, std::size_t{2}});
    for (std::size_t i = 0; i < 4; ++i) {
        const std::size_t j = sample_softmax_index(q.data() + i * M, M, rng);
        for (std::size_t k = 0; k < 2; ++k) chosen(i, k) = candidates(i * M + j, k);
    }
    BOOST_TEST(bitwise_equal(Array(to_box_action(s, chosen)), Array(learner.act(obs, true))));
}

BOOST_AUTO_TEST_CASE(learns_a_bandit_past_the_bc_limit) {
    // Budget: 1000 updates of batch 64 on 2000 transitions (30% good behaviour, fixtures.hpp), hidden 64, learning
    // rates 1e-3 instead of the official 3e-4 (tuned for 1M steps); about 1.5 s of CPU. The evaluation action is the
    // official one (50 samples, softmax of the target critics' min). Measured: −0.013 to −0.018 over three seeds.
    constexpr double kBar = -0.04;  // mean reward of the evaluation action; BC's limit is about −0.118
    const test::OfflineTask bandit = test::make_bandit(2000, 0.3f, 10);
    DiffQlConfig config;
    config.actor_hidden = 64;
    config.critic_hidden = 64;
    config.actor_lr = 1e-3f;
    config.critic_lr = 1e-3f;
    DiffQl learner(bandit.spec, config);
    data::Rng rng(11);
    for (int i = 0; i < 1000; ++i) learner.update(bandit.buffer.sample(rng, 64));
    const double reward = test::bandit_policy_reward(learner, 11);
    BOOST_TEST_MESSAGE("diffql bandit reward " << reward);
    BOOST_TEST(reward > kBar);
}

BOOST_AUTO_TEST_CASE(two_step_task_needs_the_bootstrap, *boost::unit_test::label("slow")) {
    // The first action of the two-step task (fixtures.hpp) is only valued through γ Q̄(s′, a′ ~ EMA actor). Budget:
    // 1500 updates of batch 64, hidden 64, learning rates 1e-3; about 1.2 s of CPU per run. Rewards scaled by 10 so
    // that the evaluation's softmax over Q selects (with Q spreads below 1 it picks nearly uniformly among the samples
    // and the return stays near −0.10). Measured with γ = 0.99: −0.048 and −0.049 over two seeds; with γ = 0: −0.50 to −0.53;
    // flat Q scores −0.45.
    constexpr double kMin = -0.15, kNoBootstrapMax = -0.3;
    const test::OfflineTask task = test::make_two_step(2000, 30);
    auto run = [&](float discount) {
        DiffQlConfig config;
        config.actor_hidden = 64;
        config.critic_hidden = 64;
        config.actor_lr = 1e-3f;
        config.critic_lr = 1e-3f;
        config.reward_scale = 10.0f;
        config.discount = discount;
        DiffQl learner(task.spec, config);
        data::Rng rng(31);
        for (int i = 0; i < 1500; ++i) learner.update(task.buffer.sample(rng, 64));
        return test::two_step_return(learner, 500);
    };
    const double with_bootstrap = run(0.99f), without = run(0.0f);
    BOOST_TEST_MESSAGE("diffql two-step return " << with_bootstrap << ", with discount 0 " << without);
    BOOST_TEST(with_bootstrap > kMin);
    BOOST_TEST(without < kNoBootstrapMax);
}

BOOST_AUTO_TEST_SUITE_END()
