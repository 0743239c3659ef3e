// `dydiff train-online`: online SAC in a built-in env (dydiff/agent/online.hpp), the trainer of the behaviour
// policies behind the locomotion dataset recipes (docs/environments.md, "Behaviour policies"). A Job on the shared
// path of run_command.hpp, not resumable. At every evaluation it appends to eval.csv, redraws learning_curve.svg
// and writes the actor as policies/step_<N>.npz (what `dataset generate --kind policy --policy` rolls); at the end
// the whole learner (agent.npz) and every transition in env-step order (replay.npz, D4RL layout: the source of a
// medium-replay dataset, `dataset generate --kind replay`).
#include "dydiff/cli/run_command.hpp"

#include "data/dataset.hpp"
#include "dydiff/agent/online.hpp"
#include "dydiff/eval/svg_plot.hpp"
#include "nn/checkpoint.hpp"

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <sstream>

namespace dydiff::cli {
namespace {

class TrainOnlineJob : public Job {
public:
    void fields(ConfigFields& f) override { config_.fields(f); }

    std::size_t read_flags(Args&, bool) override { return 0; }

    void prepare(const JobContext&, RunInfo&) override {
        trainer_ = std::make_unique<agent::OnlineTrainer>(config_);
    }

    void run(RunDir& run) override {
        std::filesystem::create_directories(run.file("policies"));
        std::ostringstream csv;
        csv << "env_steps,updates,return_mean,return_std,score_mean,score_std,length_mean,train_return_mean\n";
        LinePlot plot;
        plot.title = "train-online " + config_.env + " (SAC, seed " + std::to_string(config_.seed) + ")";
        plot.x_label = "env steps";
        plot.y_label = "return of the deterministic policy (mean ± std)";
        plot.series.push_back({"evaluation", {}, {}, {}, {}});
        Progress progress("train-online " + config_.env, config_.steps, &run, std::cerr, "env step");
        trainer_->run(
            [&](const agent::OnlineEval& e, const learners::Learner& learner) {
                char row[256];
                std::snprintf(row, sizeof row, "%lld,%lld,%.6g,%.6g,%.6g,%.6g,%.6g,%.6g\n",
                              static_cast<long long>(e.env_steps), static_cast<long long>(e.updates), e.return_mean,
                              e.return_std, e.score_mean, e.score_std, e.length_mean, e.train_return_mean);
                csv << row;
                run.write_text("eval.csv", csv.str());
                LineSeries& s = plot.series[0];
                s.x.push_back(static_cast<double>(e.env_steps));
                s.y.push_back(e.return_mean);
                s.band_lo.push_back(e.return_mean - e.return_std);
                s.band_hi.push_back(e.return_mean + e.return_std);
                write_svg(run.file("learning_curve.svg"), plot);
                nn::Checkpoint actor;
                learner.save_actor(actor);
                actor.put_int64("online/env_steps", e.env_steps);
                actor.save(run.file("policies/step_" + std::to_string(e.env_steps) + ".npz"));
                char line[200];
                std::snprintf(line, sizeof line, "return %.1f ± %.1f, score %.1f", e.return_mean, e.return_std,
                              e.score_mean);
                progress.update(e.env_steps, line);
            },
            [&](std::int64_t steps, std::int64_t) { progress.update(steps, ""); });
        nn::Checkpoint state;
        trainer_->learner()->save(state);
        state.save(run.file("agent.npz"));
        data::save_dataset_npz(trainer_->history(), run.file("replay.npz"));
        std::cout << "wrote " << run.path() << "/{eval.csv,learning_curve.svg,policies/,agent.npz,replay.npz}\n";
    }

private:
    agent::OnlineConfig config_;
    std::unique_ptr<agent::OnlineTrainer> trainer_;
};

const JobCommand& train_online_command() {
    static const JobCommand command = [] {
        JobCommand c;
        c.doc.name = "train-online";
        c.doc.synopsis = "--env NAME --out RUN [--steps N] [options]";
        c.doc.summary =
            "Trains SAC online in a built-in env (docs/algorithm.md §5.4.8): start_steps uniform random actions,\n"
            "then one update per env step from a replay buffer; evaluates the deterministic policy every\n"
            "eval_every env steps and writes its actor each time, for the behaviour-policy dataset recipes\n"
            "(docs/environments.md, \"Behaviour policies\").";
        c.doc.flags = {{"--env NAME", "the same as --set env=NAME (hopper, halfcheetah, walker2d, pendulum, ...)"},
                       {"--steps N", "the same as --set steps=N"}};
        c.doc.outputs = {{"config.toml", "the resolved config, every key, then a [run] table of provenance"},
                         {"eval.csv",
                          "a row per evaluation: env_steps, updates, return_mean, return_std, score_mean, score_std, "
                          "length_mean, train_return_mean (exploration episodes since the last evaluation)"},
                         {"learning_curve.svg", "evaluation return against env steps, with the ±std band"},
                         {"policies/step_N.npz",
                          "the actor after N env steps (learners' actor part: dataset generate --kind policy, or "
                          "dydiff export's input format)"},
                         {"agent.npz", "the whole learner at the end (networks, optimisers, Rng)"},
                         {"replay.npz",
                          "every transition in env-step order, D4RL layout with next_observations (dataset "
                          "generate --kind replay)"},
                         {"log.txt", "progress lines, notes and errors"}};
        c.resumable = false;
        c.default_out = "";
        c.shorthands = {{"env", "env"}, {"steps", "steps"}};
        c.make = [] { return std::make_unique<TrainOnlineJob>(); };
        return c;
    }();
    return command;
}

}  // namespace

int run_train_online(const Words& words) { return run_job_command(train_online_command(), words); }

std::vector<Page> train_online_pages() { return {{train_online_command().page(), &train_online_command()}}; }

}  // namespace dydiff::cli
