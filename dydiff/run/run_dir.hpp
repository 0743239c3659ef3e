// RunDir, RunInfo and Progress: what every command that writes a run shares. A run directory holds the resolved
// config (config.toml: the hyperparameters, then a [run] table of provenance), metrics.csv (one row per logged step
// or epoch), log.txt (every progress line, note and error), and what the command produces (checkpoints, CSVs).
// A run directory appears whole: RunDir::create builds it under a temporary name and renames it into place, so a
// start that fails leaves nothing behind.
// Progress prints a live line on a terminal (step, loss, steps/s, ETA) and plain periodic lines otherwise
// (a pipe, a CI log), and copies every printed line into the run's log.
// Layering: dydiff/run (dydiff/run/config.hpp; data/atomic_file for atomic writes).
#pragma once

#include "dydiff/run/config.hpp"

#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <ostream>
#include <string>
#include <vector>

namespace dydiff {

/// The [run] table of a run's config.toml: where the run came from, not how it learns. Never read as settings; a
/// resumed run keeps `started` and `dataset_sha256` (--resume refuses another dataset) and updates the rest.
struct RunInfo {
    std::string command;            // "train-diffusion"
    std::vector<std::string> argv;  // the words after `dydiff` (command first) of the latest start or resume
    std::string version;            // dydiff version
    std::string simd;               // the SIMD instruction set in use ("fma3+avx2", "avx512f", "scalar", ...)
    std::int64_t threads = 0;       // worker threads of the latest start or resume
    std::string preset;             // the preset the defaults came from ("" when the command has none)
    std::string started;            // UTC time of the first start, ISO 8601
    std::string resumed;            // UTC time of the latest --resume, "" if never resumed
    std::string dataset;            // the dataset path as given, "" when the command reads none
    std::string dataset_sha256;     // SHA-256 of the dataset file(s), "" when the command reads none

    void fields(ConfigFields& f);
};

/// The current UTC time, ISO 8601 ("2025-01-31T12:00:00Z").
std::string utc_now();

/// The text of a run's config.toml: a header comment, the hyperparameters, then the [run] table.
std::string run_config_text(const ConfigFields& hyperparameters, RunInfo info);
/// Reads the [run] table of a config.toml (the hyperparameters are read with ConfigFields::apply(doc, {"run"})).
RunInfo read_run_info(const toml::Document& doc);

class RunDir {
public:
    /// The name of a run's config file.
    static constexpr const char* kConfig = "config.toml";

    /// Fails unless a new run can be made at `path` (absent, or an empty directory); creates nothing. Commands call
    /// it before loading anything so that a used --out fails at once.
    static void check_new(const std::string& path);
    /// A new run at `path` (absent or an empty directory) holding `files` (name -> contents): built as a temporary
    /// sibling directory and renamed into place, so it appears whole or not at all.
    static RunDir create(const std::string& path, const std::vector<std::pair<std::string, std::string>>& files);
    /// Fails unless `path` is a run directory (holds config.toml); opens nothing.
    static void check_existing(const std::string& path);
    /// An existing run to resume: `path` must hold config.toml. Removes the temp files of writes that a killed
    /// process left unfinished ("<name>.tmp-<pid>-<n>").
    static RunDir open_existing(const std::string& path);
    /// Appends a line to log.txt of the run at `path` if there is one (errors of a failed --resume); never throws.
    static void append_log(const std::string& path, const std::string& line) noexcept;

    const std::string& path() const { return path_; }
    /// path/name.
    std::string file(const std::string& name) const;
    bool exists(const std::string& name) const;
    /// Writes path/name atomically.
    void write_text(const std::string& name, const std::string& text) const;

    /// Starts metrics.csv with these columns; the first counts rows ("step" or "epoch"). With resume_step >= 0 the
    /// existing file is kept up to and including that count (rows logged after the checkpoint are dropped, so that a
    /// resumed run's file equals an uninterrupted one's); its header must match. Returns the last row kept (empty
    /// for a fresh file), from which a resumed run continues its counters.
    std::vector<double> open_metrics(const std::vector<std::string>& columns, std::int64_t resume_step = -1);
    /// Appends one row (same order as the columns) and flushes.
    void append_metrics(const std::vector<double>& values);
    /// Appends a line to log.txt and flushes.
    void log(const std::string& line);

private:
    explicit RunDir(std::string path) : path_(std::move(path)) {}
    std::string path_;
    std::size_t columns_ = 0;
    std::ofstream metrics_;
    std::ofstream log_;
};

class Progress {
public:
    /// `what` names the job ("train-diffusion"); total is the last step; lines also go to run->log when given;
    /// `unit` names a step in the lines ("step", "epoch").
    Progress(std::string what, std::int64_t total, RunDir* run = nullptr, std::ostream& out = std::cerr,
             std::string unit = "step");
    /// Reports step (1-based, <= total) and a short status ("loss 0.123"). Cheap: prints at most ~10 times a second
    /// on a terminal, about every 5% (and at least every 30 s) otherwise.
    void update(std::int64_t step, const std::string& status);
    /// Prints a final line (always).
    void finish(const std::string& status);
    /// Prints a line that is not progress (a note, a warning), keeping the live line intact.
    void note(const std::string& line);
    /// Declares that `done` steps were finished before now (a resumed run): rates and ETA count from here.
    void resume_from(std::int64_t done);

private:
    std::string line(std::int64_t step, const std::string& status) const;
    using Clock = std::chrono::steady_clock;
    std::string what_;
    std::string unit_;
    std::int64_t total_;
    RunDir* run_;
    std::ostream& out_;
    bool live_;
    std::int64_t done_before_ = 0;  // steps finished before start_
    Clock::time_point start_, last_print_;
    std::int64_t last_printed_step_ = 0;
};

}  // namespace dydiff
