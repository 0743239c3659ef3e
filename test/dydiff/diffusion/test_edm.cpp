// EDM (docs/algorithm.md §4.3, §5.1, §12): the sigma grid and churn steps, the preconditioning coefficients and
// loss weight at the §12 test points, the Denoiser's composition, the loss (zero for a perfect denoiser, closed
// form for a zero denoiser, in-painted training input), and the sampler's invariants: in-painted entries pinned
// after every step, churn noise on the in-painted channels before the network call, a perfect denoiser returning
// its target, 67 network calls, determinism with a fixed seed, and the sampler's network call (no graph) equal to the
// graph denoiser.
#include "autograd/ops.hpp"
#include "dydiff/diffusion/edm.hpp"
#include "support/gradcheck.hpp"

#include <boost/test/unit_test.hpp>

#include <cmath>

using namespace dydiff;
using autograd::Shape;
using test::test_array;

namespace {

constexpr double kTableTol = 5e-5;     // §12 prints 4-6 significant digits
constexpr double kExactTol = 1e-12;    // closed forms evaluated in double
constexpr double kLossRelTol = 1e-5;   // float32 loss against a double closed form

// A sampler problem: target windows y (B, H, D) and the conditions taken from them.
struct Problem {
    std::size_t B = 3, H = 8, S = 2, A = 2;
    Array y, x0, actions, xi;
    Problem() {
        const std::size_t D = S + A;
        y = test_array({B, H, D}, -1.0f, 1.0f, 41);
        x0 = xt::view(y, xt::all(), 0, xt::range(0, S));
        actions = xt::view(y, xt::all(), xt::all(), xt::range(S, D));
        data::Rng rng(42);
        xi = xt::empty<float>({B, H, D});
        rng.fill_normal(xi.data(), xi.size());
    }
    // True when every in-painted entry of z equals the condition exactly.
    bool pinned(const SamplerState& z) const {
        for (std::size_t b = 0; b < B; ++b)
            for (std::size_t h = 0; h < H; ++h)
                for (std::size_t c = 0; c < S + A; ++c) {
                    const bool conditioned = (h == 0 && c < S) || c >= S;
                    if (conditioned && z(b, h, c) != static_cast<double>(y(b, h, c))) return false;
                }
        return true;
    }
};

SamplerState to_double(const Array& a) {
    SamplerState out = xt::empty<double>({a.shape()[0], a.shape()[1], a.shape()[2]});
    std::copy(a.begin(), a.end(), out.begin());
    return out;
}

UNetConfig micro_config() {
    UNetConfig c;
    c.dim = 4;
    c.dim_mults = {1, 2, 2};
    c.groups = 2;
    c.time_dim = 4;
    return c;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(edm)

BOOST_AUTO_TEST_CASE(sigma_grid) {
    const EdmConfig config;
    const std::vector<double> t = sigma_steps(config);
    BOOST_TEST(t.size() == 35u);
    const double head[] = {80.0, 67.6671, 57.0012, 47.81, 39.9195, 33.1727, 27.4278, 22.5577};
    for (std::size_t i = 0; i < 8; ++i) BOOST_TEST(std::abs(t[i] - head[i]) <= kTableTol * head[i], "t_" << i);
    const double tail[] = {0.0141, 0.0078, 0.0041, 0.002};
    for (std::size_t i = 0; i < 4; ++i)
        BOOST_TEST(std::abs(t[30 + i] - tail[i]) <= 5e-5, "t_" << 30 + i << " = " << t[30 + i]);
    BOOST_TEST(std::abs(t[33] - 0.002) <= kExactTol);
    BOOST_TEST(t[34] == 0.0);
    for (std::size_t i = 0; i + 1 < t.size(); ++i) BOOST_TEST(t[i] > t[i + 1]);
}

BOOST_AUTO_TEST_CASE(churn_steps) {
    const EdmConfig config;
    const std::vector<double> t = sigma_steps(config);
    std::size_t active = 0;
    for (std::size_t i = 0; i < config.num_steps; ++i) {
        const double gamma = churn_gamma(config, t[i]);
        const bool expected = i >= 3 && i <= 22;
        BOOST_TEST((gamma > 0.0) == expected, "step " << i << " t = " << t[i]);
        if (gamma > 0.0) {
            ++active;
            BOOST_TEST(std::abs(gamma - 0.41421356) <= 1e-8);
            // Noise std sqrt(t_hat^2 - t^2) S_noise = t S_noise exactly when gamma = sqrt 2 - 1.
            const double t_hat = t[i] * (1.0 + gamma);
            BOOST_TEST(std::abs(std::sqrt(t_hat * t_hat - t[i] * t[i]) * config.S_noise - t[i] * 1.002) <=
                       1e-12 * t[i]);
        }
    }
    BOOST_TEST(active == 20u);
}

BOOST_AUTO_TEST_CASE(preconditioning_at_test_points) {
    BOOST_TEST(std::abs(c_skip(1.0) - 0.2) <= kExactTol);
    BOOST_TEST(std::abs(c_out(1.0) - 0.4472136) <= 1e-7);
    BOOST_TEST(std::abs(c_in(1.0) - 0.8944272) <= 1e-7);
    BOOST_TEST(c_noise(1.0) == 0.0);
    BOOST_TEST(std::abs(loss_weight(1.0) - 5.0) <= kExactTol);
    BOOST_TEST(std::abs(c_noise(80.0) - 1.09551) <= 1e-5);
    BOOST_TEST(std::abs(c_noise(0.002) - (-1.55365)) <= 1e-5);
    // lambda = 1 / c_out^2: the weighted loss is the unit-variance loss on F (EDM eq. 8).
    for (double s : {0.01, 0.3, 2.0, 50.0}) BOOST_TEST(std::abs(loss_weight(s) * c_out(s) * c_out(s) - 1.0) <= 1e-12);
}

BOOST_AUTO_TEST_CASE(denoiser_composition) {
    data::Rng rng(1);
    const TemporalUNet net(micro_config(), 3, rng);
    const Denoiser denoiser(net);
    const Array x = test_array({2, 8, 3}, -2.0f, 2.0f, 2);
    const Array sigma = {0.3f, 4.0f};
    const Array got = denoiser.forward(Tensor(x), sigma).value();
    for (std::size_t b = 0; b < 2; ++b) {
        const double s = sigma(b);
        const Array xb = xt::view(x, xt::range(b, b + 1));
        const Array cn = {static_cast<float>(c_noise(s))};
        const Array F = net.forward(Tensor(Array(xb * static_cast<float>(c_in(s)))), Tensor(cn)).value();
        const Array want = xb * static_cast<float>(c_skip(s)) + F * static_cast<float>(c_out(s));
        const Array got_b = xt::view(got, xt::range(b, b + 1));
        BOOST_TEST(xt::amax(xt::abs(got_b - want))() <= 1e-5f, "sample " << b);
    }
}

BOOST_AUTO_TEST_CASE(loss_of_a_perfect_denoiser_is_zero) {
    const Problem p;
    data::Rng rng(3);
    std::size_t calls = 0;
    const Tensor loss = edm_loss(
        [&](const Tensor& x_in, const Array& sigma) {
            ++calls;
            BOOST_TEST(sigma.size() == p.B);
            // The training input is in-painted with the clean s0 and actions; the rest is noisy.
            bool pinned = true, noisy = true;
            for (std::size_t b = 0; b < p.B; ++b)
                for (std::size_t h = 0; h < p.H; ++h)
                    for (std::size_t c = 0; c < p.S + p.A; ++c) {
                        const bool conditioned = (h == 0 && c < p.S) || c >= p.S;
                        const bool equal = x_in.value()(b, h, c) == p.y(b, h, c);
                        if (conditioned) pinned = pinned && equal;
                        else noisy = noisy && !equal;
                    }
            BOOST_TEST(pinned);
            BOOST_TEST(noisy);
            return Tensor(p.y);
        },
        p.y, p.S, EdmConfig{}, rng);
    BOOST_TEST(calls == 1u);
    BOOST_TEST(loss.item() == 0.0f);
}

// With D = 0 the loss is mean_b lambda(sigma_b) sum y_b^2, sigma_b drawn first from the Rng.
BOOST_AUTO_TEST_CASE(loss_closed_form_for_zero_denoiser) {
    const Problem p;
    const EdmConfig config;
    data::Rng rng(4), replay(4);
    const Tensor loss = edm_loss([](const Tensor& x, const Array&) { return Tensor(xt::zeros_like(x.value())); },
                                 p.y, p.S, config, rng);
    double want = 0.0;
    for (std::size_t b = 0; b < p.B; ++b) {
        const double sigma = std::exp(config.P_mean + config.P_std * replay.normal_double());
        double sq = 0.0;
        for (std::size_t h = 0; h < p.H; ++h)
            for (std::size_t c = 0; c < p.S + p.A; ++c) sq += double(p.y(b, h, c)) * p.y(b, h, c);
        want += static_cast<float>(loss_weight(sigma)) * sq / p.B;
    }
    BOOST_TEST(std::abs(loss.item() - want) <= kLossRelTol * want);
}

BOOST_AUTO_TEST_CASE(loss_with_the_unet_backpropagates) {
    data::Rng init(5);
    const TemporalUNet net(micro_config(), 4, init);
    const Denoiser denoiser(net);
    const Problem p;
    data::Rng rng_a(6), rng_b(6);
    Tensor loss = edm_loss(denoiser, p.y, p.S, rng_a);
    BOOST_TEST(std::isfinite(loss.item()));
    BOOST_TEST(loss.item() > 0.0f);
    BOOST_TEST(edm_loss(denoiser, p.y, p.S, rng_b).item() == loss.item());  // same seed, same loss
    loss.backward();
    std::size_t with_grad = 0;
    for (const auto& [name, t] : net.named_parameters())
        if (xt::amax(xt::abs(t.grad()))() > 0.0f) ++with_grad;
    BOOST_TEST(with_grad == net.named_parameters().size());
}

BOOST_AUTO_TEST_CASE(perfect_denoiser_returns_target) {
    const Problem p;
    const SamplerState target = to_double(p.y);
    data::Rng rng(7);
    std::size_t calls = 0;
    const SamplerState out = edm_sample(
        [&](const SamplerState& x, double) {
            ++calls;
            BOOST_TEST(x.shape() == target.shape());
            return target;
        },
        p.xi, p.x0, p.actions, EdmConfig{}, rng);
    BOOST_TEST(calls == 67u);  // 34 Euler + 33 Heun evaluations (§4.3)
    BOOST_TEST(xt::amax(xt::abs(out - target))() <= kExactTol);
}

// A denoiser that is wrong on purpose (it shrinks its input), so the free entries move while the pinned ones must
// not. Also checks §11 P7: on churn steps the network sees noise on the in-painted entries, elsewhere it does not.
BOOST_AUTO_TEST_CASE(inpainting_pinned_after_every_step) {
    const Problem p;
    const EdmConfig config;
    const std::vector<double> t = sigma_steps(config);
    data::Rng rng(8);
    std::size_t steps = 0, call = 0;
    std::vector<bool> first_call_pinned;
    const SamplerState out = edm_sample(
        [&](const SamplerState& x, double) {
            // Calls alternate Euler (at t_hat), Heun (at t_{i+1}); the last step has the Euler call only.
            if (call++ % 2 == 0) first_call_pinned.push_back(p.pinned(x));
            return SamplerState(0.5 * x);
        },
        p.xi, p.x0, p.actions, config, rng,
        [&](std::size_t i, const SamplerState& x) {
            BOOST_TEST(i == steps);
            BOOST_TEST(p.pinned(x), "step " << i);
            ++steps;
        });
    BOOST_TEST(steps == config.num_steps);
    BOOST_TEST(p.pinned(out));
    BOOST_TEST(first_call_pinned.size() == config.num_steps);
    for (std::size_t i = 0; i < std::min(first_call_pinned.size(), config.num_steps); ++i)
        BOOST_TEST(first_call_pinned[i] == (churn_gamma(config, t[i]) == 0.0), "step " << i);
    // The free entries did move away from the target.
    BOOST_TEST(xt::amax(xt::abs(out - to_double(p.y)))() > 1e-3);
}

BOOST_AUTO_TEST_CASE(sampler_with_the_unet_is_deterministic) {
    data::Rng init(9);
    const TemporalUNet net(micro_config(), 4, init);
    const Denoiser denoiser(net);
    const Problem p;
    data::Rng rng_a(10), rng_b(10), rng_c(11);
    const SamplerState a = edm_sample(denoiser, p.xi, p.x0, p.actions, EdmConfig{}, rng_a);
    const SamplerState b = edm_sample(denoiser, p.xi, p.x0, p.actions, EdmConfig{}, rng_b);
    const SamplerState c = edm_sample(denoiser, p.xi, p.x0, p.actions, EdmConfig{}, rng_c);
    BOOST_TEST(a.shape() == (std::array<std::size_t, 3>{p.B, p.H, p.S + p.A}));
    BOOST_TEST(xt::amax(xt::abs(a - b))() == 0.0);
    BOOST_TEST(xt::amax(xt::abs(a - c))() > 0.0);
    BOOST_TEST(p.pinned(a));
    BOOST_TEST(std::isfinite(static_cast<double>(xt::sum(a)())));
}

// The sampler calls the network through sampler_denoise_fn (TemporalUNet::infer); it must give Denoiser::forward's
// values (the training path) up to float round-off at noise levels across the sampler's range, and a whole sampler
// pass through it must follow the one through the graph denoiser with the same random draws.
BOOST_AUTO_TEST_CASE(sampler_network_call_equals_the_graph_denoiser) {
    constexpr double kCallTol = 1e-5;  // relative to the output scale: one network call, sums in another order
    constexpr double kPassTol = 2e-5;  // a pass of 11 calls, each feeding the next
    data::Rng init(13);
    const TemporalUNet net(unet_tiny(), 4, init);
    const Denoiser denoiser(net);
    const SamplerDenoiseFn fast = sampler_denoise_fn(denoiser);
    const SamplerDenoiseFn graph = [&denoiser](const SamplerState& x, double sigma) {
        autograd::NoGradGuard no_grad;
        Array x32 = xt::empty<float>({x.shape()[0], x.shape()[1], x.shape()[2]});
        std::copy(x.begin(), x.end(), x32.begin());
        const Array sig = xt::full_like(xt::empty<float>({x.shape()[0]}), static_cast<float>(sigma));
        return to_double(denoiser.forward(Tensor(std::move(x32)), sig).value());
    };
    const Problem p;
    for (double sigma : {0.002, 0.5, 3.0, 80.0}) {
        const SamplerState x = to_double(p.xi) * sigma;
        const SamplerState want = graph(x, sigma), got = fast(x, sigma);
        const double err = xt::amax(xt::abs(got - want))() / (1.0 + xt::amax(xt::abs(want))());
        BOOST_TEST(err <= kCallTol, "sigma " << sigma << ": sampler call differs from the graph by " << err);
    }
    EdmConfig config;
    config.num_steps = 6;
    data::Rng rng_fast(14), rng_graph(14);
    const SamplerState a = edm_sample(fast, p.xi, p.x0, p.actions, config, rng_fast);
    const SamplerState b = edm_sample(graph, p.xi, p.x0, p.actions, config, rng_graph);
    const double err = xt::amax(xt::abs(a - b))() / (1.0 + xt::amax(xt::abs(b))());
    BOOST_TEST(err <= kPassTol, "a sampler pass differs from the graph's by " << err);
    BOOST_TEST(p.pinned(a));
    // A state with the wrong channel count, or sigma <= 0, is refused before the network runs.
    BOOST_CHECK_THROW(fast(to_double(test_array({2, 8, 5}, -1.0f, 1.0f, 15)), 1.0), Error);
    BOOST_CHECK_THROW(fast(to_double(p.xi), 0.0), Error);
}

BOOST_AUTO_TEST_CASE(sampler_shape_errors) {
    const Problem p;
    data::Rng rng(12);
    const auto identity = [](const SamplerState& x, double) { return x; };
    const Array bad_actions = xt::zeros<float>({p.B, p.H, p.A + 1});
    BOOST_CHECK_THROW(edm_sample(identity, p.xi, p.x0, bad_actions, EdmConfig{}, rng), Error);
    const Array bad_state = xt::zeros<float>({p.B + 1, p.S});
    BOOST_CHECK_THROW(edm_sample(identity, p.xi, bad_state, p.actions, EdmConfig{}, rng), Error);
}

BOOST_AUTO_TEST_SUITE_END()
