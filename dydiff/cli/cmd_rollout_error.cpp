// `dydiff rollout-error`: the error-vs-horizon experiment of issue #4 (docs/algorithm.md §4.2; docs/results.md).
// A policy other than the behaviour policy is rolled from N env-reset start states for H = the diffusion model's
// horizon steps through the true env, the one-step ensemble, one diffusion pass, and DyDiff's refinements
// (Algorithm 2, M = 1..3); the per-step mean L2 state error against the truth goes to CSV and SVG.
#include "dydiff/cli/args.hpp"
#include "dydiff/cli/commands.hpp"
#include "dydiff/diffusion/trainer.hpp"
#include "dydiff/models/dynamics_ensemble.hpp"
#include "dydiff/eval/rollout_error.hpp"
#include "dydiff/run/run_dir.hpp"
#include "dydiff/eval/svg_plot.hpp"
#include "data/atomic_file.hpp"
#include "nn/checkpoint.hpp"

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

namespace dydiff::cli {
namespace {

constexpr const char* kUsage =
    "usage: dydiff rollout-error --env NAME --diffusion RUN_D --dynamics RUN_E [--policy KIND] [--action-noise X]\n"
    "                            [--starts N] [--refinements M] [--seed S] [--out DIR] [--threads N]\n"
    "Rolls a policy for H = the diffusion model's horizon steps from N env-reset start states through the true env\n"
    "(truth), the one-step ensemble (policy on its own predicted states), one diffusion pass conditioned on s0 and\n"
    "the ensemble rollout's actions, and M DyDiff refinements (Algorithm 2: average with the previous states,\n"
    "relabel every action with the policy, fresh latent). Writes DIR/rollout_error.csv (mean L2 of the raw state\n"
    "error per step), DIR/rollout_error_z.csv (each dim divided by the dataset obs std first), an SVG of each, and\n"
    "DIR/summary.txt.\n"
    "  --env NAME          maze2d-{umaze,medium,large}[-dense] or pendulum\n"
    "  --diffusion RUN_D   a train-diffusion run: RUN_D/checkpoint.npz (EMA weights are used)\n"
    "  --dynamics RUN_E    a train-dynamics run: RUN_E/model.npz (ensemble + obs normaliser)\n"
    "  --policy KIND       a make_policy kind (maze2d: expert, random; pendulum: expert, medium, random);\n"
    "                      default: random for maze2d, medium for pendulum (both differ from the dataset's policy)\n"
    "  --action-noise X    Gaussian noise std added to the policy's actions, then clipped (default 0)\n"
    "  --starts N          start states (default 64)\n"
    "  --refinements M     DyDiff iterations reported (default 3, >= 1)\n"
    "  --seed S            starts, policy noise, elite picks, latents and sampler noise (default 0)\n"
    "  --out DIR           output directory (default rollout_error; created if absent)\n";

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

}  // namespace

int run_rollout_error(const Words& words) {
    Args args("rollout-error", words, {"help"});
    if (args.flag("help")) {
        std::cout << kUsage;
        return 0;
    }
    const auto env_name = args.value("env");
    const auto diffusion_run = args.value("diffusion");
    const auto dynamics_run = args.value("dynamics");
    const auto policy_kind = args.value("policy");
    const double action_noise = args.real("action-noise", 0.0, 0.0, 100.0);
    RolloutErrorConfig config;
    config.starts = static_cast<std::size_t>(args.integer("starts", 64, 1, 1000000));
    config.refinements = static_cast<std::size_t>(args.integer("refinements", 3, 1, 100));
    config.seed = static_cast<std::uint64_t>(args.integer("seed", 0, 0, INT64_MAX));
    const std::string out_dir = args.value_or("out", "rollout_error");
    apply_threads(args);
    args.finish(0);
    if (!env_name || !diffusion_run || !dynamics_run)
        throw UsageError("dydiff rollout-error: --env, --diffusion and --dynamics are required (--help)");
    const auto t_start = std::chrono::steady_clock::now();

    auto env = envs::make_env(*env_name);
    const std::size_t S = env->obs_dim(), A = env->action_dim();
    const std::string kind = policy_kind ? *policy_kind : (env_name->rfind("maze2d", 0) == 0 ? "random" : "medium");
    auto policy = envs::make_policy(*env, kind);

    // Diffusion model: EMA weights into the network (§3: sampling uses the EMA).
    const std::string diffusion_path = *diffusion_run + "/checkpoint.npz";
    DiffusionModel model = DiffusionModel::load(diffusion_path);
    DYDIFF_CHECK(model.obs_dim == S && model.action_dim == A,
                 diffusion_path << " models obs/action dims " << model.obs_dim << "/" << model.action_dim << ", but "
                                << *env_name << " has " << S << "/" << A);
    model.ema->copy_to(model.net->named_parameters());
    const std::size_t H = model.config.horizon;

    // Ensemble and its obs normaliser; the shape comes from the meta keys DynamicsEnsemble::save writes.
    const std::string dynamics_path = *dynamics_run + "/model.npz";
    const nn::Checkpoint ckpt = nn::Checkpoint::load(dynamics_path);
    const auto e_obs = static_cast<std::size_t>(ckpt.get_int64("dynamics/obs_dim"));
    const auto e_act = static_cast<std::size_t>(ckpt.get_int64("dynamics/act_dim"));
    DYDIFF_CHECK(e_obs == S && e_act == A, dynamics_path << " models obs/action dims " << e_obs << "/" << e_act
                                                         << ", but " << *env_name << " has " << S << "/" << A
                                                         << " (and " << diffusion_path << " " << model.obs_dim << "/"
                                                         << model.action_dim << ")");
    EnsembleConfig ens_config;
    ens_config.members = static_cast<std::size_t>(ckpt.get_int64("dynamics/members"));
    ens_config.hidden = static_cast<std::size_t>(ckpt.get_int64("dynamics/hidden"));
    ens_config.layers = static_cast<std::size_t>(ckpt.get_int64("dynamics/layers"));
    ens_config.elites = std::max<std::size_t>(1, ckpt.get("dynamics/elites").size());
    ens_config.weight_decay.assign(ens_config.layers + 1, 0.0f);  // training only; not used here
    data::Rng init_rng(0);
    DynamicsEnsemble ensemble(e_obs, e_act, ens_config, init_rng);
    ensemble.load(ckpt, "dynamics");
    const data::ZScoreNormalizer obs_norm =
        data::ZScoreNormalizer::load([&](const std::string& key) { return ckpt.get(key); }, "obs_normalizer");
    DYDIFF_CHECK(obs_norm.dim() == S, dynamics_path << ": obs_normalizer has dim " << obs_norm.dim() << ", expected "
                                                    << S);

    std::printf("rollout-error: %s, policy %s (action noise %g), %zu starts, horizon %zu, M = %zu, seed %llu\n",
                env_name->c_str(), kind.c_str(), action_noise, config.starts, H, config.refinements,
                static_cast<unsigned long long>(config.seed));
    std::printf("  diffusion %s (preset %s), dynamics %s (%zu members, %zu elites)\n", diffusion_path.c_str(),
                model.config.preset.c_str(), dynamics_path.c_str(), ens_config.members, ensemble.elites().size());
    std::printf("  sampler: %s\n", config.sampler.describe().c_str());
    std::fflush(stdout);

    std::filesystem::create_directories(out_dir);
    Progress progress("rollout-error sampler steps",
                      static_cast<std::int64_t>(config.refinements * config.sampler.num_steps));
    std::int64_t sampler_steps = 0;
    const Denoiser denoiser(*model.net, config.sampler);
    const ConditionalSampler sample = diffusion_sampler(
        sampler_denoise_fn(denoiser), config.sampler,
        [&](std::size_t, const SamplerState&) { progress.update(++sampler_steps, "sampling"); });
    data::Rng elite_rng = data::Rng(config.seed).fork(3);
    const RawPolicyFn pi = policy_fn(*policy, env->action_space(), config.seed ^ 0x9E3779B97F4A7C15ull, action_noise);
    const ModelScale scale(model.normalizer, S);
    std::vector<float> obs_std(obs_norm.std().begin(), obs_norm.std().end());
    const RolloutErrorResult result =
        rollout_error([&] { return envs::make_env(*env_name); }, scale, H, pi, ensemble_step_fn(ensemble, obs_norm,
                                                                                                 elite_rng),
                      sample, obs_std, config);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t_start).count();
    progress.finish(fmt(seconds) + " s");

    data::write_file_atomic(out_dir + "/rollout_error.csv", rollout_error_csv(result.methods, result.error));
    data::write_file_atomic(out_dir + "/rollout_error_z.csv", rollout_error_csv(result.methods, result.error_z));
    const std::string what = *env_name + ", policy " + kind + ", " + std::to_string(config.starts) + " starts";
    write_svg(out_dir + "/rollout_error.svg",
              error_plot(result, result.error, "State error vs horizon: " + what, "mean L2 error (raw units)"));
    write_svg(out_dir + "/rollout_error_z.svg",
              error_plot(result, result.error_z, "State error vs horizon (per-dim / obs std): " + what,
                         "mean L2 error (obs-std units)"));

    std::ostringstream summary;
    summary << "env " << *env_name << "\npolicy " << kind << "\naction_noise " << action_noise << "\nstarts "
            << config.starts << "\nhorizon " << H << "\nrefinements " << config.refinements << "\nseed "
            << config.seed << "\ndiffusion " << diffusion_path << "\ndynamics " << dynamics_path << "\nsampler "
            << config.sampler.describe() << "\nwall_seconds " << fmt(seconds) << "\n\n";
    std::vector<std::size_t> shown;
    for (std::size_t t : {std::size_t{1}, std::size_t{4}, std::size_t{8}, std::size_t{16}, H / 2, H - 1})
        if (t < H && std::find(shown.begin(), shown.end(), t) == shown.end()) shown.push_back(t);
    std::sort(shown.begin(), shown.end());
    for (const auto* table : {&result.error, &result.error_z}) {
        summary << (table == &result.error ? "mean L2 state error (raw)" : "mean L2 state error (obs-std units)")
                << "\n" << "step";
        for (const auto& m : result.methods) summary << "\t" << m;
        summary << "\n";
        for (std::size_t t : shown) {
            summary << t;
            for (const auto& col : *table) summary << "\t" << fmt(col[t]);
            summary << "\n";
        }
        summary << "\n";
    }
    data::write_file_atomic(out_dir + "/summary.txt", summary.str());
    std::cout << summary.str() << "wrote " << out_dir << "/rollout_error{,_z}.{csv,svg}, summary.txt\n";
    return 0;
}

}  // namespace dydiff::cli
