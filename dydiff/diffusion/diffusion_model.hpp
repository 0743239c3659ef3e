// DiffusionModel: the trained diffusion dynamics model as one unit, the way train-diffusion saves it and every
// consumer (rollout-error, the DyDiff loop) loads it: the temporal U-Net and its EMA weights, the architecture that
// rebuilds them (U-Net config, horizon, EDM's sigma_data), the min-max normaliser of [s, a] (docs/algorithm.md §2)
// and the identity of the data it was trained on. One file, RUN/checkpoint.npz; keys in docs/checkpoints.md.
// Layering: dydiff/diffusion (on nn/checkpoint, nn/optim, data/normalizer, data/data_identity).
#pragma once

#include "data/data_identity.hpp"
#include "data/normalizer.hpp"
#include "data/rng.hpp"
#include "dydiff/diffusion/edm.hpp"
#include "dydiff/diffusion/temporal_unet.hpp"
#include "nn/checkpoint.hpp"
#include "nn/optim.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace dydiff {

struct DiffusionModel {
    static constexpr const char* kFile = "checkpoint.npz";  // the file in a train-diffusion run directory
    static constexpr const char* kKind = "diffusion";       // format/kind
    static constexpr std::int64_t kVersion = 1;             // format/version

    std::size_t horizon = 0;              // window length L the model was trained on (§5.1)
    UNetConfig unet;                      // the network's architecture
    double sigma_data = kSigmaData;       // EDM preconditioning's data std: sampling must use the trained value
    data::MinMaxNormalizer normalizer;    // over [s, a] rows of the whole dataset (§2), obs_dim + action_dim wide
    std::unique_ptr<TemporalUNet> net;    // the trained weights
    std::unique_ptr<nn::Ema> ema;         // their moving average (sampling uses it, §3); null once inference-only
    data::DataIdentity data;              // what it was trained on; its dims are the model's S and A
    std::string file;                     // the file it was loaded from ("" for a model built in memory)

    std::size_t obs_dim() const { return data.obs_dim; }
    std::size_t action_dim() const { return data.action_dim; }
    /// The file and its data, for data::require_same_data / require_env.
    data::TrainedOn trained_on() const { return {file, data}; }

    /// A fresh model for training: the network initialised from `rng`, the EMA equal to it. Fails on an invalid
    /// U-Net config, a horizon the U-Net cannot take, or a normaliser not obs_dim + action_dim wide.
    static DiffusionModel create(const data::DataIdentity& data, const UNetConfig& unet, std::size_t horizon,
                                 double sigma_data, data::MinMaxNormalizer normalizer, data::Rng& rng);

    /// Writes format/*, data/*, arch/*, norm/state_action/*, params/* and ema/* into `checkpoint` (the trainer adds
    /// its train/* state next to them).
    void save(nn::Checkpoint& checkpoint) const;
    /// save() into a new file, atomically.
    void save(const std::string& path) const;
    /// Rebuilds the model from what save() wrote: the architecture from arch/* and data/*, then the weights. Any
    /// error names the checkpoint's file and the key.
    static DiffusionModel read(const nn::Checkpoint& checkpoint);
    /// Loads a train-diffusion run directory (RUN/checkpoint.npz) or a checkpoint file.
    static DiffusionModel load(const std::string& run_or_file);

    /// For a model that is only sampled (rollout-error, the DyDiff loop): copies the EMA weights into the network
    /// (sampling uses them, §3), drops the EMA and makes the network inference-only
    /// (TemporalUNet::make_inference_only), so the weights are held once. save() is refused afterwards.
    void make_inference_only();

    /// The EDM config of this model with `sampler`'s sampling settings: sigma_data is the trained one.
    EdmConfig edm_config(EdmConfig sampler = {}) const;
};

}  // namespace dydiff
