// The single-step dynamics ensemble f_ψ of DyDiff pretraining (docs/algorithm.md §4.1(b), §5.2, §6.4): E Gaussian
// MLPs run as one stack of batched EnsembleLinear layers, trained on Δŝ = ŝ' − ŝ with bootstrap, per-layer coupled
// weight decay, a hold-out and early stopping; at rollout time ŝ' = ŝ + μ_k(ŝ, a) with k a random elite per sample.
// Layering: dydiff/models (on nn/ modules, optimiser and checkpoint, data/data_identity, dydiff/models/holdout).
// Saved and loaded as one unit with its normaliser and data identity: TrainedDynamics (docs/checkpoints.md).
// Scale (§2): inputs are [ŝ, a] with ŝ the env-normalised (z-scored) observation and a the RAW action in [−1, 1];
// targets are Δŝ in z-scored units. Nothing here normalises: the caller passes data in these scales.
// Departure from the official code (§11 P18): we restore each member's BEST hold-out weights and rank elites by them;
// the official code keeps the last weights by mistake.
#pragma once

#include "data/data_identity.hpp"
#include "data/normalizer.hpp"
#include "data/rng.hpp"
#include "dydiff/run/config.hpp"
#include "dydiff/models/holdout.hpp"
#include "nn/activation.hpp"
#include "nn/checkpoint.hpp"
#include "nn/linear.hpp"
#include "nn/optim.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace dydiff {

/// Hyperparameters of the ensemble and its training; defaults from §5.2 / §6.4 (exp_specs/dyn_model).
struct EnsembleConfig {
    std::size_t members = 7;               // E, ensemble members (§5.2)
    std::size_t elites = 5;                // members used at prediction time, lowest best hold-out MSE (§5.2)
    std::size_t hidden = 200;              // width of every hidden layer (§5.2)
    std::size_t layers = 4;                // hidden layers; the net has layers + 1 EnsembleLinear (§5.2)
    nn::Activation activation = nn::Activation::silu;  // between hidden layers (§5.2: SiLU)
    float max_logvar = 0.5f;               // soft upper bound of the log-variance, a constant (§5.2, §11 P18)
    float min_logvar = -10.0f;             // soft lower bound of the log-variance, a constant (§5.2)
    float lr = 1e-4f;                      // Adam learning rate (§6.4)
    nn::AdamConfig adam;                   // Adam's betas and eps ([adam]); its lr is replaced by `lr`
    std::size_t batch = 256;               // minibatch rows per member (§6.4)
    std::vector<float> weight_decay = {2.5e-5f, 5e-5f, 7.5e-5f, 7.5e-5f, 1e-4f};  // coupled L2 per layer, one
                                           // entry per EnsembleLinear (layers + 1), weight and bias alike (§5.2)
    float holdout_fraction = 0.2f;         // share of rows held out for early stopping and elites (§5.2)
    std::size_t max_holdout = 5000;        // cap on the hold-out rows (§5.2)
    std::size_t patience = 7;              // stop when no member improved for more than this many epochs (§5.2)
    std::size_t max_epochs = 1000;         // CPU budget: hard cap on epochs (the official code has none)
    std::int64_t seed = 0;                 // root seed the caller derives the Rng from (init, split, batches);
                                           // saved with the run, the library itself takes an explicit Rng&

    /// The fields by key, for config files, --set overrides and printing (dydiff/run/config.hpp).
    void fields(ConfigFields& f);
};

/// Mean and bounded log-variance of every member, each (E, B, S).
struct EnsembleOutput {
    autograd::Tensor mean;    // (E, B, S) μ of Δŝ
    autograd::Tensor logvar;  // (E, B, S) softly bounded to [min_logvar, max_logvar], see bound_logvar
};

/// §5.2 soft bounds: lv = max − softplus(max − v); lv = min + softplus(lv − min). Any shape.
/// NOTE: the range is (min, max + log(1 + e^{min − max})], i.e. (−10, 0.5 + 2.8e-5] with the defaults: the outer
/// softplus lifts a saturated upper value very slightly above max, exactly as in the official code.
autograd::Tensor bound_logvar(const autograd::Tensor& raw, float max_logvar, float min_logvar);

class DynamicsEnsemble : public nn::Module {
public:
    /// Builds layers + 1 EnsembleLinear (S + A → hidden → … → 2S) initialised with Init::ensemble_fan_in
    /// (U(±1/√(in·out)) for weights and biases, §5.2, §11 P19). Elites start empty (train or load first).
    DynamicsEnsemble(std::size_t obs_dim, std::size_t action_dim, const EnsembleConfig& config, data::Rng& rng);

    /// x (E, B, S + A) → mean, bounded logvar (E, B, S). Records a graph unless under NoGradGuard.
    EnsembleOutput forward(const autograd::Tensor& x) const;

    /// ŝ' = ŝ + μ_k(ŝ, a) with k drawn uniformly from the elites per sample, no noise (§5.2 inference).
    /// obs (B, S) z-scored, act (B, A) raw → next obs (B, S) z-scored. Runs under NoGradGuard.
    autograd::Array predict(const autograd::Array& obs, const autograd::Array& act, data::Rng& rng) const;

    const std::vector<std::size_t>& elites() const { return elites_; }
    /// Sets the elites (distinct member indices); the trainer calls it, tests craft it.
    void set_elites(const std::vector<std::size_t>& elites);

    std::size_t obs_dim() const { return obs_dim_; }
    std::size_t action_dim() const { return action_dim_; }
    const EnsembleConfig& config() const { return config_; }
    /// The EnsembleLinear stack, input layer first.
    const std::vector<std::unique_ptr<nn::EnsembleLinear>>& layers() const { return layers_; }

    /// Writes the parameters under "<section>/params/", the elites as an int64 array "<section>/elites" and the
    /// shape (obs_dim, act_dim, members, hidden, layers) as int64 scalars.
    void save(nn::Checkpoint& checkpoint, const std::string& section) const;
    /// Reads what save() wrote. A checkpoint of another shape (obs/action dim, width, depth, members) fails with the
    /// Checkpoint's error listing the mis-shaped parameters, before anything is modified.
    void load(const nn::Checkpoint& checkpoint, const std::string& section);

private:
    std::size_t obs_dim_, action_dim_;
    EnsembleConfig config_;
    std::vector<std::unique_ptr<nn::EnsembleLinear>> layers_;  // registered as "layers.0", "layers.1", ...
    std::vector<std::size_t> elites_;
};

/// A dynamics ensemble as train-dynamics writes it (RUN/model.npz; keys in docs/checkpoints.md) and consumers load
/// it: the ensemble with its elites, the z-score normaliser of the observations it takes (§2), and the identity of
/// the data it was fitted on. The file holds every architecture field (members, elites, hidden, layers, activation,
/// logvar bounds); the loaded model's training fields keep EnsembleConfig's defaults (the run's config has them).
struct TrainedDynamics {
    static constexpr const char* kFile = "model.npz";  // the file in a train-dynamics run directory
    static constexpr const char* kKind = "dynamics";   // format/kind
    static constexpr std::int64_t kVersion = 1;        // format/version

    std::unique_ptr<DynamicsEnsemble> model;
    data::ZScoreNormalizer obs_normalizer;  // ŝ = (s − mean) / (std + eps), obs_dim wide
    data::DataIdentity data;                // its dims are the model's
    std::string file;                       // the file it was loaded from ("" for one built in memory)

    /// The file and its data, for data::require_same_data / require_env.
    data::TrainedOn trained_on() const { return {file, data}; }
    /// Writes format/*, data/*, arch/*, norm/obs/*, params/* and fit/elite_indices; fails when the model, the
    /// normaliser and the data identity disagree in dims.
    void save(nn::Checkpoint& checkpoint) const;
    /// save() into a new file, atomically.
    void save(const std::string& path) const;
    /// Rebuilds the ensemble from arch/* and data/*, then loads weights, elites and normaliser. Any error names the
    /// checkpoint's file and the key.
    static TrainedDynamics read(const nn::Checkpoint& checkpoint);
    /// Loads a train-dynamics run directory (RUN/model.npz) or a model file.
    static TrainedDynamics load(const std::string& run_or_file);
};

/// §5.2 training loss of one batch: per member the mean over batch and dims of (μ − Δ)²·e^{−logvar} plus the mean of
/// logvar, averaged over members. The constant +0.01·(max_logvar − min_logvar) term of the official code is OMITTED
/// (the bounds are constants, so it changes neither gradients nor rankings). target (E, B, S) → scalar.
autograd::Tensor ensemble_loss(const EnsembleOutput& out, const autograd::Tensor& target);

/// Per-member MSE of the mean prediction on (inputs (N, S + A), targets (N, S)), each member seeing every row;
/// evaluated in chunks under NoGradGuard. → E values.
std::vector<float> ensemble_mse(const DynamicsEnsemble& model, const autograd::Array& inputs,
                                const autograd::Array& targets);

/// Adam parameter groups for the per-layer coupled weight decay (§5.2): group l holds layer l's weight and bias
/// with weight_decay[l]; one entry per EnsembleLinear.
std::vector<nn::ParamGroup> ensemble_param_groups(const DynamicsEnsemble& model,
                                                  const std::vector<float>& weight_decay);

/// One bootstrap index vector per member: n draws with replacement from [0, n) (§5.2).
std::vector<std::vector<std::size_t>> draw_bootstrap(std::size_t members, std::size_t n, data::Rng& rng);

/// What one epoch did, for metrics.csv.
struct EnsembleEpoch {
    std::size_t epoch = 0;             // 1-based
    float train_loss = 0.0f;           // mean of the epoch's minibatch losses (ensemble_loss)
    std::vector<float> holdout_mse;    // per member, after the epoch
};

struct EnsembleTrainReport {
    std::vector<EnsembleEpoch> epochs;     // one per epoch run
    std::vector<float> best_holdout_mse;   // per member, the error of the restored weights
    std::vector<std::size_t> best_epoch;   // per member (1-based), whose weights were restored
    std::vector<std::size_t> elites;       // best first
    bool early_stopped = false;            // false: max_epochs reached
    std::size_t train_rows = 0, holdout_rows = 0;
};

using EnsembleProgress = std::function<void(const EnsembleEpoch&)>;

/// Trains `model` on inputs (N, S + A) = [ŝ, a] and targets (N, S) = Δŝ (§5.2): a random hold-out (holdout_fraction,
/// at most max_holdout rows), one bootstrap index vector per member over the training rows (each member's order
/// reshuffled every epoch, each minibatch gathers its own rows into (E, batch, ·)), Adam with one parameter group
/// per layer for the coupled weight decay, the hold-out MSE per member after every epoch, each member's best weights
/// kept and restored at the end, early stopping (patience), elites by best hold-out MSE. `config` must describe the
/// model's architecture (checked); its training fields are used. `progress` is called after every epoch, before
/// any restore (so it sees the live weights of that epoch).
EnsembleTrainReport train_ensemble(DynamicsEnsemble& model, const autograd::Array& inputs,
                                   const autograd::Array& targets, const EnsembleConfig& config, data::Rng& rng,
                                   const EnsembleProgress& progress = {});

}  // namespace dydiff
