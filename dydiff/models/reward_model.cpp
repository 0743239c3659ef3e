// RewardModel and its trainer (docs/algorithm.md §5.3).
#include "dydiff/models/reward_model.hpp"

#include "autograd/error.hpp"
#include "dydiff/models/one_step_file.hpp"
#include "autograd/ops.hpp"
#include "dydiff/models/holdout.hpp"
#include "nn/optim.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace dydiff {

using autograd::Array;
using autograd::Tensor;

namespace {

// Rows per forward pass when evaluating.
constexpr std::size_t kEvalChunk = 4096;

std::vector<std::size_t> mlp_widths(std::size_t obs_dim, std::size_t action_dim, const RewardConfig& config) {
    DYDIFF_CHECK(obs_dim > 0 && action_dim > 0, "RewardModel: obs_dim " << obs_dim << ", action_dim " << action_dim);
    DYDIFF_CHECK(config.hidden > 0 && config.layers > 0,
                 "RewardModel: hidden " << config.hidden << ", layers " << config.layers);
    std::vector<std::size_t> widths{obs_dim + action_dim};
    for (std::size_t i = 0; i < config.layers; ++i) widths.push_back(config.hidden);
    widths.push_back(1);
    return widths;
}

}  // namespace

void RewardConfig::fields(ConfigFields& f) {
    f.add("hidden", &hidden, "width of each hidden layer (§5.3: 256)").at_least(1).fixed_on_resume();
    f.add("layers", &layers, "hidden layers (§5.3: 2)").at_least(1).fixed_on_resume();
    f.add("lr", &lr, "Adam learning rate, no weight decay (§6.4: 1e-4)").positive();
    f.add("batch", &batch, "minibatch rows (§6.4: 256)").at_least(1);
    f.add("holdout_fraction", &holdout_fraction, "share of rows held out for early stopping (§5.3: 0.2)")
        .positive()
        .below(1);
    f.add("max_holdout", &max_holdout, "cap on the hold-out rows (§5.3: 5000)").at_least(1);
    f.add("patience", &patience, "stop after more than this many epochs without improvement (§5.3: 7)");
    f.add("max_epochs", &max_epochs, "CPU budget: hard cap on epochs (the reference has none)").at_least(1);
    f.add("seed", &seed, "seed of the run's Rng (init, split, batches)").at_least(0).fixed_on_resume();
    f.table_with("adam", "the optimiser (§6.4: Adam)", [this](ConfigFields& t) { adam_fields(t, adam); });
}

RewardModel::RewardModel(std::size_t obs_dim, std::size_t action_dim, const RewardConfig& config, data::Rng& rng)
    : obs_dim_(obs_dim),
      action_dim_(action_dim),
      config_(config),
      mlp_(mlp_widths(obs_dim, action_dim, config), nn::Activation::relu, rng, nn::Init::normal_fan_in) {
    register_module("mlp", mlp_);
}

Tensor RewardModel::forward(const Tensor& x) const {
    DYDIFF_CHECK(x.dim() == 2 && x.size(1) == obs_dim_ + action_dim_,
                 "RewardModel: input " << shape_str(x.shape()) << " is not (B, " << obs_dim_ + action_dim_ << ")");
    return mlp_.forward(x);
}

Array RewardModel::predict(const Array& obs, const Array& act) const {
    DYDIFF_CHECK(obs.dimension() == 2 && obs.shape()[1] == obs_dim_ && act.dimension() == 2 &&
                     act.shape()[1] == action_dim_ && act.shape()[0] == obs.shape()[0],
                 "RewardModel::predict: obs " << shape_str(obs.shape()) << " and act " << shape_str(act.shape())
                                              << " are not (B, " << obs_dim_ << ") and (B, " << action_dim_ << ")");
    const std::size_t b = obs.shape()[0];
    Array x = xt::empty<float>({b, obs_dim_ + action_dim_});
    for (std::size_t i = 0; i < b; ++i) {
        std::memcpy(x.data() + i * (obs_dim_ + action_dim_), obs.data() + i * obs_dim_, obs_dim_ * sizeof(float));
        std::memcpy(x.data() + i * (obs_dim_ + action_dim_) + obs_dim_, act.data() + i * action_dim_,
                    action_dim_ * sizeof(float));
    }
    const autograd::NoGradGuard no_grad;
    Array r = forward(Tensor(x)).value();  // (B, 1)
    r.reshape(std::vector<std::size_t>{b});
    return r;
}

void TrainedReward::save(nn::Checkpoint& c) const {
    DYDIFF_CHECK(model, "TrainedReward::save: no model");
    put_one_step_common(c, "TrainedReward::save", kKind, kVersion, model->obs_dim(), model->action_dim(), data,
                        obs_normalizer);
    c.put_int64("arch/hidden", static_cast<std::int64_t>(model->config().hidden));
    c.put_int64("arch/layers", static_cast<std::int64_t>(model->config().layers));
    c.put_module("params", *model);
}

void TrainedReward::save(const std::string& path) const {
    nn::Checkpoint c;
    save(c);
    c.require_finite(path);
    c.save(path);
}

TrainedReward TrainedReward::read(const nn::Checkpoint& c) {
    c.check_format(kKind, kVersion);
    return c.naming_errors([&] {
        TrainedReward t;
        read_one_step_common(c, t.data, t.obs_normalizer);
        // Sizes are bounded by the stored weights (Checkpoint::largest_dim), before anything is allocated.
        const std::int64_t width = c.largest_dim("params"), count = c.array_count("params");
        DYDIFF_USER_CHECK(static_cast<std::int64_t>(t.data.obs_dim + t.data.action_dim) <= width,
                          "data/obs_dim + data/action_dim = " << t.data.obs_dim + t.data.action_dim
                                                              << " exceeds every stored weight's dimensions");
        RewardConfig config;  // training fields keep their defaults: the run's config file holds them
        config.hidden = c.get_size("arch/hidden", 1, width);
        config.layers = c.get_size("arch/layers", 1, count);
        data::Rng unused(0);  // the weights come from the file
        t.model = std::make_unique<RewardModel>(t.data.obs_dim, t.data.action_dim, config, unused);
        c.load_module("params", *t.model);
        t.file = c.source();
        return t;
    });
}

TrainedReward TrainedReward::load(const std::string& run_or_file) {
    return read(nn::Checkpoint::load(nn::model_file(run_or_file, kFile, "train-reward")));
}

float reward_mse(const RewardModel& model, const Array& inputs, const Array& rewards) {
    const std::size_t width = model.obs_dim() + model.action_dim();
    DYDIFF_CHECK(inputs.dimension() == 2 && inputs.shape()[1] == width && rewards.dimension() == 1 &&
                     rewards.shape()[0] == inputs.shape()[0] && inputs.shape()[0] > 0,
                 "reward_mse: inputs " << shape_str(inputs.shape()) << ", rewards " << shape_str(rewards.shape()));
    const std::size_t n = inputs.shape()[0];
    const autograd::NoGradGuard no_grad;
    double sse = 0.0;
    for (std::size_t begin = 0; begin < n; begin += kEvalChunk) {
        const std::size_t rows = std::min(kEvalChunk, n - begin);
        Array x = xt::empty<float>({rows, width});
        std::memcpy(x.data(), inputs.data() + begin * width, rows * width * sizeof(float));
        const Array pred = model.forward(Tensor(x)).value();  // (rows, 1)
        for (std::size_t i = 0; i < rows; ++i) {
            const double d = pred.data()[i] - rewards.data()[begin + i];
            sse += d * d;
        }
    }
    return static_cast<float>(sse / static_cast<double>(n));
}

RewardTrainReport train_reward_model(RewardModel& model, const Array& inputs, const Array& rewards,
                                     const RewardConfig& config, data::Rng& rng, const RewardProgress& progress) {
    DYDIFF_CHECK(config.hidden == model.config().hidden && config.layers == model.config().layers,
                 "train_reward_model: config hidden " << config.hidden << " x " << config.layers
                                                      << " differs from the model's " << model.config().hidden << " x "
                                                      << model.config().layers);
    const std::size_t width = model.obs_dim() + model.action_dim();
    DYDIFF_CHECK(inputs.dimension() == 2 && inputs.shape()[1] == width && rewards.dimension() == 1 &&
                     rewards.shape()[0] == inputs.shape()[0],
                 "train_reward_model: inputs " << shape_str(inputs.shape()) << " and rewards "
                                               << shape_str(rewards.shape()) << " are not (N, " << width << ") and (N)");
    DYDIFF_CHECK(config.max_epochs >= 1 && config.batch >= 1,
                 "train_reward_model: max_epochs " << config.max_epochs << ", batch " << config.batch);

    // Rewards as an (N, 1) column so that copy_rows can gather them like any other row-major table.
    Array reward_col = rewards;
    reward_col.reshape(std::vector<std::size_t>{rewards.shape()[0], 1});
    const HoldoutSplit split = split_holdout(inputs.shape()[0], config.holdout_fraction, config.max_holdout, rng);
    const std::size_t n_hold = split.holdout.size();
    Array hold_x = xt::empty<float>({n_hold, width});
    Array hold_r = xt::empty<float>({n_hold, std::size_t{1}});
    copy_rows(inputs, split.holdout.data(), n_hold, hold_x, 0);
    copy_rows(reward_col, split.holdout.data(), n_hold, hold_r, 0);
    hold_r.reshape(std::vector<std::size_t>{n_hold});

    nn::AdamConfig adam_config = config.adam;
    adam_config.lr = config.lr;
    nn::Adam adam(model.named_parameters(), adam_config);
    EarlyStopping stopping(1, config.patience);
    MemberSnapshot best(model, 1);
    RewardTrainReport report;
    report.train_rows = split.train.size();
    report.holdout_rows = n_hold;
    std::vector<std::size_t> order = split.train;
    for (std::size_t epoch = 1; epoch <= config.max_epochs; ++epoch) {
        rng.shuffle(order.begin(), order.end());
        const std::size_t batches = num_batches(order.size(), config.batch);
        double loss_sum = 0.0;
        for (std::size_t b = 0; b < batches; ++b) {
            const std::size_t begin = b * config.batch, bs = std::min(config.batch, order.size() - begin);
            Array xb = xt::empty<float>({bs, width});          // (B, S + A)
            Array rb = xt::empty<float>({bs, std::size_t{1}});  // (B, 1)
            copy_rows(inputs, order.data() + begin, bs, xb, 0);
            copy_rows(reward_col, order.data() + begin, bs, rb, 0);
            Tensor loss = autograd::mean(autograd::square(model.forward(Tensor(xb)) - Tensor(rb)));
            loss_sum += minibatch_step(loss, adam, "train_reward_model", epoch, b);
        }
        RewardEpoch record;
        record.epoch = epoch;
        record.train_loss = static_cast<float>(loss_sum / static_cast<double>(batches));
        record.holdout_mse = reward_mse(model, hold_x, hold_r);
        if (stopping.update({record.holdout_mse})[0]) best.capture(0);
        report.epochs.push_back(record);
        if (progress) progress(record);
        if (stopping.should_stop()) {
            report.early_stopped = true;
            break;
        }
    }
    best.restore();
    report.best_holdout_mse = stopping.best()[0];
    report.best_epoch = stopping.best_epoch()[0];
    return report;
}

}  // namespace dydiff
