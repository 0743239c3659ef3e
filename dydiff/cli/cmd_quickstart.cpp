// `dydiff quickstart`: the whole pipeline in one command (issue 9): a dataset of a built-in env, the three DyDiff
// models, and one learner trained without and with DyDiff over a few seeds, then the comparison. Every stage is an
// ordinary dydiff command with its own run directory under OUT, run as a child process (process_pool.hpp), at most
// --jobs at a time with one thread each; OUT/commands.sh lists them, so each stage can be rerun or changed by hand.
// A rerun skips finished stages and resumes an interrupted one (train-* --resume; a complete run does nothing).
#include "dydiff/cli/args.hpp"
#include "dydiff/cli/commands.hpp"
#include "dydiff/cli/process_pool.hpp"

#include "autograd/error.hpp"
#include "data/atomic_file.hpp"
#include "data/dataset.hpp"
#include "dydiff/envs/env.hpp"
#include "dydiff/envs/locomotion.hpp"
#include "dydiff/eval/run_stats.hpp"
#include "dydiff/eval/svg_plot.hpp"

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <iostream>
#include <sstream>
#include <thread>

namespace dydiff::cli {

namespace {

namespace fs = std::filesystem;

/// The quickstart preset of one env family: sized so that the default run (3 seeds, 2 jobs) fits in 15 minutes
/// on 2 cores (docs/quickstart.md gives the measured stage times).
struct QuickstartPreset {
    std::string dataset_kind;        // dataset generate --kind ("" = the env's default recipe)
    std::int64_t dataset_rows = 0;   // dataset generate --steps
    std::int64_t diffusion_steps = 0;
    std::int64_t dynamics_epochs = 0;
    std::int64_t reward_epochs = 0;
    std::int64_t agent_steps = 0;
    std::int64_t eval_every = 0;
    std::int64_t eval_episodes = 0;
    std::vector<std::string> dydiff_sets;  // extra --set key=value of the +DyDiff runs (on top of --preset cpu)
};

/// `default`: the real thing, sized for 15 minutes; `smoke`: every stage for a few seconds, to check the wiring
/// (its scores mean nothing).
QuickstartPreset preset_for(const std::string& env, const std::string& name) {
    QuickstartPreset p;
    if (name == "smoke") {
        p.dataset_kind = env == "pendulum" ? "medium-replay" : "";
        p.dataset_rows = 5000;
        p.diffusion_steps = 40;
        p.dynamics_epochs = 1;
        p.reward_epochs = 1;
        p.agent_steps = 300;
        p.eval_every = 150;
        p.eval_episodes = 2;
        p.dydiff_sets = {"dydiff.generator.starts=32"};
        return p;
    }
    if (env == "pendulum") {
        p.dataset_kind = "medium-replay";
        p.dataset_rows = 100000;
        p.eval_episodes = 10;
    } else if (!envs::locomotion_task_of(env).empty()) {  // hopper, halfcheetah, walker2d: only with --data
        p.eval_episodes = 10;
    } else {  // maze2d-*
        p.dataset_rows = env.find("large") != std::string::npos ? 400000 : env.find("medium") != std::string::npos ? 300000 : 200000;
        p.eval_episodes = 10;
    }
    p.diffusion_steps = 3000;
    p.dynamics_epochs = 3;
    p.reward_epochs = 5;
    p.agent_steps = 20000;
    p.eval_every = 2500;
    return p;
}

std::string join_words(const std::vector<std::string>& words) {
    std::string out = "dydiff";
    for (const std::string& w : words) {
        const bool plain = !w.empty() && w.find_first_of(" \t\"'$\\`*?[]{}()<>|&;#~") == std::string::npos;
        out += " " + (plain ? w : "'" + w + "'");
    }
    return out;
}

bool is_run(const fs::path& dir) { return fs::exists(dir / "config.toml"); }

CommandDoc quickstart_doc() {
    return {"quickstart",
            "[--env E | --data FILE [--env E]] [--algo A] [--seeds N] [--steps N] [--jobs N] [--out DIR] [--preset P] "
            "[--dry-run]",
            "Runs the whole DyDiff pipeline on a built-in env and compares a learner without and with DyDiff:\n"
            "dataset generate, train-diffusion (tiny preset), train-dynamics, train-reward, then train-agent on\n"
            "seeds 0..N-1 without DyDiff and with it (--preset cpu: docs/dydiff.md), and finally the comparison\n"
            "(dydiff stats and plot of those runs): the last normalised score of each side, mean +- std over seeds,\n"
            "and the difference with a 95% bootstrap interval. Each stage is its own run directory under DIR, run\n"
            "as a child process with one thread, --jobs at a time; DIR/commands.sh lists the commands. A rerun\n"
            "skips finished stages and resumes interrupted ones. The defaults (maze2d-umaze, td3bc, 3 seeds, 20,000\n"
            "steps) took 9.5 minutes on 2 cores (docs/quickstart.md). With --data, the pipeline starts from your\n"
            "own D4RL-layout dataset (.npz or .hdf5) instead of generating one: this is how the locomotion envs\n"
            "run (a dataset generate --kind policy/replay file, or D4RL's hopper-medium-replay-v2.hdf5).",
            {{"--env E", "maze2d-umaze (default), maze2d-medium, maze2d-large (with -dense: dense reward) or pendulum; "
                        "with --data: any built-in env (default: the env the dataset records in metadata/env)"},
             {"--data FILE", "train on this dataset instead of generating one (its path goes into every stage)"},
             {"--algo A", "the learner: td3bc (default), bc, iql, cql, diffql"},
             {"--seeds N", "seeds 0..N-1 for each side (default 3)"},
             {"--steps N", "gradient steps per learner run (default 20000)"},
             {"--jobs N", "processes at once (default: the number of cores)"},
             {"--out DIR", "where everything goes (default quickstart)"},
             {"--preset P", "default (the budgets above), or smoke (every stage for seconds: checks the wiring, "
                            "its scores mean nothing)"},
             {"--dry-run", "print the commands and run nothing"},
             {"-h, --help", "this help"}},
            {{"DIR/data.npz", "the generated dataset (D4RL layout); not written with --data"},
             {"DIR/diffusion, DIR/dynamics, DIR/reward", "the three model runs"},
             {"DIR/ALGO-base-sK, DIR/ALGO-dydiff-sK", "the learner runs, seed K, without and with DyDiff"},
             {"DIR/logs/*.log", "each stage's output"},
             {"DIR/commands.sh", "every stage's command, in order"},
             {"DIR/comparison.md", "the stats table and the +DyDiff minus base difference (also printed)"},
             {"DIR/comparison.svg", "learning curves of both sides, mean +- std over seeds"}}};
}

}  // namespace

std::vector<Page> quickstart_pages() { return {{quickstart_doc()}}; }

int run_quickstart(const Words& words) {
    Args args("quickstart", words, {"dry-run"});
    if (args.help()) {
        std::cout << help_text(quickstart_doc());
        return 0;
    }
    const auto data_flag = args.value("data");
    const auto env_flag = args.value("env");
    std::string env = env_flag.value_or("maze2d-umaze");
    if (data_flag && !std::filesystem::is_regular_file(*data_flag))
        args.fail("--data " + *data_flag + ": no such file");
    if (data_flag && !env_flag) {
        // The env the dataset was made for (dataset generate records it); a file that does not say needs --env.
        const data::Dataset given = data::load_dataset(*data_flag);  // a bad file: one error naming it (exit 1)
        if (given.env.empty())
            args.fail("--data " + *data_flag + " does not record its env (no metadata/env key, as in D4RL's files): "
                      "give it with --env (e.g. --env hopper)");
        env = given.env;
    }
    // D4RL's names of a locomotion task (hopper-medium-replay-v2) evaluate in the task's env (hopper).
    if (data_flag && !envs::locomotion_task_of(env).empty()) env = envs::locomotion_task_of(env);
    const std::string algo = args.value_or("algo", "td3bc");
    const auto seeds = args.integer("seeds", 3, 1, 1000);
    const unsigned cores = std::max(1u, std::thread::hardware_concurrency());
    const auto jobs = args.integer("jobs", cores, 1, 256);
    const std::string out = args.value_or("out", "quickstart");
    const bool dry = args.flag("dry-run");
    const std::string preset_name = args.value_or("preset", "default");
    if (preset_name != "default" && preset_name != "smoke")
        args.fail("--preset '" + preset_name + "' is not one of default, smoke");
    QuickstartPreset preset = preset_for(env, preset_name);
    preset.agent_steps = args.integer("steps", preset.agent_steps, 1, 100000000);
    args.finish(0);
    // Without --data the locomotion envs are left out: their datasets come from a SAC run (train-online) that
    // takes far longer than the quickstart, and their random recipe teaches nothing quickly.
    std::vector<std::string> names;
    for (const auto& n : envs::known_env_names())
        if (data_flag || envs::locomotion_task_of(n).empty()) names.push_back(n);
    if (std::find(names.begin(), names.end(), env) == names.end()) {
        std::string list;
        for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
        std::string why;
        if (!envs::locomotion_task_of(env).empty())
            why = data_flag ? "; this build has no MuJoCo: install libmujoco-dev and run meson setup --reconfigure "
                              "-Dmujoco=enabled"
                            : "; " + env + " needs a dataset: give one with --data (docs/environments.md, "
                                           "\"Behaviour policies\")";
        args.fail("--env '" + env + "' is not a built-in env (" + list + ")" + why);
    }
    const std::vector<std::string> algos{"bc", "td3bc", "iql", "cql", "diffql"};
    if (std::find(algos.begin(), algos.end(), algo) == algos.end())
        args.fail("--algo '" + algo + "' is not one of bc, td3bc, iql, cql, diffql");
    preset.eval_every = std::min(preset.eval_every, preset.agent_steps);

    const fs::path root(out);
    const fs::path data = data_flag ? fs::path(*data_flag) : root / "data.npz";
    const auto num = [](std::int64_t v) { return std::to_string(v); };

    std::vector<Task> tasks;
    // A stage: a fresh run, or --resume of an existing one (a finished run then does nothing).
    auto stage = [&](const std::string& name, std::vector<std::string> fresh, const std::vector<std::string>& resume_extra,
                     std::vector<std::size_t> after) {
        const fs::path dir = root / name;
        std::vector<std::string> words = std::move(fresh);
        if (is_run(dir)) {
            words = {words[0], "--out", dir.string(), "--resume"};
            words.insert(words.end(), resume_extra.begin(), resume_extra.end());
        }
        tasks.push_back({name, words, (root / "logs" / (name + ".log")).string(), std::move(after)});
        return tasks.size() - 1;
    };

    std::vector<std::size_t> data_dep;
    if (!data_flag && !fs::exists(data)) {
        std::vector<std::string> w{"dataset", "generate", "--env", env, "--steps", num(preset.dataset_rows), "--seed",
                                   "0", "--out", data.string()};
        if (!preset.dataset_kind.empty()) w.insert(w.begin() + 4, {"--kind", preset.dataset_kind});
        tasks.push_back({"dataset", w, (root / "logs" / "dataset.log").string(), {}});
        data_dep.push_back(0);
    }
    const std::string d = data.string();
    const std::vector<std::string> one_thread{"--threads", "1"};
    auto with_threads = [&](std::vector<std::string> w) {
        w.insert(w.end(), one_thread.begin(), one_thread.end());
        return w;
    };
    const std::size_t diffusion =
        stage("diffusion",
              with_threads({"train-diffusion", d, "--out", (root / "diffusion").string(), "--preset", "tiny", "--set",
                            "steps=" + num(preset.diffusion_steps), "--seed", "0"}),
              one_thread, data_dep);
    const std::size_t dynamics =
        stage("dynamics",
              with_threads({"train-dynamics", d, "--out", (root / "dynamics").string(), "--set",
                            "max_epochs=" + num(preset.dynamics_epochs), "--seed", "0"}),
              one_thread, data_dep);
    const std::size_t reward =
        stage("reward",
              with_threads({"train-reward", d, "--out", (root / "reward").string(), "--set",
                            "max_epochs=" + num(preset.reward_epochs), "--seed", "0"}),
              one_thread, data_dep);
    std::vector<std::string> agent_runs;
    for (int dydiff = 0; dydiff < 2; ++dydiff) {
        for (std::int64_t s = 0; s < seeds; ++s) {
            const std::string name = algo + (dydiff ? "-dydiff-s" : "-base-s") + num(s);
            std::vector<std::string> w{"train-agent", d, "--algo", algo, "--out", (root / name).string(), "--preset",
                                       "cpu", "--seed", num(s), "--set", "steps=" + num(preset.agent_steps), "--set",
                                       "eval_every=" + num(preset.eval_every), "--set",
                                       "eval_episodes=" + num(preset.eval_episodes)};
            // A given dataset may not record its env (D4RL's files): the evaluation env is then the --env flag's.
            if (data_flag && env_flag) w.insert(w.end(), {"--set", "env=" + env});
            std::vector<std::size_t> after = data_dep;
            if (dydiff) {
                const std::vector<std::string> models{"--dydiff",  "--diffusion", (root / "diffusion").string(),
                                                      "--dynamics", (root / "dynamics").string(),
                                                      "--reward",   (root / "reward").string()};
                w.insert(w.end(), models.begin(), models.end());
                for (const std::string& kv : preset.dydiff_sets) w.insert(w.end(), {"--set", kv});
                after = {diffusion, dynamics, reward};
            }
            stage(name, with_threads(w), one_thread, after);
            agent_runs.push_back((root / name).string());
        }
    }

    // commands.sh: every stage's fresh command, in order (what the pipeline is, whatever a rerun skips).
    std::ostringstream script;
    script << "#!/bin/sh\n# dydiff quickstart --env " << env << (data_flag ? " --data " + *data_flag : "")
           << " --algo " << algo << " --seeds " << seeds << " --steps " << preset.agent_steps << " --preset "
           << preset_name << " --out " << out
           << ": its stages, in order.\nset -e\n";
    for (const Task& t : tasks) script << join_words(t.args) << "\n";
    std::cout << "quickstart: " << env << ", " << algo << " without and with DyDiff, seeds 0.." << seeds - 1 << ", "
              << preset.agent_steps << " steps each, " << jobs << (jobs == 1 ? " job" : " jobs") << ", in " << out << "/\n";
    if (dry) {
        std::cout << script.str();
        return 0;
    }
    fs::create_directories(root / "logs");
    data::write_file_atomic((root / "commands.sh").string(), script.str());

    const auto t0 = std::chrono::steady_clock::now();
    PoolOptions options;
    options.jobs = static_cast<std::size_t>(jobs);
    const auto results = run_tasks(tasks, options, std::cout);
    std::size_t failed = 0;
    for (std::size_t i = 0; i < results.size(); ++i)
        if (results[i].state != TaskState::succeeded) ++failed;
    const double minutes = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count() / 60.0;
    if (failed) {
        std::cerr << "quickstart: " << failed << " of " << tasks.size()
                  << " stages did not finish (their logs are in " << (root / "logs").string()
                  << "); rerun the same command to resume\n";
        return 1;
    }

    std::vector<eval::RunRecord> runs;
    for (const std::string& dir : agent_runs) runs.push_back(eval::read_run(dir));
    const auto groups = eval::aggregate_runs(runs);
    std::ostringstream md;
    md << "# dydiff quickstart: " << algo << " on " << env << ", without and with DyDiff\n\n"
       << seeds << " seeds per side, " << preset.agent_steps << " gradient steps per run, " << preset.eval_episodes
       << " evaluation episodes per evaluation; scores are normalised (0 = random, 100 = expert).\n\n"
       << eval::stats_markdown(groups);
    const auto diffs = eval::dydiff_differences(groups);
    if (!diffs.empty()) {
        const auto& d = diffs.front();
        md << "\n";
        if (d.ci_lo > 0)
            md << "At this budget DyDiff's runs scored higher; the 95% interval of the difference excludes 0.";
        else if (d.ci_hi < 0)
            md << "At this budget DyDiff's runs scored lower; the 95% interval of the difference excludes 0.";
        else
            md << "The 95% interval of the difference includes 0: with " << seeds
               << " seeds this run shows no reliable difference either way.";
        md << " With few seeds the bootstrap interval is approximate (it can only resample the scores seen), and\n"
              "each evaluation is noisy (see the std columns); docs/results.md has the runs behind our conclusions.\n";
    }
    data::write_file_atomic((root / "comparison.md").string(), md.str());
    write_svg((root / "comparison.svg").string(),
                    eval::learning_curves_plot(runs, algo + " on " + env + ": base vs +dydiff"));
    std::cout << "\n" << md.str() << "\nquickstart: done in " << static_cast<int>(minutes) << " min "
              << static_cast<int>((minutes - static_cast<int>(minutes)) * 60) << " s; " << (root / "comparison.md").string()
              << ", " << (root / "comparison.svg").string() << "\n";
    return 0;
}

}  // namespace dydiff::cli
