// Results over runs (issue 8, `dydiff stats` and `dydiff plot`): each run directory of train-agent is read as its
// identity (algo, env, dataset, seed, from the saved config) plus its eval.csv; runs with the same algo, env and
// dataset form a group (the seeds of one experiment), and a group reports the last and the best normalised score,
// mean +- std over its runs, and a learning curve (score mean +- std over runs at every evaluation step).
// Statistics over runs use the population std (divide by n, numpy's np.std default, as CORL's tables).
// Layering: dydiff/eval (on dydiff/eval/eval_log, svg_plot).
#pragma once

#include "dydiff/eval/eval_log.hpp"
#include "dydiff/eval/svg_plot.hpp"

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace dydiff::eval {

/// What a run is: the fields of its saved config that name the experiment.
struct RunIdentity {
    std::string algo;            // "bc", "td3bc", "cql", "iql", "diffql"
    std::string env;             // the evaluation env, e.g. "maze2d-umaze"
    std::string dataset;         // the dataset path as given to the run
    std::string dataset_sha256;  // "" when the config does not record it
    std::optional<std::int64_t> seed;
};

/// The identity of the run in `run_dir`, from RUN/config.toml (or, for runs written before TOML configs,
/// RUN/config.txt). This is the one function that knows the config format; it reads `key = value` lines, quoted
/// or bare values, with `[table]` headers, and looks up, in the top level or any table: algo, env, seed, dataset
/// (or a [dataset] table's path) and dataset_sha256 (or a [dataset] table's sha256). Fails naming the file when
/// algo, env or the dataset path is missing or the file cannot be read.
RunIdentity read_run_identity(const std::string& run_dir);

/// One run: its directory, identity and evaluations (RUN/eval.csv, at least one row).
struct RunRecord {
    std::string dir;
    RunIdentity id;
    std::vector<EvalRow> rows;
};
RunRecord read_run(const std::string& run_dir);

/// mean +- std over the runs of a group.
struct MeanStd {
    double mean = 0.0;
    double std = 0.0;
};

struct GroupStats {
    std::string algo, env, dataset, dataset_sha256;  // dataset: the first run's path; the key is the SHA-256 if known
    std::vector<std::string> dirs;                   // the runs, in the order given
    std::vector<std::optional<std::int64_t>> seeds;  // per run
    std::int64_t min_last_step = 0, max_last_step = 0;  // the step of each run's last evaluation: min and max
    MeanStd last_score;   // each run's last evaluation's score_mean
    MeanStd best_score;   // each run's best evaluation's score_mean
    MeanStd last_return;  // each run's last evaluation's return_mean
};

/// Groups runs by (algo, env, dataset: the SHA-256 when every run of the group records it, else the path), sorted
/// by env, dataset, algo. Fails on an empty list or a run without evaluations.
std::vector<GroupStats> aggregate_runs(const std::vector<RunRecord>& runs);

/// A Markdown table, one row per group: algo | env | dataset | runs | seeds | steps | last score | best score, the
/// scores as "mean ± std" with 1 decimal.
std::string stats_markdown(const std::vector<GroupStats>& groups);
/// The same as CSV with full precision: algo,env,dataset,dataset_sha256,runs,seeds,min_last_step,max_last_step,
/// last_score_mean,last_score_std,best_score_mean,best_score_std,last_return_mean,last_return_std.
std::string stats_csv(const std::vector<GroupStats>& groups);

/// Learning curves, one series per group: at each evaluation step that every run of the group has, the mean of the
/// runs' score_mean, with a band of +- their std. Series names show the fields that differ between groups (the
/// title the ones they share). Fails when a group's runs share no evaluation step.
LinePlot learning_curves_plot(const std::vector<RunRecord>& runs, const std::string& title = "");

}  // namespace dydiff::eval
