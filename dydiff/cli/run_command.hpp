// The one path of every config-driven command (train-diffusion, train-dynamics, train-reward, rollout-error, and the
// learners next): a Job owns the command's config struct and its inputs; run_job_command does the rest, the same
// way for all of them:
//   1. flags: --out RUN, --preset P, --config FILE, --set key=value..., --seed S, --threads N, --resume, --help,
//      plus the job's own (read_flags) and shorthands for keys (rollout-error's --starts N);
//   2. the config: the preset's defaults (the struct's defaults are the default preset), then --config, then
//      --set, then --seed and the shorthands; with --resume the run's config.toml instead of preset and file,
//      then the same overrides, and the
//      resume rules (a `fixed` key may not change, `steps` may only grow); then every rule is validated;
//   3. the inputs: Job::prepare loads the dataset (path and SHA-256 into the [run] table), models, the checkpoint;
//      with --resume, another dataset than the run's is refused (DatasetJob);
//   4. only then the run directory: created whole with config.toml (RunDir::create), or reopened and its
//      config.toml rewritten atomically;
//   5. Job::run. An error after step 4, and any error of a --resume, is also appended to the run's log.txt.
// Usage mistakes (flags, config values) are cli::UsageError (exit 2); failures while loading or running are
// dydiff::Error (exit 1).
#pragma once

#include "dydiff/cli/args.hpp"
#include "dydiff/cli/commands.hpp"
#include "dydiff/run/config.hpp"
#include "dydiff/run/run_dir.hpp"

#include "data/data_identity.hpp"
#include "data/dataset.hpp"

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace dydiff::cli {

/// What prepare() knows about the run it prepares.
struct JobContext {
    std::string run_path;  // --out
    bool resume = false;
    const RunInfo* saved = nullptr;  // the run's [run] table when resuming, else null
};

class Job {
public:
    virtual ~Job() = default;
    /// The command's keys, bound to the job's config struct (whose defaults are the default preset).
    virtual void fields(ConfigFields& f) = 0;
    /// Sets one of JobCommand::presets.
    virtual void apply_preset(const std::string& name);
    /// Reads the command's own flags and positional words (before Args::finish); returns how many positional words
    /// it takes. Usage mistakes throw UsageError here, before anything is loaded.
    virtual std::size_t read_flags(Args& args, bool resume) = 0;
    /// Loads and checks every input and fills `info` (the dataset identity); creates nothing on disk.
    virtual void prepare(const JobContext& context, RunInfo& info) = 0;
    /// After prepare() on --resume: true when the run is already complete (then nothing is run or rewritten).
    virtual bool complete() const { return false; }
    /// The work, into the run directory.
    virtual void run(RunDir& run) = 0;
};

/// A Job over one dataset, the first positional argument DATA (with --resume it defaults to the run's dataset).
class DatasetJob : public Job {
public:
    std::size_t read_flags(Args& args, bool resume) override;
    /// Loads the dataset and records its path and SHA-256 (with --resume: refused unless it is the run's dataset),
    /// then prepare_model().
    void prepare(const JobContext& context, RunInfo& info) override;

protected:
    /// Whatever the job builds from the dataset before the run exists (normalisers, networks, a checkpoint).
    virtual void prepare_model(const JobContext& context) = 0;
    std::string data_path_;
    data::Dataset dataset_;
    data::DataIdentity identity_;  // env, dims, file and SHA-256 of dataset_ (models record it)
};

class JobCommand {
public:
    CommandDoc doc;                    // the command's own flags and outputs (page() adds the shared flags)
    std::vector<std::string> presets;  // --preset names, the default first; empty: the command has none
    bool resumable = true;             // takes --resume
    std::string resume_doc;            // what --resume does for this command (--help)
    std::string default_out;           // --out when absent; "" makes --out required
    std::vector<std::pair<std::string, std::string>> shorthands;  // flag -> key: `--flag V` is `--set key=V`
    std::vector<std::pair<std::string, std::string>> switches;    // flag -> assignment: `--flag` is `--set key=V`
                                                                  // (--seed -> seed for every command)
    std::function<std::unique_ptr<Job>()> make;

    /// The full page: the shared flags added to `doc`.
    CommandDoc page() const;
    /// A UsageError listing the presets unless `preset` is one of them.
    void check_preset(const std::string& preset) const;
    /// The shorthands and --seed.
    std::vector<std::pair<std::string, std::string>> all_shorthands() const;
    /// A fresh job with `preset` applied ("" = the default preset: the struct's own defaults).
    std::unique_ptr<Job> make_with_preset(const std::string& preset) const;
};

/// The flags that resolve a config: --preset, --config, --set and the shorthand flags (--seed, ...).
struct ConfigFlags {
    std::optional<std::string> preset;
    std::optional<std::string> config_file;
    std::vector<std::string> sets;
    std::vector<std::pair<std::string, std::string>> keys;  // (shorthand flag, value)

    /// Reads them from `args` (--preset only when the command has presets).
    static ConfigFlags read(Args& args, const JobCommand& command);
    /// Applies them to the job's fields in order (preset, --config: not when resuming; then --set, shorthands) and
    /// validates every rule. Any mistake is a UsageError naming the key, the value and where it came from.
    void apply(const JobCommand& command, Job& job, ConfigFields& fields, bool resume) const;
};

/// Runs a config-driven command (steps 1-5 above).
int run_job_command(const JobCommand& command, const Words& words);

/// The keys of a config as help lines: `key = default  doc [valid range]`, grouped by table.
std::string keys_help(const ConfigFields& fields);

}  // namespace dydiff::cli
