// `dydiff train-agent`, `dydiff evaluate`, `dydiff export` and `dydiff synthetic`: an offline-RL learner trained on
// a dataset (with or without DyDiff's synthetic rollouts, dydiff/agent/agent.hpp), a saved agent evaluated in its
// env, its actor written as the embeddable policy file (docs/embedding.md), and a DyDiff run's synthetic transitions
// checked against the true env (dydiff/eval/synthetic_check.hpp).
#include "dydiff/cli/run_command.hpp"

#include "data/data_identity.hpp"
#include "dydiff/agent/agent.hpp"
#include "dydiff/eval/maze_plot.hpp"
#include "dydiff/eval/policy_eval.hpp"
#include "dydiff/eval/run_stats.hpp"
#include "dydiff/eval/synthetic_check.hpp"
#include "dydiff/learners/actor_export.hpp"
#include "dydiff/learners/common.hpp"
#include "dydiff/learners/registry.hpp"
#include "dydiff/run/toml.hpp"
#include "nn/checkpoint.hpp"

#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

namespace dydiff::cli {

namespace {

constexpr const char* kCheckpointFile = "checkpoint.npz";

class TrainAgentJob : public DatasetJob {
public:
    void fields(ConfigFields& f) override { config_.fields(f); }
    void apply_preset(const std::string& name) override { config_.apply_preset(name); }
    bool complete() const override { return loop_ && loop_->steps() >= config_.steps; }
    void run(RunDir& run) override { agent::train_agent(*loop_, config_, config_.env, run, resume_step_); }

protected:
    void prepare_model(const JobContext& context) override {
        // The env: the key, else the one the dataset records; a recorded env must agree with the key.
        const data::DataIdentity identity = data::identify_dataset(dataset_);
        if (config_.env.empty()) {
            DYDIFF_USER_CHECK(identity.env != data::kUnknownEnv,
                              data_path_ << " records no env (a D4RL or Minari file): give it with --env E");
            config_.env = identity.env;
        }
        data::require_env({data_path_, identity}, config_.env);
        if (config_.dydiff.enabled)
            models_ = std::make_unique<agent::DyDiffModels>(agent::DyDiffModels::load(config_.dydiff, identity,
                                                                                     config_.env));
        loop_ = std::make_unique<agent::AgentLoop>(config_, dataset_, config_.env, models_.get());
        const std::string checkpoint = (std::filesystem::path(context.run_path) / kCheckpointFile).string();
        // A run stopped before its first checkpoint starts again from step 0 (its metrics rows are dropped).
        if (context.resume && std::filesystem::exists(checkpoint)) {
            loop_->load(checkpoint);
            resume_step_ = loop_->steps();
        } else if (context.resume) {
            resume_step_ = 0;
        }
    }

private:
    agent::AgentConfig config_;
    std::unique_ptr<agent::DyDiffModels> models_;
    std::unique_ptr<agent::AgentLoop> loop_;
    std::int64_t resume_step_ = -1;
};

}  // namespace

const JobCommand& train_agent_command() {
    static const JobCommand command = [] {
        JobCommand c;
        c.doc.name = "train-agent";
        c.doc.synopsis = "DATA --algo bc|td3bc|iql|cql|diffql|sac --out RUN [--dydiff --diffusion RUN --dynamics RUN "
                         "--reward RUN] [options]";
        c.doc.summary =
            "Trains an offline-RL learner on DATA, evaluating the deterministic policy in the built-in env every\n"
            "eval_every steps. With --dydiff, each batch also draws synthetic transitions from DyDiff rollouts of\n"
            "the learning policy through the three trained models (docs/algorithm.md §4.6), which must come from\n"
            "the same dataset. --resume continues bit for bit from the last evaluation's checkpoint.";
        c.doc.flags = {{"DATA", "the dataset (see train-diffusion); with --resume, default: the run's dataset"},
                       {"--algo NAME", "the learner (key algo)"},
                       {"--env NAME", "evaluation env (key env); default: the env the dataset records"},
                       {"--dydiff", "switch DyDiff on (key dydiff.enabled)"},
                       {"--diffusion RUN", "train-diffusion run or checkpoint (key dydiff.diffusion)"},
                       {"--dynamics RUN", "train-dynamics run or model file (key dydiff.dynamics)"},
                       {"--reward RUN", "train-reward run or model file (key dydiff.reward)"}};
        c.doc.outputs = {
            {"config.toml", "the resolved config (every key), then a [run] table of provenance"},
            {"metrics.csv",
             "a row every log_every steps: step; seconds (since the run started, continued across --resume); the "
             "learner's statistics (means over the rows' steps, e.g. critic_loss, actor_loss, q_mean); with DyDiff "
             "also synthetic_size (the synthetic buffer), kept_fraction, predicted_return_mean, predicted_return_std "
             "(of the latest generation, over all its trajectories), generation_seconds (its wall time), "
             "generation_share (generation time over the wall time so far) and epoch_generation_share (the latest "
             "generation's time over the wall time since it started: on a row closing an epoch, that epoch's share)"},
            {"eval.csv", "a row per evaluation (docs/evaluation.md): step, episodes, return and normalised score "
                         "mean and std, length, best so far"},
            {"learning_curve.svg", "normalised score against steps, with the ±std band over episodes"},
            {"imagined.svg", "maze2d with DyDiff: 8 kept trajectories of the latest generation (dashed) over the walls, "
                             "each beside the true env's trajectory from the same start under the same actions' source "
                             "(solid); after the first generation and at every evaluation (docs/dydiff.md)"},
            {"checkpoint.npz", "the learner's whole state, the batch stream and the synthetic buffer, at every "
                               "evaluation"},
            {"log.txt", "every progress line, note and error"}};
        c.resume_doc = "continue from the last checkpoint bit for bit; --set steps=N extends a finished run";
        c.shorthands = {{"algo", "algo"},
                        {"env", "env"},
                        {"diffusion", "dydiff.diffusion"},
                        {"dynamics", "dydiff.dynamics"},
                        {"reward", "dydiff.reward"}};
        c.switches = {{"dydiff", "dydiff.enabled=true"}};
        c.presets = agent::AgentConfig::presets();
        c.make = [] { return std::make_unique<TrainAgentJob>(); };
        return c;
    }();
    return command;
}

namespace {

// ---- a saved agent: its config and its learner ------------------------------------------------------------------

struct SavedAgent {
    agent::AgentConfig config;
    std::unique_ptr<learners::Learner> learner;
};

SavedAgent load_agent(const std::string& run_path) {
    RunDir::check_existing(run_path);
    SavedAgent a;
    const std::string config_path = (std::filesystem::path(run_path) / RunDir::kConfig).string();
    const toml::Document doc = toml::parse_file(config_path);
    // algo picks the learner table, so it is read first.
    ConfigFields fields;
    a.config.fields(fields);
    fields.apply(doc, {"run"});
    const std::string checkpoint = (std::filesystem::path(run_path) / kCheckpointFile).string();
    DYDIFF_USER_CHECK(std::filesystem::exists(checkpoint),
                      run_path << ": no " << kCheckpointFile << " yet (the run has not reached its first evaluation)");
    const nn::Checkpoint ckpt = nn::Checkpoint::load(checkpoint);
    a.learner = learners::make_learner(a.config.algo, a.config.learners, learners::load_spec(ckpt));
    a.learner->load(ckpt);
    return a;
}

CommandDoc evaluate_doc() {
    return {"evaluate",
            "RUN [--episodes N] [--seed S] [--out DIR] [--threads N]",
            "Evaluates the agent saved in a train-agent run (its last checkpoint) in the run's env: N episodes of the\n"
            "deterministic policy, raw return and normalised score (mean +- std over episodes). For maze2d it also\n"
            "draws the evaluated trajectories over the maze walls.",
            {{"RUN", "a train-agent run directory"},
             {"--episodes N", "episodes (default 10)"},
             {"--seed S", "the episodes' reset seed (default 0)"},
             {"--out DIR", "where trajectories.svg goes (maze2d only; default RUN)"},
             {"--threads N", "worker threads"},
             {"-h, --help", "this help"}},
            {{"trajectories.svg", "maze2d only: the evaluated trajectories over the walls, the goal marked"}}};
}

CommandDoc export_doc() {
    return {"export",
            "RUN --out POLICY.npz",
            "Writes the actor of the agent saved in a train-agent run as the embeddable policy file\n"
            "(docs/embedding.md): networks, observation normaliser and action box, loaded by libdydiff_embed with\n"
            "no training code.",
            {{"RUN", "a train-agent run directory"}, {"--out POLICY.npz", "the file to write (required)"},
             {"-h, --help", "this help"}},
            {{"POLICY.npz", "the policy file (docs/embedding.md)"}}};
}

CommandDoc synthetic_doc() {
    return {"synthetic",
            "RUN [--data FILE] [--samples N] [--seed S]",
            "Checks the synthetic transitions of a DyDiff train-agent run (the buffer in its last checkpoint)\n"
            "against the true env: for each (s, a, r, s'), the env's own next state from s under a and the reward\n"
            "the dataset's recipe gives (s, a). Prints, for the synthetic buffer and, as the control, for the\n"
            "dataset's real transitions: the next-state error (raw L2 mean, median, 90th percentile; in units of\n"
            "the dataset's observation std; per dimension), the reward-label error, and the share of states\n"
            "outside the env's domain (maze2d: inside a wall; locomotion: a clipped velocity). Built-in envs whose\n"
            "observation is their state: maze2d-*, pendulum, and with MuJoCo hopper, walker2d and halfcheetah (all\n"
            "but the x position, which they ignore) (docs/dydiff.md, \"Checking the synthetic data\").",
            {{"RUN", "a train-agent run directory with dydiff.enabled = true"},
             {"--data FILE", "the run's dataset (default: the path it recorded, relative to where it ran)"},
             {"--samples N", "transitions checked on each side, drawn uniformly (default 20000; 0 = all)"},
             {"--seed S", "the draw of those transitions (default 0)"},
             {"-h, --help", "this help"}},
            {}};
}

void print_check_row(const char* what, const std::string& synthetic, const std::string& real) {
    std::printf("| %s | %s | %s |\n", what, synthetic.c_str(), real.c_str());
}

std::string fmt(const char* format, double a, double b = 0.0, double c = 0.0) {
    char buf[96];
    std::snprintf(buf, sizeof buf, format, a, b, c);
    return buf;
}

}  // namespace

int run_train_agent(const Words& words) { return run_job_command(train_agent_command(), words); }
std::vector<Page> train_agent_pages() { return {{train_agent_command().page(), &train_agent_command()}}; }
std::vector<Page> evaluate_pages() { return {{evaluate_doc()}}; }
std::vector<Page> export_pages() { return {{export_doc()}}; }
std::vector<Page> synthetic_pages() { return {{synthetic_doc()}}; }

int run_evaluate(const Words& words) {
    Args args("evaluate", words);
    if (args.help()) {
        std::cout << help_text(evaluate_doc());
        return 0;
    }
    eval::PolicyEvalOptions options;
    options.episodes = static_cast<std::size_t>(args.integer("episodes", 10, 1, 100000));
    options.seed = static_cast<std::uint64_t>(args.integer("seed", 0, 0, INT64_MAX));
    const auto out = args.value("out");
    apply_threads(args);
    args.finish(1);
    if (args.positional().empty()) args.fail("give the RUN directory");
    const std::string run_path = args.positional()[0];
    SavedAgent a = load_agent(run_path);
    const std::string& env = a.config.env;
    options.record_trajectories = eval::has_maze_layout(env);
    const eval::PolicyEvalResult r =
        eval::evaluate_policy(env, [&](const eval::Obs& o) { return a.learner->act(o, true); }, options);
    std::printf("%s after %lld steps on %s, %zu episodes (seed %llu): return %.4g ± %.4g, normalised score %.4g ± "
                "%.4g\n",
                a.config.algo.c_str(), static_cast<long long>(a.learner->steps()), env.c_str(), options.episodes,
                static_cast<unsigned long long>(options.seed), r.return_mean(), r.return_std(), r.score_mean(),
                r.score_std());
    if (const auto success = r.success_rate()) std::printf("success rate %.3g\n", *success);
    if (options.record_trajectories) {
        const std::string dir = out ? *out : run_path;
        std::filesystem::create_directories(dir);
        const std::string svg = (std::filesystem::path(dir) / "trajectories.svg").string();
        eval::write_maze_trajectories_svg(svg, r);
        std::printf("wrote %s\n", svg.c_str());
    }
    return 0;
}

int run_export(const Words& words) {
    Args args("export", words);
    if (args.help()) {
        std::cout << help_text(export_doc());
        return 0;
    }
    const auto out = args.value("out");
    args.finish(1);
    if (args.positional().empty()) args.fail("give the RUN directory");
    if (!out) args.fail("--out POLICY.npz is required");
    const SavedAgent a = load_agent(args.positional()[0]);
    nn::Checkpoint actor;
    a.learner->save_actor(actor);
    learners::policy_from_actor(actor).save(*out);
    std::printf("wrote %s (%s actor after %lld steps, %ju bytes)\n", out->c_str(), a.config.algo.c_str(),
                static_cast<long long>(a.learner->steps()),
                static_cast<std::uintmax_t>(std::filesystem::file_size(*out)));
    return 0;
}

int run_synthetic(const Words& words) {
    Args args("synthetic", words);
    if (args.help()) {
        std::cout << help_text(synthetic_doc());
        return 0;
    }
    const auto data_flag = args.value("data");
    const auto samples = static_cast<std::size_t>(args.integer("samples", 20000, 0, INT64_MAX));
    const auto seed = static_cast<std::uint64_t>(args.integer("seed", 0, 0, INT64_MAX));
    args.finish(1);
    if (args.positional().empty()) args.fail("give the RUN directory");
    const std::string run_path = args.positional()[0];
    RunDir::check_existing(run_path);
    const eval::RunIdentity id = eval::read_run_identity(run_path);
    const auto oracle = eval::transition_oracle(id.env);
    DYDIFF_USER_CHECK(oracle, run_path << ": env '" << id.env
                                       << "' has no true one-step model here (maze2d-*, pendulum and, with the `mujoco` "
                                          "feature, hopper, walker2d and halfcheetah have one: their observation is "
                                          "their state)");
    const std::string checkpoint = (std::filesystem::path(run_path) / kCheckpointFile).string();
    DYDIFF_USER_CHECK(std::filesystem::exists(checkpoint),
                      run_path << ": no " << kCheckpointFile << " yet (the run has not reached its first evaluation)");
    const nn::Checkpoint ckpt = nn::Checkpoint::load(checkpoint);
    const std::string key = "agent/synthetic/observations";
    const auto keys = ckpt.keys();
    DYDIFF_USER_CHECK(std::find(keys.begin(), keys.end(), key) != keys.end(),
                      checkpoint << ": no synthetic buffer (key " << key
                                 << "): not a DyDiff run (dydiff.enabled = false), or none generated yet");
    data::Transitions synthetic;
    const auto to2 = [](const autograd::Array& a) { return xt::xtensor<float, 2>(a); };
    const auto to1 = [](const autograd::Array& a) { return xt::xtensor<float, 1>(a); };
    synthetic.observations = to2(ckpt.get("agent/synthetic/observations"));
    synthetic.actions = to2(ckpt.get("agent/synthetic/actions"));
    synthetic.rewards = to1(ckpt.get("agent/synthetic/rewards"));
    synthetic.next_observations = to2(ckpt.get("agent/synthetic/next_observations"));
    synthetic.dones = to1(ckpt.get("agent/synthetic/dones"));

    const std::string data_path = data_flag ? *data_flag : id.dataset;
    DYDIFF_USER_CHECK(std::filesystem::exists(data_path),
                      run_path << ": its dataset " << data_path
                               << " is not there (a recorded path is relative to where the run started); pass --data FILE");
    const data::Dataset dataset = data::load_dataset(data_path);
    data::check_dims(dataset, oracle->obs_dim, oracle->action_dim, "dataset " + data_path);
    const data::Transitions real = data::make_transitions(dataset);
    std::vector<double> scale(oracle->obs_dim, 0.0);  // the real observations' std per dimension
    for (std::size_t k = 0; k < oracle->obs_dim; ++k) {
        double sum = 0.0, sq = 0.0;
        for (std::size_t i = 0; i < real.size(); ++i) sum += real.observations(i, k);
        const double mean = sum / static_cast<double>(std::max<std::size_t>(1, real.size()));
        for (std::size_t i = 0; i < real.size(); ++i) sq += (real.observations(i, k) - mean) * (real.observations(i, k) - mean);
        scale[k] = std::sqrt(sq / static_cast<double>(std::max<std::size_t>(1, real.size())));
    }
    const eval::TransitionCheck s = eval::check_transitions(*oracle, synthetic, scale, samples, seed);
    const eval::TransitionCheck r = eval::check_transitions(*oracle, real, scale, samples, seed);

    std::printf("%s (%s, %s): %zu synthetic transitions in the buffer after %lld learner steps; %zu real in %s\n\n",
                run_path.c_str(), id.algo.c_str(), id.env.c_str(), synthetic.size(),
                static_cast<long long>(ckpt.get_int64("learner/step")), real.size(), data_path.c_str());
    print_check_row("", "synthetic", "real (control)");
    print_check_row("---", "---:", "---:");
    const auto count = [](std::size_t n) { return std::to_string(n); };
    const auto share = [](std::size_t part, std::size_t whole) {
        return fmt("%.2f%%", whole ? 100.0 * static_cast<double>(part) / static_cast<double>(whole) : 0.0);
    };
    print_check_row("transitions drawn", count(s.total), count(r.total));
    print_check_row("s outside the env's domain (not checked)", share(s.total - s.checked, s.total),
                    share(r.total - r.checked, r.total));
    print_check_row("s' outside the env's domain", share(s.invalid_next, s.checked), share(r.invalid_next, r.checked));
    print_check_row("next-state error, raw L2: mean / median / p90",
                    fmt("%.4g / %.4g / %.4g", s.state_error_mean, s.state_error_p50, s.state_error_p90),
                    fmt("%.4g / %.4g / %.4g", r.state_error_mean, r.state_error_p50, r.state_error_p90));
    print_check_row("next-state error in obs-std units (mean L2)", fmt("%.4g", s.state_error_z_mean),
                    fmt("%.4g", r.state_error_z_mean));
    std::string ds, dr;
    for (std::size_t k = 0; k < oracle->obs_dim; ++k) {
        ds += (k ? " / " : "") + fmt("%.3g", s.dim_error_mean[k]);
        dr += (k ? " / " : "") + fmt("%.3g", r.dim_error_mean[k]);
    }
    print_check_row("mean abs error per dimension", ds, dr);
    print_check_row("reward label error (mean absolute)", fmt("%.4g", s.reward_error_mean),
                    fmt("%.4g", r.reward_error_mean));
    print_check_row("mean reward: stored label / true", fmt("%.4g / %.4g", s.reward_mean, s.reward_true_mean),
                    fmt("%.4g / %.4g", r.reward_mean, r.reward_true_mean));
    return 0;
}

}  // namespace dydiff::cli
