// train-diffusion: the training loop of docs/algorithm.md §6.1 with checkpoints that resume bitwise (single thread or
// not: the kernels' results do not depend on the thread count).
#include "dydiff/diffusion/trainer.hpp"

#include "autograd/error.hpp"
#include "data/episodes.hpp"
#include "data/window_dataset.hpp"
#include "nn/optim.hpp"

#include <chrono>
#include <cmath>
#include <optional>
#include <sstream>

namespace dydiff {

void DiffusionTrainConfig::fields(ConfigFields& f) {
    f.add("preset", &preset, "U-Net preset: tiny, small or paper");
    f.add("horizon", &horizon, "window length L, a multiple of 4 (paper: 100)");
    f.add("batch", &batch, "windows per step (paper: 8)");
    f.add("steps", &steps, "Adam steps in total (paper: 500000)");
    f.add("lr", &lr, "base learning rate (paper: 1e-3)");
    f.add("lr_rampup_kimg", &lr_rampup_kimg, "learning-rate ramp length in thousands of windows (paper: 10000)");
    f.add("ema_halflife_kimg", &ema_halflife_kimg, "EMA half-life cap in thousands of windows (paper: 500)");
    f.add("ema_rampup_ratio", &ema_rampup_ratio, "EMA half-life = min(cap, ratio * windows seen) (paper: 0.05)");
    f.add("log_every", &log_every, "steps between metrics.csv rows");
    f.add("checkpoint_every", &checkpoint_every, "steps between checkpoints (and at the end)");
    f.add("seed", &seed, "seed of initialisation, window sampling and noise");
}

// Budgets measured on a 2-core machine (docs/dydiff.md): tiny fits a maze2d dataset in minutes, small in about an
// hour, paper is the official code's setting (weeks on 2 cores).
void DiffusionTrainConfig::apply_preset(const std::string& name) {
    unet_preset(name);  // validates the name
    preset = name;
    if (name == "tiny") {
        horizon = 32;
        batch = 16;
        steps = 3000;
        lr_rampup_kimg = 10;
        checkpoint_every = 500;
    } else if (name == "small") {
        horizon = 64;
        batch = 16;
        steps = 20000;
        lr_rampup_kimg = 50;
        checkpoint_every = 1000;
    } else {  // paper, §6.1
        horizon = 100;
        batch = 8;
        steps = 500000;
        lr_rampup_kimg = 10000;
        checkpoint_every = 5000;
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
    c.save(run.file(DiffusionModel::kFile));
}

// A resume continues the model it finds: the same data (by SHA-256, dims and env) and the same architecture.
void check_resumable(const DiffusionModel& saved, const data::Dataset& dataset, const data::DataIdentity& data,
                     const DiffusionModel& fresh) {
    data::require_same_data({saved.trained_on(), {dataset.source, data}});
    auto same = [&](bool equal, const char* key, const std::string& in_file, const std::string& in_config) {
        DYDIFF_CHECK(equal, saved.file << ": key '" << key << "' is " << in_file << " but the run's config gives "
                                       << in_config << "; a resume cannot change the model's architecture");
    };
    same(saved.horizon == fresh.horizon, "arch/horizon", std::to_string(saved.horizon), std::to_string(fresh.horizon));
    same(saved.unet.describe() == fresh.unet.describe(), "arch/unet", saved.unet.describe(), fresh.unet.describe());
    same(saved.sigma_data == fresh.sigma_data, "arch/sigma_data", std::to_string(saved.sigma_data),
         std::to_string(fresh.sigma_data));
}

}  // namespace

double train_diffusion(const data::Dataset& dataset, const data::DataIdentity& data, DiffusionTrainConfig config,
                       RunDir& run, bool resume, Progress& progress) {
    const std::size_t S = dataset.obs_dim();
    data::check_dims(dataset, data.obs_dim, data.action_dim, "the data identity of " + data.path);
    const UNetConfig unet_config = unet_preset(config.preset);
    unet_config.check_horizon(config.horizon);
    DYDIFF_CHECK(config.batch > 0 && config.steps > 0 && config.log_every > 0 && config.checkpoint_every > 0,
                 "train-diffusion: batch, steps, log_every and checkpoint_every must be positive");

    // Data: min-max statistics over every row of [s, a] (§2), windows over episodes cut at terminals | timeouts.
    const data::MinMaxNormalizer norm = data::MinMaxNormalizer::fit(data::state_action_rows(dataset));
    const data::WindowDataset windows(dataset, config.horizon, norm);
    DYDIFF_CHECK(windows.size() > 0, dataset.source << ": no complete episode to cut windows from (episodes end at "
                                                       "terminals | timeouts)");

    data::Rng rng(static_cast<std::uint64_t>(config.seed));
    data::Rng init_rng = rng.fork(1);
    DiffusionModel model = DiffusionModel::create(data, unet_config, config.horizon, kSigmaData, norm, init_rng);
    TrainState st;
    std::optional<nn::Checkpoint> saved;
    if (resume) {
        saved = nn::Checkpoint::load(run.file(DiffusionModel::kFile));
        DiffusionModel previous = DiffusionModel::read(*saved);
        check_resumable(previous, dataset, data, model);
        model = std::move(previous);
    }
    const TemporalUNet& net = *model.net;
    nn::Ema& ema = *model.ema;
    const Denoiser denoiser(net, model.edm_config());
    nn::Adam adam(net.named_parameters(), nn::AdamConfig{config.lr});
    if (saved) {
        const nn::Checkpoint& c = *saved;
        c.naming_errors([&] {
            adam.load_state(c.get_tensors("train/adam", adam.state()), c.get_size("train/adam_steps", 0));
            rng.set_state(c.get_bytes("train/rng_state"));
            st.step = c.get_int64("train/step");
            st.loss_sum = c.get_float64("train/loss_sum");
            st.loss_count = c.get_int64("train/loss_count");
        });
        progress.note("resuming " + run.path() + " at step " + std::to_string(st.step));
        progress.resume_from(st.step);
    }
    run.open_metrics({"step", "loss", "lr", "ema_beta", "seconds"}, resume ? st.step : -1);

    const auto start = std::chrono::steady_clock::now();
    double last_loss = 0.0;
    std::int64_t last_checkpoint = resume ? st.step : 0;
    for (std::int64_t step = st.step + 1; step <= config.steps; ++step) {
        const double seen = static_cast<double>(step - 1) * static_cast<double>(config.batch);
        const double lr = diffusion_learning_rate(config, seen);
        adam.set_lr(static_cast<float>(lr));
        const autograd::Array y = windows.gather(windows.sample_indices(rng, config.batch));  // (B, L, D)
        autograd::Tensor loss = edm_loss(denoiser, y, S, rng);
        const float value = loss.item();
        DYDIFF_CHECK(std::isfinite(value),
                     "train-diffusion: the loss is " << value << " at step " << step << "; stopping. The last good "
                     "checkpoint is " << run.file(DiffusionModel::kFile) << " (step " << last_checkpoint
                     << "); hint: lower lr, or check the dataset for extreme values");
        adam.zero_grad();
        loss.backward();
        nn::check_finite_grads(net.named_parameters());
        adam.step();
        const double beta = diffusion_ema_beta(config, static_cast<double>(step) * static_cast<double>(config.batch));
        ema.update(static_cast<float>(beta));

        st.step = step;
        st.loss_sum += value;
        ++st.loss_count;
        if (step % config.log_every == 0 || step == config.steps) {
            last_loss = st.loss_sum / static_cast<double>(st.loss_count);
            const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
            run.append_metrics({static_cast<double>(step), last_loss, lr, beta, seconds});
            st.loss_sum = 0.0;
            st.loss_count = 0;
        }
        std::ostringstream status;
        status << "loss " << value;
        progress.update(step, status.str());
        if (step % config.checkpoint_every == 0 || step == config.steps) {
            save_checkpoint(run, model, adam, rng, st);
            last_checkpoint = step;
        }
    }
    return last_loss;
}

}  // namespace dydiff
