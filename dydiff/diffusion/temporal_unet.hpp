// TemporalUNet: the diffusion backbone F_theta of DyDiff, a 1-D temporal U-Net of the Diffuser / Decision-Diffuser
// type ("UNet_RL", docs/algorithm.md §5.1): time MLP on the sinusoidal embedding of c_noise, ResBlocks of
// Conv1d-GroupNorm-Mish blocks, stride-2 Down / transposed-conv Up, skip concatenation, no attention, no dropout.
// Layering: dydiff/ (on nn/ modules and ops). Shapes: B batch, H horizon (L in the paper), D = S + A channels,
// C channels. Input and output are in model space (B, H, D); inside, the net works on (B, C, H).
// Presets: `paper` is §5.1 exactly (58,751,246 parameters at D = 14); `small` and `tiny` are CPU-sized variants
// with the same structure.
#pragma once

#include "data/rng.hpp"
#include "dydiff/run/config.hpp"
#include "nn/conv.hpp"
#include "nn/embedding.hpp"
#include "nn/linear.hpp"
#include "nn/module.hpp"
#include "nn/norm.hpp"

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace dydiff {

using autograd::Array;
using autograd::Tensor;

struct UNetConfig {
    std::size_t dim = 128;                         // base width: level l has dim * dim_mults[l] channels (§5.1)
    std::vector<std::size_t> dim_mults = {1, 4, 8};  // width multipliers per level; one Down between levels (§5.1)
    std::size_t kernel_size = 5;                   // Conv1dBlock kernel, padding kernel_size / 2 (§5.1)
    std::size_t groups = 8;                        // GroupNorm groups in every Conv1dBlock (§5.1); divides all widths
    std::size_t time_dim = 128;                    // sinusoidal embedding width = time-MLP output t_emb (§5.1: = dim);
                                                   // the hidden layer of the time MLP is 4 * time_dim

    /// The keys of the [unet] table; every one is an architecture key (--resume refuses a change).
    void fields(ConfigFields& f);
    /// Throws dydiff::UserError unless the widths, groups and kernel are consistent (odd kernel, groups | widths,
    /// even time_dim >= 4, 1 to kMaxLevels levels).
    void validate() const;
    /// The most levels validate() accepts (a horizon multiple of 2^15 already).
    static constexpr std::size_t kMaxLevels = 16;
    /// Levels minus one: the number of Down (and Up) stages.
    std::size_t num_downsamples() const { return dim_mults.size() - 1; }
    /// Throws dydiff::UserError unless H is divisible by 2^num_downsamples() (4 for the paper, §11 P27): each Down
    /// halves the length and each Up doubles it, so the skip concatenations only line up for such horizons.
    void check_horizon(std::size_t H) const;
    /// "dim=128 dim_mults=[1,4,8] kernel=5 groups=8 time_dim=128", for run logs.
    std::string describe() const;
};

/// §5.1 exactly: dim 128, mults (1, 4, 8), kernel 5, groups 8, time_dim 128.
UNetConfig unet_paper();
/// CPU preset, same structure: dim 32, mults (1, 2, 4), kernel 5, groups 8, time_dim 32.
UNetConfig unet_small();
/// Test preset, same structure: dim 16, mults (1, 2, 4), kernel 5, groups 8, time_dim 16.
UNetConfig unet_tiny();
/// "paper" | "small" | "tiny"; any other name is a dydiff::Error listing the valid ones.
UNetConfig unet_preset(const std::string& name);

/// Parameter count of TemporalUNet(config, channels) without building it (the layer list of §5.1 counted).
std::size_t unet_num_parameters(const UNetConfig& config, std::size_t channels);
/// Multiply-accumulates of one forward pass of one sample of horizon H (convolutions and linears).
double unet_forward_macs(const UNetConfig& config, std::size_t channels, std::size_t H);

/// Conv1d(i, o, k, pad k/2) -> GroupNorm(groups, o) -> Mish. Parameters: conv.*, norm.*.
class Conv1dBlock : public nn::Module {
public:
    Conv1dBlock(std::size_t in_channels, std::size_t out_channels, std::size_t kernel_size, std::size_t groups,
                data::Rng& rng);
    /// x (B, C_in, H) -> (B, C_out, H).
    Tensor forward(const Tensor& x) const;
    const nn::Conv1d& conv() const { return conv_; }
    const nn::GroupNorm& norm() const { return norm_; }

private:
    nn::Conv1d conv_;
    nn::GroupNorm norm_;
};

/// Residual block with time conditioning (§5.1):
///   h = block0(x) + time_proj(mish(t_emb)) broadcast over H;  h = block1(h);  out = h + residual(x)
/// residual is Conv1d(i, o, 1) when i != o, else the identity. Parameters: block0.*, block1.*, time_proj.*,
/// residual.* (only when i != o).
class ResBlock : public nn::Module {
public:
    ResBlock(std::size_t in_channels, std::size_t out_channels, std::size_t time_dim, const UNetConfig& config,
             data::Rng& rng);
    /// x (B, C_in, H), t_emb (B, time_dim) -> (B, C_out, H).
    Tensor forward(const Tensor& x, const Tensor& t_emb) const;
    const Conv1dBlock& block0() const { return block0_; }
    const Conv1dBlock& block1() const { return block1_; }
    const nn::Linear& time_proj() const { return time_proj_; }
    /// The 1x1 residual convolution, or nullptr for the identity (in == out).
    const nn::Conv1d* residual() const { return residual_.get(); }

private:
    std::size_t out_channels_;
    Conv1dBlock block0_, block1_;
    nn::Linear time_proj_;
    std::unique_ptr<nn::Conv1d> residual_;  // null when in == out (identity)
};

/// Shapes seen inside one forward pass, recorded when a trace is passed (tests and debugging).
struct UNetTrace {
    std::vector<std::pair<std::string, autograd::Shape>> shapes;  // ("down0", (B, C, H)), ("skip2", ...), ...
};

/// The buffers of TemporalUNet::infer, kept from one call to the next so that the sampler's repeated calls allocate
/// and copy nothing after the first: the weights repacked for the channels-last kernels (packed at the first call
/// and reused; not for an inference-only network, which holds its packed weights itself), the time projections, and
/// one pool of activation buffers per worker thread. A workspace serves one network whose parameters do not change
/// while it is in use (a sampler's frozen model); after changing them, call clear() or use a new workspace (a
/// different network is refused). Not for concurrent calls: one workspace per calling thread.
class UNetWorkspace {
public:
    UNetWorkspace();
    ~UNetWorkspace();
    UNetWorkspace(const UNetWorkspace&) = delete;
    UNetWorkspace& operator=(const UNetWorkspace&) = delete;
    /// Forgets the packed weights: the next call packs the network's current parameters again.
    void clear();

private:
    friend class TemporalUNet;
    struct Impl;
    std::unique_ptr<Impl> impl_;
};

class TemporalUNet : public nn::Module {
public:
    /// channels = D (S + A). Parameters are drawn from rng with PyTorch's default init (§5.1).
    TemporalUNet(const UNetConfig& config, std::size_t channels, data::Rng& rng);
    ~TemporalUNet() override;

    /// F(x, c_noise): x (B, H, D) model space, c_noise (B) (a constant: no gradient flows into it) -> (B, H, D).
    /// H must satisfy config.check_horizon. With a trace, the shape after each stage is appended to it. Refused on an
    /// inference-only network (make_inference_only).
    Tensor forward(const Tensor& x, const Tensor& c_noise, UNetTrace* trace = nullptr) const;
    /// The same F(x, c_noise) without the graph, for sampling: raw arrays, no autograd nodes, buffers reused from
    /// `workspace`. Activations are channels-last rows (nn/simd/conv1d.hpp): each convolution is one gemm over a
    /// chunk of samples, and conv bias, GroupNorm, Mish, the time-embedding add and the identity residual are one
    /// pass per block. Chunks of samples run on nn::parallel_for's threads. The parameters are read on every call.
    /// Equals forward() up to float round-off (the sums run in another order); the result does not depend on the
    /// thread count. x (B, H, D) model space, c_noise (B), out (B, H, D); H must satisfy config.check_horizon.
    void infer(std::size_t B, std::size_t H, const float* x, const float* c_noise, float* out,
               UNetWorkspace& workspace) const;

    /// Makes this network inference-only, for a model that is only sampled: every convolution weight is packed
    /// once in infer()'s layout, kept by the network, and its graph-layout tensor freed right after, so the weights
    /// exist once (the workspaces then pack nothing). infer() gives bitwise the same results as before. forward(),
    /// and with it training, is refused afterwards, and so is saving (the parameters list holds empty convolution
    /// weights); the biases, norms and linear layers keep their graph layout. Calling it again does nothing.
    void make_inference_only();
    bool inference_only() const { return packed_ != nullptr; }

    const UNetConfig& config() const { return config_; }
    std::size_t channels() const { return channels_; }

    struct DownStage;
    struct UpStage;
    struct PackedWeights;  // every convolution weight in the rows kernels' layout, in infer()'s order
    struct Plan;           // infer()'s layer list over packed weights
    class Packer;          // packs the weights of a Plan, or reads weights packed before

private:
    /// The layers of infer() in forward()'s order, each convolution's weight through `packer`.
    void build_plan(Packer& packer, Plan& plan) const;

    UNetConfig config_;
    std::size_t channels_;
    nn::SinusoidalEmbedding time_embedding_;
    nn::Linear time_fc0_, time_fc1_;                 // time_mlp.fc0 (time_dim -> 4 time_dim), time_mlp.fc1 (back)
    std::vector<std::unique_ptr<DownStage>> downs_;  // downs.<l>: res0, res1, down (all but the last level)
    ResBlock mid0_, mid1_;                           // mid.res0, mid.res1
    std::vector<std::unique_ptr<UpStage>> ups_;      // ups.<l>: res0, res1, up
    Conv1dBlock final_block_;                        // final.block
    nn::Conv1d final_conv_;                          // final.conv (dim -> D, kernel 1)
    std::unique_ptr<PackedWeights> packed_;          // inference-only: the one copy of the convolution weights
};

}  // namespace dydiff
