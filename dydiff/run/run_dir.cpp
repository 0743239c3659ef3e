// RunDir and Progress.
#include "dydiff/run/run_dir.hpp"

#include "autograd/error.hpp"
#include "data/atomic_file.hpp"

#include <cstdio>
#include <filesystem>
#include <iomanip>
#include <sstream>
#include <unistd.h>

namespace dydiff {

namespace fs = std::filesystem;

RunDir RunDir::create(const std::string& path) {
    std::error_code ec;
    if (fs::exists(path, ec)) {
        DYDIFF_CHECK(fs::is_directory(path, ec), path << ": exists and is not a directory");
        DYDIFF_CHECK(fs::is_empty(path, ec), path << ": run directory is not empty; pass --resume to continue that run, "
                                                     "or choose another --out");
    }
    fs::create_directories(path, ec);
    DYDIFF_CHECK(!ec, path << ": cannot create the run directory (" << ec.message() << ")");
    RunDir run(path);
    run.log_.open(run.file("log.txt"), std::ios::app);
    return run;
}

RunDir RunDir::open_existing(const std::string& path) {
    std::error_code ec;
    DYDIFF_CHECK(fs::is_directory(path, ec), path << ": no such run directory to resume");
    RunDir run(path);
    DYDIFF_CHECK(run.exists("config.txt"), path << ": not a run directory (no config.txt)");
    run.log_.open(run.file("log.txt"), std::ios::app);
    return run;
}

std::string RunDir::file(const std::string& name) const { return (fs::path(path_) / name).string(); }

bool RunDir::exists(const std::string& name) const {
    std::error_code ec;
    return fs::exists(file(name), ec);
}

void RunDir::write_text(const std::string& name, const std::string& text) const { data::write_file_atomic(file(name), text); }

void RunDir::open_metrics(const std::vector<std::string>& columns, std::int64_t resume_step) {
    DYDIFF_CHECK(!columns.empty() && columns[0] == "step", "metrics: the first column must be 'step'");
    std::string header;
    for (std::size_t i = 0; i < columns.size(); ++i) header += (i ? "," : "") + columns[i];
    std::string kept = header + "\n";
    if (resume_step >= 0 && exists("metrics.csv")) {
        std::ifstream in(file("metrics.csv"));
        std::string line;
        std::getline(in, line);
        DYDIFF_CHECK(line == header, file("metrics.csv") << ": header '" << line << "' differs from '" << header << "'");
        while (std::getline(in, line)) {
            if (line.empty()) continue;
            if (std::stoll(line.substr(0, line.find(','))) > resume_step) break;
            kept += line + "\n";
        }
    }
    write_text("metrics.csv", kept);
    columns_ = columns.size();
    metrics_.open(file("metrics.csv"), std::ios::app);
    DYDIFF_CHECK(metrics_, file("metrics.csv") << ": cannot open for writing");
}

void RunDir::append_metrics(const std::vector<double>& values) {
    DYDIFF_CHECK(values.size() == columns_, "metrics: " << values.size() << " values for " << columns_ << " columns");
    std::ostringstream row;
    row << std::setprecision(9);
    for (std::size_t i = 0; i < values.size(); ++i) row << (i ? "," : "") << values[i];
    metrics_ << row.str() << "\n";
    metrics_.flush();
}

void RunDir::log(const std::string& line) {
    log_ << line << "\n";
    log_.flush();
}

// ---- Progress ---------------------------------------------------------------------------------------------------

Progress::Progress(std::string what, std::int64_t total, RunDir* run, std::ostream& out, std::string unit)
    : what_(std::move(what)), unit_(std::move(unit)), total_(total), run_(run), out_(out),
      live_(&out == &std::cerr && ::isatty(STDERR_FILENO)), start_(Clock::now()), last_print_(start_) {}

std::string Progress::line(std::int64_t step, const std::string& status) const {
    const double elapsed = std::chrono::duration<double>(Clock::now() - start_).count();
    const double done = static_cast<double>(step - done_before_);
    const double rate = elapsed > 0 ? done / elapsed : 0.0;
    std::ostringstream os;
    os << what_ << " " << unit_ << " " << step << "/" << total_ << "  " << status << "  " << std::fixed
       << std::setprecision(1) << rate << " " << unit_ << "s/s";
    if (rate > 0 && step < total_) {
        const auto eta = static_cast<long long>(static_cast<double>(total_ - step) / rate);
        os << "  ETA " << eta / 3600 << "h" << std::setw(2) << std::setfill('0') << (eta / 60) % 60 << "m"
           << std::setw(2) << eta % 60 << "s";
    }
    return os.str();
}

void Progress::resume_from(std::int64_t done) {
    done_before_ = done;
    last_printed_step_ = done;
    start_ = Clock::now();
}

void Progress::update(std::int64_t step, const std::string& status) {
    const auto now = Clock::now();
    const double since = std::chrono::duration<double>(now - last_print_).count();
    const std::int64_t every = std::max<std::int64_t>(1, total_ / 20);
    const bool due = live_ ? since >= 0.1 : (step - last_printed_step_ >= every || since >= 30.0);
    if (!due && step != total_) return;
    last_print_ = now;
    last_printed_step_ = step;
    const std::string text = line(step, status);
    if (live_) out_ << "\r\033[K" << text << std::flush;
    else out_ << text << "\n" << std::flush;
    if (run_ && !live_) run_->log(text);
}

void Progress::note(const std::string& text) {
    if (live_) out_ << "\r\033[K";
    out_ << text << "\n" << std::flush;
    if (run_) run_->log(text);
}

void Progress::finish(const std::string& status) {
    const std::string text = what_ + " done: " + status;
    if (live_) out_ << "\r\033[K";
    out_ << text << "\n" << std::flush;
    if (run_) run_->log(text);
}

}  // namespace dydiff
