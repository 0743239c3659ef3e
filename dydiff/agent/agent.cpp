// The agent training loop, plain and with DyDiff (see agent.hpp; docs/algorithm.md §4.6).
#include "dydiff/agent/agent.hpp"

#include "autograd/error.hpp"
#include "autograd/tensor.hpp"
#include "data/data_identity.hpp"
#include "data/transitions.hpp"
#include "dydiff/envs/env.hpp"
#include "dydiff/envs/maze2d.hpp"
#include "dydiff/envs/termination.hpp"
#include "dydiff/eval/eval_log.hpp"
#include "dydiff/eval/policy_eval.hpp"
#include "dydiff/learners/common.hpp"
#include "dydiff/learners/registry.hpp"
#include "dydiff/run/config.hpp"
#include "dydiff/run/run_dir.hpp"
#include "nn/checkpoint.hpp"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <sstream>

namespace dydiff::agent {

void DyDiffConfig::fields(ConfigFields& f) {
    f.add("enabled", &enabled, "train with DyDiff's synthetic rollouts (false: the plain offline-RL loop)");
    f.add("diffusion", &diffusion, "train-diffusion run directory or checkpoint file (required when enabled)");
    f.add("dynamics", &dynamics, "train-dynamics run directory or model file (required when enabled)");
    f.add("reward", &reward, "train-reward run directory or model file (required when enabled)");
    f.add("epoch_steps", &epoch_steps, "G: gradient steps per epoch (official code: 500 TD3+BC/CQL, 250 Diffusion-QL)")
        .at_least(1)
        .fixed_on_resume();
    f.add("rollout_every", &rollout_every, "generate rollouts every this many epochs (official code: 1)")
        .at_least(1)
        .fixed_on_resume();
    f.add("real_ratio", &real_ratio, "share of real rows in each batch (official code: 0.6)")
        .in_range(0.0, 1.0)
        .fixed_on_resume();
    f.add("capacity", &capacity, "synthetic FIFO capacity in transitions (official code: 2e6)")
        .at_least(1)
        .fixed_on_resume();
    f.table("generator", "the rollout generator (docs/algorithm.md §4.2-§4.5)", generator);
    f.table_with("sampler", "Algorithm 3's settings at RL time (docs/algorithm.md §6.2)",
                 [this](ConfigFields& g) { sampler.sampler_fields(g); });
    // The full keys ("dydiff.diffusion") are taken now: the check runs after the listing, outside the table.
    const std::vector<std::pair<std::string, const std::string*>> models{
        {f.key("diffusion"), &diffusion}, {f.key("dynamics"), &dynamics}, {f.key("reward"), &reward}};
    f.check([this, models] {
        if (!enabled) return;
        for (const auto& [key, value] : models)
            DYDIFF_USER_CHECK(!value->empty(), key << " is empty: DyDiff needs the three trained models "
                                                      "(--diffusion RUN --dynamics RUN --reward RUN)");
    });
}

const std::vector<std::string>& AgentConfig::presets() {
    static const std::vector<std::string> names{"official", "cpu"};
    return names;
}

void AgentConfig::apply_preset(const std::string& name) {
    if (name == "official") return;
    DYDIFF_CHECK(name == "cpu", "unknown train-agent preset '" << name << "'");
    dydiff.generator.starts = 256;
    dydiff.rollout_every = 2;
    dydiff.sampler.num_steps = 18;
}

void AgentConfig::fields(ConfigFields& f) {
    f.add("algo", &algo, "the offline-RL learner").one_of(learners::learner_names()).fixed_on_resume();
    f.add("env", &env, "evaluation env; empty = the env the dataset records (dataset generate writes it)")
        .fixed_on_resume();
    f.add("steps", &steps, "gradient steps in total").at_least(1).grows_on_resume();
    f.add("eval_every", &eval_every, "evaluate and checkpoint every this many gradient steps, and at the end")
        .at_least(1)
        .fixed_on_resume();
    f.add("eval_episodes", &eval_episodes, "episodes per evaluation (deterministic policy, docs/algorithm.md §8)")
        .at_least(1);
    f.add("log_every", &log_every, "one metrics.csv row per this many steps (the mean of the learner's stats)")
        .at_least(1)
        .fixed_on_resume();
    f.add("seed", &seed, "the learner's initialisation and draws, batches, rollouts and evaluation episodes")
        .fixed_on_resume();
    // Every learner's table, so that one file (or --set) can switch algo; only [<algo>] is used.
    for (const std::string& name : learners::learner_names())
        f.table_with(name, "the " + name + " learner's settings (used when algo = \"" + name + "\")",
                     [this, name](ConfigFields& g) { learners::learner_fields(name, learners, g); });
    f.table("dydiff", "DyDiff's synthetic rollouts (docs/algorithm.md §4.6, §6.3)", dydiff);
}

DyDiffModels DyDiffModels::load(const DyDiffConfig& config, const data::DataIdentity& dataset, const std::string& env) {
    DyDiffModels m{DiffusionModel::load(config.diffusion), TrainedDynamics::load(config.dynamics),
                   TrainedReward::load(config.reward)};
    data::require_same_data({{dataset.path, dataset},
                             m.diffusion.trained_on(),
                             m.dynamics.trained_on(),
                             m.reward.trained_on()});
    data::require_env(m.diffusion.trained_on(), env);
    DYDIFF_CHECK(!m.dynamics.model->elites().empty(),
                 m.dynamics.file << ": key 'fit/elite_indices' is empty (an untrained ensemble); train it with dydiff "
                                    "train-dynamics");
    m.diffusion.make_inference_only();  // the EMA weights, held once: the loop only samples the model
    return m;
}

namespace {

std::size_t batch_size(const AgentConfig& c) { return learners::learner_batch(c.algo, c.learners); }

}  // namespace

AgentLoop::AgentLoop(const AgentConfig& config, const data::Dataset& dataset, const std::string& env,
                     const DyDiffModels* models)
    : config_(config),
      env_(env),
      real_(data::ReplayBuffer::from_transitions(data::make_transitions(dataset))),
      batch_rng_(data::Rng(config.seed).fork(1)),
      batch_(batch_size(config)) {
    const auto probe = envs::make_env(env);
    const envs::Box box = probe->action_space();
    DYDIFF_CHECK(probe->obs_dim() == dataset.obs_dim() && probe->action_dim() == dataset.action_dim(),
                 "env " << env << " has obs/action dims " << probe->obs_dim() << "/" << probe->action_dim()
                        << ", the dataset " << dataset.source << " " << dataset.obs_dim() << "/"
                        << dataset.action_dim());
    const data::Transitions all = real_.storage_rows();
    learner_ = learners::make_learner(config.algo, config.learners,
                                      learners::make_spec(all.observations, box.low, box.high, config.seed));
    if (!config.dydiff.enabled) return;
    DYDIFF_CHECK(models != nullptr, "AgentLoop: DyDiff is enabled but no models were given");
    models_ = models;
    synthetic_ = std::make_unique<data::ReplayBuffer>(config.dydiff.capacity, dataset.obs_dim(), dataset.action_dim());
    scale_ = std::make_unique<ModelScale>(models->diffusion.normalizer, dataset.obs_dim());
    denoiser_ = std::make_unique<Denoiser>(*models->diffusion.net, models->diffusion.edm_config(config.dydiff.sampler));
    start_pool_ = all.observations;
    if (config.dydiff.generator.actions == "behaviour")
        behaviour_ = std::make_unique<BehaviourData>(BehaviourData::from_dataset(dataset));
    if (eval::has_maze_layout(env)) maze_env_ = envs::make_env(env);
}

AgentLoop::~AgentLoop() = default;

std::int64_t AgentLoop::steps() const { return learner_->steps(); }
std::size_t AgentLoop::synthetic_size() const { return synthetic_ ? synthetic_->size() : 0; }

learners::Array2 AgentLoop::act(const learners::Array2& obs) { return learner_->act(obs, true); }

std::optional<GenerationRecord> AgentLoop::step(learners::Stats& stats) {
    const std::int64_t t = learner_->steps();
    std::optional<GenerationRecord> record;
    const DyDiffConfig& dd = config_.dydiff;
    if (models_ && t % dd.epoch_steps == 0 && (t / dd.epoch_steps) % dd.rollout_every == 0) {
        // Every stream of a generation derives from (seed, epoch): a resumed run regenerates nothing and draws the
        // same numbers as an uninterrupted one.
        const auto epoch = static_cast<std::uint64_t>(t / dd.epoch_steps);
        const data::Rng root = data::Rng(config_.seed).fork(2).fork(epoch);
        data::Rng elite_rng = root.fork(0);
        GeneratorModels g;
        g.policy = [this](const Array2& s, std::size_t) { return learner_->act(s, true); };
        g.step = ensemble_step_fn(*models_->dynamics.model, models_->dynamics.obs_normalizer, elite_rng);
        g.sample = diffusion_sampler(sampler_denoise_fn(*denoiser_), models_->diffusion.edm_config(dd.sampler));
        g.scale = scale_.get();
        g.horizon = models_->diffusion.horizon;
        const TrainedReward& rm = models_->reward;
        g.reward = [&rm](const Array2& obs, const Array2& act) {
            const autograd::Array r = rm.model->predict(rm.obs_normalizer.apply(obs), act);
            xt::xtensor<float, 1> out = xt::empty<float>({obs.shape()[0]});
            std::copy(r.begin(), r.end(), out.begin());
            return out;
        };
        g.terminated = envs::termination_fn(env_);
        const Generation gen = behaviour_ ? generate_behaviour_rollouts(*behaviour_, g, dd.generator, root.fork(1))
                                          : generate_rollouts(start_pool_, g, dd.generator, root.fork(1));
        synthetic_->add_batch(gen.transitions);
        record = GenerationRecord{t, gen.stats, synthetic_->size()};
        if (maze_env_) imagined_ = imagined_sample(gen, t);
    }
    const data::Transitions batch =
        models_ ? data::sample_mixed(real_, *synthetic_, batch_, batch_rng_,
                                     {dd.real_ratio, static_cast<std::size_t>(std::floor(
                                                         static_cast<double>(batch_) * (1.0 - dd.real_ratio)))})
                : real_.sample(batch_rng_, batch_);
    stats = learner_->update(batch);
    return record;
}

std::optional<ImaginedSample> AgentLoop::imagined_sample(const Generation& gen, std::int64_t step) {
    const envs::Maze& maze = dynamic_cast<const envs::Maze2dEnv&>(*maze_env_).maze();
    std::vector<std::size_t> rows;  // kept trajectories drawn: a start clear of the walls (the physics' precondition)
    for (std::size_t b = 0; b < gen.kept_lengths.size() && rows.size() < kImaginedPairs; ++b)
        if (gen.kept_lengths[b] >= 2 && envs::wall_clearance(maze, gen.kept_starts(b, 0), gen.kept_starts(b, 1)) >= 0.0)
            rows.push_back(b);
    if (rows.empty()) return std::nullopt;
    const std::size_t K = rows.size(), S = gen.kept_starts.shape()[1], A = gen.kept.actions.shape()[2];
    std::size_t steps = 0;
    xt::xtensor<float, 2> starts = xt::empty<float>({K, S});
    for (std::size_t k = 0; k < K; ++k) {
        std::copy_n(&gen.kept_starts(rows[k], 0), S, &starts(k, 0));
        steps = std::max(steps, gen.kept_lengths[rows[k]]);
    }
    const bool behaviour = static_cast<bool>(behaviour_);
    const eval::StepPolicy act = [&](const eval::Obs& obs, std::size_t t) {
        if (!behaviour) return learner_->act(obs, true);
        eval::Actions a = xt::zeros<float>({K, A});  // past a truncated trajectory's end: never drawn
        for (std::size_t k = 0; k < K; ++k)
            if (t < gen.kept_lengths[rows[k]]) std::copy_n(&gen.kept.actions(rows[k], t, 0), A, &a(k, 0));
        return a;
    };
    const xt::xtensor<float, 3> truth = eval::maze_true_paths(maze, starts, steps, act);  // (K, steps, S)
    ImaginedSample sample{step, behaviour ? "behaviour" : "policy", {}};
    for (std::size_t k = 0; k < K; ++k) {
        const std::size_t n = gen.kept_lengths[rows[k]];
        eval::PathPair pair{xt::empty<float>({n, S}), xt::empty<float>({n, S})};
        std::copy_n(&gen.kept.states(rows[k], 0, 0), n * S, pair.imagined.data());
        std::copy_n(&truth(k, 0, 0), n * S, pair.truth.data());
        sample.pairs.push_back(std::move(pair));
    }
    return sample;
}

void AgentLoop::save(const std::string& path) const {
    nn::Checkpoint ckpt;
    learner_->save(ckpt);
    ckpt.put_bytes("agent/batch_rng", batch_rng_.state());
    if (synthetic_) {
        const data::Transitions rows = synthetic_->storage_rows();
        ckpt.put("agent/synthetic/observations", autograd::Array(rows.observations));
        ckpt.put("agent/synthetic/actions", autograd::Array(rows.actions));
        ckpt.put("agent/synthetic/rewards", autograd::Array(rows.rewards));
        ckpt.put("agent/synthetic/next_observations", autograd::Array(rows.next_observations));
        ckpt.put("agent/synthetic/dones", autograd::Array(rows.dones));
        ckpt.put_int64("agent/synthetic/head", static_cast<std::int64_t>(synthetic_->head()));
    }
    ckpt.require_finite("train-agent: checkpoint at step " + std::to_string(steps()));
    ckpt.save(path);
}

void AgentLoop::load(const std::string& path) {
    const nn::Checkpoint ckpt = nn::Checkpoint::load(path);
    learner_->load(ckpt);
    batch_rng_.set_state(ckpt.get_bytes("agent/batch_rng"));
    if (!synthetic_) return;
    const auto rows2 = [&](const std::string& key) {
        const autograd::Array a = ckpt.get(key);
        DYDIFF_CHECK(a.dimension() == 2, path << ": key '" << key << "' has rank " << a.dimension() << ", expected 2");
        xt::xtensor<float, 2> out = xt::empty<float>({a.shape()[0], a.shape()[1]});
        std::copy(a.begin(), a.end(), out.begin());
        return out;
    };
    const auto rows1 = [&](const std::string& key) {
        const autograd::Array a = ckpt.get(key);
        xt::xtensor<float, 1> out = xt::empty<float>({a.size()});
        std::copy(a.begin(), a.end(), out.begin());
        return out;
    };
    data::Transitions rows{rows2("agent/synthetic/observations"), rows2("agent/synthetic/actions"),
                           rows1("agent/synthetic/rewards"), rows2("agent/synthetic/next_observations"),
                           rows1("agent/synthetic/dones")};
    synthetic_->restore(rows, static_cast<std::size_t>(ckpt.get_int64("agent/synthetic/head")));
}

namespace {

std::string fmt(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4g", v);
    return buf;
}

// imagined.svg from the loop's latest sample, when there is one (maze2d with DyDiff).
void write_imagined(const AgentLoop& loop, const std::string& env, const RunDir& run) {
    const ImaginedSample* sample = loop.imagined();
    if (!sample) return;
    eval::write_imagined_vs_true_svg(run.file(kImaginedFile), env, sample->pairs,
                                     env + ": " + std::to_string(sample->pairs.size()) + " kept " + sample->actions +
                                         " rollouts of the generation at step " + std::to_string(sample->step) +
                                         " vs the true env");
}

}  // namespace

void train_agent(AgentLoop& loop, const AgentConfig& config, const std::string& env, RunDir& run,
                 std::int64_t resume_step) {
    // metrics.csv: step, seconds, the learner's stats (means over the last log_every steps), and with DyDiff the
    // latest generation's statistics, the share of wall time spent generating so far, and the share of the wall time
    // since the latest generation started spent in it (at a row that closes an epoch: that epoch's share).
    learners::Stats probe_names;
    std::vector<std::string> columns{"step", "seconds"};
    const bool dydiff = config.dydiff.enabled;
    std::vector<std::string> learner_columns;
    std::vector<double> sums;
    std::int64_t in_sum = 0;
    double seconds_before = 0.0, generation_seconds = 0.0;  // seconds continues across --resume (metrics.csv)
    double generation_started = 0.0;                        // elapsed() when the latest generation began
    std::optional<GenerationRecord> last_generation;
    eval::EvalLog eval_log(run.file("eval.csv"), resume_step);
    Progress progress("train-agent " + config.algo + (dydiff ? " + DyDiff" : ""), config.steps, &run);
    progress.resume_from(loop.steps());
    const auto t0 = std::chrono::steady_clock::now();
    const auto elapsed = [&] {
        return seconds_before + std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    };
    std::string last_eval = "not evaluated yet";
    bool metrics_open = false;

    // The one way this loop stops on a NaN or Inf (a learner's loss or gradient, a generated return, a value about to
    // be saved): the message says where the run can go back to.
    std::int64_t last_checkpoint = resume_step > 0 ? resume_step : 0;
    const auto guarded = [&](auto&& f) {
        try {
            return f();
        } catch (const NonFiniteError& e) {
            nn::stop_non_finite(e, nn::last_good_checkpoint(run.file("checkpoint.npz"), last_checkpoint,
                                                            std::min(config.eval_every, config.steps)));
        }
    };
    while (loop.steps() < config.steps) {
        learners::Stats stats;
        const std::optional<GenerationRecord> gen = guarded([&] { return loop.step(stats); });
        if (gen) {
            const bool first = !last_generation;
            last_generation = gen;
            generation_seconds += gen->stats.seconds;
            generation_started = elapsed() - gen->stats.seconds;
            const GenerationStats& g = gen->stats;
            progress.note("generated " + std::to_string(g.trajectories) + " trajectories in " + fmt(g.seconds) +
                          " s (" + fmt(static_cast<double>(g.trajectories) / std::max(1e-9, g.seconds)) +
                          " traj/s), kept " + std::to_string(g.kept) + " (" +
                          fmt(100.0 * static_cast<double>(g.kept) / static_cast<double>(g.trajectories)) +
                          "%), predicted return " + fmt(g.return_mean) + " ± " + fmt(g.return_std) + " (kept " +
                          fmt(g.kept_return_mean) + "), " + std::to_string(g.transitions) +
                          " transitions, synthetic buffer " + std::to_string(gen->synthetic_size));
            if (first) write_imagined(loop, env, run);
        }
        if (!metrics_open) {
            for (const auto& [name, value] : stats) learner_columns.push_back(name);
            columns.insert(columns.end(), learner_columns.begin(), learner_columns.end());
            if (dydiff)
                for (const char* c : {"synthetic_size", "kept_fraction", "predicted_return_mean",
                                      "predicted_return_std", "generation_seconds", "generation_share",
                                      "epoch_generation_share"})
                    columns.push_back(c);
            const std::vector<double> last = run.open_metrics(columns, resume_step);
            if (last.size() > 1) seconds_before = last[1];
            sums.assign(learner_columns.size(), 0.0);
            metrics_open = true;
        }
        for (std::size_t i = 0; i < stats.size(); ++i) sums[i] += stats[i].second;
        ++in_sum;
        const std::int64_t step = loop.steps();
        if (step % config.log_every == 0 || step == config.steps) {
            std::vector<double> row{static_cast<double>(step), elapsed()};
            for (double s : sums) row.push_back(s / static_cast<double>(in_sum));
            if (dydiff) {
                const GenerationStats g = last_generation ? last_generation->stats : GenerationStats{};
                row.push_back(static_cast<double>(loop.synthetic_size()));
                row.push_back(g.trajectories ? static_cast<double>(g.kept) / static_cast<double>(g.trajectories) : 0.0);
                row.push_back(g.return_mean);
                row.push_back(g.return_std);
                row.push_back(g.seconds);
                row.push_back(generation_seconds / std::max(1e-9, elapsed() - seconds_before));
                row.push_back(last_generation ? g.seconds / std::max(1e-9, elapsed() - generation_started) : 0.0);
            }
            run.append_metrics(row);
            std::string status = learner_columns.empty() ? "" : learner_columns[0] + " " + fmt(row[2]);
            progress.update(step, status + ", " + last_eval);
            sums.assign(sums.size(), 0.0);
            in_sum = 0;
        }
        if (step % config.eval_every == 0 || step == config.steps) {
            eval::PolicyEvalOptions options;
            options.episodes = config.eval_episodes;
            options.seed = data::Rng(config.seed).fork(3).next_u64();
            const eval::PolicyEvalResult result =
                eval::evaluate_policy(env, [&](const eval::Obs& o) { return loop.act(o); }, options);
            const eval::EvalRow& r = eval_log.add(step, result);
            last_eval = "score " + fmt(r.score_mean) + " ± " + fmt(r.score_std) + " (best " + fmt(r.best_score_mean) +
                        ")";
            eval::write_learning_curve_svg(run.file("learning_curve.svg"), eval_log.rows(),
                                           config.algo + (dydiff ? " + DyDiff" : "") + " on " + env);
            guarded([&] { loop.save(run.file("checkpoint.npz")); });
            last_checkpoint = step;
            write_imagined(loop, env, run);
            progress.update(step, last_eval);
        }
    }
    progress.finish(last_eval);
}

}  // namespace dydiff::agent
