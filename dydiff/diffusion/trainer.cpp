// train-diffusion: the training loop of docs/algorithm.md §6.1 with checkpoints that resume bitwise (single thread or
// not: the kernels' results do not depend on the thread count).
#include "dydiff/diffusion/trainer.hpp"

#include "autograd/error.hpp"
#include "data/episodes.hpp"
#include "data/window_dataset.hpp"
#include "nn/optim.hpp"

#include <chrono>
#include <cmath>
#include <iomanip>
#include <optional>
#include <sstream>

namespace dydiff {

const std::vector<std::string>& DiffusionTrainConfig::presets() {
    static const std::vector<std::string> names{"tiny", "small", "paper"};
    return names;
}

void DiffusionTrainConfig::fields(ConfigFields& f) {
    f.add("horizon", &horizon, "window length L, a multiple of 2^(U-Net levels - 1) (§5.1: 100)")
        .at_least(1)
        .fixed_on_resume();
    f.add("batch", &batch, "windows per step (§6.1: 8)").at_least(1);
    f.add("steps", &steps, "Adam steps in total; --resume may raise it (§6.1: 500000)").at_least(1).grows_on_resume();
    f.add("lr", &lr, "base learning rate (§6.1: 1e-3)").positive();
    f.add("lr_rampup_kimg", &lr_rampup_kimg, "learning-rate ramp in thousands of windows, 0: none (§6.1: 10000)")
        .at_least(0);
    f.add("ema_halflife_kimg", &ema_halflife_kimg, "EMA half-life cap in thousands of windows (§6.1: 500)").positive();
    f.add("ema_rampup_ratio", &ema_rampup_ratio, "EMA half-life = min(cap, ratio * windows seen) (§6.1: 0.05)")
        .positive();
    f.add("log_every", &log_every, "steps between metrics.csv rows").at_least(1);
    f.add("checkpoint_every", &checkpoint_every, "steps between checkpoints (and at the end)").at_least(1);
    f.add("seed", &seed, "seed of initialisation, window sampling and noise").at_least(0).fixed_on_resume();
    f.table("unet", "the temporal U-Net F_theta (§5.1); architecture: --resume refuses a change", unet);
    f.table_with("edm", "EDM preconditioning and training noise (§5.1, §6.1)",
                 [this](ConfigFields& t) { edm.training_fields(t); });
    f.table_with("adam", "the optimiser (§6.1: Adam with PyTorch's defaults)",
                 [this](ConfigFields& t) { adam_fields(t, adam); });
    f.check([this] { unet.check_horizon(horizon); });
}

// Budgets measured on a 2-core machine (docs/dydiff.md): tiny fits a maze2d dataset in minutes, small in about an
// hour, paper is the official code's setting (weeks on 2 cores).
void DiffusionTrainConfig::apply_preset(const std::string& name) {
    if (name == "tiny") {
        unet = unet_tiny();
        horizon = 32;
        batch = 16;
        steps = 3000;
        lr_rampup_kimg = 10;
        checkpoint_every = 500;
    } else if (name == "small") {
        unet = unet_small();
        horizon = 64;
        batch = 16;
        steps = 20000;
        lr_rampup_kimg = 50;
        checkpoint_every = 1000;
    } else if (name == "paper") {  // §6.1
        unet = unet_paper();
        horizon = 100;
        batch = 8;
        steps = 500000;
        lr_rampup_kimg = 10000;
        checkpoint_every = 5000;
    } else {
        DYDIFF_USER_FAIL("unknown preset '" << name << "' (valid: tiny, small, paper)");
    }
}

double diffusion_learning_rate(const DiffusionTrainConfig& c, double images_seen) {
    return c.lr * std::min(images_seen / std::max(c.lr_rampup_kimg * 1000.0, 1e-8), 1.0);
}

double diffusion_ema_beta(const DiffusionTrainConfig& c, double images_seen) {
    const double halflife = std::min(c.ema_halflife_kimg * 1000.0, c.ema_rampup_ratio * images_seen);
    return std::pow(0.5, static_cast<double>(c.batch) / std::max(halflife, 1e-8));
}

namespace {

nn::AdamConfig with_lr(nn::AdamConfig adam, float lr) {
    adam.lr = lr;
    return adam;
}

struct TrainState {
    std::int64_t step = 0;
    double loss_sum = 0.0;        // losses since the last metrics row
    std::int64_t loss_count = 0;
};

// RUN/checkpoint.npz: the model (what consumers load) plus train/*, what a resume needs besides it.
void save_checkpoint(RunDir& run, const DiffusionModel& model, const nn::Adam& adam, const data::Rng& rng,
                     const TrainState& st) {
    nn::Checkpoint c;
    model.save(c);
    for (const auto& [name, t] : adam.state()) c.put("train/adam/" + name, t.value());
    c.put_int64("train/adam_steps", static_cast<std::int64_t>(adam.steps()));
    c.put_int64("train/step", st.step);
    c.put_float64("train/loss_sum", st.loss_sum);
    c.put_int64("train/loss_count", st.loss_count);
    c.put_bytes("train/rng_state", rng.state());
    c.require_finite("train-diffusion: checkpoint at step " + std::to_string(st.step));
    c.save(run.file(DiffusionModel::kFile));
}

// A resume continues the model it finds: the same data (by SHA-256, dims and env) and the same architecture.
void check_resumable(const DiffusionModel& saved, const data::Dataset& dataset, const data::DataIdentity& data,
                     const DiffusionModel& fresh) {
    data::require_same_data({saved.trained_on(), {dataset.source, data}});
    auto same = [&](bool equal, const char* key, const std::string& in_file, const std::string& in_config) {
        DYDIFF_USER_CHECK(equal, saved.file << ": key '" << key << "' is " << in_file << " but the run's config gives "
                                            << in_config << "; a resume cannot change the model's architecture");
    };
    same(saved.horizon == fresh.horizon, "arch/horizon", std::to_string(saved.horizon), std::to_string(fresh.horizon));
    same(saved.unet.describe() == fresh.unet.describe(), "arch/unet", saved.unet.describe(), fresh.unet.describe());
    same(saved.sigma_data == fresh.sigma_data, "arch/sigma_data", std::to_string(saved.sigma_data),
         std::to_string(fresh.sigma_data));
}

}  // namespace

const std::vector<std::string>& diffusion_metrics_columns() {
    static const std::vector<std::string> columns{"step", "loss", "lr", "ema_beta", "seconds"};
    return columns;
}

struct DiffusionTrainer::State {
    State(const DiffusionTrainConfig& c, const data::Dataset& dataset, const data::MinMaxNormalizer& norm)
        : config(c), S(dataset.obs_dim()), windows(dataset, c.horizon, norm), rng(static_cast<std::uint64_t>(c.seed)) {}

    DiffusionTrainConfig config;
    std::size_t S;
    data::WindowDataset windows;  // windows over episodes cut at terminals | timeouts, normalised
    data::Rng rng;
    DiffusionModel model;
    std::unique_ptr<Denoiser> denoiser;  // over *model.net
    std::unique_ptr<nn::Adam> adam;
    TrainState st;
    bool resumed = false;
};

DiffusionTrainer::DiffusionTrainer(const data::Dataset& dataset, const data::DataIdentity& data,
                                   const DiffusionTrainConfig& config, const std::string& resume_checkpoint) {
    data::check_dims(dataset, data.obs_dim, data.action_dim, "the data identity of " + data.path);
    config.unet.validate();
    config.unet.check_horizon(config.horizon);
    DYDIFF_USER_CHECK(config.batch > 0 && config.steps > 0 && config.log_every > 0 && config.checkpoint_every > 0,
                      "train-diffusion: batch, steps, log_every and checkpoint_every must be positive");
    // Min-max statistics over every row of [s, a] (§2).
    const data::MinMaxNormalizer norm = data::MinMaxNormalizer::fit(data::state_action_rows(dataset));
    state_ = std::make_unique<State>(config, dataset, norm);
    State& s = *state_;
    data::Rng init_rng = s.rng.fork(1);
    s.model = DiffusionModel::create(data, config.unet, config.horizon, config.edm.sigma_data, norm, init_rng);
    std::optional<nn::Checkpoint> saved;
    if (!resume_checkpoint.empty()) {
        saved = nn::Checkpoint::load(resume_checkpoint);
        DiffusionModel previous = DiffusionModel::read(*saved);
        check_resumable(previous, dataset, data, s.model);
        s.model = std::move(previous);
    }
    s.denoiser = std::make_unique<Denoiser>(*s.model.net, s.model.edm_config(config.edm));
    s.adam = std::make_unique<nn::Adam>(s.model.net->named_parameters(), with_lr(config.adam, config.lr));
    if (!saved) return;
    const nn::Checkpoint& c = *saved;
    c.naming_errors([&] {
        s.adam->load_state(c.get_tensors("train/adam", s.adam->state()), c.get_size("train/adam_steps", 0));
        s.rng.set_state(c.get_bytes("train/rng_state"));
        s.st.step = c.get_int64("train/step");
        s.st.loss_sum = c.get_float64("train/loss_sum");
        s.st.loss_count = c.get_int64("train/loss_count");
    });
    DYDIFF_USER_CHECK(s.st.step <= config.steps,
                      resume_checkpoint << " is at step " << s.st.step << ", beyond steps = " << config.steps);
    s.resumed = true;
}

DiffusionTrainer::~DiffusionTrainer() = default;

std::int64_t DiffusionTrainer::step() const { return state_->st.step; }

double DiffusionTrainer::run(RunDir& run, Progress& progress) {
    State& s = *state_;
    const DiffusionTrainConfig& config = s.config;
    if (s.resumed) {
        progress.note("resuming " + run.path() + " at step " + std::to_string(s.st.step));
        progress.resume_from(s.st.step);
    }
    // `seconds` continues from the last row kept at or before the checkpoint (the presets log a row at every
    // checkpoint); the checkpoint itself holds no wall-clock time, so that a resumed run's file equals an
    // uninterrupted one's byte for byte.
    const std::vector<double> kept = run.open_metrics(diffusion_metrics_columns(), s.resumed ? s.st.step : -1);
    const double seconds_before = kept.empty() ? 0.0 : kept.back();

    const auto start = std::chrono::steady_clock::now();
    double last_loss = std::nan("");
    std::int64_t last_checkpoint = s.resumed ? s.st.step : 0;
    std::string status = "loss -";  // until the first metrics row
    // The one way this loop stops on a NaN or Inf (the loss, a gradient, a value about to be saved): the message says
    // where the run can go back to.
    const auto stop_non_finite = [&](const NonFiniteError& e) {
        nn::stop_non_finite(e, nn::last_good_checkpoint(run.file(DiffusionModel::kFile), last_checkpoint,
                                                        std::min(config.checkpoint_every, config.steps)));
    };
    for (std::int64_t step = s.st.step + 1; step <= config.steps; ++step) {
        const double seen = static_cast<double>(step - 1) * static_cast<double>(config.batch);
        const double lr = diffusion_learning_rate(config, seen);
        s.adam->set_lr(static_cast<float>(lr));
        const autograd::Array y = s.windows.gather(s.windows.sample_indices(s.rng, config.batch));  // (B, L, D)
        autograd::Tensor loss = edm_loss(*s.denoiser, y, s.S, s.rng);
        const float value = loss.item();
        if (!std::isfinite(value)) {
            stop_non_finite(NonFiniteError("train-diffusion: the loss is " + std::to_string(value) + " at step " +
                                           std::to_string(step)));
        }
        s.adam->zero_grad();
        loss.backward();
        try {
            nn::check_finite_grads(s.model.net->named_parameters());
        } catch (const NonFiniteError& e) {
            stop_non_finite(NonFiniteError("train-diffusion: step " + std::to_string(step) + ": " + e.what()));
        }
        s.adam->step();
        const double beta = diffusion_ema_beta(config, static_cast<double>(step) * static_cast<double>(config.batch));
        s.model.ema->update(static_cast<float>(beta));

        s.st.step = step;
        s.st.loss_sum += value;
        ++s.st.loss_count;
        const double seconds =
            seconds_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        if (step % config.log_every == 0 || step == config.steps) {
            // One definition of "the loss": the mean minibatch loss since the previous row, logged and shown alike.
            last_loss = s.st.loss_sum / static_cast<double>(s.st.loss_count);
            run.append_metrics({static_cast<double>(step), last_loss, lr, beta, seconds});
            s.st.loss_sum = 0.0;
            s.st.loss_count = 0;
            std::ostringstream text;
            text << "loss " << std::setprecision(6) << last_loss;
            status = text.str();
        }
        progress.update(step, status);
        if (step % config.checkpoint_every == 0 || step == config.steps) {
            try {
                save_checkpoint(run, s.model, *s.adam, s.rng, s.st);
            } catch (const NonFiniteError& e) {
                stop_non_finite(e);
            }
            last_checkpoint = step;
        }
    }
    return last_loss;
}

double train_diffusion(const data::Dataset& dataset, const data::DataIdentity& data, const DiffusionTrainConfig& config,
                       RunDir& run, bool resume, Progress& progress) {
    DiffusionTrainer trainer(dataset, data, config, resume ? run.file(DiffusionModel::kFile) : std::string());
    return trainer.run(run, progress);
}

}  // namespace dydiff
