// EDM preconditioning, loss and the conditional Heun sampler (docs/algorithm.md §4.3, §5.1).
#include "dydiff/diffusion/edm.hpp"

#include "autograd/error.hpp"
#include "autograd/ops.hpp"

#include <algorithm>
#include <cmath>
#include <memory>
#include <mutex>
#include <sstream>
#include <vector>

namespace dydiff {

// ---- config -----------------------------------------------------------------------------------------------------

void EdmConfig::training_fields(ConfigFields& f) {
    f.add("sigma_data", &sigma_data, "data std assumed by the preconditioning (§5.1: 0.5)")
        .positive()
        .fixed_on_resume();
    f.add("P_mean", &P_mean, "training noise levels: ln sigma ~ N(P_mean, P_std^2) (§6.1: -1.2)").finite();
    f.add("P_std", &P_std, "std of ln sigma in training (§6.1: 1.2)").positive();
}

void EdmConfig::sampler_fields(ConfigFields& f) {
    f.add("num_steps", &num_steps, "sampler steps N (§6.2: 34)").at_least(1);
    f.add("sigma_min", &sigma_min, "smallest noise level t_{N-1} (§6.2: 0.002)").positive();
    f.add("sigma_max", &sigma_max, "largest noise level t_0 (§6.2: 80)").positive();
    f.add("rho", &rho, "time-step exponent (§6.2: 7)").positive();
    f.add("S_churn", &S_churn, "stochasticity: gamma = min(S_churn / N, sqrt 2 - 1) (§6.2: 60)").at_least(0);
    f.add("S_min", &S_min, "churn only where S_min <= t_i <= S_max (§6.2: 0.37)").at_least(0);
    f.add("S_max", &S_max, "upper end of the churn range (§6.2: 52.24)").at_least(0);
    f.add("S_noise", &S_noise, "churn noise inflation (§6.2: 1.002)").at_least(0);
    f.check([this] {
        DYDIFF_USER_CHECK(sigma_min <= sigma_max,
                          "sigma_min = " << sigma_min << " must be <= sigma_max = " << sigma_max);
    });
}

void EdmConfig::validate() const {
    DYDIFF_CHECK(sigma_data > 0.0 && P_std > 0.0, "EdmConfig: sigma_data and P_std must be > 0 (" << describe() << ")");
    DYDIFF_CHECK(num_steps >= 1, "EdmConfig: num_steps must be >= 1 (" << describe() << ")");
    DYDIFF_CHECK(sigma_min > 0.0 && sigma_max >= sigma_min && rho > 0.0,
                 "EdmConfig: need 0 < sigma_min <= sigma_max and rho > 0 (" << describe() << ")");
    DYDIFF_CHECK(S_churn >= 0.0 && S_noise >= 0.0, "EdmConfig: S_churn and S_noise must be >= 0 (" << describe() << ")");
}

std::string EdmConfig::describe() const {
    std::ostringstream os;
    os.precision(17);
    os << "sigma_data=" << sigma_data << " P_mean=" << P_mean << " P_std=" << P_std << " num_steps=" << num_steps
       << " sigma_min=" << sigma_min << " sigma_max=" << sigma_max << " rho=" << rho << " S_churn=" << S_churn
       << " S_min=" << S_min << " S_max=" << S_max << " S_noise=" << S_noise;
    return os.str();
}

// ---- preconditioning --------------------------------------------------------------------------------------------

double c_skip(double sigma, double sigma_data) {
    return sigma_data * sigma_data / (sigma * sigma + sigma_data * sigma_data);
}

double c_out(double sigma, double sigma_data) {
    return sigma * sigma_data / std::sqrt(sigma * sigma + sigma_data * sigma_data);
}

double c_in(double sigma, double sigma_data) { return 1.0 / std::sqrt(sigma * sigma + sigma_data * sigma_data); }

double c_noise(double sigma) { return std::log(sigma) / 4.0; }

double loss_weight(double sigma, double sigma_data) {
    const double s = sigma * sigma_data;
    return (sigma * sigma + sigma_data * sigma_data) / (s * s);
}

Denoiser::Denoiser(const TemporalUNet& net, EdmConfig config) : net_(net), config_(config) { config_.validate(); }

Tensor Denoiser::forward(const Tensor& x, const Array& sigma) const {
    DYDIFF_CHECK(x.dim() == 3, "Denoiser: input " << shape_str(x.shape()) << " must be (B, H, D)");
    const std::size_t B = x.size(0);
    DYDIFF_CHECK(sigma.dimension() == 1 && sigma.size() == B,
                 "Denoiser: sigma " << shape_str(sigma.shape()) << " must be (" << B << ",) for input "
                                    << shape_str(x.shape()));
    // Per-sample coefficients as (B, 1, 1) constants that broadcast over (H, D); c_noise (B) feeds the embedding.
    Array skip = xt::empty<float>({B, std::size_t{1}, std::size_t{1}});
    Array out = xt::empty<float>({B, std::size_t{1}, std::size_t{1}});
    Array in = xt::empty<float>({B, std::size_t{1}, std::size_t{1}});
    Array noise = xt::empty<float>({B});
    for (std::size_t b = 0; b < B; ++b) {
        const double s = sigma.data()[b];
        DYDIFF_CHECK(s > 0.0, "Denoiser: sigma[" << b << "] = " << s << " must be > 0");
        skip.data()[b] = static_cast<float>(c_skip(s, config_.sigma_data));
        out.data()[b] = static_cast<float>(c_out(s, config_.sigma_data));
        in.data()[b] = static_cast<float>(c_in(s, config_.sigma_data));
        noise.data()[b] = static_cast<float>(c_noise(s));
    }
    const Tensor F = net_.forward(autograd::mul(x, Tensor(std::move(in))), Tensor(std::move(noise)));
    return autograd::add(autograd::mul(x, Tensor(std::move(skip))), autograd::mul(F, Tensor(std::move(out))));
}

// ---- loss -------------------------------------------------------------------------------------------------------

Tensor edm_loss(const TensorDenoiseFn& denoise, const Array& y, std::size_t state_dim, const EdmConfig& config,
                data::Rng& rng) {
    DYDIFF_CHECK(y.dimension() == 3 && y.shape()[0] >= 1 && y.shape()[1] >= 1,
                 "edm_loss: windows " << shape_str(y.shape()) << " must be (B, H, D) with B, H >= 1");
    const std::size_t B = y.shape()[0], H = y.shape()[1], D = y.shape()[2];
    DYDIFF_CHECK(state_dim <= D, "edm_loss: state_dim " << state_dim << " exceeds the " << D << " channels of "
                                                        << shape_str(y.shape()));
    // Step 1: ln sigma_b ~ N(P_mean, P_std^2), per sample (§11 P5).
    Array sigma = xt::empty<float>({B});
    Array lambda = xt::empty<float>({B});
    std::vector<double> sigma64(B);
    for (std::size_t b = 0; b < B; ++b) {
        sigma64[b] = std::exp(config.P_mean + config.P_std * rng.normal_double());
        sigma.data()[b] = static_cast<float>(sigma64[b]);
        lambda.data()[b] = static_cast<float>(loss_weight(sigma64[b], config.sigma_data));
    }
    // Steps 2-3: x_in = y + sigma_b n, then the clean s0 and actions put back (in-painting of the training input).
    Array x_in = xt::empty<float>({B, H, D});  // (B, H, D)
    const float* py = y.data();
    float* px = x_in.data();
    for (std::size_t b = 0; b < B; ++b)
        for (std::size_t h = 0; h < H; ++h)
            for (std::size_t c = 0; c < D; ++c) {
                const std::size_t k = (b * H + h) * D + c;
                px[k] = static_cast<float>(py[k] + sigma64[b] * rng.normal_double());
                if ((h == 0 && c < state_dim) || c >= state_dim) px[k] = py[k];
            }
    // Steps 4-6: lambda-weighted squared error, summed over H x D, averaged over the batch.
    const Tensor denoised = denoise(Tensor(std::move(x_in)), sigma);  // (B, H, D)
    DYDIFF_CHECK(denoised.shape() == autograd::Shape(y.shape().begin(), y.shape().end()),
                 "edm_loss: denoiser returned " << shape_str(denoised.shape()) << " for windows "
                                                << shape_str(y.shape()));
    const Tensor per_sample = autograd::sum(autograd::square(autograd::sub(denoised, Tensor(y))), {1, 2});  // (B)
    return autograd::mean(autograd::mul(per_sample, Tensor(std::move(lambda))));
}

Tensor edm_loss(const Denoiser& denoiser, const Array& y, std::size_t state_dim, data::Rng& rng) {
    return edm_loss([&denoiser](const Tensor& x, const Array& sigma) { return denoiser.forward(x, sigma); }, y,
                    state_dim, denoiser.config(), rng);
}

// ---- sampler ----------------------------------------------------------------------------------------------------

std::vector<double> sigma_steps(const EdmConfig& config) {
    config.validate();
    const std::size_t N = config.num_steps;
    const double inv_rho = 1.0 / config.rho;
    const double hi = std::pow(config.sigma_max, inv_rho), lo = std::pow(config.sigma_min, inv_rho);
    std::vector<double> t(N + 1, 0.0);
    for (std::size_t i = 0; i < N; ++i) {
        const double frac = N == 1 ? 0.0 : static_cast<double>(i) / static_cast<double>(N - 1);
        t[i] = std::pow(hi + frac * (lo - hi), config.rho);
    }
    return t;  // t[N] = 0
}

double churn_gamma(const EdmConfig& config, double t_i) {
    if (t_i < config.S_min || t_i > config.S_max) return 0.0;
    return std::min(config.S_churn / static_cast<double>(config.num_steps), std::sqrt(2.0) - 1.0);
}

namespace {

/// What one sampler function keeps between its calls: the U-Net's inference buffers and the float arrays around
/// them. The mutex makes concurrent calls through copies of the function safe (they take turns).
struct SamplerBuffers {
    std::mutex mutex;
    UNetWorkspace unet;
    std::vector<float> x32, x_in, noise, F;
};

}  // namespace

// The same float32 arithmetic as Denoiser::forward (sigma and the coefficients rounded to float, then x * c_in into
// the network and x * c_skip + F * c_out out of it), with the network run by TemporalUNet::infer, not the graph.
SamplerDenoiseFn sampler_denoise_fn(const Denoiser& denoiser) {
    auto buffers = std::make_shared<SamplerBuffers>();
    return [&denoiser, buffers](const SamplerState& x, double sigma) {
        const std::size_t D = denoiser.net().channels();
        DYDIFF_CHECK(x.dimension() == 3 && x.size() > 0 && x.shape()[2] == D && sigma > 0.0,
                     "sampler denoiser: state " << shape_str(x.shape()) << " must be a non-empty (B, H, " << D
                                                << ") and sigma " << sigma << " > 0");
        const std::size_t B = x.shape()[0], H = x.shape()[1], n = x.size();
        const double sigma_data = denoiser.config().sigma_data;
        const double s = static_cast<float>(sigma);  // Denoiser::forward's sigma is a float array
        const float in = static_cast<float>(c_in(s, sigma_data));
        const float skip = static_cast<float>(c_skip(s, sigma_data));
        const float out = static_cast<float>(c_out(s, sigma_data));
        std::lock_guard<std::mutex> lock(buffers->mutex);
        SamplerBuffers& b = *buffers;
        b.x32.resize(n);
        b.x_in.resize(n);
        b.F.resize(n);
        b.noise.assign(B, static_cast<float>(c_noise(s)));
        for (std::size_t k = 0; k < n; ++k) {
            b.x32[k] = static_cast<float>(x.data()[k]);
            b.x_in[k] = b.x32[k] * in;
        }
        denoiser.net().infer(B, H, b.x_in.data(), b.noise.data(), b.F.data(), b.unet);
        SamplerState result = xt::empty<double>({B, H, D});
        for (std::size_t k = 0; k < n; ++k) {
            const float scaled_x = b.x32[k] * skip, scaled_F = b.F[k] * out;
            result.data()[k] = static_cast<double>(scaled_x + scaled_F);
        }
        return result;
    };
}

namespace {

// Inpaint(z) of Algorithm 3: z[:, 0, :S] <- x0 and z[:, :, S:] <- A.
void inpaint(SamplerState& z,              // (B, H, D)
             const Array& cond_state,      // (B, S)
             const Array& cond_actions) {  // (B, H, A)
    const std::size_t B = z.shape()[0], H = z.shape()[1], D = z.shape()[2];
    const std::size_t S = cond_state.shape()[1], A = D - S;
    double* pz = z.data();
    for (std::size_t b = 0; b < B; ++b) {
        for (std::size_t s = 0; s < S; ++s) pz[b * H * D + s] = cond_state.data()[b * S + s];
        for (std::size_t h = 0; h < H; ++h)
            for (std::size_t a = 0; a < A; ++a) pz[(b * H + h) * D + S + a] = cond_actions.data()[(b * H + h) * A + a];
    }
}

void check_denoised(const SamplerState& den, const SamplerState& x) {
    DYDIFF_CHECK(den.shape() == x.shape(), "edm_sample: the denoiser returned " << shape_str(den.shape())
                                                                                << " for a state of shape "
                                                                                << shape_str(x.shape()));
}

}  // namespace

SamplerState edm_sample(const SamplerDenoiseFn& denoise, const Array& xi, const Array& cond_state,
                        const Array& cond_actions, const EdmConfig& config, data::Rng& rng,
                        const SamplerStepFn& on_step) {
    DYDIFF_CHECK(xi.dimension() == 3, "edm_sample: latents " << shape_str(xi.shape()) << " must be (B, H, D)");
    const std::size_t B = xi.shape()[0], H = xi.shape()[1], D = xi.shape()[2];
    DYDIFF_CHECK(cond_state.dimension() == 2 && cond_state.shape()[0] == B && cond_state.shape()[1] <= D,
                 "edm_sample: cond_state " << shape_str(cond_state.shape()) << " must be (" << B
                                           << ", S) with S <= D for latents " << shape_str(xi.shape()));
    const std::size_t S = cond_state.shape()[1];
    DYDIFF_CHECK(cond_actions.dimension() == 3 && cond_actions.shape()[0] == B && cond_actions.shape()[1] == H &&
                     cond_actions.shape()[2] == D - S,
                 "edm_sample: cond_actions " << shape_str(cond_actions.shape()) << " must be (" << B << ", " << H
                                             << ", " << D - S << ") = (B, H, D - S) for latents "
                                             << shape_str(xi.shape()) << " and cond_state "
                                             << shape_str(cond_state.shape()));
    autograd::NoGradGuard no_grad;
    const std::vector<double> t = sigma_steps(config);
    const std::size_t N = config.num_steps;
    const std::size_t n = B * H * D;

    SamplerState x = xt::empty<double>({B, H, D});
    for (std::size_t k = 0; k < n; ++k) x.data()[k] = static_cast<double>(xi.data()[k]) * t[0];
    inpaint(x, cond_state, cond_actions);

    SamplerState x_hat = xt::empty<double>({B, H, D});
    SamplerState d_cur = xt::empty<double>({B, H, D});
    for (std::size_t i = 0; i < N; ++i) {
        const double t_cur = t[i], t_next = t[i + 1];
        // Churn: raise the noise level to t_hat, adding noise to every channel (in-painted ones too, §11 P7).
        const double gamma = churn_gamma(config, t_cur);
        const double t_hat = t_cur * (1.0 + gamma);
        if (gamma > 0.0) {
            const double scale = std::sqrt(t_hat * t_hat - t_cur * t_cur) * config.S_noise;
            for (std::size_t k = 0; k < n; ++k) x_hat.data()[k] = x.data()[k] + scale * rng.normal_double();
        } else {
            x_hat = x;
        }
        // Euler step from t_hat to t_next.
        const SamplerState den = denoise(x_hat, t_hat);
        check_denoised(den, x_hat);
        for (std::size_t k = 0; k < n; ++k) {
            d_cur.data()[k] = (x_hat.data()[k] - den.data()[k]) / t_hat;
            x.data()[k] = x_hat.data()[k] + (t_next - t_hat) * d_cur.data()[k];
        }
        inpaint(x, cond_state, cond_actions);
        // Heun correction, on every step but the last (t_N = 0, §11 P8).
        if (i + 1 < N) {
            const SamplerState den2 = denoise(x, t_next);
            check_denoised(den2, x);
            for (std::size_t k = 0; k < n; ++k) {
                const double d_prime = (x.data()[k] - den2.data()[k]) / t_next;
                x.data()[k] = x_hat.data()[k] + (t_next - t_hat) * (0.5 * d_cur.data()[k] + 0.5 * d_prime);
            }
            inpaint(x, cond_state, cond_actions);
        }
        if (on_step) on_step(i, x);
    }
    return x;
}

SamplerState edm_sample(const Denoiser& denoiser, const Array& xi, const Array& cond_state, const Array& cond_actions,
                        const EdmConfig& config, data::Rng& rng, const SamplerStepFn& on_step) {
    return edm_sample(sampler_denoise_fn(denoiser), xi, cond_state, cond_actions, config, rng, on_step);
}

}  // namespace dydiff
