// The command table (`dydiff help` order) and the help page of a CommandDoc.
#include "dydiff/cli/commands.hpp"

#include <algorithm>
#include <sstream>

namespace dydiff::cli {

const std::vector<Command>& commands() {
    static const std::vector<Command> table{
        {"quickstart", "the whole pipeline on a built-in env: models, a learner without and with DyDiff, comparison",
         &run_quickstart, &quickstart_pages},
        {"dataset", "datasets: info, convert, generate", &run_dataset, &dataset_pages},
        {"evaluate-controller", "scripted expert and random policies on a built-in env", &run_evaluate_controller,
         &evaluate_controller_pages},
        {"train-diffusion", "train the diffusion model (EDM, temporal U-Net) on a dataset", &run_train_diffusion,
         &train_diffusion_pages},
        {"train-dynamics", "fit the one-step dynamics ensemble on a dataset", &run_train_dynamics,
         &train_dynamics_pages},
        {"train-reward", "fit the reward model on a dataset", &run_train_reward, &train_reward_pages},
        {"train-agent", "train an offline-RL learner (bc, td3bc, iql, cql, diffql, sac), with or without DyDiff",
         &run_train_agent, &train_agent_pages},
        {"evaluate", "evaluate a train-agent run's saved agent in its env", &run_evaluate, &evaluate_pages},
        {"export", "write a train-agent run's actor as an embeddable policy file", &run_export, &export_pages},
        {"train-online", "train SAC online in a built-in env: the behaviour policies of the dataset recipes",
         &run_train_online, &train_online_pages},
        {"synthetic", "check a DyDiff run's synthetic transitions against the true env (maze2d, pendulum)",
         &run_synthetic, &synthetic_pages},
        {"rollout-error", "state error vs horizon: true env, one-step ensemble, diffusion, DyDiff", &run_rollout_error,
         &rollout_error_pages},
        {"sweep", "a grid of train-agent runs (datasets x algos x DyDiff x seeds): here, or as Slurm/parallel scripts",
         &run_sweep, &sweep_pages},
        {"stats", "last and best normalised score of runs, mean +- std over seeds", &run_stats, &stats_pages},
        {"plot", "learning curves of runs, mean +- std over seeds, as SVG", &run_plot, &plot_pages},
        {"config", "the keys of a command: config show COMMAND prints a config file", &run_config, &config_pages},
        {"bench", "kernel and training-step benchmarks", &run_bench, &bench_pages},
    };
    return table;
}

std::string help_text(const CommandDoc& doc) {
    std::ostringstream os;
    os << "usage: dydiff " << doc.name << (doc.synopsis.empty() ? "" : " " + doc.synopsis) << "\n\n"
       << doc.summary << "\n";
    std::size_t width = 0;
    for (const FlagDoc& f : doc.flags) width = std::max(width, f.flag.size());
    width = std::min<std::size_t>(width, 22);
    if (!doc.flags.empty()) os << "\n";
    for (const FlagDoc& f : doc.flags) {
        os << "  " << f.flag;
        if (f.flag.size() > width)
            os << "\n  " << std::string(width, ' ');
        else
            os << std::string(width - f.flag.size(), ' ');
        os << "  " << f.doc << "\n";
    }
    if (!doc.outputs.empty()) os << "\nwrites:\n";
    for (const FileDoc& f : doc.outputs) os << "  " << f.name << ": " << f.doc << "\n";
    return os.str();
}

const char* version() { return DYDIFF_VERSION; }

}  // namespace dydiff::cli
