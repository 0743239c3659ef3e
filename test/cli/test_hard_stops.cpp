// Hard stops of a real training command (train-diffusion on a tiny generated dataset, a checkpoint every step so
// that many kills land inside a checkpoint write): SIGKILL at random moments (a fixed-seed generator picks them)
// and --resume after each must end in a checkpoint.npz bitwise equal to an uninterrupted run's, with the last good
// checkpoint loadable after every kill and no temp file left behind; --resume of a run that has a config but no
// checkpoint starts from step 0 (to the same bytes); a file-size limit (RLIMIT_FSIZE, as a full disk) and an
// unwritable --out give one error naming the path, and the good checkpoint is not replaced by a truncated one.
#include "support/run_dydiff.hpp"
#include "support/temp_dir.hpp"

#include "nn/checkpoint.hpp"

#include <boost/test/unit_test.hpp>

#include <fcntl.h>
#include <signal.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

namespace fs = std::filesystem;
using dydiff::test::TempDir;
using dydiff::test::read_text;
using dydiff::test::run_dydiff;

namespace {

// 48 steps, a metrics row and a checkpoint after every step.
const std::vector<std::string> kRun{"train-diffusion", "data.npz",   "--out", "r",     "--set", "steps=48",
                                    "--set",           "log_every=1", "--set", "checkpoint_every=1"};
const std::vector<std::string> kResume{"train-diffusion", "--out", "r", "--resume"};

// Starts `dydiff words...` in `dir` (output to files there), optionally under a file-size limit; returns its pid.
pid_t spawn(const TempDir& dir, const std::vector<std::string>& words, rlim_t file_size_limit = RLIM_INFINITY) {
    std::vector<std::string> argv{dydiff::test::dydiff_exe()};
    argv.insert(argv.end(), words.begin(), words.end());
    const pid_t pid = ::fork();
    BOOST_TEST_REQUIRE(pid >= 0);
    if (pid == 0) {
        if (::chdir(dir.path().c_str()) != 0) ::_exit(126);
        const int out = ::open(".stdout", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        const int err = ::open(".stderr", O_WRONLY | O_CREAT | O_TRUNC, 0644);
        if (out < 0 || err < 0) ::_exit(126);
        ::dup2(out, 1);
        ::dup2(err, 2);
        const rlimit limit{file_size_limit, file_size_limit};
        if (::setrlimit(RLIMIT_FSIZE, &limit) != 0) ::_exit(126);
        std::vector<char*> args;
        for (auto& a : argv) args.push_back(a.data());
        args.push_back(nullptr);
        ::execv(args[0], args.data());
        ::_exit(127);
    }
    return pid;
}

// Waits for the child; its exit code, or 128 + signal.
int wait_for(pid_t pid) {
    int status = 0;
    BOOST_TEST_REQUIRE(::waitpid(pid, &status, 0) == pid);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

std::vector<std::string> temp_files(const fs::path& dir) {
    std::vector<std::string> out;
    for (const auto& e : fs::directory_iterator(dir))
        if (e.path().filename().string().find(".tmp-") != std::string::npos) out.push_back(e.path().string());
    return out;
}

// metrics.csv without its last column (`seconds`, wall time: the one thing a resumed run may differ in).
std::string metrics_without_seconds(const fs::path& file) {
    std::string out, line;
    std::istringstream in(read_text(file));
    while (std::getline(in, line)) out += line.substr(0, line.rfind(',')) + "\n";
    return out;
}

// A working directory holding data.npz (maze2d-umaze, 2000 rows) and `reference`: the uninterrupted run's files.
struct Fixture {
    TempDir dir;
    std::string checkpoint, metrics;  // of the uninterrupted run
    Fixture() {
        BOOST_TEST_REQUIRE(run_dydiff(dir, {"dataset", "generate", "--env", "maze2d-umaze", "--steps", "2000",
                                            "--seed", "0", "--out", "data.npz"})
                               .code == 0);
        const auto r = run_dydiff(dir, kRun);
        BOOST_TEST_REQUIRE(r.code == 0, r.err);
        checkpoint = read_text(dir.path() / "r/checkpoint.npz");
        metrics = metrics_without_seconds(dir.path() / "r/metrics.csv");
        fs::remove_all(dir.path() / "r");
    }
    fs::path run() const { return dir.path() / "r"; }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(hard_stops)

BOOST_AUTO_TEST_CASE(sigkill_at_random_moments_then_resume_is_bitwise_uninterrupted, *boost::unit_test::label("slow")) {
    Fixture f;
    // The kill moments: uniform over a quarter of the uninterrupted run's duration, measured here, so that most
    // rounds are killed somewhere between process start and the last checkpoint write, and the run still advances
    // (where they fall changes nothing that is asserted).
    const auto t0 = std::chrono::steady_clock::now();
    BOOST_TEST_REQUIRE(wait_for(spawn(f.dir, kRun)) == 0);
    const auto full_us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
    fs::remove_all(f.run());
    std::mt19937_64 gen(20261130);
    int kills = 0, completed_early = 0, inside_writes = 0;
    for (int round = 0; round < 10; ++round) {
        // A kill before the run directory existed leaves nothing to resume: the user starts again.
        const bool resume = fs::exists(f.run() / "config.toml");
        const pid_t pid = spawn(f.dir, resume ? kResume : kRun);
        const auto delay = std::chrono::microseconds(static_cast<std::int64_t>(gen() % static_cast<std::uint64_t>(
                                                                                    full_us.count() / 4 + 1)));
        std::this_thread::sleep_for(delay);
        ::kill(pid, SIGKILL);
        const int code = wait_for(pid);
        if (code == 0) {
            ++completed_early;  // finished before the kill: the next round resumes a complete run
        } else {
            BOOST_TEST(code == 128 + SIGKILL, "round " << round << ": " << read_text(f.dir.path() / ".stderr"));
            ++kills;
            if (fs::exists(f.run()) && !temp_files(f.run()).empty()) ++inside_writes;  // an unfinished temp file
        }
        // The last good checkpoint is always whole and loadable.
        if (fs::exists(f.run() / "checkpoint.npz")) {
            const auto c = dydiff::nn::Checkpoint::load((f.run() / "checkpoint.npz").string());
            BOOST_TEST(c.get_int64("train/step") >= 1);
        }
    }
    BOOST_TEST_MESSAGE(kills << " kills (" << inside_writes << " inside a file write), " << completed_early
                             << " runs finished before their kill");
    BOOST_TEST(kills >= 1);
    const bool resume = fs::exists(f.run() / "config.toml");
    const int code = wait_for(spawn(f.dir, resume ? kResume : kRun));
    BOOST_TEST_REQUIRE(code == 0, read_text(f.dir.path() / ".stderr"));
    BOOST_TEST((read_text(f.run() / "checkpoint.npz") == f.checkpoint), "checkpoint differs from the uninterrupted run");
    BOOST_TEST(metrics_without_seconds(f.run() / "metrics.csv") == f.metrics);
    const std::vector<std::string> left = temp_files(f.run());
    if (resume) BOOST_TEST(left.empty(), "left behind: " << (left.empty() ? "" : left.front()));
}

BOOST_AUTO_TEST_CASE(resume_before_the_first_checkpoint_starts_from_step_0, *boost::unit_test::label("slow")) {
    Fixture f;
    BOOST_TEST_REQUIRE(run_dydiff(f.dir, kRun).code == 0);
    fs::remove(f.run() / "checkpoint.npz");  // as if killed after the run directory appeared, before step 1 ended
    const auto r = run_dydiff(f.dir, kResume);
    BOOST_TEST_REQUIRE(r.code == 0, r.err);
    BOOST_TEST(r.err.find("no checkpoint.npz in r yet: starting from step 0") != std::string::npos, r.err);
    BOOST_TEST((read_text(f.run() / "checkpoint.npz") == f.checkpoint));
    BOOST_TEST(metrics_without_seconds(f.run() / "metrics.csv") == f.metrics);
}

BOOST_AUTO_TEST_CASE(full_disk_keeps_the_good_checkpoint) {
    Fixture f;
    std::vector<std::string> four = kRun;
    four[5] = "steps=4";
    BOOST_TEST_REQUIRE(run_dydiff(f.dir, four).code == 0);
    const std::string good = read_text(f.run() / "checkpoint.npz");
    BOOST_TEST_REQUIRE(good.size() > 1000000u);
    // 1 MB per file: the next checkpoint cannot be written (the shell's `ulimit -f`, or a full disk).
    const pid_t pid = spawn(f.dir, {"train-diffusion", "--out", "r", "--resume", "--set", "steps=6"}, 1 << 20);
    const int code = wait_for(pid);
    const std::string err = read_text(f.dir.path() / ".stderr");
    BOOST_TEST(code == 1, "exit " << code << ": " << err);
    BOOST_TEST(err.find("dydiff: error: writing 'r/checkpoint.npz' (temp 'r/checkpoint.npz.tmp-") != std::string::npos,
               err);
    BOOST_TEST(err.find("File too large") != std::string::npos, err);
    BOOST_TEST(err.find("error") == err.rfind("error"), "more than one error: " << err);
    BOOST_TEST((read_text(f.run() / "checkpoint.npz") == good), "the good checkpoint was replaced");
    BOOST_TEST(temp_files(f.run()).empty());
    // An --out that cannot be created: one error naming it.
    std::ofstream(f.dir.path() / "file") << "x";
    const auto r = run_dydiff(f.dir, {"train-diffusion", "data.npz", "--out", "file/r", "--set", "steps=1"});
    BOOST_TEST(r.code == 1, r.all());
    BOOST_TEST(r.err.find("file: cannot create the directory") != std::string::npos, r.err);
}

BOOST_AUTO_TEST_SUITE_END()

// A NaN or Inf in any trainer, forced by an absurd learning rate (1e30: the parameters overflow within two steps):
// exit 1, one message naming the last good checkpoint or saying that none exists yet, and no checkpoint written.
BOOST_AUTO_TEST_SUITE(non_finite)

BOOST_AUTO_TEST_CASE(every_learner_stops_before_writing_a_checkpoint) {
    TempDir dir;
    BOOST_TEST_REQUIRE(run_dydiff(dir, {"dataset", "generate", "--env", "pendulum", "--kind", "medium-replay",
                                        "--steps", "1000", "--out", "p.npz"})
                           .code == 0);
    const std::vector<std::pair<std::string, std::vector<std::string>>> learners{
        {"bc", {"lr"}},
        {"td3bc", {"actor_lr", "critic_lr"}},
        {"iql", {"actor_lr", "critic_lr", "value_lr"}},
        {"cql", {"actor_lr", "critic_lr", "alpha_lr"}},
        {"diffql", {"actor_lr", "critic_lr"}}};
    const std::vector<std::string> small{"--set", "steps=6", "--set", "eval_every=3", "--set", "log_every=3",
                                         "--set", "eval_episodes=1", "--threads", "1"};
    for (const auto& [algo, keys] : learners) {
        std::vector<std::string> words{"train-agent", "p.npz", "--algo", algo, "--out", algo};
        words.insert(words.end(), small.begin(), small.end());
        for (const auto& k : keys) words.insert(words.end(), {"--set", algo + "." + k + "=1e30"});
        const auto r = run_dydiff(dir, words);
        BOOST_TEST(r.code == 1, algo << ": " << r.all());
        BOOST_TEST(r.err.rfind("dydiff: error: " + algo + ": ", 0) == 0u, r.err);
        BOOST_TEST(r.err.find("; stopping. no checkpoint exists yet (the first is due at step 3)") != std::string::npos,
                   r.err);
        BOOST_TEST(!fs::exists(dir.path() / algo / "checkpoint.npz"), algo);
    }
    // A resumed run that diverges names the checkpoint it resumed from, and leaves it as it was.
    std::vector<std::string> words{"train-agent", "p.npz", "--algo", "bc", "--out", "good"};
    words.insert(words.end(), small.begin(), small.end());
    words[7] = "steps=3";
    BOOST_TEST_REQUIRE(run_dydiff(dir, words).code == 0);
    const std::string good = read_text(dir.path() / "good/checkpoint.npz");
    const auto r = run_dydiff(dir, {"train-agent", "--out", "good", "--resume", "--set", "steps=9", "--set",
                                    "bc.lr=1e30"});
    BOOST_TEST(r.code == 1, r.all());
    BOOST_TEST(r.err.find("; stopping. the last good checkpoint is good/checkpoint.npz (step 3)") != std::string::npos,
               r.err);
    BOOST_TEST((read_text(dir.path() / "good/checkpoint.npz") == good));
}

// The DyDiff loop end to end (generation, filter, mixed batches around TD3+BC) on three tiny models: a learner that
// diverges while synthetic rollouts feed it stops the same way, fresh (no checkpoint yet) and resumed (the good
// checkpoint, synthetic buffer included, left as it was).
BOOST_AUTO_TEST_CASE(the_dydiff_loop_stops_before_writing_a_checkpoint) {
    TempDir dir;
    BOOST_TEST_REQUIRE(run_dydiff(dir, {"dataset", "generate", "--env", "pendulum", "--kind", "medium-replay",
                                        "--steps", "1000", "--out", "p.npz"})
                           .code == 0);
    const std::vector<std::vector<std::string>> fits{
        {"train-dynamics", "p.npz", "--out", "dyn", "--set", "max_epochs=1", "--set", "members=2", "--set",
         "elites=1", "--set", "hidden=8"},
        {"train-reward", "p.npz", "--out", "rew", "--set", "max_epochs=1", "--set", "hidden=8"},
        {"train-diffusion", "p.npz", "--out", "diff", "--set", "steps=2", "--set", "horizon=8", "--set", "batch=4",
         "--set", "checkpoint_every=2", "--set", "log_every=1"}};
    for (auto words : fits) {
        words.insert(words.end(), {"--threads", "1"});
        const auto r = run_dydiff(dir, words);
        BOOST_TEST_REQUIRE(r.code == 0, r.all());
    }
    // One epoch of 3 steps, a generation at the start of every epoch; the first checkpoint is due at step 3.
    const auto run = [](const std::string& out, const std::string& steps, bool diverge) {
        std::vector<std::string> w{"train-agent", "p.npz", "--algo", "td3bc", "--out", out, "--dydiff",
                                   "--diffusion", "diff", "--dynamics", "dyn", "--reward", "rew", "--threads", "1"};
        for (const std::string& kv :
             {"steps=" + steps, std::string("eval_every=3"), std::string("log_every=3"), std::string("eval_episodes=1"),
              std::string("td3bc.hidden=16"), std::string("td3bc.batch=16"), std::string("dydiff.epoch_steps=3"),
              std::string("dydiff.rollout_every=1"), std::string("dydiff.generator.starts=8"),
              std::string("dydiff.generator.chunk=8"), std::string("dydiff.sampler.num_steps=3")})
            w.insert(w.end(), {"--set", kv});
        if (diverge) w.insert(w.end(), {"--set", "td3bc.actor_lr=1e30", "--set", "td3bc.critic_lr=1e30"});
        return w;
    };
    auto r = run_dydiff(dir, run("fresh", "6", true));
    BOOST_TEST(r.code == 1, r.all());
    BOOST_TEST(r.err.find("generated 8 trajectories") != std::string::npos, r.err);  // after a generation
    BOOST_TEST(r.err.find("\ndydiff: error: td3bc: ") != std::string::npos, r.err);
    BOOST_TEST(r.err.find("; stopping. no checkpoint exists yet (the first is due at step 3)") != std::string::npos,
               r.err);
    BOOST_TEST(!fs::exists(dir.path() / "fresh/checkpoint.npz"));

    r = run_dydiff(dir, run("good", "3", false));
    BOOST_TEST_REQUIRE(r.code == 0, r.all());
    BOOST_TEST(r.all().find("generated 8 trajectories") != std::string::npos, r.all());  // DyDiff did run
    const std::string good = read_text(dir.path() / "good/checkpoint.npz");
    r = run_dydiff(dir, {"train-agent", "--out", "good", "--resume", "--set", "steps=9", "--set",
                         "td3bc.actor_lr=1e30", "--set", "td3bc.critic_lr=1e30"});
    BOOST_TEST(r.code == 1, r.all());
    BOOST_TEST(r.err.find("; stopping. the last good checkpoint is good/checkpoint.npz (step 3)") != std::string::npos,
               r.err);
    BOOST_TEST((read_text(dir.path() / "good/checkpoint.npz") == good));
}

BOOST_AUTO_TEST_CASE(diffusion_and_one_step_fits_stop_with_their_last_good_file) {
    Fixture f;
    std::vector<std::string> two = kRun;
    two[5] = "steps=2";
    BOOST_TEST_REQUIRE(run_dydiff(f.dir, two).code == 0);
    const std::string good = read_text(f.run() / "checkpoint.npz");
    const auto r = run_dydiff(f.dir, {"train-diffusion", "--out", "r", "--resume", "--set", "steps=40", "--set",
                                      "lr=1e30", "--set", "lr_rampup_kimg=0", "--set", "checkpoint_every=40"});
    BOOST_TEST(r.code == 1, r.all());
    BOOST_TEST(r.err.find("dydiff: error: train-diffusion: ") != std::string::npos, r.err);
    BOOST_TEST(r.err.find("; stopping. the last good checkpoint is r/checkpoint.npz (step 2)") != std::string::npos,
               r.err);
    BOOST_TEST((read_text(f.run() / "checkpoint.npz") == good));
    for (const char* command : {"train-dynamics", "train-reward"}) {
        const auto fit = run_dydiff(f.dir, {command, "data.npz", "--out", command, "--set", "lr=1e30"});
        BOOST_TEST(fit.code == 1, fit.all());
        BOOST_TEST(fit.err.find("; stopping. no model was saved (the fit writes it only when it ends)") !=
                       std::string::npos,
                   fit.err);
        BOOST_TEST(!fs::exists(f.dir.path() / command / "model.npz"));
    }
}

BOOST_AUTO_TEST_SUITE_END()
