// `dydiff bench <workload>`: times kernels with std::chrono::steady_clock and reports the median time per iteration
// (and GFLOP/s from it) after a warm-up, one JSON object per line with --json, else a table.
// A workload is a name, a one-line help and a run function over the shared options; `mlp` and later workloads add
// one entry to kWorkloads and reuse Options, time_iterations and Report. The numbers are recorded in
// docs/performance.md, beside the PyTorch peers in docs/bench/ (`learner`: docs/bench/torch_learners.py).
#include "dydiff/cli/args.hpp"
#include "dydiff/cli/commands.hpp"

#include "autograd/ops.hpp"
#include "data/rng.hpp"
#include "dydiff/models/dynamics_ensemble.hpp"
#include "dydiff/diffusion/edm.hpp"
#include "dydiff/diffusion/trainer.hpp"
#include "dydiff/envs/env.hpp"
#include "dydiff/envs/generate.hpp"
#include "dydiff/envs/termination.hpp"
#include "dydiff/diffusion/temporal_unet.hpp"
#include "dydiff/learners/common.hpp"
#include "dydiff/learners/registry.hpp"
#include "dydiff/models/reward_model.hpp"
#include "dydiff/rollout/generator.hpp"
#include "nn/allocator.hpp"
#include "nn/mlp.hpp"
#include "nn/optim.hpp"
#include "nn/parallel.hpp"
#include "nn/simd/arch.hpp"
#include "nn/simd/gemm.hpp"
#include "nn/simd/kernels.hpp"

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <iomanip>
#include <iostream>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include <sys/resource.h>

namespace dydiff::cli {
namespace {

/// Flags shared by every workload.
struct Options {
    bool help = false;                // --help: print the page instead
    bool json = false;                // one JSON object per line instead of a table
    std::size_t threads = 0;          // nn::set_num_threads; 0 keeps the default (DYDIFF_NUM_THREADS or all cores)
    double seconds = 0.5;             // timed duration per case, after the warm-up
    std::string preset;               // U-Net size: paper | small | tiny; "" = the workload's default (unet-*: paper;
                                      // generate: tiny and small)
    std::vector<std::string> shapes;  // workload-specific case list (gemm: MxNxK[:op]); empty = the defaults
    std::vector<std::string> algos;   // learner: the learners to time (--algo a,b); empty = all of the registry
    std::size_t steps = 0;            // learner: timed gradient steps per learner after the warm-up (0 = 300);
                                      // unet-sample: time a whole sampler pass of this many steps (0 = one call)
    bool graph = false;               // unet-sample: the graph forward (Denoiser::forward) instead of infer()
};

/// Timing of one case: per-iteration seconds, median and best of `iterations` timed runs.
struct Timing {
    double median = 0.0;
    double best = 0.0;
    std::size_t iterations = 0;
};

/// Runs fn once to warm up (caches, packing buffers, pool threads), then times single calls until `seconds` have
/// passed (at least min_calls calls; seconds = 0 gives exactly min_calls).
template <class Fn>
Timing time_iterations(const Fn& fn, double seconds, std::size_t min_calls = 3) {
    using Clock = std::chrono::steady_clock;
    fn();
    std::vector<double> samples;
    const auto start = Clock::now();
    while (samples.size() < min_calls || std::chrono::duration<double>(Clock::now() - start).count() < seconds) {
        const auto t0 = Clock::now();
        fn();
        samples.push_back(std::chrono::duration<double>(Clock::now() - t0).count());
    }
    std::sort(samples.begin(), samples.end());
    return {samples[samples.size() / 2], samples.front(), samples.size()};
}

/// The instruction set in use and what runs on it: "avx512f (16 float lanes, gemm tile 6x64, also Mish, GroupNorm +
/// Mish rows and Adam; the other kernels fma3+avx2)", or "fma3+avx2 (8 float lanes, gemm tile 6x16)" when every
/// kernel runs on one set.
std::string simd_summary() {
    const auto [tile_rows, tile_cols] = nn::simd::gemm_micro_tile();
    std::ostringstream os;
    os << nn::simd::arch_name() << " (" << nn::simd::float_lanes() << " float lanes, gemm tile " << tile_rows << 'x'
       << tile_cols;
    if (std::string(nn::simd::arch_name()) != nn::simd::baseline_arch_name())
        os << ", also Mish, GroupNorm + Mish rows and Adam; the other kernels " << nn::simd::baseline_arch_name();
    os << ')';
    return os.str();
}

/// Prints results either as JSON lines or as an aligned table with a header. Both name the instruction set in use
/// (DYDIFF_SIMD picks it), the table in its header, each JSON line in "simd".
class Report {
public:
    Report(const Options& options, std::string workload, std::string columns)
        : json_(options.json), workload_(std::move(workload)) {
        if (!json_) {
            std::cout << workload_ << ": simd " << simd_summary() << ", " << nn::num_threads()
                      << " threads, median of timed iterations\n"
                      << columns << "\n";
        }
    }

    /// shape_json is the JSON array of the case ("[256,256,14]"), row the table line; extra_json more fields.
    void add(const std::string& shape_json, const std::string& extra_json, const Timing& t, double flops,
             const std::string& row) const {
        const double gflops = flops / t.median * 1e-9;
        char numbers[160];
        if (json_) {
            std::snprintf(numbers, sizeof numbers,
                          "\"seconds_per_iter\":%.6e,\"best_seconds_per_iter\":%.6e,\"iterations\":%zu,"
                          "\"gflops\":%.2f",
                          t.median, t.best, t.iterations, gflops);
            std::cout << "{\"workload\":\"" << workload_ << "\",\"shape\":" << shape_json << extra_json
                      << ",\"threads\":" << nn::num_threads() << ",\"simd\":\"" << nn::simd::arch_name() << "\","
                      << numbers << "}\n";
        } else {
            std::snprintf(numbers, sizeof numbers, "%12.4f %10.1f %8zu", t.median * 1e3, gflops, t.iterations);
            std::cout << row << numbers << "\n";
        }
        std::cout.flush();
    }

private:
    bool json_;
    std::string workload_;
};

// ---- gemm -------------------------------------------------------------------------------------------------------

/// One gemm case: C (M, N) = op(A) (M, K) op(B) (K, N), spelled MxNxK[:op] with op in {nn, nt, tn, tt} for
/// (trans_a, trans_b), e.g. 14x256x256:tn is the weight gradient X^T dY of a 14 -> 256 layer at batch 256.
struct GemmCase {
    std::size_t M, N, K;
    bool trans_a = false, trans_b = false;
};

const char* const kGemmDefaults[] = {
    "256x256x256", "512x512x512", "1024x1024x1024",
    "256x256x14",                                    // first MLP layer forward: batch 256, obs 14 -> hidden 256
    "2048x256x256",                                  // hidden layer forward at batch 2048
    "14x256x256:tn", "256x14x256:nt",                // first layer backward: dW = X^T dY, dX = dY W^T
    "256x256x256:tn", "256x256x256:nt",              // hidden layer backward
};

/// Parses a plain decimal in [1, 2^20] (no sign, no suffix) into out; false otherwise.
bool parse_dim(const std::string& text, std::size_t& out) {
    if (text.empty() || text.size() > 7 || text.find_first_not_of("0123456789") != std::string::npos) return false;
    out = std::stoul(text);
    return out >= 1 && out <= (std::size_t{1} << 20);
}

GemmCase parse_gemm_case(const std::string& spec) {
    const std::size_t colon = spec.find(':');
    const std::string dims = spec.substr(0, colon);
    const std::string op = colon == std::string::npos ? "nn" : spec.substr(colon + 1);
    const std::size_t x1 = dims.find('x');
    const std::size_t x2 = x1 == std::string::npos ? x1 : dims.find('x', x1 + 1);
    GemmCase c{};
    if (x2 == std::string::npos || !parse_dim(dims.substr(0, x1), c.M) ||
        !parse_dim(dims.substr(x1 + 1, x2 - x1 - 1), c.N) || !parse_dim(dims.substr(x2 + 1), c.K))
        throw UsageError("dydiff bench: bad gemm shape '" + spec + "' (want MxNxK[:op], each dimension in 1..2^20)");
    if (op != "nn" && op != "nt" && op != "tn" && op != "tt")
        throw UsageError("dydiff bench: bad gemm op '" + op + "' in '" + spec + "' (want nn, nt, tn or tt)");
    c.trans_a = op[0] == 't';
    c.trans_b = op[1] == 't';
    return c;
}

/// Our own fill: a 32-bit LCG mapped to [-1, 1), enough to keep the FPU off denormals and zeros.
void fill(std::vector<float>& v, std::uint32_t seed) {
    for (float& x : v) {
        seed = seed * 1664525u + 1013904223u;
        x = static_cast<float>(seed >> 8) / static_cast<float>(1u << 23) - 1.0f;
    }
}

void bench_gemm(const Options& options) {
    std::vector<GemmCase> cases;
    if (options.shapes.empty()) {
        for (const char* spec : kGemmDefaults) cases.push_back(parse_gemm_case(spec));
    } else {
        for (const auto& spec : options.shapes) cases.push_back(parse_gemm_case(spec));
    }
    const Report report(options, "gemm", "      M      N      K  op      ms/iter    GFLOP/s    iters");
    for (const auto& c : cases) {
        std::vector<float> a(c.M * c.K), b(c.K * c.N), out(c.M * c.N);
        fill(a, 1);
        fill(b, 2);
        const std::size_t lda = c.trans_a ? c.M : c.K;  // A stored (K, M) when transposed, else (M, K)
        const std::size_t ldb = c.trans_b ? c.K : c.N;  // B stored (N, K) when transposed, else (K, N)
        const Timing t = time_iterations(
            [&] {
                nn::simd::gemm(c.trans_a, c.trans_b, c.M, c.N, c.K, 1.0f, a.data(), lda, b.data(), ldb, 0.0f,
                               out.data(), c.N);
            },
            options.seconds);
        const std::string op = std::string(c.trans_a ? "t" : "n") + (c.trans_b ? "t" : "n");
        std::ostringstream shape, row;
        shape << '[' << c.M << ',' << c.N << ',' << c.K << ']';
        char cols[64];
        std::snprintf(cols, sizeof cols, "%7zu%7zu%7zu  %s ", c.M, c.N, c.K, op.c_str());
        report.add(shape.str(), ",\"op\":\"" + op + "\"", t, 2.0 * double(c.M) * double(c.N) * double(c.K), cols);
    }
}

// ---- mlp ----------------------------------------------------------------------------------------------------------

/// One TD3+BC-size critic step: two MLPs I -> H -> H -> 1 (ReLU) on a batch of B, MSE to a fixed target, backward,
/// Adam. Spelled BxIxH; the default 256x14x256 is the reference workload (PyTorch peer:
/// docs/bench/torch_mlp_step.py).
struct MlpCase {
    std::size_t B, I, H;
};

MlpCase parse_mlp_case(const std::string& spec) {
    const std::size_t x1 = spec.find('x');
    const std::size_t x2 = x1 == std::string::npos ? x1 : spec.find('x', x1 + 1);
    MlpCase c{};
    if (x2 == std::string::npos || !parse_dim(spec.substr(0, x1), c.B) ||
        !parse_dim(spec.substr(x1 + 1, x2 - x1 - 1), c.I) || !parse_dim(spec.substr(x2 + 1), c.H))
        throw UsageError("dydiff bench: bad mlp case '" + spec + "' (want BxIxH: batch x inputs x hidden width)");
    return c;
}

void bench_mlp(const Options& options) {
    std::vector<MlpCase> cases;
    if (options.shapes.empty()) cases.push_back({256, 14, 256});
    for (const auto& spec : options.shapes) cases.push_back(parse_mlp_case(spec));
    const Report report(options, "mlp", "      B      I      H     ms/step    GFLOP/s    iters");
    for (const auto& c : cases) {
        data::Rng rng(0);
        nn::MLP q1({c.I, c.H, c.H, 1}, nn::Activation::relu, rng);
        nn::MLP q2({c.I, c.H, c.H, 1}, nn::Activation::relu, rng);
        nn::NamedTensors params = q1.named_parameters();
        for (auto& p : q2.named_parameters()) params.push_back(p);
        nn::Adam adam(params, nn::AdamConfig{3e-4f});
        autograd::Array x = xt::empty<float>({c.B, c.I});
        autograd::Array y = xt::empty<float>({c.B, std::size_t{1}});
        rng.fill_normal(x.data(), x.size());
        rng.fill_normal(y.data(), y.size());
        const autograd::Tensor xs(x), ys(y);
        const Timing t = time_iterations(
            [&] {
                using autograd::mean;
                using autograd::square;
                autograd::Tensor loss = mean(square(q1.forward(xs) - ys)) + mean(square(q2.forward(xs) - ys));
                adam.zero_grad();
                loss.backward();
                adam.step();
            },
            options.seconds);
        // Forward 2 B (I H + H H + H) per network; backward twice that (input gradient and weight gradient).
        const double forward = 2.0 * double(c.B) * double(c.I * c.H + c.H * c.H + c.H);
        std::ostringstream shape;
        shape << '[' << c.B << ',' << c.I << ',' << c.H << ']';
        char cols[64];
        std::snprintf(cols, sizeof cols, "%7zu%7zu%7zu ", c.B, c.I, c.H);
        report.add(shape.str(), ",\"networks\":2", t, 2 * 3 * forward, cols);
    }
}

// ---- ensemble-train -----------------------------------------------------------------------------------------------

/// One training step of the dynamics ensemble (docs/algorithm.md §5.2): E = 7 members of 4 x 200 SiLU EnsembleLinear
/// layers on (E, B, S + A), Gaussian loss with bounded log-variance, backward, Adam with the per-layer coupled weight
/// decay. Spelled SxAxB; the default 11x3x256 is hopper at the official batch size (PyTorch peer:
/// docs/bench/torch_ensemble.py). Also reports the process's peak RSS (getrusage) after the case.
struct EnsembleCase {
    std::size_t S, A, B;
};

EnsembleCase parse_ensemble_case(const std::string& spec) {
    const std::size_t x1 = spec.find('x');
    const std::size_t x2 = x1 == std::string::npos ? x1 : spec.find('x', x1 + 1);
    EnsembleCase c{};
    if (x2 == std::string::npos || !parse_dim(spec.substr(0, x1), c.S) ||
        !parse_dim(spec.substr(x1 + 1, x2 - x1 - 1), c.A) || !parse_dim(spec.substr(x2 + 1), c.B))
        throw UsageError("dydiff bench: bad ensemble-train case '" + spec + "' (want SxAxB: obs dim x action dim x batch)");
    return c;
}

/// Peak resident set size of this process in MiB (Linux reports ru_maxrss in KiB).
double peak_rss_mib() {
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return static_cast<double>(usage.ru_maxrss) / 1024.0;
}

void bench_ensemble_train(const Options& options) {
    std::vector<EnsembleCase> cases;
    if (options.shapes.empty()) cases.push_back({11, 3, 256});
    for (const auto& spec : options.shapes) cases.push_back(parse_ensemble_case(spec));
    const Report report(options, "ensemble-train",
                        "      E      S      A      B  peak RSS MiB     ms/step    GFLOP/s    iters");
    for (const auto& c : cases) {
        const EnsembleConfig config;  // 7 members, 4 x 200 SiLU, the §5.2 weight decays
        data::Rng rng(0);
        DynamicsEnsemble model(c.S, c.A, config, rng);
        nn::Adam adam(ensemble_param_groups(model, config.weight_decay), nn::AdamConfig{config.lr});
        autograd::Array x = xt::empty<float>({config.members, c.B, c.S + c.A});  // (E, B, S + A)
        autograd::Array y = xt::empty<float>({config.members, c.B, c.S});        // (E, B, S)
        rng.fill_normal(x.data(), x.size());
        rng.fill_normal(y.data(), y.size());
        const autograd::Tensor xs(x), ys(y);
        const Timing t = time_iterations(
            [&] {
                autograd::Tensor loss = ensemble_loss(model.forward(xs), ys);
                adam.zero_grad();
                loss.backward();
                adam.step();
            },
            options.seconds);
        // Forward 2 B (I H + (L - 1) H H + H 2S) per member; backward twice that.
        const std::size_t in = c.S + c.A, h = config.hidden;
        const double forward = 2.0 * double(c.B) * double(config.members) *
                               double(in * h + (config.layers - 1) * h * h + h * 2 * c.S);
        const double rss = peak_rss_mib();
        std::ostringstream shape;
        shape << '[' << config.members << ',' << c.S << ',' << c.A << ',' << c.B << ']';
        char cols[96];
        std::snprintf(cols, sizeof cols, "%7zu%7zu%7zu%7zu %13.1f ", config.members, c.S, c.A, c.B, rss);
        char extra[64];
        std::snprintf(extra, sizeof extra, ",\"peak_rss_mib\":%.1f", rss);
        report.add(shape.str(), extra, t, 3 * forward, cols);
    }
}

// ---- unet-train, unet-sample ------------------------------------------------------------------------------------

/// The diffusion workloads run on hopper-sized windows: D = 14 channels (S = 11), horizon 100 (§6.1).
constexpr std::size_t kUNetChannels = 14;
constexpr std::size_t kUNetStateDim = 11;
constexpr std::size_t kUNetHorizon = 100;

std::vector<std::size_t> batch_sizes(const Options& options, std::size_t fallback) {
    std::vector<std::size_t> batches;
    for (const auto& spec : options.shapes) {
        std::size_t b = 0;
        if (!parse_dim(spec, b)) throw UsageError("dydiff bench: bad batch size '" + spec + "' (want an integer in 1..2^20)");
        batches.push_back(b);
    }
    if (batches.empty()) batches.push_back(fallback);
    return batches;
}

/// The preset unet-train and unet-sample time: --preset, else paper.
std::string unet_preset_name(const Options& options) { return options.preset.empty() ? "paper" : options.preset; }

UNetConfig bench_preset(const Options& options) {
    try {
        return unet_preset(unet_preset_name(options));
    } catch (const Error& e) {
        throw UsageError(std::string("dydiff bench: ") + e.what());
    }
}

std::string unet_extra_json(const Options& options, std::size_t params) {
    char text[160];
    std::snprintf(text, sizeof text, ",\"preset\":\"%s\",\"params\":%zu,\"peak_rss_mib\":%.1f",
                  unet_preset_name(options).c_str(), params, peak_rss_mib());
    return text;
}

/// One diffusion training step (§6.1): EDM loss with in-painting on a batch of B windows (default 8), backward,
/// Adam. PyTorch peer: docs/bench/torch_unet.py train.
void bench_unet_train(const Options& options) {
    const UNetConfig config = bench_preset(options);
    const Report report(options, "unet-train", "preset      B    H    D     ms/step    GFLOP/s    iters");
    for (std::size_t B : batch_sizes(options, 8)) {
        data::Rng rng(0);
        const TemporalUNet net(config, kUNetChannels, rng);
        const Denoiser denoiser(net);
        nn::Adam adam(net.named_parameters(), nn::AdamConfig{1e-4f});
        autograd::Array y = xt::empty<float>({B, kUNetHorizon, kUNetChannels});
        rng.fill_uniform(y.data(), y.size(), -1.0f, 1.0f);
        const Timing t = time_iterations(
            [&] {
                autograd::Tensor loss = edm_loss(denoiser, y, kUNetStateDim, rng);
                adam.zero_grad();
                loss.backward();
                adam.step();
            },
            options.seconds);
        // Backward costs twice the forward (input and weight gradients).
        const double flops = 3.0 * 2.0 * double(B) * unet_forward_macs(config, kUNetChannels, kUNetHorizon);
        std::ostringstream shape;
        shape << '[' << B << ',' << kUNetHorizon << ',' << kUNetChannels << ']';
        char cols[64];
        std::snprintf(cols, sizeof cols, "%-8s%5zu%5zu%5zu ", unet_preset_name(options).c_str(), B, kUNetHorizon,
                      kUNetChannels);
        report.add(shape.str(), unet_extra_json(options, net.num_parameters()), t, flops, cols);
    }
}

/// A unet-sample case, spelled B or BxHxD (batch x horizon x channels; H and D default to the hopper windows).
struct SampleCase {
    std::size_t B, H = kUNetHorizon, D = kUNetChannels;
};

SampleCase parse_sample_case(const std::string& spec) {
    SampleCase c{};
    const std::size_t x1 = spec.find('x');
    if (x1 == std::string::npos && parse_dim(spec, c.B)) return c;
    const std::size_t x2 = x1 == std::string::npos ? x1 : spec.find('x', x1 + 1);
    if (x2 == std::string::npos || !parse_dim(spec.substr(0, x1), c.B) ||
        !parse_dim(spec.substr(x1 + 1, x2 - x1 - 1), c.H) || !parse_dim(spec.substr(x2 + 1), c.D) || c.D < 2)
        throw UsageError("dydiff bench: bad unet-sample case '" + spec +
                         "' (want B or BxHxD: batch x horizon x channels, D >= 2)");
    return c;
}

/// The sampler's network call (§4.3): D(x; sigma) on a batch of B windows (default 256 x 100 x 14) through
/// sampler_denoise_fn (TemporalUNet::infer), or with --graph through Denoiser::forward under NoGradGuard (the path
/// the sampler took before infer existed). With --steps N, a whole conditional Heun pass of N steps instead
/// (edm_sample with in-painting, state dim D - 1, default churn: 2N - 1 calls). PyTorch peer of one call:
/// docs/bench/torch_unet.py sample.
void bench_unet_sample(const Options& options) {
    const UNetConfig config = bench_preset(options);
    const bool pass = options.steps > 0;
    const Report report(options, "unet-sample",
                        std::string("path: ") + (options.graph ? "graph (Denoiser::forward)" : "infer") +
                            (pass ? "; a whole sampler pass of " + std::to_string(options.steps) + " steps" : "") +
                            "\npreset      B    H    D  ms/" + (pass ? "pass   " : "forward") + "    GFLOP/s    iters");
    std::vector<SampleCase> cases;
    for (const auto& spec : options.shapes) cases.push_back(parse_sample_case(spec));
    if (cases.empty()) cases.push_back({256});
    for (const SampleCase& c : cases) {
        try {
            config.check_horizon(c.H);
        } catch (const Error& e) {
            throw UsageError(std::string("dydiff bench: ") + e.what());
        }
        data::Rng rng(0);
        TemporalUNet net(config, c.D, rng);
        if (!options.graph) net.make_inference_only();  // as the samplers of train-agent and rollout-error hold it
        const Denoiser denoiser(net);
        const SamplerDenoiseFn denoise =
            options.graph ? SamplerDenoiseFn([&denoiser](const SamplerState& x, double sigma) {
                autograd::NoGradGuard no_grad;
                autograd::Array x32 = xt::empty<float>(x.shape());
                std::copy(x.begin(), x.end(), x32.begin());
                const autograd::Array sig = xt::full_like(xt::empty<float>({x.shape()[0]}), static_cast<float>(sigma));
                const autograd::Tensor out = denoiser.forward(autograd::Tensor(std::move(x32)), sig);
                SamplerState result = xt::empty<double>(x.shape());
                std::copy(out.value().begin(), out.value().end(), result.begin());
                return result;
            })
                          : sampler_denoise_fn(denoiser);
        autograd::Array xi = xt::empty<float>({c.B, c.H, c.D});
        rng.fill_normal(xi.data(), xi.size());
        std::size_t calls = 1;
        std::function<void()> step;
        SamplerState x = xt::empty<double>({c.B, c.H, c.D});
        std::copy(xi.begin(), xi.end(), x.begin());
        autograd::Array cond_state = xt::zeros<float>({c.B, c.D - 1});
        autograd::Array cond_actions = xt::zeros<float>({c.B, c.H, std::size_t{1}});
        EdmConfig edm;
        edm.num_steps = pass ? options.steps : 1;
        if (pass) {
            calls = 2 * options.steps - 1;
            step = [&] { (void)edm_sample(denoise, xi, cond_state, cond_actions, edm, rng); };
        } else {
            step = [&] { (void)denoise(x, 1.0); };
        }
        const Timing t = time_iterations(step, options.seconds);
        const double flops = double(calls) * 2.0 * double(c.B) * unet_forward_macs(config, c.D, c.H);
        std::ostringstream shape;
        shape << '[' << c.B << ',' << c.H << ',' << c.D << ']';
        char cols[64];
        std::snprintf(cols, sizeof cols, "%-8s%5zu%5zu%5zu ", unet_preset_name(options).c_str(), c.B, c.H, c.D);
        char extra[96];
        std::snprintf(extra, sizeof extra, ",\"path\":\"%s\",\"sampler_steps\":%zu", options.graph ? "graph" : "infer",
                      options.steps);
        report.add(shape.str(), unet_extra_json(options, unet_num_parameters(config, c.D)) + extra, t, flops, cols);
    }
}

// ---- maze2d-generate -----------------------------------------------------------------------------------------------

/// The maze2d dataset recipe (waypoint controller, point-mass physics, wall contact) on one thread: rows generated per
/// second, without writing the file. --shapes gives the row counts (default 1000000); the target is >= 1M rows/s.
void bench_maze2d_generate(const Options& options) {
    const Report report(options, "maze2d-generate", "maze                rows   ms/dataset  (no GFLOP/s)  iters");
    const std::vector<std::size_t> rows = batch_sizes(options, 1000000);
    for (const char* maze : {"maze2d-umaze", "maze2d-medium", "maze2d-large"}) {
        for (std::size_t n : rows) {
            envs::GenerateConfig config;
            config.env = maze;
            config.steps = n;
            const Timing t = time_iterations([&] { envs::generate_dataset(config); }, options.seconds);
            char extra[96];
            std::snprintf(extra, sizeof extra, ",\"env\":\"%s\",\"rows_per_second\":%.4g", maze,
                          static_cast<double>(n) / t.median);
            char cols[64];
            std::snprintf(cols, sizeof cols, "%-14s%10zu ", maze, n);
            report.add("[" + std::to_string(n) + "]", extra, t, 0.0, cols);
        }
    }
}

// ---- learner ------------------------------------------------------------------------------------------------------

/// Gradient steps per second of the offline-RL learners (docs/algorithm.md §5.4), each built by
/// learners::make_learner with its default config, at hopper's dims (S = 11, A = 3) and batch 256. One step is one
/// Learner::update, the learner's whole per-step work (TD3+BC's actor and targets on every 2nd step, so steps are
/// timed in blocks of an even count and reported per step). The batches come from a FIXED pool of kLearnerPool
/// random batches made before the timing and cycled, so sampling is not timed; make_batch's normalisation (inside
/// update) is. PyTorch peer: docs/bench/torch_learners.py, same pool rule.
constexpr std::size_t kLearnerObsDim = 11;   // hopper S
constexpr std::size_t kLearnerActionDim = 3; // hopper A
constexpr std::size_t kLearnerBatch = 256;   // the batch of every learner config (§5.4.1)
constexpr std::size_t kLearnerPool = 8;      // distinct batches, cycled
constexpr std::size_t kLearnerDefaultSteps = 300;  // timed steps per learner without --steps
constexpr std::size_t kLearnerBlock = 10;    // steps per timed call; even, so TD3+BC's policy delay 2 averages out
constexpr float kLearnerDoneRate = 0.01f;    // fraction of terminal transitions in the random batches

/// One random batch of B hopper-sized transitions: observations N(0, 1), actions U(−1, 1) (the spec's box), rewards
/// N(0, 1), done with probability kLearnerDoneRate.
data::Transitions random_transitions(std::size_t B, data::Rng& rng) {
    data::Transitions t = data::Transitions::zeros(B, kLearnerObsDim, kLearnerActionDim);
    rng.fill_normal(t.observations.data(), t.observations.size());
    rng.fill_uniform(t.actions.data(), t.actions.size(), -1.0f, 1.0f);
    rng.fill_normal(t.rewards.data(), t.rewards.size());
    rng.fill_normal(t.next_observations.data(), t.next_observations.size());
    for (float& d : t.dones) d = rng.uniform() < kLearnerDoneRate ? 1.0f : 0.0f;
    return t;
}

void bench_learner(const Options& options) {
    std::vector<std::string> algos = options.algos.empty() ? learners::learner_names() : options.algos;
    for (const auto& algo : algos) {
        if (!learners::is_learner(algo)) {
            std::string known;
            for (const auto& name : learners::learner_names()) known += (known.empty() ? "" : ", ") + name;
            throw UsageError("dydiff bench learner: unknown --algo '" + algo + "' (known: " + known + ")");
        }
    }
    // The spec of standardised data: z-scores are the identity, the box is [−1, 1]^A.
    learners::LearnerSpec spec;
    spec.obs_dim = kLearnerObsDim;
    spec.action_dim = kLearnerActionDim;
    spec.obs_mean.assign(kLearnerObsDim, 0.0f);
    spec.obs_std.assign(kLearnerObsDim, 1.0f);
    spec.action_low.assign(kLearnerActionDim, -1.0f);
    spec.action_high.assign(kLearnerActionDim, 1.0f);
    data::Rng rng(0);
    std::vector<data::Transitions> pool;
    for (std::size_t i = 0; i < kLearnerPool; ++i) pool.push_back(random_transitions(kLearnerBatch, rng));

    const bool kept = nn::freed_memory_kept();
    const Report report(options, "learner",
                        std::string("malloc: ") +
                            (kept ? "keeps freed memory (DYDIFF_KEEP_FREED_MEMORY=0: glibc's defaults)"
                                  : "glibc's defaults (DYDIFF_KEEP_FREED_MEMORY=0)") +
                            "; batches: a fixed pool of " + std::to_string(kLearnerPool) +
                            "\nalgo        S    A      B    steps/s     ms/step  (no GFLOP/s)  steps");
    const std::size_t steps = options.steps ? options.steps : kLearnerDefaultSteps;
    const std::size_t blocks = (steps + kLearnerBlock - 1) / kLearnerBlock;
    for (const auto& algo : algos) {
        const learners::LearnerConfigs configs;  // every learner's defaults (dydiff/learners/configs.hpp)
        const std::unique_ptr<learners::Learner> learner = learners::make_learner(algo, configs, spec);
        std::size_t next = 0;
        const Timing block = time_iterations(
            [&] {
                for (std::size_t k = 0; k < kLearnerBlock; ++k) {
                    learner->update(pool[next]);
                    next = (next + 1) % kLearnerPool;
                }
            },
            0.0, blocks);
        const double per = static_cast<double>(kLearnerBlock);
        const Timing step{block.median / per, block.best / per, block.iterations * kLearnerBlock};
        char extra[200];
        std::snprintf(extra, sizeof extra,
                      ",\"algo\":\"%s\",\"steps_per_second\":%.1f,\"best_steps_per_second\":%.1f,\"pool\":\"fixed\","
                      "\"keep_freed_memory\":%s",
                      algo.c_str(), 1.0 / step.median, 1.0 / step.best, kept ? "true" : "false");
        char cols[96];
        std::snprintf(cols, sizeof cols, "%-8s%5zu%5zu%7zu %10.1f ", algo.c_str(), kLearnerObsDim, kLearnerActionDim,
                      kLearnerBatch, 1.0 / step.median);
        std::ostringstream shape;
        shape << '[' << kLearnerObsDim << ',' << kLearnerActionDim << ',' << kLearnerBatch << ']';
        report.add(shape.str(), extra, step, 0.0, cols);
    }
}


// ---- generate -----------------------------------------------------------------------------------------------------

/// One RL-time generation of the DyDiff loop (docs/algorithm.md §4.2–§4.5, dydiff/rollout/generator.hpp): B_roll start
/// states, Algorithm 2 in chunks of 256 (M = 2 refinements, and M = 0: the one-step ensemble alone), the hardmax
/// filter, the transitions. Randomly initialised models at an env's dims: the preset's U-Net (H = the preset's
/// training horizon) with the sampler's num_steps N, the default 7-member ensemble (5 elites), the default reward
/// model, a default TD3+BC actor as the policy; the env's boxes as the model scale. Cases per preset (--preset, else
/// tiny and small) and env (maze2d-umaze S = 4, A = 2; pendulum S = 3, A = 1): M = 2 for each --shapes B[:N] (default
/// 2048:34), M = 0 once per B. A warm-up generation of one chunk, then whole generations for --seconds (at least
/// one). Reports stored transitions per second, trajectories per second and seconds per generation; JSON
/// `refinements` is M (`iterations` counts the timed generations, as in every workload).
constexpr std::size_t kGenerateChunk = 256;  // the generator's default chunk
constexpr std::size_t kGenerateM = 2;        // M, official (docs/algorithm.md §4.6)

struct GenerateCase {
    std::size_t starts;     // B_roll
    std::size_t num_steps;  // sampler N
};

GenerateCase parse_generate_case(const std::string& spec) {
    const std::size_t colon = spec.find(':');
    GenerateCase c{0, EdmConfig{}.num_steps};
    if (!parse_dim(spec.substr(0, colon), c.starts) ||
        (colon != std::string::npos && !parse_dim(spec.substr(colon + 1), c.num_steps)))
        throw UsageError("dydiff bench: bad generate case '" + spec +
                         "' (want B[:N]: start states, sampler steps; each in 1..2^20)");
    return c;
}

/// The models of one (preset, env) pair, randomly initialised, and the generator's functions over them.
class GenerateModels {
public:
    GenerateModels(const std::string& preset, const std::string& env_name)
        : env_(envs::make_env(env_name)), rng_(0), elite_rng_(1) {
        DiffusionTrainConfig train;
        train.apply_preset(preset);
        horizon_ = train.horizon;
        const std::size_t S = env_->obs_dim(), A = env_->action_dim();
        const envs::Box obs_box = env_->observation_space(), action_box = env_->action_space();
        xt::xtensor<float, 1> lo = xt::empty<float>({S + A}), hi = xt::empty<float>({S + A});
        for (std::size_t k = 0; k < S; ++k) lo(k) = obs_box.low[k], hi(k) = obs_box.high[k];
        for (std::size_t k = 0; k < A; ++k) lo(S + k) = action_box.low[k], hi(S + k) = action_box.high[k];
        scale_ = std::make_unique<ModelScale>(data::MinMaxNormalizer(lo, hi), S);
        // Start states: uniform in the observation box.
        pool_ = xt::empty<float>({std::size_t{4096}, S});
        for (std::size_t i = 0; i < pool_.shape()[0]; ++i)
            for (std::size_t k = 0; k < S; ++k) pool_(i, k) = rng_.uniform(obs_box.low[k], obs_box.high[k]);
        obs_norm_ = data::ZScoreNormalizer::fit(pool_);
        net_ = std::make_unique<TemporalUNet>(train.unet, S + A, rng_);
        net_->make_inference_only();  // only sampled, as in train-agent
        ensemble_ = std::make_unique<DynamicsEnsemble>(S, A, EnsembleConfig{}, rng_);
        ensemble_->set_elites({0, 1, 2, 3, 4});
        reward_ = std::make_unique<RewardModel>(S, A, RewardConfig{}, rng_);
        policy_ = learners::make_learner("td3bc", learners::LearnerConfigs{},
                                         learners::make_spec(pool_, action_box.low, action_box.high, 0));
        terminated_ = envs::termination_fn(env_name);
    }

    std::size_t horizon() const { return horizon_; }
    const xt::xtensor<float, 2>& pool() const { return pool_; }

    /// The generator's models with the sampler at N steps (the denoiser must outlive the result).
    GeneratorModels models(const Denoiser& denoiser, std::size_t num_steps) {
        EdmConfig sampler;
        sampler.num_steps = num_steps;
        GeneratorModels g;
        g.policy = [this](const Array2& s, std::size_t) { return policy_->act(s, true); };
        g.step = ensemble_step_fn(*ensemble_, obs_norm_, elite_rng_);
        g.sample = diffusion_sampler(sampler_denoise_fn(denoiser), sampler);
        g.scale = scale_.get();
        g.horizon = horizon_;
        g.reward = [this](const Array2& obs, const Array2& act) {
            const autograd::Array r = reward_->predict(obs_norm_.apply(obs), act);
            xt::xtensor<float, 1> out = xt::empty<float>({obs.shape()[0]});
            std::copy(r.begin(), r.end(), out.begin());
            return out;
        };
        g.terminated = terminated_;
        return g;
    }

    const TemporalUNet& net() const { return *net_; }

private:
    std::unique_ptr<envs::Env> env_;
    data::Rng rng_, elite_rng_;
    std::size_t horizon_ = 0;
    std::unique_ptr<ModelScale> scale_;
    xt::xtensor<float, 2> pool_;
    data::ZScoreNormalizer obs_norm_;
    std::unique_ptr<TemporalUNet> net_;
    std::unique_ptr<DynamicsEnsemble> ensemble_;
    std::unique_ptr<RewardModel> reward_;
    std::unique_ptr<learners::Learner> policy_;
    envs::TerminationFn terminated_;
};

void bench_generate(const Options& options) {
    std::vector<GenerateCase> cases;
    for (const auto& spec : options.shapes) cases.push_back(parse_generate_case(spec));
    if (cases.empty()) cases.push_back({2048, EdmConfig{}.num_steps});
    const std::vector<std::string> presets =
        options.preset.empty() ? std::vector<std::string>{"tiny", "small"} : std::vector<std::string>{options.preset};
    for (const std::string& preset : presets) {  // a bad name fails before the table starts
        try {
            DiffusionTrainConfig().apply_preset(preset);
        } catch (const Error& e) {
            throw UsageError(std::string("dydiff bench: ") + e.what());
        }
    }
    const Report report(options, "generate",
                        "preset  env              H      B  M    N  transitions/s   traj/s  ms/generation  (no GFLOP/s)  "
                        "iters");
    for (const std::string& preset : presets) {
        for (const char* env : {"maze2d-umaze", "pendulum"}) {
            GenerateModels m(preset, env);
            // M = 2 for every (B, N), then M = 0 once per B (it never calls the sampler).
            std::vector<std::pair<GenerateCase, std::size_t>> runs;  // (case, M)
            for (const auto& c : cases) runs.push_back({c, kGenerateM});
            for (const auto& c : cases) {
                bool seen = false;
                for (const auto& r : runs) seen = seen || (r.second == 0 && r.first.starts == c.starts);
                if (!seen) runs.push_back({{c.starts, 0}, 0});
            }
            for (const auto& [c, M] : runs) {
                EdmConfig edm;
                edm.num_steps = std::max<std::size_t>(1, c.num_steps);
                const Denoiser denoiser(m.net(), edm);
                const GeneratorModels g = m.models(denoiser, edm.num_steps);
                GeneratorConfig config;
                config.starts = c.starts;
                config.chunk = kGenerateChunk;
                config.iterations = M;
                GeneratorConfig warm = config;
                warm.starts = std::min(c.starts, kGenerateChunk);
                generate_rollouts(m.pool(), g, warm, data::Rng(1));
                std::vector<double> samples;
                std::size_t transitions = 0;
                using Clock = std::chrono::steady_clock;
                const auto start = Clock::now();
                while (samples.empty() || std::chrono::duration<double>(Clock::now() - start).count() < options.seconds) {
                    const Generation gen = generate_rollouts(m.pool(), g, config, data::Rng(2 + samples.size()));
                    samples.push_back(gen.stats.seconds);
                    transitions = gen.stats.transitions;
                }
                std::sort(samples.begin(), samples.end());
                const Timing t{samples[samples.size() / 2], samples.front(), samples.size()};
                const double per_second = static_cast<double>(transitions) / t.median;
                const double traj_per_second = static_cast<double>(c.starts) / t.median;
                char extra[320];
                std::snprintf(extra, sizeof extra,
                              ",\"preset\":\"%s\",\"env\":\"%s\",\"horizon\":%zu,\"starts\":%zu,\"chunk\":%zu,"
                              "\"refinements\":%zu,\"num_steps\":%zu,\"transitions\":%zu,\"transitions_per_second\":%.1f,"
                              "\"trajectories_per_second\":%.2f,\"seconds_per_generation\":%.3f",
                              preset.c_str(), env, m.horizon(), c.starts, kGenerateChunk, M, c.num_steps, transitions,
                              per_second, traj_per_second, t.median);
                char cols[160];
                std::snprintf(cols, sizeof cols, "%-7s %-14s %4zu %6zu %2zu %4zu %14.1f %8.2f ", preset.c_str(), env,
                              m.horizon(), c.starts, M, c.num_steps, per_second, traj_per_second);
                std::ostringstream shape;
                shape << '[' << c.starts << ',' << m.horizon() << ',' << c.num_steps << ']';
                report.add(shape.str(), extra, t, 0.0, cols);
            }
        }
    }
}

// ---- kernels ------------------------------------------------------------------------------------------------------

/// The vector kernels with a variant per instruction set (nn/simd/kernels_impl.hpp) on the set in use (DYDIFF_SIMD
/// picks it), each on n floats per call: Mish forward and backward, GroupNorm + Mish over rows with the time add and
/// the residual as the U-Net's ResBlocks call it (C = 64 channels, G = 8 groups, H = 32 rows per sample, n / 2048
/// samples), and Adam's update. --shapes N,... (default 65536 = 256 KiB per array, cache-resident, and 4194304,
/// from memory). The GFLOP/s column counts elements: G elements per second.
void bench_kernels(const Options& options) {
    std::vector<std::size_t> sizes;
    for (const auto& spec : options.shapes) {
        const bool digits =
            !spec.empty() && spec.size() <= 9 && spec.find_first_not_of("0123456789") == std::string::npos;
        const std::size_t n = digits ? std::stoul(spec) : 0;
        if (n == 0 || n % 2048 != 0 || n > (std::size_t{1} << 26))
            throw UsageError("dydiff bench: bad kernels case '" + spec +
                             "' (want a multiple of 2048 floats, at most 2^26)");
        sizes.push_back(n);
    }
    if (sizes.empty()) sizes = {65536, 4194304};
    const Report report(options, "kernels", "  kernel                      n      ms/iter   Gelem/s    iters");
    constexpr std::size_t C = 64, G = 8, H = 32;
    for (const std::size_t n : sizes) {
        std::vector<float> x(n), y(n), d(n), dx(n), res(n), p(n), g(n), m(n), v(n);
        fill(x, 1);
        fill(d, 2);
        fill(res, 3);
        fill(p, 4);
        fill(g, 5);
        fill(m, 6);
        for (float& e : v) e = 0.01f;
        const std::size_t B = n / (C * H);
        std::vector<float> bias(C, 0.1f), gamma(C, 1.0f), beta(C, 0.0f), add(C, 0.2f), mean(B * G), rstd(B * G);
        const std::pair<const char*, std::function<void()>> cases[] = {
            {"mish_forward", [&] { nn::simd::mish_forward(n, x.data(), y.data()); }},
            {"mish_backward", [&] { nn::simd::mish_backward(n, x.data(), d.data(), dx.data()); }},
            {"group_norm_mish_rows",
             [&] {
                 nn::simd::group_norm_mish_rows(B, H, C, G, H * C, x.data(), bias.data(), gamma.data(), beta.data(),
                                                1e-5f, add.data(), 0, res.data(), y.data(), mean.data(), rstd.data());
             }},
            {"adam_update",
             [&] {
                 nn::simd::adam_update(n, p.data(), g.data(), m.data(), v.data(), 1e-4f, 0.9f, 0.999f, 1e-8f, 0.0f,
                                       0.5f, 0.05f, false);
             }},
        };
        for (const auto& [name, call] : cases) {
            const Timing t = time_iterations(call, options.seconds);
            char row[64];
            std::snprintf(row, sizeof row, "  %-22s %9zu ", name, n);
            report.add("[" + std::to_string(n) + "]", std::string(",\"kernel\":\"") + name + "\"", t, double(n), row);
        }
    }
}

// ---- peak ---------------------------------------------------------------------------------------------------------

/// Rounds of the FMA peak loop per timed call: 2^20 x 12 chains x 16 lanes x 2 flop = 403 MFLOP with AVX-512, a few
/// milliseconds, short enough to fit between the interruptions of a shared machine.
constexpr std::size_t kPeakSteps = std::size_t{1} << 20;

/// The FMA ceiling of each instruction set of this build: independent FMA chains held in registers
/// (nn::simd::fma_peak_loop), one loop per thread, all threads at once. With --threads 1 it is the peak of one
/// core, the number the gemm's GFLOP/s compare against.
void bench_peak(const Options& options) {
    const Report report(options, "peak", "  set          lanes      ms/iter    GFLOP/s    iters");
    const std::size_t threads = nn::num_threads();
    for (const std::string& set : nn::simd::compiled_sets()) {
        if (!nn::simd::cpu_supports(set)) {
            if (options.json)
                std::cout << "{\"workload\":\"peak\",\"set\":\"" << set << "\",\"runnable\":false}\n";
            else
                std::cout << "  " << std::left << std::setw(12) << set << std::right
                          << " not runnable on this CPU (CPUID or XCR0)\n";
            continue;
        }
        nn::simd::use_set(set);
        std::vector<float> sinks(threads);  // the loops' results, kept so that no call can be dropped
        const Timing t = time_iterations(
            [&] {
                nn::parallel_for(threads, 1, [&](std::size_t begin, std::size_t end) {
                    for (std::size_t i = begin; i < end; ++i) sinks[i] += nn::simd::fma_peak_loop(kPeakSteps);
                });
            },
            options.seconds);
        const double flops = double(threads) * double(kPeakSteps) * double(nn::simd::fma_peak_flops_per_step());
        char row[64];
        std::snprintf(row, sizeof row, "  %-12s %5zu ", set.c_str(), nn::simd::float_lanes());
        report.add("[" + std::to_string(nn::simd::float_lanes()) + "]", ",\"set\":\"" + set + "\"", t, flops, row);
    }
    nn::simd::use_set("");
}

// ---- the workload table -----------------------------------------------------------------------------------------

struct Workload {
    const char* name;
    const char* help;
    void (*run)(const Options&);
};

const Workload kWorkloads[] = {
    {"gemm", "nn::simd::gemm, C = op(A) op(B); --shapes MxNxK[:op],... (op nn|nt|tn|tt, default nn)", bench_gemm},
    {"mlp", "TD3+BC critic step: two MLPs I->H->H->1 (relu), MSE, backward, Adam; --shapes BxIxH (default 256x14x256)",
     bench_mlp},
    {"ensemble-train",
     "dynamics ensemble step: 7 x (4x200 SiLU) EnsembleLinear, Gaussian loss, backward, Adam with per-layer decay; "
     "--shapes SxAxB (default 11x3x256), reports peak RSS",
     bench_ensemble_train},
    {"maze2d-generate", "maze2d waypoint recipe, rows per second on one thread; --shapes ROWS (default 1000000)",
     bench_maze2d_generate},
    {"unet-train", "diffusion training step: EDM loss (D=14, H=100), backward, Adam; --preset; --shapes B (default 8)",
     bench_unet_train},
    {"unet-sample",
     "one sampler network call D(x; sigma) (TemporalUNet::infer; --graph: the graph forward); --preset; --shapes "
     "B or BxHxD (default 256x100x14); --steps N: a whole Heun sampler pass of N steps instead",
     bench_unet_sample},
    {"generate",
     "one DyDiff generation with random models (preset U-Net, ensemble, reward, TD3+BC actor) at maze2d-umaze and "
     "pendulum dims, M = 2 and M = 0, chunk 256; --preset (default tiny and small); --shapes B[:N] (start states, "
     "sampler steps; default 2048:34); reports transitions_per_second and seconds_per_generation",
     bench_generate},
    {"kernels",
     "the vector kernels with a variant per instruction set (Mish forward and backward, GroupNorm + Mish over rows, "
     "Adam) on n floats per call; --shapes N (multiples of 2048; default 65536,4194304); GFLOP/s counts elements",
     bench_kernels},
    {"peak",
     "FMA peak of each instruction set of this build: register-resident FMA chains, one loop per thread (--threads 1: "
     "one core)",
     bench_peak},
    {"learner",
     "Learner::update at hopper dims (S=11, A=3, batch 256, default configs, a fixed pool of 8 random batches); "
     "--algo A,B (default all), --steps N (default 300); reports steps_per_second",
     bench_learner},
};

CommandDoc bench_doc() {
    CommandDoc d{"bench",
                 "WORKLOAD [--json] [--threads N] [--seconds S] [--shapes A,B,...] [--preset P] [--algo A,...] [--steps N] "
                 "[--graph]",
                 "Times a workload: the median time per iteration after a warm-up call (and GFLOP/s from it), a table\n"
                 "or one JSON object per line. The numbers are recorded in docs/performance.md.",
                 {{"--json", "one JSON object per line (workload, shape, threads, seconds_per_iter = median, gflops)"},
                  {"--threads N", "threads for the kernels (default: DYDIFF_NUM_THREADS, else all cores)"},
                  {"--seconds S", "timed seconds per case after one warm-up call (default 0.5)"},
                  {"--shapes ...", "comma-separated cases, syntax per workload (default: a built-in list)"},
                  {"--preset P", "U-Net size for unet-* (paper, the default, §5.1; small; tiny; JSON adds peak_rss_mib) "
                                 "and generate (default: tiny and small)"},
                  {"--algo A,...", "learners for `learner` (bc, td3bc, iql, cql, diffql, sac; default all)"},
                  {"--steps N", "`learner`: timed gradient steps per learner, after a warm-up of 10 (default 300; "
                                "DYDIFF_KEEP_FREED_MEMORY=0 in the environment times it with glibc's malloc defaults); "
                                "`unet-sample`: a whole sampler pass of N steps per iteration"},
                  {"--graph", "`unet-sample`: the graph forward (Denoiser::forward under NoGradGuard) instead of "
                              "TemporalUNet::infer"},
                  {"-h, --help", "this help"}},
                 {}};
    std::vector<FlagDoc> workloads;
    for (const auto& w : kWorkloads) workloads.push_back({std::string("WORKLOAD ") + w.name, w.help});
    d.flags.insert(d.flags.begin(), workloads.begin(), workloads.end());
    return d;
}

/// The items of a comma-separated --name (empty when the flag is absent); present but empty is a usage error.
std::vector<std::string> comma_list(Args& flags, const std::string& name, const std::string& what) {
    std::vector<std::string> out;
    if (const auto list = flags.value(name)) {
        std::istringstream items(*list);
        for (std::string item; std::getline(items, item, ',');)
            if (!item.empty()) out.push_back(item);
        if (out.empty()) throw UsageError("dydiff bench: --" + name + " needs at least one " + what);
    }
    return out;
}

/// The shared flags, through the one flag parser of the CLI (dydiff/cli/args.hpp); args[0] is the workload.
Options parse_options(const std::vector<std::string>& args) {
    Args flags("bench " + args[0], {args.begin() + 1, args.end()}, {"json", "graph"});
    Options options;
    options.help = flags.help();
    if (options.help) return options;
    options.json = flags.flag("json");
    options.graph = flags.flag("graph");
    options.threads = static_cast<std::size_t>(flags.integer("threads", 0, 1, 1024));
    options.seconds = flags.real("seconds", options.seconds, 1e-3, 3600.0);
    options.preset = flags.value_or("preset", options.preset);
    options.shapes = comma_list(flags, "shapes", "case");
    options.algos = comma_list(flags, "algo", "learner");
    options.steps = static_cast<std::size_t>(flags.integer("steps", 0, 1, 10000000));
    flags.finish(0);
    return options;
}

}  // namespace

std::vector<Page> bench_pages() { return {{bench_doc()}}; }

int run_bench(const std::vector<std::string>& args) {
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        (args.empty() ? std::cerr : std::cout) << help_text(bench_doc());
        return args.empty() ? 2 : 0;
    }
    const Workload* workload = nullptr;
    for (const auto& w : kWorkloads)
        if (args[0] == w.name) workload = &w;
    if (workload == nullptr)
        throw UsageError("dydiff bench: unknown workload '" + args[0] + "' (see 'dydiff bench --help')");
    const Options options = parse_options(args);
    if (options.help) {
        std::cout << help_text(bench_doc());
        return 0;
    }
    if (options.threads != 0) nn::set_num_threads(options.threads);
    workload->run(options);
    return 0;
}

}  // namespace dydiff::cli
