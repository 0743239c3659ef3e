// RunDir and Progress.
#include "dydiff/run/run_dir.hpp"

#include "autograd/error.hpp"
#include "data/atomic_file.hpp"

#include <cstdio>
#include <ctime>
#include <filesystem>
#include <iomanip>
#include <regex>
#include <sstream>
#include <unistd.h>

namespace dydiff {

namespace fs = std::filesystem;

void RunInfo::fields(ConfigFields& f) {
    f.add("command", &command, "the dydiff command that made the run");
    f.add("argv", &argv, "the words after `dydiff` of the latest start or resume");
    f.add("version", &version, "dydiff version");
    f.add("simd", &simd, "the SIMD instruction set in use (dydiff --version; DYDIFF_SIMD)");
    f.add("threads", &threads, "worker threads");
    f.add("preset", &preset, "the preset the defaults came from");
    f.add("started", &started, "first start, UTC");
    f.add("resumed", &resumed, "latest --resume, UTC (empty: never)");
    f.add("dataset", &dataset, "dataset path as given");
    f.add("dataset_sha256", &dataset_sha256, "SHA-256 of the dataset; --resume refuses another");
}

std::string utc_now() {
    const std::time_t now = std::time(nullptr);
    std::tm tm{};
    gmtime_r(&now, &tm);
    char buf[32];
    std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
    return buf;
}

std::string run_config_text(const ConfigFields& hyperparameters, RunInfo info) {
    ConfigFields run;
    run.table("run", "provenance, not settings: --config ignores this table", info);
    return "# dydiff " + info.command + ": the resolved configuration of this run (`dydiff " + info.command +
           " --help` documents every key)\n" + hyperparameters.to_toml() + run.to_toml();
}

RunInfo read_run_info(const toml::Document& doc) {
    RunInfo info;
    ConfigFields run;
    run.table("run", "", info);
    toml::Document only = doc;
    only.entries.clear();
    only.tables.clear();
    for (const auto& e : doc.entries)
        if (e.key.rfind("run.", 0) == 0) only.entries.push_back(e);
    for (const auto& t : doc.tables)
        if (t.name == "run") only.tables.push_back(t);
    run.apply(only);
    return info;
}

void RunDir::check_new(const std::string& path) {
    std::error_code ec;
    DYDIFF_USER_CHECK(!path.empty(), "the run directory (--out) is empty");
    if (fs::exists(path, ec)) {
        DYDIFF_USER_CHECK(fs::is_directory(path, ec), path << ": exists and is not a directory; choose another --out");
        DYDIFF_USER_CHECK(
            fs::is_empty(path, ec),
            path << ": is not empty"
                 << (fs::exists(fs::path(path) / kConfig, ec) ? " (it holds a run; pass --resume to continue it)" : "")
                 << "; choose another --out");
    }
}

RunDir RunDir::create(const std::string& path, const std::vector<std::pair<std::string, std::string>>& files) {
    check_new(path);
    std::error_code ec;
    fs::path target = fs::path(path).lexically_normal();
    if (!target.has_filename()) target = target.parent_path();
    const fs::path parent = target.has_parent_path() ? target.parent_path() : fs::path(".");
    fs::create_directories(parent, ec);
    DYDIFF_USER_CHECK(!ec, parent.string() << ": cannot create the directory (" << ec.message() << ")");
    const fs::path temp = parent / ("." + target.filename().string() + ".tmp-" + std::to_string(::getpid()));
    fs::remove_all(temp, ec);
    fs::create_directory(temp, ec);
    DYDIFF_USER_CHECK(!ec, temp.string() << ": cannot create the run directory (" << ec.message() << ")");
    try {
        for (const auto& [name, text] : files) data::write_file_atomic((temp / name).string(), text);
        // rename(2) replaces an empty directory; a non-empty one (a race with another process) fails.
        fs::rename(temp, target, ec);
        DYDIFF_USER_CHECK(!ec, path << ": cannot create the run directory (" << ec.message() << ")");
    } catch (...) {
        fs::remove_all(temp, ec);
        throw;
    }
    RunDir run(path);
    run.log_.open(run.file("log.txt"), std::ios::app);
    return run;
}

void RunDir::check_existing(const std::string& path) {
    std::error_code ec;
    DYDIFF_USER_CHECK(fs::is_directory(path, ec), path << ": no such run directory to resume");
    DYDIFF_USER_CHECK(!fs::exists(fs::path(path) / "config.txt", ec) || fs::exists(fs::path(path) / kConfig, ec),
                      path << ": made by an older dydiff (config.txt, not " << kConfig
                           << "); it cannot be resumed: start a new run");
    DYDIFF_USER_CHECK(fs::exists(fs::path(path) / kConfig, ec),
                      path << ": not a run directory (no " << kConfig << ") to resume");
}

RunDir RunDir::open_existing(const std::string& path) {
    check_existing(path);
    // A process killed while writing (SIGKILL, power loss) leaves its AtomicFile temp ("<name>.tmp-<pid>-<n>",
    // data/atomic_file.hpp) behind; the file it was replacing is intact. Only one process works in a run at a time.
    std::error_code ec;
    static const std::regex kTemp(R"(.+\.tmp-[0-9]+-[0-9]+)");
    for (const auto& entry : fs::directory_iterator(path, ec))
        if (entry.is_regular_file(ec) && std::regex_match(entry.path().filename().string(), kTemp))
            fs::remove(entry.path(), ec);
    RunDir run(path);
    run.log_.open(run.file("log.txt"), std::ios::app);
    DYDIFF_USER_CHECK(run.log_, run.file("log.txt") << ": cannot open for appending");
    return run;
}

void RunDir::append_log(const std::string& path, const std::string& line) noexcept {
    try {
        std::error_code ec;
        if (!fs::exists(fs::path(path) / kConfig, ec)) return;
        std::ofstream log(fs::path(path) / "log.txt", std::ios::app);
        log << line << "\n";
    } catch (...) {
        // Logging an error must not hide it: the caller rethrows the original.
    }
}

std::string RunDir::file(const std::string& name) const { return (fs::path(path_) / name).string(); }

bool RunDir::exists(const std::string& name) const {
    std::error_code ec;
    return fs::exists(file(name), ec);
}

void RunDir::write_text(const std::string& name, const std::string& text) const { data::write_file_atomic(file(name), text); }

std::vector<double> RunDir::open_metrics(const std::vector<std::string>& columns, std::int64_t resume_step) {
    DYDIFF_CHECK(!columns.empty(), "metrics: no columns");
    std::string header;
    for (std::size_t i = 0; i < columns.size(); ++i) header += (i ? "," : "") + columns[i];
    std::string kept = header + "\n";
    std::vector<double> last;
    if (resume_step >= 0 && exists("metrics.csv")) {
        std::ifstream in(file("metrics.csv"));
        std::string line;
        std::getline(in, line);
        DYDIFF_USER_CHECK(line == header, file("metrics.csv") << ": header '" << line << "' differs from '" << header
                                                              << "'; was the run made by another dydiff version?");
        while (std::getline(in, line)) {
            if (line.empty()) continue;
            const std::string first = line.substr(0, line.find(','));
            char* end = nullptr;
            const double count = std::strtod(first.c_str(), &end);
            DYDIFF_USER_CHECK(!first.empty() && *end == '\0',
                              file("metrics.csv") << ": row '" << line << "' does not start with a number");
            if (count > static_cast<double>(resume_step)) break;
            kept += line + "\n";
            last.clear();
            std::istringstream cells(line);
            for (std::string cell; std::getline(cells, cell, ',');) last.push_back(std::strtod(cell.c_str(), nullptr));
        }
    }
    write_text("metrics.csv", kept);
    columns_ = columns.size();
    metrics_.open(file("metrics.csv"), std::ios::app);
    DYDIFF_USER_CHECK(metrics_, file("metrics.csv") << ": cannot open for writing");
    return last;
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
