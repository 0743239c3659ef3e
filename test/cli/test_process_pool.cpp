// The process pool of dydiff/cli/process_pool.hpp with the built dydiff (DYDIFF_EXE) as the child program and cheap
// commands (--help pages, a usage error): results and exit codes, a failed task's dependants skipped (and their
// dependants in turn), logs holding each child's output and created with their directory, on_finish once per task,
// progress lines, a log that cannot be opened and a cyclic or dangling `after` refused, and last_log_line.
#include "dydiff/cli/process_pool.hpp"

#include "support/errors.hpp"
#include "support/run_dydiff.hpp"
#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace fs = std::filesystem;
using dydiff::cli::PoolOptions;
using dydiff::cli::Task;
using dydiff::cli::TaskResult;
using dydiff::cli::TaskState;
using dydiff::test::contains;
using dydiff::test::error_of;
using dydiff::test::read_text;
using dydiff::test::TempDir;

namespace {

PoolOptions options(std::size_t jobs) {
    PoolOptions o;
    o.jobs = jobs;
    o.echo_seconds = 0.0;  // no periodic echo: the progress text depends only on the tasks
    o.executable = dydiff::test::dydiff_exe();
    return o;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(process_pool)

BOOST_AUTO_TEST_CASE(runs_tasks_skips_dependants_of_failures_and_keeps_logs) {
    TempDir dir;
    const std::vector<Task> tasks{
        {"help", {"stats", "--help"}, dir / "logs/a/help.log", {}},
        {"usage-error", {"stats"}, dir / "logs/usage.log", {}},
        {"after-failure", {"stats", "--help"}, dir / "logs/after-failure.log", {1}},
        {"after-skipped", {"stats", "--help"}, dir / "logs/after-skipped.log", {2}},
        {"after-success", {"config", "show", "train-agent"}, dir / "logs/after-success.log", {0}},
    };
    std::ostringstream progress;
    std::vector<std::pair<std::size_t, TaskState>> finished;
    const std::vector<TaskResult> results = dydiff::cli::run_tasks(
        tasks, options(2), progress, [&](std::size_t i, const TaskResult& r) { finished.emplace_back(i, r.state); });

    BOOST_TEST_REQUIRE(results.size() == tasks.size());
    BOOST_TEST((results[0].state == TaskState::succeeded));
    BOOST_TEST(results[0].exit_code == 0);
    BOOST_TEST((results[1].state == TaskState::failed));
    BOOST_TEST(results[1].exit_code == 2);  // a usage error
    BOOST_TEST((results[2].state == TaskState::skipped));
    BOOST_TEST((results[3].state == TaskState::skipped));
    BOOST_TEST(results[2].exit_code == -1);
    BOOST_TEST((results[4].state == TaskState::succeeded));

    // Each child's stdout and stderr in its own log (the directory logs/a made for it); none for skipped tasks.
    BOOST_TEST(contains(read_text(dir / "logs/a/help.log"), "usage: dydiff stats"));
    BOOST_TEST(contains(read_text(dir / "logs/usage.log"), "give at least one RUN directory"));
    BOOST_TEST(contains(read_text(dir / "logs/after-success.log"), "algo = \"td3bc\""));
    BOOST_TEST(!fs::exists(dir / "logs/after-failure.log"));
    BOOST_TEST(!fs::exists(dir / "logs/after-skipped.log"));

    // on_finish once per task.
    BOOST_TEST_REQUIRE(finished.size() == tasks.size());
    for (std::size_t i = 0; i < tasks.size(); ++i)
        BOOST_TEST(std::count_if(finished.begin(), finished.end(), [&](const auto& f) { return f.first == i; }) == 1);

    const std::string text = progress.str();
    BOOST_TEST(contains(text, "help: started (log " + dir / "logs/a/help.log" + ")"));
    BOOST_TEST(contains(text, "usage-error: FAILED (exit 2)"));
    BOOST_TEST(contains(text, "last line of " + dir / "logs/usage.log"));
    BOOST_TEST(contains(text, "after-failure: not started (usage-error did not finish)"));
    BOOST_TEST(contains(text, "after-skipped: not started (after-failure did not finish)"));
}

BOOST_AUTO_TEST_CASE(logs_append_across_runs) {
    TempDir dir;
    const std::vector<Task> tasks{{"help", {"stats", "--help"}, dir / "help.log", {}}};
    std::ostringstream progress;
    dydiff::cli::run_tasks(tasks, options(1), progress);
    const std::size_t once = fs::file_size(dir / "help.log");
    dydiff::cli::run_tasks(tasks, options(1), progress);
    BOOST_TEST(fs::file_size(dir / "help.log") == 2 * once);
}

BOOST_AUTO_TEST_CASE(refuses_bad_task_lists_and_unwritable_logs) {
    TempDir dir;
    std::ostringstream progress;
    const std::vector<Task> cycle{{"a", {"--help"}, dir / "a.log", {1}}, {"b", {"--help"}, dir / "b.log", {0}}};
    BOOST_TEST(contains(error_of([&] { dydiff::cli::run_tasks(cycle, options(1), progress); }), "in a cycle"));
    const std::vector<Task> dangling{{"a", {"--help"}, dir / "a.log", {5}}};
    BOOST_TEST(contains(error_of([&] { dydiff::cli::run_tasks(dangling, options(1), progress); }),
                        "task 'a' waits for task 5, which does not exist"));
    BOOST_TEST(contains(error_of([&] { dydiff::cli::run_tasks(dangling, options(0), progress); }), "jobs >= 1"));
    BOOST_TEST(!fs::exists(dir / "a.log"));  // nothing started
    // The log path is a directory: an error naming it, before any process starts.
    fs::create_directories(dir / "taken");
    const std::vector<Task> taken{{"t", {"--help"}, dir / "taken", {}}};
    const std::string e = error_of([&] { dydiff::cli::run_tasks(taken, options(1), progress); });
    BOOST_TEST(contains(e, "cannot open the log " + dir / "taken" + " of 't'"), e);
}

BOOST_AUTO_TEST_CASE(last_log_line_is_the_last_progress_line) {
    TempDir dir;
    const auto write = [&](const std::string& text) {
        std::ofstream(dir / "log.txt", std::ios::binary) << text;
        return dydiff::cli::last_log_line(dir / "log.txt");
    };
    BOOST_TEST(write("first\nsecond\n") == "second");
    BOOST_TEST(write("step 1\rstep 2\r\033[Kstep 3  \r\n\n") == "step 3");
    BOOST_TEST(write("\n\n") == "");
    BOOST_TEST(dydiff::cli::last_log_line(dir / "missing.txt") == "");
}

BOOST_AUTO_TEST_SUITE_END()
