// Results over runs (issue 8, `dydiff stats` and `dydiff plot`): each run directory of train-agent is read as its
// identity (algo, env, dataset, seed and settings, from the saved config.toml) plus its eval.csv; runs with the same
// algo, env, dataset and settings form a group (the seeds of one experiment), and a group reports the last and the
// best normalised score, mean +- std over its runs, and a learning curve (score mean +- std over runs at every
// evaluation step). Groups that differ only in DyDiff (a +dydiff group and the base group with the same learner
// settings) are also compared: the difference of their last scores with a 95% bootstrap confidence interval.
// Statistics over runs use the population std (divide by n, numpy's np.std default, as CORL's tables).
// Layering: dydiff/eval (on dydiff/eval/eval_log, svg_plot).
#pragma once

#include "dydiff/eval/eval_log.hpp"
#include "dydiff/eval/svg_plot.hpp"

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace dydiff::eval {

/// What a run is: the fields of its saved config that name the experiment.
struct RunIdentity {
    std::string algo;            // "bc", "td3bc", "cql", "iql", "diffql", "sac"
    std::string env;             // the evaluation env, e.g. "maze2d-umaze"
    std::string dataset;         // the dataset path as given to the run
    std::string dataset_sha256;  // "" when the config does not record it
    std::optional<std::int64_t> seed;
    /// Every other key of the config that defines the experiment, "table.key" -> value as text. Left out: seed,
    /// steps, eval_every, eval_episodes, log_every (budget and logging), the [run] provenance table, the model paths
    /// dydiff.diffusion/dynamics/reward and dydiff.generator.chunk (where the models are and a memory bound), the
    /// tables of the learners not in use, and every dydiff.* key but dydiff.enabled when DyDiff is off.
    std::map<std::string, std::string> settings;
};

/// The identity of the run in `run_dir`, from RUN/config.toml (dydiff/run/toml.hpp): algo, env, seed, the
/// [run] table's dataset and dataset_sha256, and the settings. Fails naming the file when algo, env or the dataset
/// path is missing or the file cannot be read.
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
    std::map<std::string, std::string> settings;     // RunIdentity::settings, shared by the runs
    /// What tells this group from the others of the same algo, env and dataset: "base" / "+dydiff" for the DyDiff
    /// switch, "key=value" for any other setting that differs, comma-separated; "" when it is the only group.
    std::string variant;
    std::vector<std::string> dirs;                   // the runs, in the order given
    std::vector<std::optional<std::int64_t>> seeds;  // per run
    std::int64_t min_last_step = 0, max_last_step = 0;  // the step of each run's last evaluation: min and max
    MeanStd last_score;   // each run's last evaluation's score_mean
    MeanStd best_score;   // each run's best evaluation's score_mean
    MeanStd last_return;  // each run's last evaluation's return_mean
    std::vector<double> last_scores;  // per run, the values behind last_score
};

/// +DyDiff minus base: a +dydiff group against the base group of the same algo, env, dataset and learner settings.
struct Difference {
    std::size_t with = 0, without = 0;  // indices into the groups
    double mean = 0.0;                  // mean last score with DyDiff minus without
    double ci_lo = 0.0, ci_hi = 0.0;    // 95% percentile bootstrap interval of that difference
};

/// Every (+dydiff, base) pair among the groups. The interval resamples each group's runs with replacement
/// (10,000 resamples, a fixed seed, so the same runs give the same interval); with 2-5 runs per group it is wide and
/// approximate, and the table says how many runs each side has.
std::vector<Difference> dydiff_differences(const std::vector<GroupStats>& groups);

/// Groups runs by (algo, env, dataset: the SHA-256 when every run of the group records it, else the path), sorted
/// by env, dataset, algo. Fails on an empty list or a run without evaluations.
std::vector<GroupStats> aggregate_runs(const std::vector<RunRecord>& runs);

/// A Markdown table, one row per group: algo | variant | env | dataset | runs | seeds | steps | last score | best
/// score, the scores as "mean ± std" with 1 decimal; then, when there are (+dydiff, base) pairs, a second table of
/// their differences with the 95% interval.
std::string stats_markdown(const std::vector<GroupStats>& groups);
/// The groups as CSV with full precision: algo,variant,env,dataset,dataset_sha256,runs,seeds,min_last_step,
/// max_last_step,last_score_mean,last_score_std,best_score_mean,best_score_std,last_return_mean,last_return_std.
std::string stats_csv(const std::vector<GroupStats>& groups);

/// Learning curves, one series per group: at each evaluation step that every run of the group has, the mean of the
/// runs' score_mean, with a band of +- their std. Series names show the fields that differ between groups (the
/// title the ones they share). Fails when a group's runs share no evaluation step.
LinePlot learning_curves_plot(const std::vector<RunRecord>& runs, const std::string& title = "");

}  // namespace dydiff::eval
