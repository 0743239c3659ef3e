// The agent training loop (docs/algorithm.md §4.6, Algorithm 4): a model-free learner trained on minibatches of the
// real data, and, with DyDiff on, of a synthetic FIFO buffer that the rollout generator refills every
// `rollout_every` epochs from the frozen diffusion model, one-step ensemble and reward model. Without DyDiff it is
// the plain offline-RL loop; with it, each batch holds real_ratio real rows and the rest synthetic (all real while
// the synthetic buffer holds fewer rows than the synthetic share of a batch, the official code's fallback).
// Evaluation every eval_every gradient steps in the built-in env; the whole state (learner, buffers, random streams)
// is checkpointed there, so that --resume continues bit for bit.
// Layering: dydiff/agent sits under cli/ and above learners/, rollout/, eval/, models/, diffusion/, run/.
// Shapes: B batch, S observation dim, A action dim.
#pragma once

#include "data/dataset.hpp"
#include "data/replay_buffer.hpp"
#include "data/rng.hpp"
#include "dydiff/diffusion/diffusion_model.hpp"
#include "dydiff/diffusion/edm.hpp"
#include "dydiff/envs/env.hpp"
#include "dydiff/eval/maze_plot.hpp"
#include "dydiff/learners/configs.hpp"
#include "dydiff/learners/learner.hpp"
#include "dydiff/models/dynamics_ensemble.hpp"
#include "dydiff/models/reward_model.hpp"
#include "dydiff/rollout/generator.hpp"

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace dydiff {

class ConfigFields;
class RunDir;
class Progress;

namespace agent {

/// DyDiff's part of the loop (docs/algorithm.md §4.6, §6.3): the three frozen models and the generation schedule.
struct DyDiffConfig {
    bool enabled = false;          // train with synthetic rollouts (off: the plain offline-RL loop)
    std::string diffusion;         // train-diffusion run directory or checkpoint file
    std::string dynamics;          // train-dynamics run directory or model file
    std::string reward;            // train-reward run directory or model file
    std::int64_t epoch_steps = 500;  // G: gradient steps per epoch (official code: 500 TD3+BC/CQL, 250 Diffusion-QL)
    std::int64_t rollout_every = 1;  // generate every this many epochs (official code: 1)
    double real_ratio = 0.6;       // share of real rows in a batch (official code: 0.6)
    std::size_t capacity = 2000000;  // synthetic FIFO capacity in transitions (official code: 2e6)
    GeneratorConfig generator;     // [dydiff.generator] and [dydiff.generator.filter]
    EdmConfig sampler;             // [dydiff.sampler]: Algorithm 3's settings at RL time (docs/algorithm.md §6.2)

    void fields(ConfigFields& f);
};

/// Every setting of `dydiff train-agent`.
struct AgentConfig {
    std::string algo = "td3bc";    // the learner (learners::learner_names())
    std::string env;               // evaluation env; "" = the one the dataset records
    std::int64_t steps = 100000;   // gradient steps in total
    std::int64_t eval_every = 5000;  // evaluate (and checkpoint) every this many steps, and at the end
    std::size_t eval_episodes = 10;  // episodes per evaluation (docs/algorithm.md §8)
    std::int64_t log_every = 1000;   // one metrics.csv row per this many steps (the mean of the learner's stats)
    std::uint64_t seed = 0;        // the learner's networks and draws, batch sampling, generation, evaluation
    learners::LearnerConfigs learners;  // [bc], [td3bc], ...: every learner's table; [<algo>] is used
    DyDiffConfig dydiff;           // [dydiff]

    void fields(ConfigFields& f);
    /// --preset names: "official" (the defaults above: the official code's DyDiff settings) and "cpu" (DyDiff's
    /// generation sized for a 2-core machine: fewer start states, generation every other epoch, 18 sampler steps;
    /// docs/dydiff.md gives the values and the measured generation share).
    static const std::vector<std::string>& presets();
    void apply_preset(const std::string& name);
};

/// The frozen models of DyDiff, loaded through their one load() and checked to come from `dataset`'s data and env.
/// The diffusion model is made inference-only (DiffusionModel::make_inference_only): its EMA weights, held once.
struct DyDiffModels {
    DiffusionModel diffusion;
    TrainedDynamics dynamics;
    TrainedReward reward;

    static DyDiffModels load(const DyDiffConfig& config, const data::DataIdentity& dataset, const std::string& env);
};

/// One row of the generation statistics (metrics.csv columns when DyDiff is on).
struct GenerationRecord {
    std::int64_t step = 0;          // gradient steps taken when the generation ran
    GenerationStats stats;
    std::size_t synthetic_size = 0; // synthetic buffer size after it
};

/// The run file of the imagined-vs-true picture.
constexpr const char* kImaginedFile = "imagined.svg";
/// Pairs drawn in imagined.svg (maze2d runs with DyDiff): a sample of the latest generation's kept trajectories.
constexpr std::size_t kImaginedPairs = 8;

/// A generation's kept trajectories beside the truth (maze2d only; train-agent's imagined.svg): the first
/// kImaginedPairs kept trajectories (kept order; random starts, so a random sample) whose start clears the walls, and
/// for each the true path from the same start state for the same number of states, under the same source of actions:
/// the deterministic policy of the generation's step (policy rollouts) or the dataset's recorded actions (behaviour
/// rollouts, open loop).
struct ImaginedSample {
    std::int64_t step = 0;               // gradient steps taken when the generation ran
    std::string actions;                 // generator.actions of the generation: policy | behaviour
    std::vector<eval::PathPair> pairs;   // (imagined, truth) raw observations, (n_k, S) each
};

/// The loop's state and its one step. Built once per run (fresh or from a checkpoint).
class AgentLoop {
public:
    /// `models` is required when config.dydiff.enabled, else ignored. The learner is built for the dataset's
    /// observation statistics and the env's action box.
    AgentLoop(const AgentConfig& config, const data::Dataset& dataset, const std::string& env,
              const DyDiffModels* models);
    ~AgentLoop();

    std::int64_t steps() const;
    /// Generates if an epoch starts at this step and DyDiff is on (returns its record), then one learner update.
    std::optional<GenerationRecord> step(learners::Stats& stats);
    /// The deterministic policy (for evaluation): raw observations (B, S) -> actions (B, A).
    learners::Array2 act(const learners::Array2& obs);
    learners::Learner& learner() { return *learner_; }
    std::size_t synthetic_size() const;
    /// The latest generation's sample beside the truth; null unless DyDiff runs on a maze2d env and generated in this
    /// process (it is not checkpointed).
    const ImaginedSample* imagined() const { return imagined_ ? &*imagined_ : nullptr; }

    /// Everything a bitwise resume needs: the learner, the batch stream, the synthetic buffer.
    void save(const std::string& path) const;
    void load(const std::string& path);

private:
    AgentConfig config_;
    std::string env_;
    std::unique_ptr<learners::Learner> learner_;
    data::ReplayBuffer real_;
    std::unique_ptr<data::ReplayBuffer> synthetic_;
    data::Rng batch_rng_;
    std::size_t batch_;
    const DyDiffModels* models_ = nullptr;
    std::unique_ptr<ModelScale> scale_;
    std::unique_ptr<Denoiser> denoiser_;
    xt::xtensor<float, 2> start_pool_;  // (N, S) real observations the rollouts start from
    std::unique_ptr<BehaviourData> behaviour_;  // the dataset's rows and episodes (generator.actions = behaviour)
    std::unique_ptr<envs::Env> maze_env_;       // the maze2d env of imagined.svg (null for other envs)
    std::optional<ImaginedSample> imagined_;

    std::optional<ImaginedSample> imagined_sample(const Generation& gen, std::int64_t step);
};

/// The whole run: the loop from its current step to config.steps, metrics.csv, eval.csv and the learning curve,
/// checkpoint.npz at every evaluation, progress lines; on maze2d with DyDiff, imagined.svg after the first
/// generation and at every evaluation (the latest generation's sample). `resume_step` < 0 for a fresh run.
void train_agent(AgentLoop& loop, const AgentConfig& config, const std::string& env, RunDir& run,
                 std::int64_t resume_step);

}  // namespace agent
}  // namespace dydiff
