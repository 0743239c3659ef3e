// `dydiff train-diffusion`, `dydiff train-dynamics` and `dydiff train-reward`: one dataset in, one run directory
// out. Shared steps (prepare_run): resolve the config (preset or --config file, then
// --set overrides, then --seed), create the run directory or reopen it with --resume, save and print the resolved
// config, and apply --threads.
// The one-step models are fitted on Q-learning transitions with z-scored observations and raw actions
// (docs/algorithm.md §2, §7.3); the normaliser is saved with the model.
#include "dydiff/cli/train_common.hpp"

#include "data/normalizer.hpp"
#include "data/transitions.hpp"
#include "dydiff/diffusion/trainer.hpp"
#include "dydiff/models/dynamics_ensemble.hpp"
#include "dydiff/models/reward_model.hpp"
#include "nn/checkpoint.hpp"

#include <iostream>
#include <optional>
#include <sstream>

namespace dydiff::cli {

namespace {

constexpr const char* kModelFile = "model.npz";

// Inputs [ŝ, a] (N, S + A) of transitions, ŝ z-scored.
autograd::Array model_inputs(const data::Transitions& t, const data::ZScoreNormalizer& norm) {
    const auto obs = norm.apply(t.observations);
    return xt::concatenate(xt::xtuple(obs, t.actions), 1);
}

// What both one-step models train on: Q-learning transitions, the z-score statistics of their observations, and
// the inputs [ŝ, a].
struct OneStepData {
    data::Dataset dataset;
    data::Transitions transitions;
    data::ZScoreNormalizer norm;
    autograd::Array inputs;  // (N, S + A)
};

// Loads the run's dataset; nullopt when a resumed run is already complete (the fits are short and deterministic,
// so an interrupted one simply runs again from the start, to the same result).
std::optional<OneStepData> load_one_step_data(const PreparedRun& prepared, const std::string& command) {
    if (prepared.resume && prepared.run.exists(kModelFile)) {
        std::cout << command << ": " << prepared.run.file(kModelFile) << " is complete; nothing to resume\n";
        return std::nullopt;
    }
    OneStepData d;
    d.dataset = data::load_dataset(prepared.data_path);
    d.transitions = data::make_transitions(d.dataset);
    d.norm = data::ZScoreNormalizer::fit(d.transitions.observations);
    d.inputs = model_inputs(d.transitions, d.norm);
    return d;
}

// model.npz: the model's section and the observation normaliser, written atomically.
template <class Model>
void save_one_step(const PreparedRun& prepared, const Model& model, const std::string& section,
                   const data::ZScoreNormalizer& norm) {
    nn::Checkpoint c;
    model.save(c, section);
    for (auto& [key, array] : norm.entries("obs_normalizer")) c.put(key, std::move(array));
    c.save(prepared.run.file(kModelFile));
}

}  // namespace

int run_train_diffusion(const Words& words) {
    Args args("train-diffusion", words, {"resume", "help"});
    if (args.flag("help")) {
        std::cout << "usage: dydiff train-diffusion DATA.npz --out RUN [--preset tiny|small|paper] [--config FILE]\n"
                     "                              [--set key=value]... [--seed S] [--threads N] [--resume]\n"
                     "Trains the EDM diffusion model (temporal U-Net) on windows of [s, a]; writes RUN/config.txt,\n"
                     "RUN/metrics.csv, RUN/log.txt and RUN/checkpoint.npz (weights, EMA, Adam, Rng, normaliser).\n"
                     "--resume continues from the last checkpoint, bitwise as if never interrupted; --set steps=N\n"
                     "extends a finished run.\n";
        return 0;
    }
    DiffusionTrainConfig config;
    config.apply_preset("tiny");
    ConfigFields fields;
    config.fields(fields);
    PreparedRun prepared =
        prepare_run(args, "train-diffusion", fields, [&](const std::string& name) { config.apply_preset(name); });
    const data::Dataset dataset = data::load_dataset(prepared.data_path);
    Progress progress("train-diffusion", config.steps, &prepared.run);
    const double loss = train_diffusion(dataset, config, prepared.run, prepared.resume, progress);
    std::ostringstream summary;
    summary << config.steps << " steps, final logged loss " << loss << "; wrote " << prepared.run.file("checkpoint.npz");
    progress.finish(summary.str());
    return 0;
}

int run_train_dynamics(const Words& words) {
    Args args("train-dynamics", words, {"resume", "help"});
    if (args.flag("help")) {
        std::cout << "usage: dydiff train-dynamics DATA.npz --out RUN [--config FILE] [--set key=value]... [--seed S]\n"
                     "                             [--threads N] [--resume]\n"
                     "Fits the one-step dynamics ensemble (7 members, 5 elites, Gaussian head on the z-scored state\n"
                     "change) with early stopping; writes RUN/model.npz, RUN/metrics.csv (one row per epoch).\n";
        return 0;
    }
    EnsembleConfig config;
    ConfigFields fields;
    config.fields(fields);
    PreparedRun prepared = prepare_run(args, "train-dynamics", fields, nullptr);
    const auto d = load_one_step_data(prepared, "train-dynamics");
    if (!d) return 0;
    const data::Transitions& t = d->transitions;
    const autograd::Array targets = d->norm.apply(t.next_observations) - d->norm.apply(t.observations);  // Δŝ (N, S)

    data::Rng rng(static_cast<std::uint64_t>(config.seed));
    DynamicsEnsemble model(d->dataset.obs_dim(), d->dataset.action_dim(), config, rng);
    std::vector<std::string> columns{"step", "train_loss", "holdout_mse_mean"};
    for (std::size_t m = 0; m < config.members; ++m) columns.push_back("holdout_mse_" + std::to_string(m));
    prepared.run.open_metrics(columns);
    Progress progress("train-dynamics", static_cast<std::int64_t>(config.max_epochs), &prepared.run, std::cerr,
                      "epoch");
    const EnsembleTrainReport report = train_ensemble(model, d->inputs, targets, config, rng, [&](const EnsembleEpoch& e) {
        double mean = 0;
        for (float v : e.holdout_mse) mean += v;
        mean /= static_cast<double>(e.holdout_mse.size());
        std::vector<double> row{static_cast<double>(e.epoch), e.train_loss, mean};
        row.insert(row.end(), e.holdout_mse.begin(), e.holdout_mse.end());
        prepared.run.append_metrics(row);
        std::ostringstream status;
        status << "train loss " << e.train_loss << "  hold-out mse " << mean;
        progress.update(static_cast<std::int64_t>(e.epoch), status.str());
    });
    save_one_step(prepared, model, "dynamics", d->norm);
    std::ostringstream summary;
    summary << report.epochs.size() << " epochs (" << (report.early_stopped ? "early stop" : "epoch cap")
            << "), elites";
    for (auto e : report.elites) summary << " " << e << " (mse " << report.best_holdout_mse[e] << ")";
    summary << "; wrote " << prepared.run.file(kModelFile);
    progress.finish(summary.str());
    return 0;
}

int run_train_reward(const Words& words) {
    Args args("train-reward", words, {"resume", "help"});
    if (args.flag("help")) {
        std::cout << "usage: dydiff train-reward DATA.npz --out RUN [--config FILE] [--set key=value]... [--seed S]\n"
                     "                           [--threads N] [--resume]\n"
                     "Fits the reward model r(ŝ, a) (MLP 2 x 256 ReLU, MSE) with early stopping; writes\n"
                     "RUN/model.npz and RUN/metrics.csv (one row per epoch).\n";
        return 0;
    }
    RewardConfig config;
    ConfigFields fields;
    config.fields(fields);
    PreparedRun prepared = prepare_run(args, "train-reward", fields, nullptr);
    const auto d = load_one_step_data(prepared, "train-reward");
    if (!d) return 0;
    const autograd::Array rewards = d->transitions.rewards;

    data::Rng rng(static_cast<std::uint64_t>(config.seed));
    RewardModel model(d->dataset.obs_dim(), d->dataset.action_dim(), config, rng);
    prepared.run.open_metrics({"step", "train_loss", "holdout_mse"});
    Progress progress("train-reward", static_cast<std::int64_t>(config.max_epochs), &prepared.run, std::cerr, "epoch");
    const RewardTrainReport report = train_reward_model(model, d->inputs, rewards, config, rng, [&](const RewardEpoch& e) {
        prepared.run.append_metrics({static_cast<double>(e.epoch), e.train_loss, e.holdout_mse});
        std::ostringstream status;
        status << "train loss " << e.train_loss << "  hold-out mse " << e.holdout_mse;
        progress.update(static_cast<std::int64_t>(e.epoch), status.str());
    });
    save_one_step(prepared, model, "reward", d->norm);
    std::ostringstream summary;
    summary << report.epochs.size() << " epochs (" << (report.early_stopped ? "early stop" : "epoch cap")
            << "), best hold-out mse " << report.best_holdout_mse << " at epoch " << report.best_epoch << "; wrote "
            << prepared.run.file(kModelFile);
    progress.finish(summary.str());
    return 0;
}

}  // namespace dydiff::cli
