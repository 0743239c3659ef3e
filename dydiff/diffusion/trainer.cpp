// train-diffusion: the training loop of docs/algorithm.md §6.1 with checkpoints that resume bitwise (single thread or
// not: the kernels' results do not depend on the thread count).
#include "dydiff/diffusion/trainer.hpp"

#include "autograd/error.hpp"
#include "data/episodes.hpp"
#include "data/window_dataset.hpp"
#include "nn/optim.hpp"

#include <chrono>
#include <cmath>
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

constexpr const char* kCheckpoint = "checkpoint.npz";

std::vector<std::uint8_t> to_bytes(const std::string& s) { return {s.begin(), s.end()}; }
std::string from_bytes(const std::vector<std::uint8_t>& b) { return {b.begin(), b.end()}; }

nn::NamedTensors section(const nn::Checkpoint& c, const std::string& prefix, const nn::NamedTensors& like) {
    nn::NamedTensors out;
    for (const auto& [name, t] : like) {
        autograd::Array a = c.get(prefix + name);
        DYDIFF_CHECK(a.shape() == t.value().shape(), c.source() << ": '" << prefix << name << "' has shape "
                                                                << shape_str(a.shape()) << ", expected "
                                                                << shape_str(t.value().shape()));
        out.emplace_back(name, autograd::Tensor(std::move(a)));
    }
    return out;
}

struct TrainState {
    std::int64_t step = 0;
    double loss_sum = 0.0;        // losses since the last metrics row
    std::int64_t loss_count = 0;
};

void save_checkpoint(RunDir& run, const DiffusionTrainConfig& config, std::size_t S, std::size_t A,
                     const data::MinMaxNormalizer& norm, const TemporalUNet& net, const nn::Ema& ema,
                     const nn::Adam& adam, const data::Rng& rng, const TrainState& st) {
    nn::Checkpoint c;
    c.put_module("model", net);
    for (const auto& [name, t] : ema.shadow()) c.put("ema/" + name, t.value());
    for (const auto& [name, t] : adam.state()) c.put("adam/" + name, t.value());
    for (auto& [key, array] : norm.entries("normalizer")) c.put(key, std::move(array));
    c.put_int64("meta/step", st.step);
    c.put_int64("meta/adam_steps", static_cast<std::int64_t>(adam.steps()));
    c.put_int64("meta/obs_dim", static_cast<std::int64_t>(S));
    c.put_int64("meta/action_dim", static_cast<std::int64_t>(A));
    c.put_int64("meta/horizon", static_cast<std::int64_t>(config.horizon));
    c.put_bytes("meta/preset", to_bytes(config.preset));
    c.put("meta/loss_sum", data::NpyArray::from_data<double>({}, &st.loss_sum));
    c.put_int64("meta/loss_count", st.loss_count);
    c.put_bytes("rng/state", rng.state());
    c.save(run.file(kCheckpoint));
}

}  // namespace

DiffusionModel DiffusionModel::load(const std::string& path) {
    const nn::Checkpoint c = nn::Checkpoint::load(path);
    DiffusionModel m;
    m.config.apply_preset(from_bytes(c.get_bytes("meta/preset")));
    m.config.horizon = static_cast<std::size_t>(c.get_int64("meta/horizon"));
    m.obs_dim = static_cast<std::size_t>(c.get_int64("meta/obs_dim"));
    m.action_dim = static_cast<std::size_t>(c.get_int64("meta/action_dim"));
    m.normalizer = data::MinMaxNormalizer::load([&](const std::string& key) { return c.get(key); }, "normalizer");
    data::Rng unused(0);
    m.net = std::make_unique<TemporalUNet>(unet_preset(m.config.preset), m.obs_dim + m.action_dim, unused);
    c.load_module("model", *m.net);
    m.ema = std::make_unique<nn::Ema>(m.net->named_parameters());
    m.ema->load(section(c, "ema/", m.net->named_parameters()));
    return m;
}

double train_diffusion(const data::Dataset& dataset, DiffusionTrainConfig config, RunDir& run, bool resume,
                       Progress& progress) {
    const std::size_t S = dataset.obs_dim(), A = dataset.action_dim();
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
    TemporalUNet net(unet_config, S + A, init_rng);
    const Denoiser denoiser(net);
    nn::Adam adam(net.named_parameters(), nn::AdamConfig{config.lr});
    nn::Ema ema(net.named_parameters());
    TrainState st;

    if (resume) {
        const nn::Checkpoint c = nn::Checkpoint::load(run.file(kCheckpoint));
        DYDIFF_CHECK(c.get_int64("meta/obs_dim") == static_cast<std::int64_t>(S) &&
                         c.get_int64("meta/action_dim") == static_cast<std::int64_t>(A),
                     c.source() << ": trained on obs/action dims " << c.get_int64("meta/obs_dim") << "/"
                                << c.get_int64("meta/action_dim") << ", but " << dataset.source << " has " << S << "/"
                                << A);
        c.load_module("model", net);
        ema.load(section(c, "ema/", net.named_parameters()));
        adam.load_state(section(c, "adam/", adam.state()), static_cast<std::size_t>(c.get_int64("meta/adam_steps")));
        rng.set_state(c.get_bytes("rng/state"));
        st.step = c.get_int64("meta/step");
        st.loss_sum = c.array("meta/loss_sum").to_vector<double>().at(0);  // float64: get() would round it
        st.loss_count = c.get_int64("meta/loss_count");
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
                     "checkpoint is " << run.file(kCheckpoint) << " (step " << last_checkpoint
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
            save_checkpoint(run, config, S, A, norm, net, ema, adam, rng, st);
            last_checkpoint = step;
        }
    }
    return last_loss;
}

}  // namespace dydiff
