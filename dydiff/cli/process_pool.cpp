// Child processes for independent runs: fork + execv of this executable, output to a log file, waitpid polling.
#include "dydiff/cli/process_pool.hpp"

#include "autograd/error.hpp"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <iomanip>
#include <iostream>
#include <ostream>
#include <sstream>
#include <thread>

#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

namespace dydiff::cli {

namespace {

using Clock = std::chrono::steady_clock;

std::string clock_text(double seconds) {
    const auto s = static_cast<long long>(seconds);
    std::ostringstream os;
    os << s / 60 << ":" << std::setw(2) << std::setfill('0') << s % 60;
    return os.str();
}

/// Opens (creating it and its directory) the log a child writes to, in the parent, so that a log that cannot be
/// written is an error naming it rather than a child writing somewhere else. O_CLOEXEC: children started later do
/// not inherit each other's logs.
int open_log(const std::string& path, const std::string& task) {
    const std::filesystem::path parent = std::filesystem::path(path).parent_path();
    std::error_code ec;
    if (!parent.empty()) std::filesystem::create_directories(parent, ec);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd < 0) DYDIFF_FAIL("cannot open the log " << path << " of '" << task << "': " << std::strerror(errno));
    return fd;
}

/// The child: stdout and stderr to the log, stdin from /dev/null, then exec. `argv` is built by the parent: only
/// async-signal-safe calls after fork.
[[noreturn]] void exec_child(const char* exe, char* const* argv, int log_fd) {
    ::dup2(log_fd, STDOUT_FILENO);  // dup2 clears O_CLOEXEC on the copies
    ::dup2(log_fd, STDERR_FILENO);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) {
        ::dup2(devnull, STDIN_FILENO);
        ::close(devnull);
    }
    ::execv(exe, argv);
    const char msg[] = "dydiff: error: could not start the child process (execv failed)\n";
    (void)!::write(STDERR_FILENO, msg, sizeof msg - 1);
    ::_exit(127);
}

/// Checks that every `after` index is in range and that the graph has no cycle (depth-first search).
void check_graph(const std::vector<Task>& tasks) {
    for (std::size_t i = 0; i < tasks.size(); ++i)
        for (std::size_t d : tasks[i].after)
            DYDIFF_CHECK(d < tasks.size() && d != i,
                         "task '" << tasks[i].name << "' waits for task " << d << ", which does not exist");
    std::vector<int> mark(tasks.size(), 0);  // 0 new, 1 on the stack, 2 done
    std::function<void(std::size_t)> visit = [&](std::size_t i) {
        DYDIFF_CHECK(mark[i] != 1, "tasks wait for each other in a cycle through '" << tasks[i].name << "'");
        if (mark[i] == 2) return;
        mark[i] = 1;
        for (std::size_t d : tasks[i].after) visit(d);
        mark[i] = 2;
    };
    for (std::size_t i = 0; i < tasks.size(); ++i) visit(i);
}

}  // namespace

std::string self_executable() {
    std::vector<char> buf(4096);
    const ssize_t n = ::readlink("/proc/self/exe", buf.data(), buf.size() - 1);
    if (n <= 0)
        DYDIFF_FAIL("cannot find this program's own path (/proc/self/exe: " << std::strerror(errno)
                                                                             << "); runs in child processes need it");
    return std::string(buf.data(), static_cast<std::size_t>(n));
}

// A line of a TOML config echoed at a run's start ("key = value  # doc"): not progress.
bool is_config_line(const std::string& line) { return line.find(" = ") != std::string::npos && line.find("  # ") != std::string::npos; }

std::string last_log_line(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    if (!in) return "";
    in.seekg(0, std::ios::end);
    const std::streamoff size = in.tellg();
    const std::streamoff take = std::min<std::streamoff>(size, 4096);
    in.seekg(size - take);
    std::string tail(static_cast<std::size_t>(take), '\0');
    in.read(tail.data(), take);
    std::size_t end = tail.find_last_not_of("\r\n \t");
    if (end == std::string::npos) return "";
    const std::size_t newline = tail.find_last_of("\r\n", end);
    const std::size_t begin = newline == std::string::npos ? 0 : newline + 1;
    std::string line = tail.substr(begin, end + 1 - begin);
    // A live progress line carries "\033[K" (erase to end of line) after its '\r'.
    const std::string erase = "\033[K";
    for (std::size_t p; (p = line.find(erase)) != std::string::npos;) line.erase(p, erase.size());
    return line;
}

std::vector<TaskResult> run_tasks(const std::vector<Task>& tasks, const PoolOptions& options, std::ostream& progress,
                                  const std::function<void(std::size_t, const TaskResult&)>& on_finish) {
    DYDIFF_CHECK(options.jobs >= 1, "run_tasks needs jobs >= 1, got " << options.jobs);
    check_graph(tasks);
    const std::string exe = options.executable.empty() ? self_executable() : options.executable;
    std::vector<TaskResult> results(tasks.size());
    std::vector<pid_t> pid(tasks.size(), -1);
    std::vector<Clock::time_point> started(tasks.size());
    const Clock::time_point t0 = Clock::now();
    Clock::time_point last_echo = t0;
    std::size_t running = 0;
    auto since_start = [&] { return std::chrono::duration<double>(Clock::now() - t0).count(); };

    auto finish = [&](std::size_t i, TaskResult r) {
        results[i] = r;
        if (on_finish) on_finish(i, r);
    };

    for (;;) {
        // Skip tasks whose prerequisite failed or was skipped (repeat until nothing changes: skips cascade).
        for (bool changed = true; changed;) {
            changed = false;
            for (std::size_t i = 0; i < tasks.size(); ++i) {
                if (results[i].state != TaskState::pending) continue;
                for (std::size_t d : tasks[i].after) {
                    const TaskState s = results[d].state;
                    if (s == TaskState::failed || s == TaskState::skipped) {
                        progress << "[" << clock_text(since_start()) << "] " << tasks[i].name << ": not started ("
                                 << tasks[d].name << " did not finish)\n"
                                 << std::flush;
                        TaskResult r;
                        r.state = TaskState::skipped;
                        finish(i, r);
                        changed = true;
                        break;
                    }
                }
            }
        }
        // Start what is ready, in list order.
        for (std::size_t i = 0; i < tasks.size() && running < options.jobs; ++i) {
            if (results[i].state != TaskState::pending) continue;
            bool ready = true;
            for (std::size_t d : tasks[i].after) ready = ready && results[d].state == TaskState::succeeded;
            if (!ready) continue;
            std::vector<char*> argv;
            argv.push_back(const_cast<char*>(exe.c_str()));
            for (const std::string& a : tasks[i].args) argv.push_back(const_cast<char*>(a.c_str()));
            argv.push_back(nullptr);
            const int log_fd = open_log(tasks[i].log_path, tasks[i].name);
            std::cout.flush();
            progress.flush();
            const pid_t child = ::fork();
            if (child == 0) exec_child(exe.c_str(), argv.data(), log_fd);
            const int fork_errno = errno;
            ::close(log_fd);
            if (child < 0)
                DYDIFF_FAIL("cannot start a process for '" << tasks[i].name << "': " << std::strerror(fork_errno));
            pid[i] = child;
            started[i] = Clock::now();
            results[i].state = TaskState::running;
            ++running;
            progress << "[" << clock_text(since_start()) << "] " << tasks[i].name << ": started (log "
                     << tasks[i].log_path << ")\n"
                     << std::flush;
        }
        if (running == 0) break;  // nothing runs and nothing could start: all done (or skipped)

        int status = 0;
        const pid_t done = ::waitpid(-1, &status, WNOHANG);
        if (done < 0 && errno != EINTR) DYDIFF_FAIL("waitpid failed: " << std::strerror(errno));
        if (done > 0) {
            for (std::size_t i = 0; i < tasks.size(); ++i) {
                if (pid[i] != done) continue;
                TaskResult r;
                r.seconds = std::chrono::duration<double>(Clock::now() - started[i]).count();
                r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
                r.state = r.exit_code == 0 ? TaskState::succeeded : TaskState::failed;
                --running;
                pid[i] = -1;
                progress << "[" << clock_text(since_start()) << "] " << tasks[i].name << ": "
                         << (r.exit_code == 0 ? "done" : "FAILED (exit " + std::to_string(r.exit_code) + ")") << " in "
                         << clock_text(r.seconds);
                if (r.exit_code != 0) {
                    const std::string last = last_log_line(tasks[i].log_path);
                    progress << "; last line of " << tasks[i].log_path << ": " << last;
                }
                progress << "\n" << std::flush;
                finish(i, r);
            }
            continue;
        }
        if (options.echo_seconds > 0 &&
            std::chrono::duration<double>(Clock::now() - last_echo).count() >= options.echo_seconds) {
            last_echo = Clock::now();
            for (std::size_t i = 0; i < tasks.size(); ++i)
                if (results[i].state == TaskState::running) {
                    const std::string last = last_log_line(tasks[i].log_path);
                    if (!last.empty() && !is_config_line(last))
                        progress << "[" << clock_text(since_start()) << "] " << tasks[i].name << ": " << last << "\n";
                }
            progress << std::flush;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    return results;
}

}  // namespace dydiff::cli
