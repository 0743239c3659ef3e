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

constexpr const char* kCheckpoint = "checkpoint.npz";

nn::AdamConfig with_lr(nn::AdamConfig adam, float lr) {
    adam.lr = lr;
    return adam;
}

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

// The hyperparameters as TOML, saved in the checkpoint so that DiffusionModel::load rebuilds the same network.
std::string config_text(const DiffusionTrainConfig& config) {
    DiffusionTrainConfig copy = config;
    ConfigFields f;
    copy.fields(f);
    return f.to_toml();
}

DiffusionTrainConfig config_from_text(const std::string& text, const std::string& source) {
    DiffusionTrainConfig config;
    ConfigFields f;
    config.fields(f);
    f.apply(toml::parse(text, source));
    f.validate();
    return config;
}

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
    c.put_bytes("meta/config", to_bytes(config_text(config)));
    c.put("meta/loss_sum", data::NpyArray::from_data<double>({}, &st.loss_sum));
    c.put_int64("meta/loss_count", st.loss_count);
    c.put_bytes("rng/state", rng.state());
    c.save(run.file(kCheckpoint));
}

}  // namespace

DiffusionModel DiffusionModel::load(const std::string& path) {
    const nn::Checkpoint c = nn::Checkpoint::load(path);
    DiffusionModel m;
    m.config = config_from_text(from_bytes(c.get_bytes("meta/config")), path + " (meta/config)");
    m.obs_dim = static_cast<std::size_t>(c.get_int64("meta/obs_dim"));
    m.action_dim = static_cast<std::size_t>(c.get_int64("meta/action_dim"));
    m.normalizer = data::MinMaxNormalizer::load([&](const std::string& key) { return c.get(key); }, "normalizer");
    data::Rng unused(0);
    m.net = std::make_unique<TemporalUNet>(m.config.unet, m.obs_dim + m.action_dim, unused);
    c.load_module("model", *m.net);
    m.ema = std::make_unique<nn::Ema>(m.net->named_parameters());
    m.ema->load(section(c, "ema/", m.net->named_parameters()));
    return m;
}

const std::vector<std::string>& diffusion_metrics_columns() {
    static const std::vector<std::string> columns{"step", "loss", "lr", "ema_beta", "seconds"};
    return columns;
}

struct DiffusionTrainer::State {
    State(const data::Dataset& dataset, const DiffusionTrainConfig& c)
        : config(c),
          S(dataset.obs_dim()),
          A(dataset.action_dim()),
          source(dataset.source),
          // Data: min-max statistics over every row of [s, a] (§2), windows over episodes cut at terminals | timeouts.
          norm(data::MinMaxNormalizer::fit(data::state_action_rows(dataset))),
          windows(dataset, c.horizon, norm),
          rng(static_cast<std::uint64_t>(c.seed)),
          init_rng(rng.fork(1)),
          net(c.unet, S + A, init_rng),
          denoiser(net, c.edm),
          adam(net.named_parameters(), with_lr(c.adam, c.lr)),
          ema(net.named_parameters()) {}

    DiffusionTrainConfig config;
    std::size_t S, A;
    std::string source;
    data::MinMaxNormalizer norm;
    data::WindowDataset windows;
    data::Rng rng;
    data::Rng init_rng;
    TemporalUNet net;
    Denoiser denoiser;
    nn::Adam adam;
    nn::Ema ema;
    TrainState st;
    bool resumed = false;
};

DiffusionTrainer::DiffusionTrainer(const data::Dataset& dataset, const DiffusionTrainConfig& config,
                                   const std::string& resume_checkpoint) {
    config.unet.validate();
    config.unet.check_horizon(config.horizon);
    DYDIFF_USER_CHECK(config.batch > 0 && config.steps > 0 && config.log_every > 0 && config.checkpoint_every > 0,
                      "train-diffusion: batch, steps, log_every and checkpoint_every must be positive");
    state_ = std::make_unique<State>(dataset, config);
    State& s = *state_;
    if (resume_checkpoint.empty()) return;
    const nn::Checkpoint c = nn::Checkpoint::load(resume_checkpoint);
    DYDIFF_USER_CHECK(c.get_int64("meta/obs_dim") == static_cast<std::int64_t>(s.S) &&
                          c.get_int64("meta/action_dim") == static_cast<std::int64_t>(s.A),
                      c.source() << ": trained on obs/action dims " << c.get_int64("meta/obs_dim") << "/"
                                 << c.get_int64("meta/action_dim") << ", but " << dataset.source << " has " << s.S
                                 << "/" << s.A);
    c.load_module("model", s.net);
    s.ema.load(section(c, "ema/", s.net.named_parameters()));
    s.adam.load_state(section(c, "adam/", s.adam.state()), static_cast<std::size_t>(c.get_int64("meta/adam_steps")));
    s.rng.set_state(c.get_bytes("rng/state"));
    s.st.step = c.get_int64("meta/step");
    s.st.loss_sum = c.array("meta/loss_sum").to_vector<double>().at(0);  // float64: get() would round it
    s.st.loss_count = c.get_int64("meta/loss_count");
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
    for (std::int64_t step = s.st.step + 1; step <= config.steps; ++step) {
        const double seen = static_cast<double>(step - 1) * static_cast<double>(config.batch);
        const double lr = diffusion_learning_rate(config, seen);
        s.adam.set_lr(static_cast<float>(lr));
        const autograd::Array y = s.windows.gather(s.windows.sample_indices(s.rng, config.batch));  // (B, L, D)
        autograd::Tensor loss = edm_loss(s.denoiser, y, s.S, s.rng);
        const float value = loss.item();
        if (!std::isfinite(value)) {
            std::ostringstream where;
            if (last_checkpoint > 0)
                where << "the last good checkpoint is " << run.file(kCheckpoint) << " (step " << last_checkpoint << ")";
            else
                where << "no checkpoint exists yet (the first is due at step "
                      << std::min(config.checkpoint_every, config.steps) << ")";
            DYDIFF_USER_FAIL("train-diffusion: the loss is " << value << " at step " << step << "; stopping. "
                                                             << where.str()
                                                             << "; hint: lower lr, or check the dataset for extreme "
                                                                "values");
        }
        s.adam.zero_grad();
        loss.backward();
        nn::check_finite_grads(s.net.named_parameters());
        s.adam.step();
        const double beta = diffusion_ema_beta(config, static_cast<double>(step) * static_cast<double>(config.batch));
        s.ema.update(static_cast<float>(beta));

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
            save_checkpoint(run, config, s.S, s.A, s.norm, s.net, s.ema, s.adam, s.rng, s.st);
            last_checkpoint = step;
        }
    }
    return last_loss;
}

double train_diffusion(const data::Dataset& dataset, const DiffusionTrainConfig& config, RunDir& run, bool resume,
                       Progress& progress) {
    DiffusionTrainer trainer(dataset, config, resume ? run.file(kCheckpoint) : std::string());
    return trainer.run(run, progress);
}

}  // namespace dydiff
