// TemporalUNet and its blocks (docs/algorithm.md §5.1), plus the dry-run counters that walk the same layer list.
#include "dydiff/diffusion/temporal_unet.hpp"

#include "autograd/error.hpp"
#include "autograd/ops.hpp"
#include "nn/activation_ops.hpp"

#include <sstream>

namespace dydiff {

// ---- config and presets -----------------------------------------------------------------------------------------

void UNetConfig::fields(ConfigFields& f) {
    f.add("dim", &dim, "base width: level l has dim * dim_mults[l] channels (§5.1: 128)").at_least(1).fixed_on_resume();
    f.add("dim_mults", &dim_mults, "width multipliers per level, one Down between levels (§5.1: [1, 4, 8])")
        .at_least(1)
        .non_empty()
        .fixed_on_resume();
    f.add("kernel_size", &kernel_size, "Conv1d kernel, odd (§5.1: 5)").at_least(1).fixed_on_resume();
    f.add("groups", &groups, "GroupNorm groups; divides every width (§5.1: 8)").at_least(1).fixed_on_resume();
    f.add("time_dim", &time_dim, "sinusoidal embedding width, even (§5.1: = dim)").at_least(4).fixed_on_resume();
    f.check([this] { validate(); });
}

void UNetConfig::validate() const {
    DYDIFF_USER_CHECK(!dim_mults.empty(), "U-Net dim_mults is empty (need at least one level)");
    DYDIFF_USER_CHECK(dim >= 1 && groups >= 1, "U-Net dim and groups must be >= 1 (" << describe() << ")");
    DYDIFF_USER_CHECK(
        kernel_size % 2 == 1,
        "U-Net kernel_size must be odd so that padding kernel_size / 2 keeps the length (" << describe() << ")");
    DYDIFF_USER_CHECK(time_dim >= 4 && time_dim % 2 == 0,
                      "U-Net time_dim must be even and >= 4 (sinusoidal embedding) (" << describe() << ")");
    for (std::size_t m : dim_mults)
        DYDIFF_USER_CHECK(m >= 1 && (dim * m) % groups == 0,
                          "U-Net width dim * mult = " << dim * m << " is not divisible by groups = " << groups << " ("
                                                      << describe() << ")");
}

void UNetConfig::check_horizon(std::size_t H) const {
    const std::size_t multiple = std::size_t{1} << num_downsamples();
    DYDIFF_USER_CHECK(H >= multiple && H % multiple == 0,
                      "horizon " << H << " must be a positive multiple of " << multiple << " (the U-Net's "
                                 << num_downsamples() << " Down/Up stages halve and double the length; docs/algorithm.md §11 P27)");
}

std::string UNetConfig::describe() const {
    std::ostringstream os;
    os << "dim=" << dim << " dim_mults=[";
    for (std::size_t i = 0; i < dim_mults.size(); ++i) os << (i ? "," : "") << dim_mults[i];
    os << "] kernel=" << kernel_size << " groups=" << groups << " time_dim=" << time_dim;
    return os.str();
}

UNetConfig unet_paper() { return UNetConfig{}; }

UNetConfig unet_small() {
    UNetConfig c;
    c.dim = 32;
    c.dim_mults = {1, 2, 4};
    c.time_dim = 32;
    return c;
}

UNetConfig unet_tiny() {
    UNetConfig c;
    c.dim = 16;
    c.dim_mults = {1, 2, 4};
    c.time_dim = 16;
    return c;
}

UNetConfig unet_preset(const std::string& name) {
    if (name == "paper") return unet_paper();
    if (name == "small") return unet_small();
    if (name == "tiny") return unet_tiny();
    DYDIFF_USER_FAIL("unknown U-Net preset '" << name << "' (valid: paper, small, tiny)");
}

// ---- dry-run counters -------------------------------------------------------------------------------------------
// Both walk the layer list of §5.1 in the order TemporalUNet builds it; test_unet checks them against the module.

namespace {

// Widths per level: level l has dim * dim_mults[l] channels; levels[0] = the input channels D.
std::vector<std::size_t> level_widths(const UNetConfig& config, std::size_t channels) {
    std::vector<std::size_t> w{channels};
    for (std::size_t m : config.dim_mults) w.push_back(config.dim * m);
    return w;
}

// Accumulates parameters and MACs per sample of one layer at the given output length.
struct Tally {
    std::size_t params = 0;
    double macs = 0.0;

    void conv(std::size_t i, std::size_t o, std::size_t k, std::size_t h_out) {
        params += o * i * k + o;
        macs += double(o) * double(i) * double(k) * double(h_out);
    }
    void linear(std::size_t i, std::size_t o) {
        params += o * i + o;
        macs += double(o) * double(i);
    }
    void block(std::size_t i, std::size_t o, std::size_t k, std::size_t h) {
        conv(i, o, k, h);
        params += 2 * o;  // GroupNorm gamma, beta
    }
    void res(std::size_t i, std::size_t o, const UNetConfig& c, std::size_t h) {
        block(i, o, c.kernel_size, h);
        linear(c.time_dim, o);
        block(o, o, c.kernel_size, h);
        if (i != o) conv(i, o, 1, h);
    }
};

Tally tally(const UNetConfig& config, std::size_t channels, std::size_t H) {
    config.validate();
    const auto w = level_widths(config, channels);
    const std::size_t levels = config.dim_mults.size();
    Tally t;
    t.linear(config.time_dim, 4 * config.time_dim);
    t.linear(4 * config.time_dim, config.time_dim);
    std::size_t h = H;
    for (std::size_t l = 0; l < levels; ++l) {
        t.res(w[l], w[l + 1], config, h);
        t.res(w[l + 1], w[l + 1], config, h);
        if (l + 1 < levels) {
            h /= 2;
            t.conv(w[l + 1], w[l + 1], 3, h);
        }
    }
    t.res(w[levels], w[levels], config, h);
    t.res(w[levels], w[levels], config, h);
    for (std::size_t l = levels - 1; l >= 1; --l) {
        t.res(2 * w[l + 1], w[l], config, h);
        t.res(w[l], w[l], config, h);
        // ConvTranspose1d(c, c, 4): every input position meets every kernel tap once.
        t.params += w[l] * w[l] * 4 + w[l];
        t.macs += double(w[l]) * double(w[l]) * 4.0 * double(h);
        h *= 2;
    }
    t.block(config.dim, config.dim, config.kernel_size, h);
    t.conv(config.dim, channels, 1, h);
    return t;
}

}  // namespace

std::size_t unet_num_parameters(const UNetConfig& config, std::size_t channels) {
    return tally(config, channels, std::size_t{1} << config.num_downsamples()).params;
}

double unet_forward_macs(const UNetConfig& config, std::size_t channels, std::size_t H) {
    config.check_horizon(H);
    return tally(config, channels, H).macs;
}

// ---- blocks -----------------------------------------------------------------------------------------------------

Conv1dBlock::Conv1dBlock(std::size_t in_channels, std::size_t out_channels, std::size_t kernel_size,
                         std::size_t groups, data::Rng& rng)
    : conv_(in_channels, out_channels, kernel_size, rng, 1, kernel_size / 2), norm_(groups, out_channels) {
    register_module("conv", conv_);
    register_module("norm", norm_);
}

Tensor Conv1dBlock::forward(const Tensor& x) const { return nn::mish(norm_.forward(conv_.forward(x))); }

ResBlock::ResBlock(std::size_t in_channels, std::size_t out_channels, std::size_t time_dim, const UNetConfig& config,
                   data::Rng& rng)
    : out_channels_(out_channels),
      block0_(in_channels, out_channels, config.kernel_size, config.groups, rng),
      block1_(out_channels, out_channels, config.kernel_size, config.groups, rng),
      time_proj_(time_dim, out_channels, rng) {
    if (in_channels != out_channels) residual_ = std::make_unique<nn::Conv1d>(in_channels, out_channels, 1, rng);
    register_module("block0", block0_);
    register_module("block1", block1_);
    register_module("time_proj", time_proj_);
    if (residual_) register_module("residual", *residual_);
}

Tensor ResBlock::forward(const Tensor& x, const Tensor& t_emb) const {
    const std::int64_t B = static_cast<std::int64_t>(x.size(0));
    // Time projection (B, C_out) -> (B, C_out, 1), broadcast over the horizon by add.
    const Tensor t = autograd::reshape(time_proj_.forward(nn::mish(t_emb)),
                                       {B, static_cast<std::int64_t>(out_channels_), 1});
    Tensor h = autograd::add(block0_.forward(x), t);  // (B, C_out, H)
    h = block1_.forward(h);
    return autograd::add(h, residual_ ? residual_->forward(x) : x);
}

struct TemporalUNet::DownStage : nn::Module {
    DownStage(std::size_t in, std::size_t out, bool with_down, const UNetConfig& config, data::Rng& rng)
        : res0(in, out, config.time_dim, config, rng), res1(out, out, config.time_dim, config, rng) {
        if (with_down) down = std::make_unique<nn::Conv1d>(out, out, 3, rng, 2, 1);
        register_module("res0", res0);
        register_module("res1", res1);
        if (down) register_module("down", *down);
    }
    ResBlock res0, res1;
    std::unique_ptr<nn::Conv1d> down;  // Conv1d(c, c, 3, stride 2, pad 1); null on the last level
};

struct TemporalUNet::UpStage : nn::Module {
    UpStage(std::size_t in, std::size_t out, const UNetConfig& config, data::Rng& rng)
        : res0(in, out, config.time_dim, config, rng),
          res1(out, out, config.time_dim, config, rng),
          up(out, out, 4, rng, 2, 1) {
        register_module("res0", res0);
        register_module("res1", res1);
        register_module("up", up);
    }
    ResBlock res0, res1;
    nn::ConvTranspose1d up;  // ConvTranspose1d(c, c, 4, stride 2, pad 1)
};

// ---- the network ------------------------------------------------------------------------------------------------

namespace {

const UNetConfig& validated(const UNetConfig& config) {
    config.validate();
    return config;
}

std::size_t top_width(const UNetConfig& c) { return c.dim * c.dim_mults.back(); }

}  // namespace

// Members are constructed in declaration order, which is the layer order of §5.1; the stage vectors are filled by
// lambdas in the initialiser list (not in the body), so the Rng is consumed in that same order.
TemporalUNet::TemporalUNet(const UNetConfig& config, std::size_t channels, data::Rng& rng)
    : config_(validated(config)),
      channels_(channels),
      time_embedding_(config.time_dim),
      time_fc0_(config.time_dim, 4 * config.time_dim, rng),
      time_fc1_(4 * config.time_dim, config.time_dim, rng),
      downs_([&] {
          std::vector<std::unique_ptr<DownStage>> stages;
          const auto w = level_widths(config, channels);
          for (std::size_t l = 0; l < config.dim_mults.size(); ++l)
              stages.push_back(
                  std::make_unique<DownStage>(w[l], w[l + 1], l + 1 < config.dim_mults.size(), config, rng));
          return stages;
      }()),
      mid0_(top_width(config), top_width(config), config.time_dim, config, rng),
      mid1_(top_width(config), top_width(config), config.time_dim, config, rng),
      ups_([&] {
          std::vector<std::unique_ptr<UpStage>> stages;
          const auto w = level_widths(config, channels);
          for (std::size_t l = config.dim_mults.size() - 1; l >= 1; --l)
              stages.push_back(std::make_unique<UpStage>(2 * w[l + 1], w[l], config, rng));
          return stages;
      }()),
      final_block_(config.dim, config.dim, config.kernel_size, config.groups, rng),
      final_conv_(config.dim, channels, 1, rng) {
    DYDIFF_CHECK(channels >= 1, "TemporalUNet: channels (D) must be >= 1");
    register_module("time_mlp.fc0", time_fc0_);
    register_module("time_mlp.fc1", time_fc1_);
    for (std::size_t l = 0; l < downs_.size(); ++l) register_module("downs." + std::to_string(l), *downs_[l]);
    register_module("mid.res0", mid0_);
    register_module("mid.res1", mid1_);
    for (std::size_t l = 0; l < ups_.size(); ++l) register_module("ups." + std::to_string(l), *ups_[l]);
    register_module("final.block", final_block_);
    register_module("final.conv", final_conv_);
}

TemporalUNet::~TemporalUNet() = default;

Tensor TemporalUNet::forward(const Tensor& x, const Tensor& c_noise, UNetTrace* trace) const {
    DYDIFF_CHECK(x.dim() == 3 && x.size(2) == channels_,
                 "TemporalUNet: input " << shape_str(x.shape()) << " must be (B, H, " << channels_ << ")");
    DYDIFF_CHECK(c_noise.dim() == 1 && c_noise.size(0) == x.size(0),
                 "TemporalUNet: c_noise " << shape_str(c_noise.shape()) << " must be (" << x.size(0) << ",)");
    config_.check_horizon(x.size(1));
    const auto record = [trace](const char* name, const Tensor& t) {
        if (trace) trace->shapes.emplace_back(name, t.shape());
    };

    // Time MLP: e(c_noise) (B, time_dim) -> Linear -> Mish -> Linear -> t_emb (B, time_dim).
    const Tensor t_emb = time_fc1_.forward(nn::mish(time_fc0_.forward(time_embedding_.forward(c_noise))));

    Tensor h = autograd::transpose(x, 1, 2);  // (B, D, H)
    std::vector<Tensor> skips;                 // skips[l]: output of level l before its Down, (B, C_l, H_l)
    for (std::size_t l = 0; l < downs_.size(); ++l) {
        const DownStage& s = *downs_[l];
        h = s.res1.forward(s.res0.forward(h, t_emb), t_emb);
        skips.push_back(h);
        record(("skip" + std::to_string(l)).c_str(), h);
        if (s.down) h = s.down->forward(h);
        record(("down" + std::to_string(l)).c_str(), h);
    }
    h = mid1_.forward(mid0_.forward(h, t_emb), t_emb);
    record("mid", h);
    // NOTE: skips[0] (h0, the highest resolution) is never concatenated: up stage u pairs with level
    // levels - 1 - u, and there is one up stage fewer than levels. This is faithful to the Diffuser code (§5.1).
    for (std::size_t u = 0; u < ups_.size(); ++u) {
        const UpStage& s = *ups_[u];
        h = autograd::concat({h, skips[downs_.size() - 1 - u]}, 1);  // (B, 2 C, H_l)
        h = s.res1.forward(s.res0.forward(h, t_emb), t_emb);
        h = s.up.forward(h);
        record(("up" + std::to_string(u)).c_str(), h);
    }
    h = final_conv_.forward(final_block_.forward(h));  // (B, D, H)
    record("out", h);
    return autograd::transpose(h, 1, 2);               // (B, H, D)
}

}  // namespace dydiff
