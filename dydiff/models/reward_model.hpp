// The reward model r_φ(ŝ, a) of DyDiff pretraining (docs/algorithm.md §4.1(c), §5.3, §6.4): an MLP
// [ŝ, a] → 256 → 256 → 1 with ReLU and the EDM-style init (weights N(0, 1/fan_in), biases 0), trained with MSE,
// Adam, a hold-out and early stopping. At rollout time it scores synthetic transitions and the filter (§4.4).
// Layering: dydiff/models (on nn/mlp, nn/optim, nn/checkpoint, data/data_identity, dydiff/models/holdout).
// Saved and loaded as one unit with its normaliser and data identity: TrainedReward (docs/checkpoints.md).
// Scale (§2): ŝ is the env-normalised (z-scored) observation, a the RAW action; rewards are raw. Nothing here
// normalises. Departure from the official code (§11 P18): the BEST hold-out weights are restored, not the last.
#pragma once

#include "data/data_identity.hpp"
#include "data/normalizer.hpp"
#include "data/rng.hpp"
#include "dydiff/run/config.hpp"
#include "nn/checkpoint.hpp"
#include "nn/mlp.hpp"

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace dydiff {

/// Hyperparameters of the reward model and its training; defaults from §5.3 / §6.4 (exp_specs/rew_model).
struct RewardConfig {
    std::size_t hidden = 256;           // width of each hidden layer (§5.3)
    std::size_t layers = 2;             // hidden layers (§5.3)
    float lr = 1e-4f;                   // Adam learning rate, no weight decay (§6.4)
    nn::AdamConfig adam;                // Adam's betas and eps ([adam]); its lr is replaced by `lr`
    std::size_t batch = 256;            // minibatch rows (§6.4)
    float holdout_fraction = 0.2f;      // share of rows held out for early stopping (§5.3)
    std::size_t max_holdout = 5000;     // cap on the hold-out rows (§5.3)
    std::size_t patience = 7;           // stop after more than this many epochs without hold-out improvement (§5.3)
    std::size_t max_epochs = 1000;      // CPU budget: hard cap on epochs (the official code has none)
    std::int64_t seed = 0;              // root seed the caller derives the Rng from; saved with the run

    /// The fields by key, for config files, --set overrides and printing (dydiff/run/config.hpp).
    void fields(ConfigFields& f);
};


class RewardModel : public nn::Module {
public:
    /// MLP {S + A, hidden × layers, 1}, ReLU, Init::normal_fan_in (§5.3, §11 P19).
    RewardModel(std::size_t obs_dim, std::size_t action_dim, const RewardConfig& config, data::Rng& rng);

    /// x (B, S + A) → (B, 1). Records a graph unless under NoGradGuard.
    autograd::Tensor forward(const autograd::Tensor& x) const;
    /// obs (B, S) z-scored, act (B, A) raw → rewards (B), under NoGradGuard.
    autograd::Array predict(const autograd::Array& obs, const autograd::Array& act) const;

    std::size_t obs_dim() const { return obs_dim_; }
    std::size_t action_dim() const { return action_dim_; }
    const RewardConfig& config() const { return config_; }

    /// Parameters under "<section>/params/", shape (obs_dim, act_dim, hidden, layers) as int64 scalars.
    void save(nn::Checkpoint& checkpoint, const std::string& section) const;
    /// Reads what save() wrote; another shape fails with the Checkpoint's error before anything is modified.
    void load(const nn::Checkpoint& checkpoint, const std::string& section);

private:
    std::size_t obs_dim_, action_dim_;
    RewardConfig config_;
    nn::MLP mlp_;  // registered as "mlp"
};

/// A reward model as train-reward writes it (RUN/model.npz; keys in docs/checkpoints.md) and consumers load it: the
/// MLP, the z-score normaliser of the observations it takes (§2), and the identity of the data it was fitted on.
/// The file holds the architecture (hidden, layers; ReLU is fixed); the loaded model's training fields keep
/// RewardConfig's defaults (the run's config has them).
struct TrainedReward {
    static constexpr const char* kFile = "model.npz";  // the file in a train-reward run directory
    static constexpr const char* kKind = "reward";     // format/kind
    static constexpr std::int64_t kVersion = 1;        // format/version

    std::unique_ptr<RewardModel> model;
    data::ZScoreNormalizer obs_normalizer;  // ŝ = (s − mean) / (std + eps), obs_dim wide
    data::DataIdentity data;                // its dims are the model's
    std::string file;                       // the file it was loaded from ("" for one built in memory)

    /// The file and its data, for data::require_same_data / require_env.
    data::TrainedOn trained_on() const { return {file, data}; }
    /// Writes format/*, data/*, arch/*, norm/obs/* and params/*; fails when the model, the normaliser and the data
    /// identity disagree in dims.
    void save(nn::Checkpoint& checkpoint) const;
    /// save() into a new file, atomically.
    void save(const std::string& path) const;
    /// Rebuilds the MLP from arch/* and data/*, then loads weights and normaliser. Any error names the checkpoint's
    /// file and the key.
    static TrainedReward read(const nn::Checkpoint& checkpoint);
    /// Loads a train-reward run directory (RUN/model.npz) or a model file.
    static TrainedReward load(const std::string& run_or_file);
};

/// Mean squared error of the model on inputs (N, S + A) against rewards (N), under NoGradGuard, in chunks.
float reward_mse(const RewardModel& model, const autograd::Array& inputs, const autograd::Array& rewards);

struct RewardEpoch {
    std::size_t epoch = 0;       // 1-based
    float train_loss = 0.0f;     // mean of the epoch's minibatch MSEs
    float holdout_mse = 0.0f;    // after the epoch
};

struct RewardTrainReport {
    std::vector<RewardEpoch> epochs;
    float best_holdout_mse = 0.0f;  // the error of the restored weights
    std::size_t best_epoch = 0;     // 1-based, whose weights were restored
    bool early_stopped = false;     // false: max_epochs reached
    std::size_t train_rows = 0, holdout_rows = 0;
};

using RewardProgress = std::function<void(const RewardEpoch&)>;

/// Trains on inputs (N, S + A) = [ŝ, a] and rewards (N) (§5.3): a random hold-out, reshuffled minibatches over the
/// training rows, MSE, Adam (lr, no weight decay), hold-out MSE after every epoch, early stopping (patience), the best
/// weights restored at the end. `config` must match the model's hidden/layers (checked). `progress` runs after
/// every epoch, before the restore.
RewardTrainReport train_reward_model(RewardModel& model, const autograd::Array& inputs,
                                     const autograd::Array& rewards, const RewardConfig& config, data::Rng& rng,
                                     const RewardProgress& progress = {});

}  // namespace dydiff
