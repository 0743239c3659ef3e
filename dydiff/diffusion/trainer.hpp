// Diffusion-model training (docs/algorithm.md §4.1(a), §5.1, §6.1): windows of [s, a] from a dataset, min-max
// normalised to [-1, 1], the EDM loss with in-painting, Adam with EDM's learning-rate ramp, an EMA of the weights
// with EDM's half-life schedule, checkpoints that resume bitwise, metrics and progress in a RunDir. The model it
// trains and saves is a DiffusionModel (diffusion_model.hpp), which consumers load.
// Layering: dydiff/diffusion (on nn/, data/, dydiff/diffusion/{edm, temporal_unet, diffusion_model}, dydiff/run).
#pragma once

#include "data/data_identity.hpp"
#include "data/dataset.hpp"
#include "dydiff/diffusion/diffusion_model.hpp"
#include "dydiff/diffusion/edm.hpp"
#include "dydiff/diffusion/temporal_unet.hpp"
#include "dydiff/run/config.hpp"
#include "dydiff/run/run_dir.hpp"
#include "nn/optim.hpp"

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace dydiff {

/// Every hyperparameter of train-diffusion. The defaults are the `tiny` preset (the command's default); the other
/// presets change the U-Net and the budget (apply_preset).
struct DiffusionTrainConfig {
    std::size_t horizon = 32;             // window length L; a multiple of 2^(U-Net levels - 1) (§5.1: 100)
    std::size_t batch = 16;               // windows per step (§6.1: 8)
    std::int64_t steps = 3000;            // Adam steps in total (§6.1: 500,000 = 4,000 kimg at batch 8)
    float lr = 1e-3f;                     // base learning rate (§6.1: "10e-4")
    double lr_rampup_kimg = 10;           // lr * min(images_seen / (this * 1000), 1) (§6.1: 10,000, never completes)
    double ema_halflife_kimg = 500;       // EMA half-life cap in kimg (§6.1)
    double ema_rampup_ratio = 0.05;       // EMA half-life = min(cap, ratio * images_seen) (§6.1)
    std::int64_t log_every = 50;          // steps between metrics rows
    std::int64_t checkpoint_every = 500;  // steps between checkpoints (and always at the end)
    std::int64_t seed = 0;                // seeds initialisation, window sampling and EDM noise
    UNetConfig unet = unet_tiny();        // the network F_theta ([unet], §5.1)
    EdmConfig edm;                        // preconditioning and training noise ([edm]: sigma_data, P_mean, P_std)
    nn::AdamConfig adam;                  // Adam's betas and eps ([adam]); its lr is replaced by `lr` above

    /// The presets, the default first.
    static const std::vector<std::string>& presets();
    void fields(ConfigFields& f);
    /// Sets a preset's U-Net and budget (horizon, batch, steps, lr ramp, checkpoint cadence); other fields keep
    /// their values. An unknown name is a UserError listing the presets.
    void apply_preset(const std::string& name);
};

/// EDM's learning rate before the step that sees images_seen + batch images: lr * min(images_seen / rampup, 1).
double diffusion_learning_rate(const DiffusionTrainConfig& config, double images_seen);
/// EDM's EMA decay after a step that brought the count to images_seen: 0.5^(batch / halflife),
/// halflife = min(halflife_kimg * 1000, ratio * images_seen).
double diffusion_ema_beta(const DiffusionTrainConfig& config, double images_seen);

/// train-diffusion in two halves, so that a command can check every input before it creates a run directory.
class DiffusionTrainer {
public:
    /// Checks the config (horizon vs the U-Net) and the dataset (at least one window), builds the model (recording
    /// `data`, the identity of `dataset`: data::identify_dataset) and, when `resume_checkpoint` is not empty,
    /// restores the whole training state from it; a checkpoint of other data or another architecture (horizon,
    /// U-Net, sigma_data) is refused, naming the key. Writes nothing.
    DiffusionTrainer(const data::Dataset& dataset, const data::DataIdentity& data, const DiffusionTrainConfig& config,
                     const std::string& resume_checkpoint = "");
    ~DiffusionTrainer();
    DiffusionTrainer(const DiffusionTrainer&) = delete;
    DiffusionTrainer& operator=(const DiffusionTrainer&) = delete;

    /// Steps done so far: 0, or the checkpoint's step when resumed.
    std::int64_t step() const;
    /// Runs the remaining steps into `run` (metrics.csv; checkpoint.npz: the DiffusionModel plus the train/* state,
    /// docs/checkpoints.md); returns the last logged loss (the mean minibatch loss since the previous metrics row,
    /// the value metrics.csv records and progress lines show).
    double run(RunDir& run, Progress& progress);

private:
    struct State;
    std::unique_ptr<State> state_;
};

/// DiffusionTrainer(dataset, data, config, resume ? run's checkpoint : "").run(run, progress).
double train_diffusion(const data::Dataset& dataset, const data::DataIdentity& data, const DiffusionTrainConfig& config,
                       RunDir& run, bool resume, Progress& progress);

/// The columns of train-diffusion's metrics.csv.
const std::vector<std::string>& diffusion_metrics_columns();

}  // namespace dydiff
