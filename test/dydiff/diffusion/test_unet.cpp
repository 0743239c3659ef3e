// TemporalUNet (docs/algorithm.md §5.1): presets and their errors, parameter counts of the paper preset (§12),
// the dry-run counter against the module, parameter names, the shapes along the U-Net (100 -> 50 -> 25, skips h2
// and h1), the horizon check, gradient checks of a tiny U-Net end to end (input and parameters), the inference
// forward (no graph, channels-last) against the graph forward, and an inference-only network against it.
#include "autograd/ops.hpp"
#include "dydiff/diffusion/temporal_unet.hpp"
#include "nn/parallel.hpp"
#include "support/errors.hpp"
#include "support/gradcheck.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <string>

using namespace dydiff;
using autograd::Shape;
using test::test_array;

namespace {

// Central differences in float32 on a network of ~50 GroupNorm/Mish layers: agreement within a few percent.
constexpr float kGradAtol = 3e-3f;
constexpr float kGradRtol = 3e-2f;
constexpr float kGradEps = 1e-2f;

// The smallest U-Net with the full structure: three levels, a residual conv (3 -> 4, 4 -> 8), a level without one
// (8 -> 8), two Down and two Up stages.
UNetConfig micro_config() {
    UNetConfig c;
    c.dim = 4;
    c.dim_mults = {1, 2, 2};
    c.kernel_size = 5;
    c.groups = 2;
    c.time_dim = 4;
    return c;
}

Tensor constant(const Shape& shape, float lo, float hi, unsigned seed) {
    return Tensor(test_array(shape, lo, hi, seed));
}

bool has_name(const std::vector<std::pair<std::string, Tensor>>& params, const std::string& name) {
    return std::any_of(params.begin(), params.end(), [&](const auto& p) { return p.first == name; });
}

Tensor find_param(const nn::Module& m, const std::string& name) {
    for (const auto& [n, t] : m.named_parameters())
        if (n == name) return t;
    BOOST_FAIL("no parameter named " << name);
    return {};
}

// infer() against forward(): the same sums in another order (channels-last gemms, the conv bias folded into
// GroupNorm) through about 30 normalised layers; relative to the output's scale.
constexpr float kInferTol = 1e-5f;

// Moves the GroupNorm affine parameters off their init (1 and 0), so that a mix-up of gamma, beta or channels shows.
void randomise_norms(nn::Module& net, unsigned seed) {
    data::Rng rng(seed);
    for (auto& [name, p] : net.named_parameters()) {
        const bool gamma = name.size() > 11 && name.compare(name.size() - 11, 11, "norm.weight") == 0;
        const bool beta = name.size() > 9 && name.compare(name.size() - 9, 9, "norm.bias") == 0;
        if (gamma) rng.fill_uniform(p.mutable_value().data(), p.numel(), 0.5f, 1.5f);
        if (beta) rng.fill_uniform(p.mutable_value().data(), p.numel(), -0.5f, 0.5f);
    }
}

// The graph forward of x (B, H, D) and c_noise (B), without recording a graph.
Array graph_forward(const TemporalUNet& net, const Array& x, const Array& c_noise) {
    autograd::NoGradGuard no_grad;
    return net.forward(Tensor(x), Tensor(c_noise)).value();
}

// infer() of the same inputs, into an array first filled with NaN (every entry must be written).
Array inferred(const TemporalUNet& net, const Array& x, const Array& c_noise, UNetWorkspace& ws) {
    Array out = xt::full_like(x, NAN);
    net.infer(x.shape()[0], x.shape()[1], x.data(), c_noise.data(), out.data(), ws);
    return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(unet)

BOOST_AUTO_TEST_CASE(presets_and_errors) {
    const UNetConfig paper = unet_preset("paper");
    BOOST_TEST(paper.dim == 128u);
    BOOST_TEST((paper.dim_mults == std::vector<std::size_t>{1, 4, 8}));
    BOOST_TEST(paper.kernel_size == 5u);
    BOOST_TEST(paper.groups == 8u);
    BOOST_TEST(paper.time_dim == 128u);
    BOOST_TEST(unet_preset("small").dim == unet_small().dim);
    BOOST_TEST(unet_preset("tiny").dim == unet_tiny().dim);
    try {
        unet_preset("huge");
        BOOST_FAIL("unet_preset accepted 'huge'");
    } catch (const Error& e) {
        BOOST_TEST(std::string(e.what()).find("paper, small, tiny") != std::string::npos, e.what());
    }
    paper.check_horizon(100);
    BOOST_CHECK_THROW(paper.check_horizon(102), Error);
    BOOST_CHECK_THROW(paper.check_horizon(0), Error);
    UNetConfig bad = paper;
    bad.groups = 7;
    BOOST_CHECK_THROW(bad.validate(), Error);
    bad = paper;
    bad.kernel_size = 4;
    BOOST_CHECK_THROW(bad.validate(), Error);
    // More levels than kMaxLevels: one error, never 2^(levels - 1) overflowing (the fuzz corpus has 65 levels,
    // test/fuzz/corpus/config/ubsan_shift_65_levels.toml).
    bad = paper;
    bad.dim_mults.assign(UNetConfig::kMaxLevels, 1);
    bad.validate();
    for (std::size_t levels : {UNetConfig::kMaxLevels + 1, std::size_t{65}, std::size_t{200}}) {
        bad.dim_mults.assign(levels, 1);
        BOOST_CHECK_EXCEPTION(bad.validate(), Error, [](const Error& e) {
            return std::string(e.what()).find("levels; at most 16") != std::string::npos;
        });
        BOOST_CHECK_THROW(bad.check_horizon(1024), Error);
    }
}

// §5.1 / §12: 58,751,246 (D = 14), 58,759,319 (D = 23), 58,744,070 (D = 6). Each module is built (and freed)
// one at a time; the D = 14 one also runs one forward pass at L = 100 to check the paper's stage shapes.
BOOST_AUTO_TEST_CASE(paper_parameter_counts_and_shapes) {
    const std::pair<std::size_t, std::size_t> expected[] = {{14, 58751246}, {23, 58759319}, {6, 58744070}};
    for (const auto& [D, count] : expected) {
        BOOST_TEST(unet_num_parameters(unet_paper(), D) == count);
        data::Rng rng(D);
        const TemporalUNet net(unet_paper(), D, rng);
        BOOST_TEST(net.num_parameters() == count);
        if (D != 14) continue;
        autograd::NoGradGuard no_grad;
        UNetTrace trace;
        const Tensor y = net.forward(constant({1, 100, D}, -1.0f, 1.0f, 1), constant({1}, -0.5f, 0.5f, 2), &trace);
        BOOST_TEST(y.shape() == (Shape{1, 100, 14}));
        const auto shape_of = [&](const std::string& name) {
            for (const auto& [n, s] : trace.shapes)
                if (n == name) return s;
            return Shape{};
        };
        BOOST_TEST(shape_of("down0") == (Shape{1, 128, 50}));
        BOOST_TEST(shape_of("skip1") == (Shape{1, 512, 50}));   // h1
        BOOST_TEST(shape_of("down1") == (Shape{1, 512, 25}));
        BOOST_TEST(shape_of("skip2") == (Shape{1, 1024, 25}));  // h2
        BOOST_TEST(shape_of("mid") == (Shape{1, 1024, 25}));
        BOOST_TEST(shape_of("up0") == (Shape{1, 512, 50}));
        BOOST_TEST(shape_of("up1") == (Shape{1, 128, 100}));
        BOOST_TEST(std::isfinite(static_cast<double>(xt::sum(y.value())())));
    }
}

BOOST_AUTO_TEST_CASE(dry_run_count_matches_module) {
    for (const UNetConfig& config : {unet_tiny(), unet_small(), micro_config()}) {
        for (std::size_t D : {3u, 14u}) {
            data::Rng rng(7);
            const TemporalUNet net(config, D, rng);
            BOOST_TEST(net.num_parameters() == unet_num_parameters(config, D), config.describe() << " D=" << D);
        }
    }
}

BOOST_AUTO_TEST_CASE(parameter_names) {
    data::Rng rng(3);
    const TemporalUNet net(unet_tiny(), 14, rng);
    const auto params = net.named_parameters();
    BOOST_TEST(params.front().first == "time_mlp.fc0.weight");
    BOOST_TEST(params.back().first == "final.conv.bias");
    for (const char* name : {"downs.0.res0.block0.conv.weight", "downs.0.res0.block0.norm.weight",
                             "downs.0.res0.block1.conv.bias", "downs.0.res0.time_proj.weight",
                             "downs.0.res0.residual.weight", "downs.0.down.weight", "downs.1.down.bias",
                             "mid.res0.block0.conv.weight", "mid.res1.time_proj.bias", "ups.0.res0.residual.weight",
                             "ups.1.up.weight", "final.block.norm.bias"})
        BOOST_TEST(has_name(params, name), name);
    // Identity residuals and the missing Down of the last level have no parameters.
    for (const char* name : {"downs.0.res1.residual.weight", "downs.2.down.weight", "mid.res0.residual.weight",
                             "ups.0.res1.residual.weight"})
        BOOST_TEST(!has_name(params, name), name);
    // Shapes follow PyTorch's layouts: Conv1d (O, I, K), ConvTranspose1d (I, O, K), Linear (O, I).
    BOOST_TEST(find_param(net, "downs.0.res0.block0.conv.weight").shape() == (Shape{16, 14, 5}));
    BOOST_TEST(find_param(net, "ups.0.res0.block0.conv.weight").shape() == (Shape{32, 128, 5}));
    BOOST_TEST(find_param(net, "ups.0.up.weight").shape() == (Shape{32, 32, 4}));
    BOOST_TEST(find_param(net, "time_mlp.fc0.weight").shape() == (Shape{64, 16}));
}

// The paper's structure (mults 1, 4, 8) at width 8 instead of 128: every channel count is 1/16 of §12's.
BOOST_AUTO_TEST_CASE(shapes_along_the_unet) {
    UNetConfig config = unet_paper();
    config.dim = 8;
    config.time_dim = 8;
    data::Rng rng(4);
    const TemporalUNet net(config, 14, rng);
    UNetTrace trace;
    const Tensor y = net.forward(constant({2, 100, 14}, -1.0f, 1.0f, 5), constant({2}, -1.0f, 1.0f, 6), &trace);
    BOOST_TEST(y.shape() == (Shape{2, 100, 14}));
    const std::vector<std::pair<std::string, Shape>> expected = {
        {"skip0", {2, 8, 100}}, {"down0", {2, 8, 50}},  {"skip1", {2, 32, 50}}, {"down1", {2, 32, 25}},
        {"skip2", {2, 64, 25}}, {"down2", {2, 64, 25}}, {"mid", {2, 64, 25}},   {"up0", {2, 32, 50}},
        {"up1", {2, 8, 100}},   {"out", {2, 14, 100}}};
    BOOST_TEST(trace.shapes.size() == expected.size());
    for (std::size_t i = 0; i < std::min(expected.size(), trace.shapes.size()); ++i) {
        BOOST_TEST(trace.shapes[i].first == expected[i].first);
        BOOST_TEST(trace.shapes[i].second == expected[i].second, expected[i].first);
    }
}

BOOST_AUTO_TEST_CASE(horizon_and_input_checks) {
    data::Rng rng(5);
    const TemporalUNet net(micro_config(), 3, rng);
    try {
        net.forward(constant({1, 10, 3}, -1.0f, 1.0f, 1), constant({1}, 0.0f, 1.0f, 2));
        BOOST_FAIL("horizon 10 accepted");
    } catch (const Error& e) {
        BOOST_TEST(std::string(e.what()).find("multiple of 4") != std::string::npos, e.what());
    }
    BOOST_CHECK_THROW(net.forward(constant({1, 8, 4}, -1.0f, 1.0f, 1), constant({1}, 0.0f, 1.0f, 2)), Error);
    BOOST_CHECK_THROW(net.forward(constant({2, 8, 3}, -1.0f, 1.0f, 1), constant({1}, 0.0f, 1.0f, 2)), Error);
}

BOOST_AUTO_TEST_CASE(gradcheck_input) {
    data::Rng rng(6);
    const TemporalUNet net(micro_config(), 3, rng);
    const Tensor c_noise = constant({2}, -1.0f, 1.0f, 11);
    test::GradCheckOptions options;
    options.eps = kGradEps;
    options.atol = kGradAtol;
    options.rtol = kGradRtol;
    DYDIFF_CHECK_GRAD([&](const std::vector<Tensor>& in) { return net.forward(in[0], c_noise); },
                      {test_array({2, 8, 3}, -1.0f, 1.0f, 12)}, options);
}

// Parameters cannot be gradcheck() inputs (the module owns them), so the central differences are taken here by
// perturbing each checked entry in place, with the same reduction L = sum(w * F(x)) as gradcheck.
BOOST_AUTO_TEST_CASE(gradcheck_parameters) {
    data::Rng rng(8);
    const TemporalUNet net(micro_config(), 3, rng);
    const Tensor x = constant({2, 8, 3}, -1.0f, 1.0f, 21);
    const Tensor c_noise = constant({2}, -1.0f, 1.0f, 22);
    const Array w = test_array({2, 8, 3}, -1.0f, 1.0f, 23);
    const auto reduced = [&] {
        const Tensor y = net.forward(x, c_noise);
        double acc = 0.0;
        for (std::size_t i = 0; i < y.numel(); ++i) acc += double(y.value().data()[i]) * w.data()[i];
        return acc;
    };
    net.forward(x, c_noise).backward(w);
    const char* names[] = {"time_mlp.fc0.weight",           "downs.0.res0.time_proj.weight",
                           "downs.0.res0.residual.weight",  "downs.1.res0.block0.norm.weight",
                           "downs.0.down.weight",           "mid.res1.block1.conv.weight",
                           "ups.0.res0.block0.conv.weight", "ups.1.up.weight",
                           "final.block.norm.bias",         "final.conv.weight"};
    constexpr std::size_t kEntriesPerParam = 6;
    autograd::NoGradGuard no_grad;
    for (const char* name : names) {
        Tensor p = find_param(net, name);
        const Array analytic = p.grad();
        float* v = p.mutable_value().data();
        const std::size_t stride = std::max<std::size_t>(1, p.numel() / kEntriesPerParam);
        for (std::size_t k = 0; k < p.numel(); k += stride) {
            const float v0 = v[k];
            v[k] = v0 + kGradEps;
            const double lp = reduced();
            v[k] = v0 - kGradEps;
            const double lm = reduced();
            v[k] = v0;
            const double numeric = (lp - lm) / (2.0 * kGradEps);
            const double err = std::abs(analytic.data()[k] - numeric);
            BOOST_TEST(err <= kGradAtol + kGradRtol * std::abs(numeric),
                       name << "[" << k << "]: analytic " << analytic.data()[k] << " numeric " << numeric);
        }
    }
}

BOOST_AUTO_TEST_CASE(deterministic_init_and_forward) {
    data::Rng rng_a(9), rng_b(9);
    const TemporalUNet a(micro_config(), 3, rng_a), b(micro_config(), 3, rng_b);
    const Tensor x = constant({2, 8, 3}, -1.0f, 1.0f, 31), c = constant({2}, -1.0f, 1.0f, 32);
    BOOST_TEST(xt::amax(xt::abs(a.forward(x, c).value() - b.forward(x, c).value()))() == 0.0f);
}

// The sampler's network calls go through infer(): it must equal the graph forward of the same parameters for the CPU
// presets and the micro net (groups of 2 channels, an identity residual at the bottom), with c_noise per sample and
// shared by all samples (the sampler's case, where the time path runs once), over batches of several chunks (a chunk
// takes at least 512 rows at the last level: 86 samples at H = 16, so tiny's 150 and small's 90 samples make two),
// with 1 and 2 threads (bitwise equal), and with one workspace reused across calls and shapes.
BOOST_AUTO_TEST_CASE(inference_forward_equals_graph_forward) {
    struct Case {
        const char* name;
        UNetConfig config;
        std::size_t B, H, D;
    };
    const Case cases[] = {{"tiny", unet_tiny(), 150, 16, 14},
                          {"small", unet_small(), 90, 16, 4},
                          {"micro", micro_config(), 5, 8, 3},
                          {"tiny B=1", unet_tiny(), 1, 32, 4}};
    unsigned seed = 40;
    for (const Case& k : cases) {
        data::Rng rng(seed++);
        TemporalUNet net(k.config, k.D, rng);
        randomise_norms(net, seed++);
        UNetWorkspace ws;
        const Array x = test_array({k.B, k.H, k.D}, -2.0f, 2.0f, seed++);
        const Array c_each = test_array({k.B}, -1.5f, 1.5f, seed++);
        const Array c_shared = xt::full_like(c_each, 0.3f);
        for (const Array* c : {&c_each, &c_shared}) {
            const std::string what = std::string(k.name) + (c == &c_each ? ", c_noise per sample" : ", shared c_noise");
            const Array want = graph_forward(net, x, *c);
            nn::set_num_threads(1);
            const Array one = inferred(net, x, *c, ws);
            nn::set_num_threads(2);
            const Array two = inferred(net, x, *c, ws);
            nn::set_num_threads(0);
            const Array again = inferred(net, x, *c, ws);
            const float err = xt::amax(xt::abs(one - want))() / (1.0f + xt::amax(xt::abs(want))());
            BOOST_TEST(err <= kInferTol, what << ": infer differs from forward by " << err);
            BOOST_TEST(xt::amax(xt::abs(two - one))() == 0.0f, what << ": 2 threads differ from 1");
            BOOST_TEST(xt::amax(xt::abs(again - one))() == 0.0f, what << ": a reused workspace changes the result");
        }
    }
}

// A workspace packs the weights at its first call and reuses them: after a parameter changes, clear() makes the next
// call pack again (and equal the graph forward of the new parameters); another network is refused.
BOOST_AUTO_TEST_CASE(inference_workspace_packs_once_until_cleared) {
    data::Rng rng(71);
    TemporalUNet net(micro_config(), 3, rng);
    UNetWorkspace ws;
    const Array x = test_array({4, 8, 3}, -2.0f, 2.0f, 72);
    const Array c = xt::full_like(test_array({4}, 0.0f, 1.0f, 73), 0.3f);
    const Array before = inferred(net, x, c, ws);
    for (auto& p : net.parameters()) p.mutable_value() *= 1.5f;  // every weight changes in place
    const Array stale = inferred(net, x, c, ws);
    BOOST_TEST(xt::amax(xt::abs(stale - before))() > 0.0f);  // biases and norms are read on every call
    ws.clear();
    const Array fresh = inferred(net, x, c, ws);
    const Array want = graph_forward(net, x, c);
    const float err = xt::amax(xt::abs(fresh - want))() / (1.0f + xt::amax(xt::abs(want))());
    BOOST_TEST(err <= kInferTol, "after clear(): infer differs from forward by " << err);
    BOOST_TEST(xt::amax(xt::abs(fresh - stale))() > 0.0f);  // the convolution weights were packed again

    data::Rng rng2(74);
    TemporalUNet other(micro_config(), 3, rng2);
    BOOST_CHECK_THROW(inferred(other, x, c, ws), Error);
}

// make_inference_only keeps one copy of the weights: the convolution weights leave the parameter list (empty), the
// other parameters stay as they were, and infer() gives bitwise the results of an identical trainable network
// (the same packed floats, read from the network instead of the workspace), with 1 and 2 threads, per-sample and
// shared c_noise, across shapes in one workspace, and after a second call (which does nothing). forward() and with
// it training is refused with a message that says why.
BOOST_AUTO_TEST_CASE(inference_only_network_equals_infer_and_refuses_forward) {
    struct Case {
        const char* name;
        UNetConfig config;
        std::size_t D;
    };
    const Case cases[] = {{"micro", micro_config(), 3}, {"tiny", unet_tiny(), 14}};
    unsigned seed = 80;
    for (const Case& k : cases) {
        data::Rng rng_a(seed), rng_b(seed);
        TemporalUNet trainable(k.config, k.D, rng_a), frozen(k.config, k.D, rng_b);
        randomise_norms(trainable, seed + 1);
        randomise_norms(frozen, seed + 1);
        seed += 2;
        BOOST_TEST(!frozen.inference_only());
        frozen.make_inference_only();
        BOOST_TEST(frozen.inference_only());
        frozen.make_inference_only();  // again: nothing to do

        const auto before = trainable.named_parameters(), after = frozen.named_parameters();
        BOOST_TEST_REQUIRE(before.size() == after.size());
        std::size_t released = 0;
        for (std::size_t i = 0; i < before.size(); ++i) {
            const Array& was = before[i].second.value();
            const Array& now = after[i].second.value();
            if (was.dimension() == 3) {  // a convolution weight
                BOOST_TEST(now.size() == 0u, k.name << ": " << after[i].first << " still holds " << now.size());
                released += was.size();
            } else {
                BOOST_TEST((was.shape() == now.shape() &&
                            std::memcmp(was.data(), now.data(), was.size() * sizeof(float)) == 0),
                           k.name << ": " << after[i].first << " changed");
            }
        }
        BOOST_TEST(frozen.num_parameters() + released == trainable.num_parameters());

        UNetWorkspace ws_trainable, ws_frozen;
        for (const std::size_t H : {std::size_t{8}, std::size_t{16}}) {
            const std::size_t B = k.D == 3 ? 5 : 150;  // tiny: two chunks at H = 16
            const Array x = test_array({B, H, k.D}, -2.0f, 2.0f, seed++);
            const Array c_each = test_array({B}, -1.5f, 1.5f, seed++);
            const Array c_shared = xt::full_like(c_each, 0.3f);
            for (const Array* c : {&c_each, &c_shared}) {
                for (const std::size_t threads : {std::size_t{1}, std::size_t{2}}) {
                    nn::set_num_threads(threads);
                    const Array want = inferred(trainable, x, *c, ws_trainable);
                    const Array got = inferred(frozen, x, *c, ws_frozen);
                    BOOST_TEST(std::memcmp(want.data(), got.data(), want.size() * sizeof(float)) == 0,
                               k.name << ", H = " << H << ", " << threads << " thread(s), "
                                      << (c == &c_each ? "c_noise per sample" : "shared c_noise")
                                      << ": the inference-only network differs from infer()");
                }
            }
            nn::set_num_threads(0);
        }

        const Array x = test_array({2, 8, k.D}, -1.0f, 1.0f, seed++), c = test_array({2}, -1.0f, 1.0f, seed++);
        const std::string e = test::error_of([&] { graph_forward(frozen, x, c); });
        BOOST_TEST(test::contains(e, "inference-only"), e);
        BOOST_TEST(test::contains(e, "TemporalUNet::forward"), e);
    }
}

BOOST_AUTO_TEST_SUITE_END()
