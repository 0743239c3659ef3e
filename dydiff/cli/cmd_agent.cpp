// `dydiff train-agent`, `dydiff evaluate` and `dydiff export`: an offline-RL learner trained on a dataset (with or
// without DyDiff's synthetic rollouts, dydiff/agent/agent.hpp), a saved agent evaluated in its env, and its actor
// written as the embeddable policy file (docs/embedding.md).
#include "dydiff/cli/run_command.hpp"

#include "data/data_identity.hpp"
#include "dydiff/agent/agent.hpp"
#include "dydiff/eval/maze_plot.hpp"
#include "dydiff/eval/policy_eval.hpp"
#include "dydiff/learners/actor_export.hpp"
#include "dydiff/learners/common.hpp"
#include "dydiff/learners/registry.hpp"
#include "dydiff/run/toml.hpp"
#include "nn/checkpoint.hpp"

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

}  // namespace

int run_train_agent(const Words& words) { return run_job_command(train_agent_command(), words); }
std::vector<Page> train_agent_pages() { return {{train_agent_command().page(), &train_agent_command()}}; }
std::vector<Page> evaluate_pages() { return {{evaluate_doc()}}; }
std::vector<Page> export_pages() { return {{export_doc()}}; }

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

}  // namespace dydiff::cli
