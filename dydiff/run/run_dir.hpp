// RunDir and Progress: what every training command shares. A run directory holds the resolved config
// (config.txt), metrics.csv (one row per logged step), log.txt (every progress line), and the checkpoints.
// Progress prints a live line on a terminal (step, loss, steps/s, ETA) and plain periodic lines otherwise
// (a pipe, a CI log), and copies every printed line into the run's log.
// Layering: dydiff/ (data/atomic_file for atomic writes).
#pragma once

#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <ostream>
#include <string>
#include <vector>

namespace dydiff {

class RunDir {
public:
    /// A new run: `path` must not exist or must be an empty directory (nothing of an earlier run is overwritten).
    static RunDir create(const std::string& path);
    /// An existing run to resume: `path` must hold config.txt.
    static RunDir open_existing(const std::string& path);

    const std::string& path() const { return path_; }
    /// path/name.
    std::string file(const std::string& name) const;
    bool exists(const std::string& name) const;
    /// Writes path/name atomically.
    void write_text(const std::string& name, const std::string& text) const;

    /// Starts metrics.csv with these columns (the first must be "step"). With resume_step >= 0 the existing file is
    /// kept up to and including that step (rows logged after the checkpoint are dropped, so that a resumed run's
    /// file equals an uninterrupted one's); its header must match.
    void open_metrics(const std::vector<std::string>& columns, std::int64_t resume_step = -1);
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
