// Thread pool behind nn::parallel_for: a job is a function and a chunk count; the caller runs chunk 0, then workers
// and the caller claim the other chunks (an atomic ticket), and the caller waits for all of them. Chunk bounds are
// fixed; only which thread runs a chunk varies, so a worker the OS has not scheduled yet delays nothing. Between jobs
// a worker spins for kSpin before sleeping on a condition variable, and the caller spins as long before sleeping on
// the job's completion: back-to-back kernels (a training step is hundreds of small gemms) then cost ~1 us of
// hand-off instead of a futex wake-up (~20 us or more).
#include "nn/parallel.hpp"

#include "autograd/error.hpp"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <exception>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace dydiff::nn {
namespace {

std::size_t default_threads() {
    if (const char* env = std::getenv("DYDIFF_NUM_THREADS")) {
        char* end = nullptr;
        const long n = std::strtol(env, &end, 10);
        DYDIFF_USER_CHECK(end != env && *end == '\0' && n >= 1 && n <= 1024,
                          "DYDIFF_NUM_THREADS must be an integer in [1, 1024], got '" << env << "'");
        return static_cast<std::size_t>(n);
    }
    const unsigned hw = std::thread::hardware_concurrency();
    return hw == 0 ? 1 : hw;
}

thread_local bool t_inside_job = false;

/// How long a thread busy-waits for the next job or for the end of the current one before blocking. Short, because
/// on a 2-core machine a spinning thread takes a core from whoever else runs there.
constexpr auto kSpin = std::chrono::microseconds(50);

/// Busy-waits until done() or kSpin has passed; returns done().
template <class Done>
bool spin_until(const Done& done) {
    const auto deadline = std::chrono::steady_clock::now() + kSpin;
    for (;;) {
        for (int i = 0; i < 64; ++i) {
            if (done()) return true;
#if defined(__x86_64__) || defined(__i386__)
            __builtin_ia32_pause();
#endif
        }
        if (std::chrono::steady_clock::now() >= deadline) return done();
    }
}

class Pool {
public:
    ~Pool() { resize(0); }

    // NOTE: not std::call_once: libstdc++ builds it on pthread_once, and an exception thrown through it (a bad
    // DYDIFF_NUM_THREADS) calls std::terminate instead of reaching the caller.
    std::size_t threads() {
        const std::size_t n = threads_.load(std::memory_order_acquire);
        if (n != 0) return n;
        std::lock_guard<std::mutex> lock(init_mutex_);
        if (threads_.load(std::memory_order_relaxed) == 0) threads_.store(default_threads(), std::memory_order_release);
        return threads_.load(std::memory_order_relaxed);
    }

    void set_threads(std::size_t n) {
        DYDIFF_CHECK(n <= 1024, "set_num_threads: at most 1024 threads, got " << n);
        std::lock_guard<std::mutex> run_lock(run_mutex_);
        std::lock_guard<std::mutex> lock(init_mutex_);
        threads_.store(n == 0 ? default_threads() : n, std::memory_order_release);
        // Surplus workers would wake and spin on every job, competing with the ones that work.
        if (workers_.size() + 1 > threads_) resize(0);
    }

    void run(std::size_t chunks, const std::function<void(std::size_t)>& chunk_fn) {
        std::lock_guard<std::mutex> run_lock(run_mutex_);  // one job at a time
        resize(chunks - 1);
        std::uint64_t generation = 0;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            job_ = &chunk_fn;
            job_chunks_ = chunks;
            pending_.store(chunks - 1);
            error_ = nullptr;
            generation = generation_.fetch_add(1) + 1;
            next_.store(ticket(generation, 1));
        }
        wake_.notify_all();
        run_chunk(chunk_fn, 0);
        // Then help: a chunk whose worker has not been scheduled yet is run here rather than waited for.
        for (std::size_t c; (c = claim(generation, chunks)) != kNone;) {
            run_chunk(chunk_fn, c);
            pending_.fetch_sub(1);
        }
        spin_until([this] { return pending_.load(std::memory_order_acquire) == 0; });
        std::unique_lock<std::mutex> lock(mutex_);
        done_.wait(lock, [this] { return pending_.load() == 0; });
        job_ = nullptr;
        if (error_) std::rethrow_exception(error_);
    }

private:
    static constexpr std::size_t kNone = ~std::size_t{0};
    static constexpr int kChunkBits = 16;  // chunks <= threads <= 1024

    /// next_ packs (generation, next unclaimed chunk): a claim can only take a chunk of the job it was woken for.
    static std::uint64_t ticket(std::uint64_t generation, std::size_t chunk) {
        return (generation << kChunkBits) | chunk;
    }

    /// The next unclaimed chunk of job `generation` (which has `chunks` chunks), or kNone.
    std::size_t claim(std::uint64_t generation, std::size_t chunks) {
        std::uint64_t t = next_.load();
        for (;;) {
            const std::size_t chunk = t & ((std::uint64_t{1} << kChunkBits) - 1);
            if (t >> kChunkBits != (generation & (~std::uint64_t{0} >> kChunkBits)) || chunk >= chunks) return kNone;
            if (next_.compare_exchange_weak(t, t + 1)) return chunk;
        }
    }

    void run_chunk(const std::function<void(std::size_t)>& fn, std::size_t chunk) {
        t_inside_job = true;
        try {
            fn(chunk);
        } catch (...) {
            std::lock_guard<std::mutex> lock(mutex_);
            if (!error_) error_ = std::current_exception();
        }
        t_inside_job = false;
    }

    // Keeps at least `n` workers alive; resize(0) joins all of them.
    void resize(std::size_t n) {
        if (n == 0 && !workers_.empty()) {
            {
                std::lock_guard<std::mutex> lock(mutex_);
                stop_ = true;
            }
            wake_.notify_all();
            for (auto& w : workers_) w.join();
            workers_.clear();
            stop_ = false;
        }
        // NOTE: a new worker must start from the generation current *now*: reading it inside the new thread races
        // with the generation bump of the job being started, and the worker would sleep through that job.
        while (workers_.size() < n) {
            const std::uint64_t seen = generation_.load();
            workers_.emplace_back([this, seen] { worker_loop(seen); });
        }
    }

    void worker_loop(std::uint64_t seen) {
        for (;;) {
            spin_until([&] { return generation_.load(std::memory_order_acquire) != seen; });
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [&] { return stop_ || generation_.load() != seen; });
            if (stop_) return;
            seen = generation_.load();
            const auto* job = job_;
            const std::size_t chunks = job_chunks_;
            lock.unlock();
            // A successful claim proves job `seen` is still running (its chunk is not done), so *job is alive.
            for (std::size_t c; job != nullptr && (c = claim(seen, chunks)) != kNone;) {
                run_chunk(*job, c);
                if (pending_.fetch_sub(1) == 1) {
                    // Under the mutex, so the caller cannot check pending_ and then sleep through this notification.
                    lock.lock();
                    done_.notify_one();
                    lock.unlock();
                }
            }
        }
    }

    std::mutex init_mutex_;                // guards the first read of DYDIFF_NUM_THREADS
    std::atomic<std::size_t> threads_{0};  // 0 until threads() or set_threads()
    std::mutex run_mutex_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable done_;
    std::vector<std::thread> workers_;
    const std::function<void(std::size_t)>* job_ = nullptr;
    std::size_t job_chunks_ = 0;              // chunks of the current job, chunk 0 included
    std::atomic<std::size_t> pending_{0};     // chunks 1.. of the current job not yet finished
    std::atomic<std::uint64_t> generation_{0};  // bumped once per job; spinning workers watch it
    std::atomic<std::uint64_t> next_{0};      // ticket(generation, next unclaimed chunk)
    bool stop_ = false;
    std::exception_ptr error_;
};

Pool& pool() {
    static Pool instance;
    return instance;
}

}  // namespace

std::size_t num_threads() { return pool().threads(); }

void set_num_threads(std::size_t n) { pool().set_threads(n); }

void parallel_for(std::size_t n, std::size_t grain, const std::function<void(std::size_t, std::size_t)>& fn) {
    if (n == 0) return;
    grain = grain == 0 ? 1 : grain;
    // n / grain (rounded down) chunks at most, so that every chunk is at least grain long.
    const std::size_t chunks = std::min(num_threads(), n / grain);
    if (chunks <= 1 || t_inside_job) {
        fn(0, n);
        return;
    }
    // Chunk c covers [c * n / chunks, (c + 1) * n / chunks): a fixed split for fixed (n, chunks).
    const auto chunk_fn = [&](std::size_t c) { fn(c * n / chunks, (c + 1) * n / chunks); };
    pool().run(chunks, chunk_fn);
}

}  // namespace dydiff::nn
