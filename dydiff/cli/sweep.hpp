// A sweep (issue 9): a grid of `dydiff train-agent` runs read from a TOML file (docs/sweeps.md) and expanded into
// one command per run, with a deterministic, readable name and run directory (OUT/umaze/td3bc-dydiff-s0). The file
// has a [sweep] table (out, threads, preset, executable), fixed train-agent keys in [set], the axes in [grid] (each an
// array of values; every combination is a run), one [data.NAME] table per dataset (its path and keys of its own, such
// as the DyDiff model paths), and optional short [label]s for run names. Every combination's config is resolved through
// train-agent's own ConfigFields and validated before anything runs. A key of a learner's table (td3bc.alpha) applies
// only to that learner's runs and a key under [dydiff] only to the runs with DyDiff on, wherever it is given: an axis
// of such a key varies only those runs, and a run without DyDiff is the plain one. Here: parsing, expansion, and the
// Slurm array script and GNU parallel list; `dydiff sweep` (cmd_sweep.cpp) runs it.
#pragma once

#include "dydiff/run/toml.hpp"

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace dydiff::cli {

/// One axis of [grid]: a train-agent key and the values it takes.
struct SweepAxis {
    std::string key;                  // "algo", "seed", "dydiff.enabled", "dydiff.generator.iterations"
    std::string label;                // its part of run names (see run_name_part); "" for algo: the value alone
    std::vector<toml::Value> values;  // in file order, at least one, no two alike
    std::size_t line = 0;             // in the grid file
};

/// One [data.NAME] table: a dataset and the keys its runs get (the models trained on it).
struct SweepDataset {
    std::string name;               // NAME: the first directory level of its runs' names
    std::string path;               // its `path`: the DATA of train-agent
    std::vector<toml::Entry> keys;  // its other entries, as train-agent keys ("dydiff.diffusion")
    std::size_t line = 0;
};

/// One run: a combination of the datasets and the axes' values.
struct SweepRun {
    std::string name;     // "umaze/td3bc-dydiff-s0": the dataset, then one part per axis that applies
    std::string dir;      // OUT/name
    std::string dataset;  // the dataset path
    std::vector<std::pair<std::string, std::string>> keys;  // every key the sweep sets for it, value as TOML
    std::vector<std::string> args;  // the words after `dydiff`: train-agent DATA --out DIR ... (see start_words)
    std::string preset;             // train-agent's --preset for a new run ("" = its default)
};

struct Sweep {
    std::string file;                    // the grid file
    std::string out;                     // [sweep] out: the runs' parent directory
    std::int64_t threads = 1;            // [sweep] threads: --threads of each run
    std::string preset;                  // [sweep] preset: train-agent's --preset of a new run; "" = its default
    std::string executable;              // [sweep] executable: the dydiff the runs use; "" = the one running
    std::vector<toml::Entry> fixed;      // [set]
    std::vector<SweepAxis> axes;         // [grid], in file order
    std::vector<SweepDataset> datasets;  // [data.NAME], in file order
    std::vector<SweepRun> runs;          // every run, seeds outermost (a sweep stopped early has whole seeds)
};

/// Parses, expands and validates a grid; every mistake is one UserError naming the file, the line and the key.
Sweep parse_sweep(const toml::Document& doc);
/// parse_sweep of a file.
Sweep read_sweep(const std::string& path);

/// The runs whose name matches the shell pattern (fnmatch(3), `*` also matches `/`); "" selects all. No match is a
/// UserError showing a few names.
std::vector<SweepRun> select_runs(const Sweep& sweep, const std::string& pattern);

/// The words after `dydiff` that start the run: its args, then --resume when its directory already holds a run
/// (`resume`; the saved config then stands for the preset), else --preset P when the sweep names one.
std::vector<std::string> start_words(const SweepRun& run, bool resume);

/// `word` quoted for a POSIX shell when it needs it.
std::string shell_word(const std::string& word);
/// One run as a shell command line that continues the run when its directory already holds one:
/// `EXE train-agent ... $(test -f DIR/config.toml && echo --resume)` (with a preset: `... || echo --preset P)`).
std::string run_shell_command(const std::string& executable, const SweepRun& run);
/// The GNU parallel command list: one run_shell_command per line (`parallel -j N < FILE`, or `bash FILE`).
std::string parallel_commands(const std::vector<SweepRun>& runs, const std::string& executable);
/// An sbatch array script: one array index per run (in `runs` order), `--cpus-per-task` the runs' threads.
std::string slurm_script(const Sweep& sweep, const std::vector<SweepRun>& runs, const std::string& executable);

}  // namespace dydiff::cli
