// `dydiff train-diffusion`, `dydiff train-dynamics` and `dydiff train-reward`: one dataset in, one run directory
// out, each a Job on the shared path of run_command.hpp (config, validation, inputs, run directory, resume).
// The one-step models are fitted on Q-learning transitions with z-scored observations and raw actions
// (docs/algorithm.md §2, §7.3); the normaliser is saved with the model.
#include "dydiff/cli/run_command.hpp"

#include "data/data_identity.hpp"
#include "data/normalizer.hpp"
#include "data/transitions.hpp"
#include "dydiff/diffusion/trainer.hpp"
#include "dydiff/models/dynamics_ensemble.hpp"
#include "dydiff/models/reward_model.hpp"
#include "nn/checkpoint.hpp"

#include <filesystem>
#include <iomanip>
#include <iostream>
#include <sstream>

namespace dydiff::cli {

namespace {

constexpr const char* kModelFile = "model.npz";
constexpr const char* kCheckpointFile = "checkpoint.npz";

const FileDoc kConfigDoc{"config.toml",
                         "the resolved config, every key (`--config` and `--resume` read it), then a [run] table of "
                         "provenance: command line, dydiff version, SIMD, threads, preset, start and resume times "
                         "(UTC), dataset path and SHA-256"};
const FileDoc kLogDoc{"log.txt", "every progress line, note and error of the run, appended across resumes"};

std::string number(double x) {
    std::ostringstream os;
    os << std::setprecision(6) << x;
    return os.str();
}

// ---- train-diffusion --------------------------------------------------------------------------------------------

class TrainDiffusionJob : public DatasetJob {
public:
    void fields(ConfigFields& f) override { config_.fields(f); }
    void apply_preset(const std::string& name) override { config_.apply_preset(name); }
    bool complete() const override { return trainer_->step() >= config_.steps; }

    void run(RunDir& run) override {
        Progress progress("train-diffusion", config_.steps, &run);
        if (restarted_)
            progress.note("no " + std::string(kCheckpointFile) + " in " + run.path() + " yet: starting from step 0");
        const double loss = trainer_->run(run, progress);
        progress.finish(std::to_string(config_.steps) + " steps, last logged loss " + number(loss) + "; wrote " +
                        run.file(kCheckpointFile));
    }

protected:
    void prepare_model(const JobContext& context) override {
        // A run stopped before its first checkpoint starts again from step 0 (its metrics rows are dropped).
        std::string checkpoint;
        if (context.resume) {
            checkpoint = (std::filesystem::path(context.run_path) / kCheckpointFile).string();
            if (!std::filesystem::exists(checkpoint)) {
                checkpoint.clear();
                restarted_ = true;
            }
        }
        trainer_ = std::make_unique<DiffusionTrainer>(dataset_, identity_, config_, checkpoint);
    }

private:
    DiffusionTrainConfig config_;
    std::unique_ptr<DiffusionTrainer> trainer_;
    bool restarted_ = false;  // --resume of a run that stopped before its first checkpoint
};

const JobCommand& train_diffusion_command() {
    static const JobCommand command = [] {
        JobCommand c;
        c.doc.name = "train-diffusion";
        c.doc.synopsis = "DATA --out RUN [options]";
        c.doc.summary =
            "Trains the EDM diffusion model (temporal U-Net) on windows of [s, a] of DATA, min-max normalised.\n"
            "--resume continues from the last checkpoint, bitwise as if never interrupted; --resume --set steps=N\n"
            "extends a finished run.";
        c.doc.flags = {{"DATA",
                        "the dataset: .npz, .hdf5 (D4RL or Minari layout) or a Minari directory; with "
                        "--resume, default: the run's dataset"}};
        c.doc.outputs = {kConfigDoc,
                         {"metrics.csv",
                          "a row every log_every steps and at the end: step; loss (the mean minibatch EDM loss "
                          "since the previous row, the value progress lines show); lr (of that step); ema_beta (EMA "
                          "decay of that step); seconds (training time since the run started, continued across "
                          "--resume)"},
                         kLogDoc,
                         {kCheckpointFile,
                          "weights, EMA weights, Adam state, Rng, normaliser, config; every checkpoint_every "
                          "steps and at the end (docs/checkpoints.md)"}};
        c.resume_doc =
            "continue the run in --out from its config.toml and checkpoint.npz (from step 0 when it stopped before "
            "its first checkpoint); --set may change keys that do not alter the model or its data, and raise steps";
        c.presets = DiffusionTrainConfig::presets();
        c.make = [] { return std::make_unique<TrainDiffusionJob>(); };
        return c;
    }();
    return command;
}

// ---- the one-step models: what train-dynamics and train-reward share --------------------------------------------

// The config, the data both one-step models train on (Q-learning transitions, the z-score statistics of their
// observations, the inputs [ŝ, a]), the model file, and the per-epoch row. Their fits are short and deterministic,
// so --resume of an interrupted fit runs it again from the start, to the same result; a finished one has nothing to
// resume. Config is EnsembleConfig or RewardConfig (both hold holdout_fraction, max_holdout and seed).
template <class Config>
class OneStepJob : public DatasetJob {
public:
    void fields(ConfigFields& f) override { config_.fields(f); }
    void prepare(const JobContext& context, RunInfo& info) override {
        complete_ = context.resume && std::filesystem::exists(std::filesystem::path(context.run_path) / kModelFile);
        if (!complete_) DatasetJob::prepare(context, info);
    }
    bool complete() const override { return complete_; }

protected:
    void prepare_model(const JobContext&) override {
        transitions_ = data::make_transitions(dataset_);
        norm_ = data::ZScoreNormalizer::fit(transitions_.observations);
        const auto obs = norm_.apply(transitions_.observations);
        inputs_ = xt::concatenate(xt::xtuple(obs, transitions_.actions), 1);  // (N, S + A)
        // Both parts of the hold-out split non-empty, checked before the run exists.
        holdout_size(transitions_.size(), config_.holdout_fraction, config_.max_holdout);
    }

    // One epoch: the metrics row and the progress line show the same numbers.
    static void log_epoch(RunDir& run, Progress& progress, std::size_t epoch, const std::vector<double>& row,
                          double train_loss, double holdout_mse) {
        run.append_metrics(row);
        progress.update(static_cast<std::int64_t>(epoch),
                        "train loss " + number(train_loss) + "  hold-out mse " + number(holdout_mse));
    }

    static std::string stop_reason(bool early_stopped) { return early_stopped ? "early stop" : "epoch cap"; }

    Config config_;
    bool complete_ = false;
    data::Transitions transitions_;
    data::ZScoreNormalizer norm_;
    autograd::Array inputs_;  // (N, S + A)
};

// The page of a one-step command: DATA, config.toml, metrics.csv, log.txt, model.npz, and its --resume.
JobCommand one_step_command(const char* name, const char* summary, const char* metrics, const char* model,
                            std::function<std::unique_ptr<Job>()> make) {
    JobCommand c;
    c.doc = {name,
             "DATA --out RUN [options]",
             summary,
             {{"DATA", "the dataset (see train-diffusion); with --resume, default: the run's dataset"}},
             {kConfigDoc, {"metrics.csv", metrics}, kLogDoc, {kModelFile, model}}};
    c.resume_doc =
        "run an interrupted fit again with the config.toml of --out (the fit restarts: it is short and "
        "deterministic); a finished run has nothing to resume";
    c.make = std::move(make);
    return c;
}

// ---- train-dynamics ---------------------------------------------------------------------------------------------

class TrainDynamicsJob : public OneStepJob<EnsembleConfig> {
public:
    void run(RunDir& run) override {
        const autograd::Array targets =
            norm_.apply(transitions_.next_observations) - norm_.apply(transitions_.observations);  // Δŝ (N, S)
        data::Rng rng(static_cast<std::uint64_t>(config_.seed));
        const std::size_t S = dataset_.obs_dim(), A = dataset_.action_dim();
        TrainedDynamics trained{std::make_unique<DynamicsEnsemble>(S, A, config_, rng), norm_, identity_, ""};
        DynamicsEnsemble& model = *trained.model;
        std::vector<std::string> columns{"epoch", "train_loss", "holdout_mse_mean"};
        for (std::size_t m = 0; m < config_.members; ++m) columns.push_back("holdout_mse_" + std::to_string(m));
        run.open_metrics(columns);
        Progress progress("train-dynamics", static_cast<std::int64_t>(config_.max_epochs), &run, std::cerr, "epoch");
        const EnsembleTrainReport report =
            train_ensemble(model, inputs_, targets, config_, rng, [&](const EnsembleEpoch& e) {
                double mean = 0;
                for (float v : e.holdout_mse) mean += v;
                mean /= static_cast<double>(e.holdout_mse.size());
                std::vector<double> row{static_cast<double>(e.epoch), e.train_loss, mean};
                row.insert(row.end(), e.holdout_mse.begin(), e.holdout_mse.end());
                log_epoch(run, progress, e.epoch, row, e.train_loss, mean);
            });
        trained.save(run.file(kModelFile));
        std::ostringstream summary;
        summary << report.epochs.size() << " epochs (" << stop_reason(report.early_stopped) << "), elites";
        for (auto e : report.elites) summary << " " << e << " (mse " << report.best_holdout_mse[e] << ")";
        summary << "; wrote " << run.file(kModelFile);
        progress.finish(summary.str());
    }
};

const JobCommand& train_dynamics_command() {
    static const JobCommand command = one_step_command(
        "train-dynamics",
        "Fits the one-step dynamics ensemble (Gaussian heads on the z-scored state change, bootstrap, per-layer\n"
        "weight decay) with a hold-out and early stopping; keeps each member's best hold-out weights and picks\n"
        "the elites by them. --resume of an interrupted fit runs it again from the start (same result).",
        "a row per epoch: epoch; train_loss (mean minibatch Gaussian loss of the epoch); holdout_mse_mean; "
        "holdout_mse_0 .. holdout_mse_<members-1> (each member's hold-out MSE after the epoch); progress lines show "
        "train_loss and holdout_mse_mean",
        "the ensemble (best weights, elites) and the observation normaliser (docs/checkpoints.md)",
        [] { return std::make_unique<TrainDynamicsJob>(); });
    return command;
}

// ---- train-reward -----------------------------------------------------------------------------------------------

class TrainRewardJob : public OneStepJob<RewardConfig> {
public:
    void run(RunDir& run) override {
        data::Rng rng(static_cast<std::uint64_t>(config_.seed));
        const std::size_t S = dataset_.obs_dim(), A = dataset_.action_dim();
        TrainedReward trained{std::make_unique<RewardModel>(S, A, config_, rng), norm_, identity_, ""};
        RewardModel& model = *trained.model;
        run.open_metrics({"epoch", "train_loss", "holdout_mse"});
        Progress progress("train-reward", static_cast<std::int64_t>(config_.max_epochs), &run, std::cerr, "epoch");
        const RewardTrainReport report =
            train_reward_model(model, inputs_, transitions_.rewards, config_, rng, [&](const RewardEpoch& e) {
                log_epoch(run, progress, e.epoch, {static_cast<double>(e.epoch), e.train_loss, e.holdout_mse},
                          e.train_loss, e.holdout_mse);
            });
        trained.save(run.file(kModelFile));
        progress.finish(std::to_string(report.epochs.size()) + " epochs (" + stop_reason(report.early_stopped) +
                        "), best hold-out mse " + number(report.best_holdout_mse) + " at epoch " +
                        std::to_string(report.best_epoch) + "; wrote " + run.file(kModelFile));
    }
};

const JobCommand& train_reward_command() {
    static const JobCommand command = one_step_command(
        "train-reward",
        "Fits the reward model r(ŝ, a) (an MLP with ReLU, MSE) with a hold-out and early stopping; keeps the best\n"
        "hold-out weights. --resume of an interrupted fit runs it again from the start (same result).",
        "a row per epoch: epoch; train_loss (mean minibatch MSE of the epoch); holdout_mse (after the epoch); "
        "progress lines show both",
        "the reward MLP (best weights) and the observation normaliser (docs/checkpoints.md)",
        [] { return std::make_unique<TrainRewardJob>(); });
    return command;
}

}  // namespace

int run_train_diffusion(const Words& words) { return run_job_command(train_diffusion_command(), words); }
int run_train_dynamics(const Words& words) { return run_job_command(train_dynamics_command(), words); }
int run_train_reward(const Words& words) { return run_job_command(train_reward_command(), words); }

std::vector<Page> train_diffusion_pages() { return {{train_diffusion_command().page(), &train_diffusion_command()}}; }
std::vector<Page> train_dynamics_pages() { return {{train_dynamics_command().page(), &train_dynamics_command()}}; }
std::vector<Page> train_reward_pages() { return {{train_reward_command().page(), &train_reward_command()}}; }

}  // namespace dydiff::cli
