// TemporalUNet and its blocks (docs/algorithm.md §5.1), plus the dry-run counters that walk the same layer list.
#include "dydiff/diffusion/temporal_unet.hpp"

#include "autograd/error.hpp"
#include "autograd/ops.hpp"
#include "nn/activation_ops.hpp"
#include "nn/parallel.hpp"
#include "nn/simd/conv1d.hpp"
#include "nn/simd/gemm.hpp"
#include "nn/simd/kernels.hpp"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <new>
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

namespace {

// Each level past the first halves the length, so the horizon is a multiple of 2^(levels - 1): 16 levels already ask
// for a multiple of 32768. The bound also keeps that power of two representable (fuzz finding: 65 levels shifted a
// size_t by 64).
void check_levels(const std::vector<std::size_t>& dim_mults) {
    DYDIFF_USER_CHECK(!dim_mults.empty(), "U-Net dim_mults is empty (need at least one level)");
    DYDIFF_USER_CHECK(dim_mults.size() <= UNetConfig::kMaxLevels,
                      "U-Net dim_mults has " << dim_mults.size() << " levels; at most " << UNetConfig::kMaxLevels
                                             << " (the horizon must be a multiple of 2^(levels - 1))");
}

}  // namespace

void UNetConfig::validate() const {
    check_levels(dim_mults);
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
    check_levels(dim_mults);  // also here: a config's checks may run in any order, and the shift below needs it
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
    DYDIFF_CHECK(!packed_, "TemporalUNet::forward: this network is inference-only (make_inference_only() packed its "
                           "convolution weights for infer() and freed the graph-layout ones); forward, training and "
                           "saving need a network that was not made inference-only");
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

// ---- inference without the graph --------------------------------------------------------------------------------
// TemporalUNet::infer runs the layer list of forward() on channels-last rows (nn/simd/conv1d.hpp) with rows_pad()
// zero rows between samples. A call first packs every convolution weight for the rows kernels and computes the time
// projections of all ResBlocks (the "plan"), then runs the network over chunks of samples: every op is per sample
// (GroupNorm included), so a chunk is independent of the others and the gemm results do not depend on how many
// samples share a call. Chunks stay small enough for their activations to live in the caches between layers.

namespace {

namespace simd = nn::simd;

/// Floats of the largest activation of one chunk (128 KiB, an eighth of the 1 MiB L2): a chunk takes as many samples
/// as fit (at least one). Measured flat within noise from 2^14 to 2^18 for the tiny and small presets at H = 32 and
/// 100 (docs/performance.md); the smaller end keeps the memory low.
constexpr std::size_t kChunkFloats = std::size_t{1} << 15;
/// The least rows of a chunk's gemms at the last level (the widest channels). Every chunk streams all the weights
/// once, so wide networks need chunks long enough to reuse them: the paper preset (235 MB of weights) ran 1.5x
/// slower than the graph forward with one-sample chunks and on par with 512 rows; tiny and small are flat.
constexpr std::size_t kChunkMinRows = 512;

/// A growable set of cache-line aligned float buffers, handed out as leases and taken back when a lease dies.
/// After the first forward pass the same sequence of requests finds its buffers free again: no allocation.
class BufferPool {
public:
    class Lease {
    public:
        Lease() = default;
        Lease(BufferPool* pool, std::size_t slot) : pool_(pool), slot_(slot) {}
        Lease(Lease&& other) noexcept : pool_(std::exchange(other.pool_, nullptr)), slot_(other.slot_) {}
        Lease& operator=(Lease&& other) noexcept {
            if (this != &other) {
                release();
                pool_ = std::exchange(other.pool_, nullptr);
                slot_ = other.slot_;
            }
            return *this;
        }
        Lease(const Lease&) = delete;
        Lease& operator=(const Lease&) = delete;
        ~Lease() { release(); }

        float* data() const { return pool_->buffers_[slot_].data.get(); }
        void release() {
            if (pool_) pool_->buffers_[slot_].busy = false;
            pool_ = nullptr;
        }

    private:
        BufferPool* pool_ = nullptr;
        std::size_t slot_ = 0;
    };

    /// A buffer of at least n floats (contents unspecified): the smallest free one that fits, else the largest free
    /// one grown to n, else a new one.
    Lease take(std::size_t n) {
        std::size_t best = buffers_.size(), largest = buffers_.size();
        for (std::size_t i = 0; i < buffers_.size(); ++i) {
            const Buffer& b = buffers_[i];
            if (b.busy) continue;
            if (b.size >= n && (best == buffers_.size() || b.size < buffers_[best].size)) best = i;
            if (largest == buffers_.size() || b.size > buffers_[largest].size) largest = i;
        }
        if (best == buffers_.size()) {
            if (largest == buffers_.size()) {
                buffers_.emplace_back();
                largest = buffers_.size() - 1;
            }
            Buffer& b = buffers_[largest];
            b.data.reset(static_cast<float*>(::operator new(std::max<std::size_t>(n, 1) * sizeof(float),
                                                            std::align_val_t{kAlign})));
            b.size = n;
            best = largest;
        }
        buffers_[best].busy = true;
        return Lease(this, best);
    }

private:
    static constexpr std::size_t kAlign = 64;
    struct Free {
        void operator()(float* p) const noexcept { ::operator delete(p, std::align_val_t{kAlign}); }
    };
    struct Buffer {
        std::unique_ptr<float, Free> data;
        std::size_t size = 0;
        bool busy = false;
    };
    std::vector<Buffer> buffers_;
};

using Lease = BufferPool::Lease;

/// Pad rows between samples: the block convolutions need kernel_size / 2, Down (pad 1) and Up ((K - 1) / stride = 1
/// rows back) need 1.
std::size_t rows_pad(const UNetConfig& c) { return std::max<std::size_t>(c.kernel_size / 2, 1); }

/// Conv1dBlock: conv (weight packed, no bias in the gemm) -> GroupNorm with the conv bias folded in -> Mish.
struct BlockPlan {
    simd::Conv1dDims dims;  // B and H_in are set per chunk
    const float* w_rows;    // (K C_in, C_out) in slivers (conv1d_rows_weight)
    const float* bias;      // (C_out) conv bias
    const float* gamma;     // (C_out)
    const float* beta;      // (C_out)
    std::size_t groups;
    float eps;
};

/// ResBlock: block0, + the time projection, block1, + the residual.
struct ResPlan {
    BlockPlan block0, block1;
    const nn::Linear* time_proj;   // the block's time projection (time_dim -> C_out)
    const float* time_add;         // (Bt, C_out): time_proj(mish(t_emb)) per sample, or one shared row
    std::size_t time_ld;           // C_out, or 0 when the row is shared
    simd::Conv1dDims residual;     // 1x1 convolution; unused for the identity
    const float* residual_w;       // (C_in, C_out) in slivers, nullptr for the identity
    const float* residual_bias;    // (C_out)
};

/// Down (Conv1d), Up (ConvTranspose1d) and the final 1x1 convolution.
struct ConvPlan {
    simd::Conv1dDims dims;
    const float* w_rows;
    const float* bias;
};

}  // namespace

struct TemporalUNet::Plan {
    std::size_t pad;                 // P of every rows tensor
    std::vector<ResPlan> res;        // forward() order: downs (res0, res1 per level), mid (2), ups (res0, res1 per stage)
    std::vector<ConvPlan> downs;     // one per level but the last
    std::vector<ConvPlan> ups;       // one per up stage
    BlockPlan final_block;
    ConvPlan final_conv;
};

namespace {

/// One convolution weight in the rows kernels' layout and the dims it was packed for.
struct PackedConv {
    nn::simd::Conv1dDims dims;  // B and H_in unset
    std::vector<float> w;       // conv1d_rows_weight or conv_transpose1d_rows_weight
};

}  // namespace

struct TemporalUNet::PackedWeights {
    std::vector<PackedConv> convs;  // build_plan's order
};

/// Copies the weight of every convolution into the rows kernels' layout, one buffer per convolution in call order,
/// or reads back buffers filled that way by an earlier pass over the same network (then the graph-layout weights
/// are not read at all: an inference-only network has none).
class TemporalUNet::Packer {
public:
    /// Reads `packed`, which holds this network's weights in build_plan's order.
    explicit Packer(const PackedWeights& packed) : read_(&packed) {}
    /// Packs into `out`, emptied first. With `release`, each graph-layout weight is freed as soon as it is packed,
    /// so that the two copies never coexist beyond one convolution (make_inference_only).
    Packer(PackedWeights& out, bool release) : write_(&out), release_(release) { out.convs.clear(); }

    const float* conv(const nn::Conv1d& c, simd::Conv1dDims& dims) {
        if (read_) return next(dims);
        const auto& w = c.weight.value();  // (C_out, C_in, K)
        dims = {0, w.shape()[1], 0, w.shape()[0], w.shape()[2], c.stride(), c.padding()};
        PackedConv& p = write_->convs.emplace_back(PackedConv{dims, {}});
        p.w.resize(simd::conv1d_rows_weight_floats(dims));
        simd::conv1d_rows_weight(dims, w.data(), p.w.data());
        if (release_) release(c.weight);
        return p.w.data();
    }
    const float* transposed(const nn::ConvTranspose1d& c, simd::Conv1dDims& dims) {
        if (read_) return next(dims);
        const auto& w = c.weight.value();  // (C_in, C_out, K)
        dims = {0, w.shape()[0], 0, w.shape()[1], w.shape()[2], c.stride(), c.padding()};
        PackedConv& p = write_->convs.emplace_back(PackedConv{dims, {}});
        p.w.resize(simd::conv_transpose1d_rows_weight_floats(dims));
        simd::conv_transpose1d_rows_weight(dims, w.data(), p.w.data());
        if (release_) release(c.weight);
        return p.w.data();
    }

private:
    const float* next(simd::Conv1dDims& dims) {
        DYDIFF_CHECK(used_ < read_->convs.size(), "TemporalUNet::infer: the packed weights hold "
                                                      << read_->convs.size() << " convolutions, the network more");
        const PackedConv& p = read_->convs[used_++];
        dims = p.dims;
        return p.w.data();
    }
    /// Frees a graph-layout weight: its value becomes an empty array (0 floats).
    /// NOTE: a Tensor is a handle to a shared node, so a copy of the handle reaches the module's parameter through
    /// the const reference build_plan holds; only make_inference_only (non-const) asks for this.
    static void release(const Tensor& weight) {
        Tensor handle = weight;
        handle.mutable_value() = Array(autograd::Shape{0});
    }

    const PackedWeights* read_ = nullptr;
    PackedWeights* write_ = nullptr;
    bool release_ = false;
    std::size_t used_ = 0;
};

namespace {

BlockPlan block_plan(const Conv1dBlock& block, TemporalUNet::Packer& packer) {
    BlockPlan p{};
    p.w_rows = packer.conv(block.conv(), p.dims);
    p.bias = block.conv().bias.value().data();
    p.gamma = block.norm().weight.value().data();
    p.beta = block.norm().bias.value().data();
    p.groups = block.norm().groups();
    p.eps = block.norm().eps();
    return p;
}

/// y (R, O) = x (R, I) W^T + b with a Linear's weight (O, I) and bias (O): the same gemm and add as nn::linear.
void linear_rows(const nn::Linear& layer, std::size_t R, const float* x, float* y) {
    const std::size_t I = layer.in_features(), O = layer.out_features();
    simd::gemm(false, true, R, O, I, 1.0f, x, I, layer.weight.value().data(), I, 0.0f, y, O);
    simd::bias_add(R, O, 1, layer.bias.value().data(), y);
}

/// A Conv1dBlock on a chunk: x rows (n, H) of C_in -> a new rows tensor (n, H) of C_out, with add and res as in
/// group_norm_mish_rows.
Lease run_block(BufferPool& pool, const BlockPlan& p, std::size_t n, std::size_t H, std::size_t P, const float* x,
                const float* add, std::size_t add_ld, const float* res) {
    simd::Conv1dDims d = p.dims;
    d.B = n;
    d.H_in = H;
    Lease y = pool.take(simd::rows_floats(n, H, d.C_out, P));
    simd::conv1d_rows_forward(d, P, x, p.w_rows, nullptr, P, y.data(), false);
    Lease stats = pool.take(2 * n * p.groups);  // mean, rstd (n, G)
    float* first = y.data() + P * d.C_out;      // position 0 of sample 0
    simd::group_norm_mish_rows(n, H, d.C_out, p.groups, (H + P) * d.C_out, first, p.bias, p.gamma, p.beta,
                               p.eps, add, add_ld, res, first, stats.data(), stats.data() + n * p.groups);
    return y;
}

/// A ResBlock on a chunk whose first sample is b0 of the call (for the per-sample time projection).
Lease run_res(BufferPool& pool, const ResPlan& r, std::size_t b0, std::size_t n, std::size_t H, std::size_t P,
              const float* x) {
    Lease h = run_block(pool, r.block0, n, H, P, x, r.time_add + b0 * r.time_ld, r.time_ld, nullptr);
    if (!r.residual_w)  // identity: C_in == C_out, so x and the output share the rows layout
        return run_block(pool, r.block1, n, H, P, h.data(), nullptr, 0, x + P * r.block1.dims.C_out);
    Lease y = run_block(pool, r.block1, n, H, P, h.data(), r.residual_bias, 0, nullptr);
    simd::Conv1dDims d = r.residual;
    d.B = n;
    d.H_in = H;
    simd::conv1d_rows_forward(d, P, x, r.residual_w, nullptr, P, y.data(), /*accumulate=*/true);
    return y;
}

/// A rows tensor of a chunk and its channel count.
struct Rows {
    Lease lease;
    std::size_t C = 0;
};

/// Samples [b0, b0 + n) of x (B, H, D) through the network into the same rows of out (B, H, D).
void run_chunk(const TemporalUNet::Plan& plan, BufferPool& pool, std::size_t b0, std::size_t n, std::size_t H,
               std::size_t D, const float* x, float* out) {
    const std::size_t P = plan.pad;
    Rows cur{pool.take(simd::rows_floats(n, H, D, P)), D};
    std::fill(cur.lease.data(), cur.lease.data() + simd::rows_floats(n, H, D, P), 0.0f);
    for (std::size_t b = 0; b < n; ++b)
        std::memcpy(cur.lease.data() + (P + b * (H + P)) * D, x + (b0 + b) * H * D, H * D * sizeof(float));

    std::size_t r = 0;   // next ResPlan
    std::size_t Hl = H;  // current length
    std::vector<Rows> skips;
    const float* h = cur.lease.data();
    for (std::size_t l = 0; l <= plan.downs.size(); ++l) {
        const ResPlan& res0 = plan.res[r++];
        const ResPlan& res1 = plan.res[r++];
        {
            Lease a = run_res(pool, res0, b0, n, Hl, P, h);
            skips.push_back({run_res(pool, res1, b0, n, Hl, P, a.data()), res1.block1.dims.C_out});
        }
        cur = Rows();
        h = skips.back().lease.data();
        if (l == plan.downs.size()) break;  // the last level has no Down: its output goes on to mid
        simd::Conv1dDims d = plan.downs[l].dims;
        d.B = n;
        d.H_in = Hl;
        cur = {pool.take(simd::rows_floats(n, Hl / 2, d.C_out, P)), d.C_out};
        simd::conv1d_rows_forward(d, P, h, plan.downs[l].w_rows, plan.downs[l].bias, P, cur.lease.data(), false);
        Hl /= 2;
        h = cur.lease.data();
    }
    {
        const ResPlan& mid0 = plan.res[r++];
        const ResPlan& mid1 = plan.res[r++];
        Lease m = run_res(pool, mid0, b0, n, Hl, P, h);
        cur = {run_res(pool, mid1, b0, n, Hl, P, m.data()), mid1.block1.dims.C_out};
    }
    // NOTE: skips[0] is never concatenated, as in forward(): up stage u pairs with level L - 1 - u.
    for (std::size_t u = 0; u < plan.ups.size(); ++u) {
        const ResPlan& res0 = plan.res[r++];
        const ResPlan& res1 = plan.res[r++];
        // cat = [h, skip] along channels, row by row; the pad rows are zero in both, so in cat too.
        Rows& skip = skips[skips.size() - 1 - u];
        const std::size_t C_cat = cur.C + skip.C, rows = P + n * (Hl + P);
        Lease cat = pool.take(rows * C_cat);
        for (std::size_t i = 0; i < rows; ++i) {
            std::memcpy(cat.data() + i * C_cat, cur.lease.data() + i * cur.C, cur.C * sizeof(float));
            std::memcpy(cat.data() + i * C_cat + cur.C, skip.lease.data() + i * skip.C, skip.C * sizeof(float));
        }
        cur = Rows();
        skip = Rows();
        Lease y;
        {
            Lease a = run_res(pool, res0, b0, n, Hl, P, cat.data());
            cat = Lease();
            y = run_res(pool, res1, b0, n, Hl, P, a.data());
        }
        simd::Conv1dDims d = plan.ups[u].dims;
        d.B = n;
        d.H_in = Hl;
        cur = {pool.take(simd::rows_floats(n, 2 * Hl, d.C_out, P)), d.C_out};
        simd::conv_transpose1d_rows_forward(d, P, y.data(), plan.ups[u].w_rows, plan.ups[u].bias, P,
                                            cur.lease.data());
        Hl *= 2;
    }
    Lease f = run_block(pool, plan.final_block, n, H, P, cur.lease.data(), nullptr, 0, nullptr);
    cur = Rows();
    simd::Conv1dDims d = plan.final_conv.dims;
    d.B = n;
    d.H_in = H;
    Lease y = pool.take(simd::rows_floats(n, H, D, P));
    simd::conv1d_rows_forward(d, P, f.data(), plan.final_conv.w_rows, plan.final_conv.bias, P, y.data(), false);
    for (std::size_t b = 0; b < n; ++b)
        std::memcpy(out + (b0 + b) * H * D, y.data() + (P + b * (H + P)) * D, H * D * sizeof(float));
}

}  // namespace

struct UNetWorkspace::Impl {
    TemporalUNet::PackedWeights weights;      // a trainable network's convolution weights, rows kernels' layout
    const TemporalUNet* packed_for = nullptr;  // the network whose weights `weights` holds; nullptr: none yet
    std::vector<float> time;                  // the time projections of every ResBlock, (Bt, C_out) each
    std::vector<float> time_hidden;           // the time MLP: fc0 (Bt, 4 time_dim), fc1 and its mish (Bt, time_dim)
    std::mutex mutex;                         // guards idle
    std::vector<std::unique_ptr<BufferPool>> idle;  // activation pools not lent to a worker

    std::unique_ptr<BufferPool> lend() {
        std::lock_guard<std::mutex> lock(mutex);
        if (idle.empty()) return std::make_unique<BufferPool>();
        std::unique_ptr<BufferPool> pool = std::move(idle.back());
        idle.pop_back();
        return pool;
    }
    void give_back(std::unique_ptr<BufferPool> pool) {
        std::lock_guard<std::mutex> lock(mutex);
        idle.push_back(std::move(pool));
    }
};

UNetWorkspace::UNetWorkspace() : impl_(std::make_unique<Impl>()) {}
UNetWorkspace::~UNetWorkspace() = default;
void UNetWorkspace::clear() { impl_->packed_for = nullptr; }

void TemporalUNet::build_plan(Packer& packer, Plan& plan) const {
    plan.pad = rows_pad(config_);
    std::vector<const ResBlock*> blocks;
    for (const auto& s : downs_) blocks.insert(blocks.end(), {&s->res0, &s->res1});
    blocks.insert(blocks.end(), {&mid0_, &mid1_});
    for (const auto& s : ups_) blocks.insert(blocks.end(), {&s->res0, &s->res1});
    for (const ResBlock* rb : blocks) {
        ResPlan r{};
        r.block0 = block_plan(rb->block0(), packer);
        r.block1 = block_plan(rb->block1(), packer);
        r.time_proj = &rb->time_proj();
        if (const nn::Conv1d* res = rb->residual()) {
            r.residual_w = packer.conv(*res, r.residual);
            r.residual_bias = res->bias.value().data();
        }
        plan.res.push_back(r);
    }
    for (const auto& s : downs_) {
        if (!s->down) continue;
        ConvPlan p{};
        p.w_rows = packer.conv(*s->down, p.dims);
        p.bias = s->down->bias.value().data();
        plan.downs.push_back(p);
    }
    for (const auto& s : ups_) {
        ConvPlan p{};
        p.w_rows = packer.transposed(s->up, p.dims);
        p.bias = s->up.bias.value().data();
        plan.ups.push_back(p);
    }
    plan.final_block = block_plan(final_block_, packer);
    plan.final_conv.w_rows = packer.conv(final_conv_, plan.final_conv.dims);
    plan.final_conv.bias = final_conv_.bias.value().data();
}

void TemporalUNet::make_inference_only() {
    if (packed_) return;
    auto packed = std::make_unique<PackedWeights>();
    Packer packer(*packed, /*release=*/true);
    Plan plan;
    build_plan(packer, plan);
    packed_ = std::move(packed);
}

void TemporalUNet::infer(std::size_t B, std::size_t H, const float* x, const float* c_noise, float* out,
                         UNetWorkspace& workspace) const {
    DYDIFF_CHECK(B >= 1 && x && c_noise && out, "TemporalUNet::infer: need B >= 1 and non-null x, c_noise, out");
    config_.check_horizon(H);
    UNetWorkspace::Impl& ws = *workspace.impl_;
    const std::size_t D = channels_, td = config_.time_dim;

    // The time path on Bt rows: one when every sample has the same c_noise (the sampler's case), else B.
    const bool shared = std::all_of(c_noise, c_noise + B, [&](float c) { return c == c_noise[0]; });
    const std::size_t Bt = shared ? 1 : B;
    autograd::Array c = xt::empty<float>({Bt});
    std::copy(c_noise, c_noise + Bt, c.begin());
    const autograd::Array e = time_embedding_.forward(Tensor(std::move(c))).value();  // (Bt, td)
    ws.time_hidden.resize(Bt * (4 * td + 2 * td));
    float* hidden = ws.time_hidden.data();        // (Bt, 4 td)
    float* t_emb = hidden + Bt * 4 * td;          // (Bt, td)
    float* t_mish = t_emb + Bt * td;              // (Bt, td)
    linear_rows(time_fc0_, Bt, e.data(), hidden);
    simd::mish_forward(Bt * 4 * td, hidden, hidden);
    linear_rows(time_fc1_, Bt, hidden, t_emb);
    simd::mish_forward(Bt * td, t_emb, t_mish);  // every ResBlock projects mish(t_emb)

    // The plan: packed weights (the network's own when inference-only, else the workspace's, packed at its first
    // call) and the time projections, in forward()'s order.
    DYDIFF_CHECK(packed_ || ws.packed_for == nullptr || ws.packed_for == this,
                 "TemporalUNet::infer: this workspace holds another network's weights (clear() it or use a new one)");
    Plan plan;
    if (packed_ || ws.packed_for == this) {
        Packer packer(packed_ ? *packed_ : ws.weights);
        build_plan(packer, plan);
    } else {
        Packer packer(ws.weights, /*release=*/false);
        build_plan(packer, plan);
        ws.packed_for = this;
    }
    std::size_t time_floats = 0;
    for (const ResPlan& r : plan.res) time_floats += Bt * r.time_proj->out_features();
    ws.time.resize(time_floats);
    float* time = ws.time.data();
    for (ResPlan& r : plan.res) {
        const std::size_t C_out = r.time_proj->out_features();
        linear_rows(*r.time_proj, Bt, t_mish, time);
        r.time_add = time;
        r.time_ld = shared ? 0 : C_out;
        time += Bt * C_out;
    }

    // Chunks of equal size: as many samples as fit kChunkFloats in the widest activation (a concatenation of two
    // levels), but at least kChunkMinRows rows at the last level.
    std::size_t per_sample = (H + plan.pad) * D;
    for (std::size_t l = 0; l < config_.dim_mults.size(); ++l)
        per_sample = std::max(per_sample, ((H >> l) + plan.pad) * 2 * config_.dim * config_.dim_mults[l]);
    const std::size_t bottom = (H >> config_.num_downsamples()) + plan.pad;  // rows per sample at the last level
    const std::size_t fit = std::clamp<std::size_t>(
        std::max(kChunkFloats / per_sample, (kChunkMinRows + bottom - 1) / bottom), 1, B);
    const std::size_t chunks = (B + fit - 1) / fit;
    const std::size_t chunk = (B + chunks - 1) / chunks;
    const auto run = [&](std::size_t begin, std::size_t end) {
        std::unique_ptr<BufferPool> pool = ws.lend();
        for (std::size_t i = begin; i < end; ++i) {
            const std::size_t b0 = i * chunk;
            run_chunk(plan, *pool, b0, std::min(chunk, B - b0), H, D, x, out);
        }
        ws.give_back(std::move(pool));
    };
    // One chunk per worker at a time, or, with a single chunk, the gemms' own threads.
    if (chunks > 1 && nn::num_threads() > 1)
        nn::parallel_for(chunks, 1, run);
    else
        run(0, chunks);
}

}  // namespace dydiff
