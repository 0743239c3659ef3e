// DynamicsEnsemble, its loss and its trainer (docs/algorithm.md §5.2).
#include "dydiff/models/dynamics_ensemble.hpp"

#include "autograd/error.hpp"
#include "dydiff/models/one_step_file.hpp"
#include "autograd/ops.hpp"
#include "nn/activation_ops.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace dydiff {

using autograd::Array;
using autograd::Tensor;

namespace {

// Rows per forward pass when evaluating the hold-out: bounds the (E, rows, hidden) activations to a few MB.
constexpr std::size_t kEvalChunk = 1024;

/// x (E, B, S + A): the same [obs, act] rows copied to every member.
Array replicate_inputs(const Array& obs, const Array& act, std::size_t members) {
    const std::size_t b = obs.shape()[0], s = obs.shape()[1], a = act.shape()[1];
    Array x = xt::empty<float>({members, b, s + a});
    for (std::size_t e = 0; e < members; ++e)
        for (std::size_t i = 0; i < b; ++i) {
            float* row = x.data() + (e * b + i) * (s + a);
            std::memcpy(row, obs.data() + i * s, s * sizeof(float));
            std::memcpy(row + s, act.data() + i * a, a * sizeof(float));
        }
    return x;
}

void check_architecture(const EnsembleConfig& model, const EnsembleConfig& given) {
    DYDIFF_CHECK(model.members == given.members && model.elites == given.elites && model.hidden == given.hidden &&
                     model.layers == given.layers && model.activation == given.activation &&
                     model.max_logvar == given.max_logvar && model.min_logvar == given.min_logvar,
                 "train_ensemble: the config's architecture (members " << given.members << ", elites " << given.elites
                     << ", hidden " << given.hidden << ", layers " << given.layers << ") differs from the model's ("
                     << model.members << ", " << model.elites << ", " << model.hidden << ", " << model.layers
                     << ") or in activation / logvar bounds");
}

}  // namespace

void EnsembleConfig::fields(ConfigFields& f) {
    std::vector<std::pair<std::string, nn::Activation>> activations;
    for (nn::Activation a : {nn::Activation::silu, nn::Activation::relu, nn::Activation::mish, nn::Activation::tanh,
                             nn::Activation::identity})
        activations.emplace_back(nn::activation_name(a), a);
    f.add("members", &members, "ensemble members E (§5.2: 7)").at_least(1).fixed_on_resume();
    f.add("elites", &elites, "members used at prediction time, <= members (§5.2: 5)").at_least(1).fixed_on_resume();
    f.add("hidden", &hidden, "width of every hidden layer (§5.2: 200)").at_least(1).fixed_on_resume();
    f.add("layers", &layers, "hidden layers; the net has layers + 1 EnsembleLinear (§5.2: 4)")
        .at_least(1)
        .fixed_on_resume();
    f.add_choice("activation", &activation, activations, "between hidden layers (§5.2: silu)").fixed_on_resume();
    f.add("max_logvar", &max_logvar, "soft upper bound of the log-variance (§5.2: 0.5)").finite().fixed_on_resume();
    f.add("min_logvar", &min_logvar, "soft lower bound of the log-variance (§5.2: -10)").finite().fixed_on_resume();
    f.add("lr", &lr, "Adam learning rate (§6.4: 1e-4)").positive();
    f.add("batch", &batch, "minibatch rows per member (§6.4: 256)").at_least(1);
    f.add("weight_decay", &weight_decay, "coupled L2 per EnsembleLinear, layers + 1 entries (§5.2)").at_least(0);
    f.add("holdout_fraction", &holdout_fraction, "share of rows held out (§5.2: 0.2)").positive().below(1);
    f.add("max_holdout", &max_holdout, "cap on the hold-out rows (§5.2: 5000)").at_least(1);
    f.add("patience", &patience, "stop when no member improved for more than this many epochs (§5.2: 7)");
    f.add("max_epochs", &max_epochs, "CPU budget: hard cap on epochs (the reference has none)").at_least(1);
    f.add("seed", &seed, "seed of the run's Rng (init, split, bootstrap, batches)").at_least(0).fixed_on_resume();
    f.table_with("adam", "the optimiser (§6.4: Adam, coupled per-layer weight decay)",
                 [this](ConfigFields& t) { adam_fields(t, adam); });
    f.check([this] {
        DYDIFF_USER_CHECK(elites <= members, "elites = " << elites << " must be <= members = " << members);
        DYDIFF_USER_CHECK(min_logvar < max_logvar,
                          "min_logvar = " << min_logvar << " must be < max_logvar = " << max_logvar);
        DYDIFF_USER_CHECK(weight_decay.size() == layers + 1,
                          "weight_decay has " << weight_decay.size() << " entries; layers = " << layers << " needs "
                                              << layers + 1 << " (one per EnsembleLinear)");
    });
}

Tensor bound_logvar(const Tensor& raw, float max_logvar, float min_logvar) {
    const Tensor upper = max_logvar - nn::softplus(max_logvar - raw);
    return min_logvar + nn::softplus(upper - min_logvar);
}

DynamicsEnsemble::DynamicsEnsemble(std::size_t obs_dim, std::size_t action_dim, const EnsembleConfig& config,
                                   data::Rng& rng)
    : obs_dim_(obs_dim), action_dim_(action_dim), config_(config) {
    DYDIFF_CHECK(obs_dim > 0 && action_dim > 0,
                 "DynamicsEnsemble: obs_dim " << obs_dim << ", action_dim " << action_dim);
    DYDIFF_CHECK(config.members > 0 && config.elites >= 1 && config.elites <= config.members,
                 "DynamicsEnsemble: " << config.elites << " elites of " << config.members << " members");
    DYDIFF_CHECK(config.hidden > 0 && config.layers > 0, "DynamicsEnsemble: hidden " << config.hidden << ", layers "
                                                                                     << config.layers);
    DYDIFF_CHECK(config.min_logvar < config.max_logvar,
                 "DynamicsEnsemble: min_logvar " << config.min_logvar << " >= max_logvar " << config.max_logvar);
    std::vector<std::size_t> widths{obs_dim + action_dim};
    for (std::size_t i = 0; i < config.layers; ++i) widths.push_back(config.hidden);
    widths.push_back(2 * obs_dim);
    for (std::size_t i = 0; i + 1 < widths.size(); ++i) {
        layers_.push_back(std::make_unique<nn::EnsembleLinear>(config.members, widths[i], widths[i + 1], rng,
                                                               nn::Init::ensemble_fan_in));
        register_module("layers." + std::to_string(i), *layers_.back());
    }
}

EnsembleOutput DynamicsEnsemble::forward(const Tensor& x) const {
    DYDIFF_CHECK(x.dim() == 3 && x.size(0) == config_.members && x.size(2) == obs_dim_ + action_dim_,
                 "DynamicsEnsemble: input " << shape_str(x.shape()) << " is not (" << config_.members << ", B, "
                                            << obs_dim_ + action_dim_ << ")");
    Tensor h = x;
    for (std::size_t i = 0; i < layers_.size(); ++i) {
        h = layers_[i]->forward(h);
        if (i + 1 < layers_.size()) h = nn::activate(h, config_.activation);
    }
    // h (E, B, 2S): μ first, the raw log-variance second.
    const Tensor raw = autograd::slice(h, 2, obs_dim_, 2 * obs_dim_);
    return {autograd::slice(h, 2, 0, obs_dim_), bound_logvar(raw, config_.max_logvar, config_.min_logvar)};
}

Array DynamicsEnsemble::predict(const Array& obs, const Array& act, data::Rng& rng) const {
    DYDIFF_CHECK(!elites_.empty(), "DynamicsEnsemble::predict: no elites yet (train or load the model first)");
    DYDIFF_CHECK(obs.dimension() == 2 && obs.shape()[1] == obs_dim_ && act.dimension() == 2 &&
                     act.shape()[1] == action_dim_ && act.shape()[0] == obs.shape()[0],
                 "DynamicsEnsemble::predict: obs " << shape_str(obs.shape()) << " and act " << shape_str(act.shape())
                                                   << " are not (B, " << obs_dim_ << ") and (B, " << action_dim_ << ")");
    const std::size_t b = obs.shape()[0];
    std::vector<std::size_t> pick(b);  // the elite of each sample, drawn before the forward pass
    for (auto& k : pick) k = elites_[rng.randint(elites_.size())];
    const autograd::NoGradGuard no_grad;
    const Array mean = forward(Tensor(replicate_inputs(obs, act, config_.members))).mean.value();  // (E, B, S)
    Array next = xt::empty<float>({b, obs_dim_});
    for (std::size_t i = 0; i < b; ++i)
        for (std::size_t j = 0; j < obs_dim_; ++j)
            next(i, j) = obs(i, j) + mean.data()[(pick[i] * b + i) * obs_dim_ + j];
    return next;
}

void DynamicsEnsemble::set_elites(const std::vector<std::size_t>& elites) {
    DYDIFF_CHECK(elites.size() == config_.elites,
                 "DynamicsEnsemble: " << elites.size() << " elites given, the config wants " << config_.elites);
    std::vector<bool> seen(config_.members, false);
    for (std::size_t k : elites) {
        DYDIFF_CHECK(k < config_.members && !seen[k],
                     "DynamicsEnsemble: elite " << k << " is out of range [0, " << config_.members << ") or repeated");
        seen[k] = true;
    }
    elites_ = elites;
}

void TrainedDynamics::save(nn::Checkpoint& c) const {
    DYDIFF_CHECK(model, "TrainedDynamics::save: no model");
    const EnsembleConfig& config = model->config();
    put_one_step_common(c, "TrainedDynamics::save", kKind, kVersion, model->obs_dim(), model->action_dim(), data,
                        obs_normalizer);
    c.put_int64("arch/members", static_cast<std::int64_t>(config.members));
    c.put_int64("arch/elites", static_cast<std::int64_t>(config.elites));
    c.put_int64("arch/hidden", static_cast<std::int64_t>(config.hidden));
    c.put_int64("arch/layers", static_cast<std::int64_t>(config.layers));
    c.put_text("arch/activation", nn::activation_name(config.activation));
    c.put_float32("arch/max_logvar", config.max_logvar);
    c.put_float32("arch/min_logvar", config.min_logvar);
    c.put_module("params", *model);
    const std::vector<std::size_t>& elites = model->elites();
    c.put_int64s("fit/elite_indices", std::vector<std::int64_t>(elites.begin(), elites.end()));
}

void TrainedDynamics::save(const std::string& path) const {
    nn::Checkpoint c;
    save(c);
    c.require_finite(path);
    c.save(path);
}

TrainedDynamics TrainedDynamics::read(const nn::Checkpoint& c) {
    c.check_format(kKind, kVersion);
    return c.naming_errors([&] {
        TrainedDynamics t;
        read_one_step_common(c, t.data, t.obs_normalizer);
        // Sizes are bounded by the stored weights (Checkpoint::largest_dim), before anything is allocated.
        const std::int64_t width = c.largest_dim("params"), count = c.array_count("params");
        DYDIFF_USER_CHECK(static_cast<std::int64_t>(t.data.obs_dim + t.data.action_dim) <= width,
                          "data/obs_dim + data/action_dim = " << t.data.obs_dim + t.data.action_dim
                                                              << " exceeds every stored weight's dimensions");
        EnsembleConfig config;  // training fields keep their defaults: the run's config file holds them
        config.members = c.get_size("arch/members", 1, width);
        config.elites = c.get_size("arch/elites", 1, width);
        config.hidden = c.get_size("arch/hidden", 1, width);
        config.layers = c.get_size("arch/layers", 1, count);
        const std::string activation = c.get_text("arch/activation");
        try {
            config.activation = nn::parse_activation(activation);
        } catch (const Error& e) {
            DYDIFF_FAIL("key 'arch/activation': " << e.what());
        }
        config.max_logvar = c.get_float32("arch/max_logvar");
        config.min_logvar = c.get_float32("arch/min_logvar");
        data::Rng unused(0);  // the weights come from the file
        t.model = std::make_unique<DynamicsEnsemble>(t.data.obs_dim, t.data.action_dim, config, unused);
        c.load_module("params", *t.model);
        std::vector<std::size_t> elites;
        for (const std::int64_t k : c.get_int64s("fit/elite_indices")) {
            DYDIFF_CHECK(k >= 0, "key 'fit/elite_indices' holds " << k << ", expected member indices >= 0");
            elites.push_back(static_cast<std::size_t>(k));
        }
        if (!elites.empty()) t.model->set_elites(elites);  // empty: saved before training, predict() refuses
        t.file = c.source();
        return t;
    });
}

TrainedDynamics TrainedDynamics::load(const std::string& run_or_file) {
    return read(nn::Checkpoint::load(nn::model_file(run_or_file, kFile, "train-dynamics")));
}

Tensor ensemble_loss(const EnsembleOutput& out, const Tensor& target) {
    DYDIFF_CHECK(target.shape() == out.mean.shape(), "ensemble_loss: target " << shape_str(target.shape())
                                                                              << " vs mean "
                                                                              << shape_str(out.mean.shape()));
    // Every member has the same (B, S), so the mean over (E, B, S) is the average over members of their means.
    const Tensor inv_var = autograd::exp(-out.logvar);
    return autograd::mean(autograd::square(out.mean - target) * inv_var) + autograd::mean(out.logvar);
}

std::vector<float> ensemble_mse(const DynamicsEnsemble& model, const Array& inputs, const Array& targets) {
    const std::size_t s = model.obs_dim(), members = model.config().members;
    DYDIFF_CHECK(inputs.dimension() == 2 && targets.dimension() == 2 && inputs.shape()[0] == targets.shape()[0] &&
                     inputs.shape()[1] == s + model.action_dim() && targets.shape()[1] == s && inputs.shape()[0] > 0,
                 "ensemble_mse: inputs " << shape_str(inputs.shape()) << ", targets " << shape_str(targets.shape()));
    const std::size_t n = inputs.shape()[0], width = inputs.shape()[1];
    const autograd::NoGradGuard no_grad;
    std::vector<double> sse(members, 0.0);
    for (std::size_t begin = 0; begin < n; begin += kEvalChunk) {
        const std::size_t rows = std::min(kEvalChunk, n - begin);
        Array x = xt::empty<float>({members, rows, width});
        for (std::size_t e = 0; e < members; ++e)
            std::memcpy(x.data() + e * rows * width, inputs.data() + begin * width, rows * width * sizeof(float));
        const Array mean = model.forward(Tensor(x)).mean.value();  // (E, rows, S)
        for (std::size_t e = 0; e < members; ++e)
            for (std::size_t i = 0; i < rows * s; ++i) {
                const double d = mean.data()[e * rows * s + i] - targets.data()[begin * s + i];
                sse[e] += d * d;
            }
    }
    std::vector<float> mse(members);
    for (std::size_t e = 0; e < members; ++e) mse[e] = static_cast<float>(sse[e] / static_cast<double>(n * s));
    return mse;
}

std::vector<nn::ParamGroup> ensemble_param_groups(const DynamicsEnsemble& model,
                                                  const std::vector<float>& weight_decay) {
    DYDIFF_CHECK(weight_decay.size() == model.layers().size(),
                 "ensemble: " << weight_decay.size() << " weight decays for " << model.layers().size() << " layers");
    std::vector<nn::ParamGroup> groups;
    for (std::size_t l = 0; l < model.layers().size(); ++l) {
        nn::ParamGroup g;
        for (const auto& [name, t] : model.layers()[l]->named_parameters())
            g.params.emplace_back("layers." + std::to_string(l) + "." + name, t);
        g.weight_decay = weight_decay[l];
        groups.push_back(std::move(g));
    }
    return groups;
}

std::vector<std::vector<std::size_t>> draw_bootstrap(std::size_t members, std::size_t n, data::Rng& rng) {
    DYDIFF_CHECK(n > 0, "draw_bootstrap: no rows");
    std::vector<std::vector<std::size_t>> idx(members, std::vector<std::size_t>(n));
    for (auto& member : idx)
        for (auto& i : member) i = rng.randint(n);
    return idx;
}

EnsembleTrainReport train_ensemble(DynamicsEnsemble& model, const Array& inputs, const Array& targets,
                                   const EnsembleConfig& config, data::Rng& rng, const EnsembleProgress& progress) {
    check_architecture(model.config(), config);
    const std::size_t s = model.obs_dim(), width = s + model.action_dim(), members = config.members;
    DYDIFF_CHECK(inputs.dimension() == 2 && targets.dimension() == 2 && inputs.shape()[1] == width &&
                     targets.shape()[1] == s && inputs.shape()[0] == targets.shape()[0],
                 "train_ensemble: inputs " << shape_str(inputs.shape()) << " and targets " << shape_str(targets.shape())
                                           << " are not (N, " << width << ") and (N, " << s << ")");
    DYDIFF_CHECK(config.max_epochs >= 1 && config.batch >= 1, "train_ensemble: max_epochs " << config.max_epochs
                                                                                            << ", batch " << config.batch);

    const HoldoutSplit split = split_holdout(inputs.shape()[0], config.holdout_fraction, config.max_holdout, rng);
    const std::size_t n_train = split.train.size(), n_hold = split.holdout.size();
    Array hold_x = xt::empty<float>({n_hold, width});
    Array hold_y = xt::empty<float>({n_hold, s});
    copy_rows(inputs, split.holdout.data(), n_hold, hold_x, 0);
    copy_rows(targets, split.holdout.data(), n_hold, hold_y, 0);
    // Positions into split.train, one fixed multiset per member; only their order changes between epochs.
    std::vector<std::vector<std::size_t>> boot = draw_bootstrap(members, n_train, rng);

    nn::AdamConfig adam_config = config.adam;
    adam_config.lr = config.lr;
    nn::Adam adam(ensemble_param_groups(model, config.weight_decay), adam_config);

    EarlyStopping stopping(members, config.patience);
    MemberSnapshot best(model, members);
    EnsembleTrainReport report;
    report.train_rows = n_train;
    report.holdout_rows = n_hold;
    std::vector<std::size_t> rows(config.batch);
    for (std::size_t epoch = 1; epoch <= config.max_epochs; ++epoch) {
        for (auto& member : boot) rng.shuffle(member.begin(), member.end());
        const std::size_t batches = num_batches(n_train, config.batch);
        double loss_sum = 0.0;
        for (std::size_t b = 0; b < batches; ++b) {
            const std::size_t begin = b * config.batch, bs = std::min(config.batch, n_train - begin);
            Array xb = xt::empty<float>({members, bs, width});  // (E, B, S + A)
            Array yb = xt::empty<float>({members, bs, s});      // (E, B, S)
            for (std::size_t e = 0; e < members; ++e) {
                for (std::size_t j = 0; j < bs; ++j) rows[j] = split.train[boot[e][begin + j]];
                copy_rows(inputs, rows.data(), bs, xb, e * bs);
                copy_rows(targets, rows.data(), bs, yb, e * bs);
            }
            Tensor loss = ensemble_loss(model.forward(Tensor(xb)), Tensor(yb));
            loss_sum += minibatch_step(loss, adam, "train_ensemble", epoch, b);
        }
        EnsembleEpoch record;
        record.epoch = epoch;
        record.train_loss = static_cast<float>(loss_sum / static_cast<double>(batches));
        record.holdout_mse = ensemble_mse(model, hold_x, hold_y);
        const std::vector<bool> improved = stopping.update(record.holdout_mse);
        for (std::size_t e = 0; e < members; ++e)
            if (improved[e]) best.capture(e);
        report.epochs.push_back(record);
        if (progress) progress(record);
        if (stopping.should_stop()) {
            report.early_stopped = true;
            break;
        }
    }
    best.restore();
    report.best_holdout_mse = stopping.best();
    report.best_epoch = stopping.best_epoch();
    report.elites = select_lowest(report.best_holdout_mse, config.elites);
    model.set_elites(report.elites);
    return report;
}

}  // namespace dydiff
