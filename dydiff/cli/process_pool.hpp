// Independent `dydiff` commands run as child processes, at most `jobs` at a time, each with its output in its own
// log file: what `dydiff quickstart` and `dydiff sweep` use to keep both cores busy with one-thread runs (two
// one-thread learners make more steps per second than one two-thread learner, docs/performance.md). A task can
// wait for others (its `after` list); a task whose prerequisite failed is not started. While tasks run, the last
// line each one wrote to its log is echoed every `echo_seconds`, so long work shows progress.
#pragma once

#include <cstddef>
#include <functional>
#include <iosfwd>
#include <string>
#include <vector>

namespace dydiff::cli {

struct Task {
    std::string name;                // the label of its progress lines
    std::vector<std::string> args;   // the words after `dydiff`
    std::string log_path;            // stdout and stderr, appended (created with its directory)
    std::vector<std::size_t> after;  // indices (into the task list) of tasks that must succeed first
};

enum class TaskState { pending, running, succeeded, failed, skipped };

struct TaskResult {
    TaskState state = TaskState::pending;
    int exit_code = -1;    // the child's exit code (128 + signal when a signal ended it); -1 if never run
    double seconds = 0.0;  // wall time
};

struct PoolOptions {
    std::size_t jobs = 1;              // processes at once (>= 1)
    double echo_seconds = 15.0;        // echo each running task's last log line this often; <= 0: never
    std::string executable;            // empty: this process's own executable (self_executable())
};

/// The path of the running executable (/proc/self/exe); throws dydiff::Error where it cannot be found.
std::string self_executable();

/// Runs the tasks (in list order, as their prerequisites allow) and returns one result per task. Progress (start,
/// end with exit code and time, periodic last log lines) goes to `progress`. `on_finish`, if given, is called in
/// the parent after each task ends. Throws dydiff::Error on a cyclic or out-of-range `after`, or when a log cannot be
/// opened or a process cannot be started.
std::vector<TaskResult> run_tasks(const std::vector<Task>& tasks, const PoolOptions& options, std::ostream& progress,
                                  const std::function<void(std::size_t, const TaskResult&)>& on_finish = {});

/// The last non-empty line of a text file (a progress line ends with '\r' or '\n'); "" if none.
std::string last_log_line(const std::string& path);

}  // namespace dydiff::cli
