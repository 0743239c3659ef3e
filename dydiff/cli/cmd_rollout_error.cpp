// `dydiff rollout-error`: the error-vs-horizon experiment (docs/algorithm.md §4.2; docs/results.md), a Job on the
// shared path of run_command.hpp. A policy other than the behaviour policy is rolled from N env-reset start states
// for H = the diffusion model's horizon steps through the true env, the one-step ensemble, one diffusion pass, and
// DyDiff's refinements (Algorithm 2, M = 1..3); the per-step mean L2 state error against the truth goes to CSV and
// SVG. The models come from their own load() (run directory or file) and must share their data and env
// (data::require_same_data, data::require_env) before anything is written.
#include "dydiff/cli/run_command.hpp"

#include "data/data_identity.hpp"
#include "dydiff/diffusion/diffusion_model.hpp"
#include "dydiff/eval/rollout_error.hpp"
#include "dydiff/eval/svg_plot.hpp"
#include "dydiff/models/dynamics_ensemble.hpp"

#include <chrono>
#include <cstdio>
#include <iostream>
#include <optional>
#include <sstream>

namespace dydiff::cli {
namespace {

const FileDoc kRolloutConfigDoc{"config.toml",
                                "the resolved config, every key, then a [run] table of provenance "
                                "(command line, dydiff version, SIMD, threads, start time)"};

std::string fmt(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.4g", v);
    return buf;
}

LinePlot error_plot(const RolloutErrorResult& r, const std::vector<std::vector<double>>& error,
                    const std::string& title, const std::string& y_label) {
    LinePlot plot;
    plot.title = title;
    plot.x_label = "rollout step t";
    plot.y_label = y_label;
    for (std::size_t m = 0; m < r.methods.size(); ++m) {
        LineSeries s;
        s.name = r.methods[m];
        for (std::size_t t = 0; t < error[m].size(); ++t) {
            s.x.push_back(static_cast<double>(t));
            s.y.push_back(error[m][t]);
        }
        plot.series.push_back(std::move(s));
    }
    return plot;
}

class RolloutErrorJob : public Job {
public:
    void fields(ConfigFields& f) override { config_.fields(f); }

    std::size_t read_flags(Args& args, bool) override {
        const auto env = args.value("env"), diffusion = args.value("diffusion"), dynamics = args.value("dynamics");
        if (!env || !diffusion || !dynamics) args.fail("--env, --diffusion and --dynamics are required");
        env_name_ = *env;
        diffusion_run_ = *diffusion;
        dynamics_run_ = *dynamics;
        return 0;
    }

    void prepare(const JobContext&, RunInfo&) override {
        env_ = envs::make_env(env_name_);
        const std::size_t S = env_->obs_dim(), A = env_->action_dim();
        kind_ = config_.policy != "auto" ? config_.policy : env_name_.rfind("maze2d", 0) == 0 ? "random" : "medium";
        policy_ = envs::make_policy(*env_, kind_);

        // The two models, from the same data, and that data from this env (by name when the dataset recorded it).
        model_.emplace(DiffusionModel::load(diffusion_run_));
        dynamics_.emplace(TrainedDynamics::load(dynamics_run_));
        data::require_same_data({model_->trained_on(), dynamics_->trained_on()});
        env_recorded_ = data::require_env(model_->trained_on(), env_name_);
        DYDIFF_USER_CHECK(model_->obs_dim() == S && model_->action_dim() == A,
                          model_->file << " models obs/action dims " << model_->obs_dim() << "/"
                                       << model_->action_dim() << ", but " << env_name_ << " has " << S << "/" << A);
        DYDIFF_USER_CHECK(!dynamics_->model->elites().empty(),
                          dynamics_->file << ": key 'fit/elite_indices' is empty (an untrained ensemble); train it "
                                             "with dydiff train-dynamics");
        model_->make_inference_only();  // the EMA weights (§3), held once: the model is only sampled
        config_.sampler = model_->edm_config(config_.sampler);   // the trained sigma_data
    }

    void run(RunDir& run) override {
        const auto t_start = std::chrono::steady_clock::now();
        const std::size_t S = env_->obs_dim(), H = model_->horizon;
        const DynamicsEnsemble& ensemble = *dynamics_->model;
        const data::ZScoreNormalizer& obs_norm = dynamics_->obs_normalizer;
        std::printf("rollout-error: %s, policy %s (action noise %g), %zu starts, horizon %zu, M = %zu, seed %llu\n",
                    env_name_.c_str(), kind_.c_str(), config_.action_noise, config_.starts, H, config_.refinements,
                    static_cast<unsigned long long>(config_.seed));
        std::printf("  diffusion %s (U-Net %s), dynamics %s (%zu members, %zu elites)\n", model_->file.c_str(),
                    model_->unet.describe().c_str(), dynamics_->file.c_str(), ensemble.config().members,
                    ensemble.elites().size());
        std::printf("  data: %s\n", model_->data.describe().c_str());
        if (!env_recorded_)
            std::printf("  note: the dataset records no env (env %s), so only the obs/action dims were checked "
                        "against --env %s\n",
                        data::kUnknownEnv, env_name_.c_str());
        std::printf("  sampler: %s\n", config_.sampler.describe().c_str());
        std::fflush(stdout);

        Progress progress("rollout-error sampler steps",
                          static_cast<std::int64_t>(config_.refinements * config_.sampler.num_steps), &run);
        std::int64_t sampler_steps = 0;
        const Denoiser denoiser(*model_->net, config_.sampler);
        const ConditionalSampler sample =
            diffusion_sampler(sampler_denoise_fn(denoiser), config_.sampler,
                              [&](std::size_t, const SamplerState&) { progress.update(++sampler_steps, "sampling"); });
        data::Rng elite_rng = data::Rng(config_.seed).fork(3);
        const RawPolicyFn pi =
            policy_fn(*policy_, env_->action_space(), config_.seed ^ 0x9E3779B97F4A7C15ull, config_.action_noise);
        const ModelScale scale(model_->normalizer, S);
        std::vector<float> obs_std(obs_norm.std().begin(), obs_norm.std().end());
        const RolloutErrorResult result =
            rollout_error([&] { return envs::make_env(env_name_); }, scale, H, pi,
                          ensemble_step_fn(ensemble, obs_norm, elite_rng), sample, obs_std, config_);
        const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
        progress.finish(fmt(seconds) + " s");

        run.write_text("rollout_error.csv", rollout_error_csv(result.methods, result.error));
        run.write_text("rollout_error_z.csv", rollout_error_csv(result.methods, result.error_z));
        const std::string what = env_name_ + ", policy " + kind_ + ", " + std::to_string(config_.starts) + " starts";
        write_svg(run.file("rollout_error.svg"),
                  error_plot(result, result.error, "State error vs horizon: " + what, "mean L2 error (raw units)"));
        write_svg(run.file("rollout_error_z.svg"),
                  error_plot(result, result.error_z, "State error vs horizon (per-dim / obs std): " + what,
                             "mean L2 error (obs-std units)"));

        std::ostringstream summary;
        summary << "env " << env_name_ << "\npolicy " << kind_ << "\naction_noise " << config_.action_noise
                << "\nstarts " << config_.starts << "\nhorizon " << H << "\nrefinements " << config_.refinements
                << "\nseed " << config_.seed << "\ndiffusion " << model_->file << "\ndynamics " << dynamics_->file
                << "\ndata " << model_->data.describe()
                << "\nsampler " << config_.sampler.describe() << "\nwall_seconds " << fmt(seconds) << "\n\n";
        std::vector<std::size_t> shown;
        for (std::size_t t : {std::size_t{1}, std::size_t{4}, std::size_t{8}, std::size_t{16}, H / 2, H - 1})
            if (t < H && std::find(shown.begin(), shown.end(), t) == shown.end()) shown.push_back(t);
        std::sort(shown.begin(), shown.end());
        for (const auto* table : {&result.error, &result.error_z}) {
            summary << (table == &result.error ? "mean L2 state error (raw)" : "mean L2 state error (obs-std units)")
                    << "\n"
                    << "step";
            for (const auto& m : result.methods) summary << "\t" << m;
            summary << "\n";
            for (std::size_t t : shown) {
                summary << t;
                for (const auto& col : *table) summary << "\t" << fmt(col[t]);
                summary << "\n";
            }
            summary << "\n";
        }
        run.write_text("summary.txt", summary.str());
        std::cout << summary.str() << "wrote " << run.path() << "/rollout_error{,_z}.{csv,svg}, summary.txt\n";
    }

private:
    RolloutErrorConfig config_;
    std::string env_name_, diffusion_run_, dynamics_run_, kind_;
    bool env_recorded_ = false;  // the dataset named its env (then require_env compared it with --env)
    std::unique_ptr<envs::Env> env_;
    std::unique_ptr<envs::Policy> policy_;
    std::optional<DiffusionModel> model_;
    std::optional<TrainedDynamics> dynamics_;
};

const JobCommand& rollout_error_command() {
    static const JobCommand command = [] {
        JobCommand c;
        c.doc.name = "rollout-error";
        c.doc.synopsis = "--env NAME --diffusion RUN_D --dynamics RUN_E [options]";
        c.doc.summary =
            "Rolls a policy for H = the diffusion model's horizon steps from N env-reset start states through\n"
            "the true env (truth), the one-step ensemble (the policy on its own predicted states), one diffusion\n"
            "pass conditioned on s0 and the ensemble rollout's actions, and M DyDiff refinements (Algorithm 2:\n"
            "average with the previous states, relabel every action with the policy, fresh latent); reports the\n"
            "per-step state error of each against the truth. Both models must come from the same dataset (same\n"
            "SHA-256), and that dataset from --env when it records its env; a mixture is refused before anything is\n"
            "written.";
        c.doc.flags = {{"--env NAME", "maze2d-{umaze,medium,large}[-dense] or pendulum"},
                       {"--diffusion RUN_D", "a train-diffusion run directory or its checkpoint.npz (EMA weights)"},
                       {"--dynamics RUN_E", "a train-dynamics run directory or its model.npz (ensemble, normaliser)"},
                       {"--starts N", "the same as --set starts=N"},
                       {"--refinements M", "the same as --set refinements=M"},
                       {"--policy KIND", "the same as --set policy=KIND"},
                       {"--action-noise X", "the same as --set action_noise=X"}};
        c.doc.outputs = {kRolloutConfigDoc,
                         {"rollout_error.csv",
                          "step, then one column per method (ensemble, diffusion, dydiff_m1 .. dydiff_mM): "
                          "the mean over starts of the L2 norm of the raw state error at that step"},
                         {"rollout_error_z.csv", "the same with each state dim divided by the dataset's obs std first"},
                         {"rollout_error.svg, rollout_error_z.svg", "the two tables as line plots"},
                         {"summary.txt", "the settings and both tables at a few steps"},
                         {"log.txt", "progress lines, notes and errors"}};
        c.resumable = false;
        c.default_out = "rollout_error";
        c.shorthands = {{"starts", "starts"},
                        {"refinements", "refinements"},
                        {"policy", "policy"},
                        {"action-noise", "action_noise"}};
        c.make = [] { return std::make_unique<RolloutErrorJob>(); };
        return c;
    }();
    return command;
}

}  // namespace

int run_rollout_error(const Words& words) { return run_job_command(rollout_error_command(), words); }

std::vector<Page> rollout_error_pages() { return {{rollout_error_command().page(), &rollout_error_command()}}; }

}  // namespace dydiff::cli
