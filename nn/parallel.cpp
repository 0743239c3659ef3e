// Thread pool behind nn::parallel_for: workers sleep on a condition variable between jobs; a job is a function and
// a chunk count; worker w runs chunk w + 1 (the caller runs chunk 0) and the caller waits for all of them.
#include "nn/parallel.hpp"

#include "autograd/error.hpp"

#include <algorithm>
#include <condition_variable>
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
        DYDIFF_CHECK(end != env && *end == '\0' && n >= 1 && n <= 1024,
                     "DYDIFF_NUM_THREADS must be an integer in [1, 1024], got '" << env << "'");
        return static_cast<std::size_t>(n);
    }
    const unsigned hw = std::thread::hardware_concurrency();
    return hw == 0 ? 1 : hw;
}

thread_local bool t_inside_job = false;

class Pool {
public:
    ~Pool() { resize(0); }

    std::size_t threads() {
        std::call_once(init_, [this] { if (threads_ == 0) threads_ = default_threads(); });
        return threads_;
    }

    void set_threads(std::size_t n) {
        std::lock_guard<std::mutex> run_lock(run_mutex_);
        threads_ = n == 0 ? default_threads() : n;
        std::call_once(init_, [] {});
    }

    void run(std::size_t chunks, const std::function<void(std::size_t)>& chunk_fn) {
        std::lock_guard<std::mutex> run_lock(run_mutex_);  // one job at a time
        resize(chunks - 1);
        {
            std::lock_guard<std::mutex> lock(mutex_);
            job_ = &chunk_fn;
            job_chunks_ = chunks - 1;
            pending_ = chunks - 1;
            error_ = nullptr;
            ++generation_;
        }
        wake_.notify_all();
        run_chunk(0);
        std::unique_lock<std::mutex> lock(mutex_);
        done_.wait(lock, [this] { return pending_ == 0; });
        job_ = nullptr;
        if (error_) std::rethrow_exception(error_);
    }

private:
    void run_chunk(std::size_t chunk) {
        t_inside_job = true;
        try {
            (*job_)(chunk);
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
        while (workers_.size() < n) {
            const std::size_t index = workers_.size();
            workers_.emplace_back([this, index] { worker_loop(index); });
        }
    }

    void worker_loop(std::size_t index) {
        std::size_t seen = 0;
        {
            std::lock_guard<std::mutex> lock(mutex_);
            seen = generation_;
        }
        for (;;) {
            std::unique_lock<std::mutex> lock(mutex_);
            wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
            if (stop_) return;
            seen = generation_;
            const bool mine = job_ != nullptr && index < job_chunks_;
            lock.unlock();
            if (!mine) continue;
            run_chunk(index + 1);
            lock.lock();
            if (--pending_ == 0) done_.notify_one();
        }
    }

    std::once_flag init_;
    std::size_t threads_ = 0;
    std::mutex run_mutex_;
    std::mutex mutex_;
    std::condition_variable wake_;
    std::condition_variable done_;
    std::vector<std::thread> workers_;
    const std::function<void(std::size_t)>* job_ = nullptr;
    std::size_t job_chunks_ = 0;  // chunks of the current job run by workers (chunk 0 is the caller's)
    std::size_t pending_ = 0;
    std::size_t generation_ = 0;
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
    const std::size_t chunks = std::min(num_threads(), (n + grain - 1) / grain);
    if (chunks <= 1 || t_inside_job) {
        fn(0, n);
        return;
    }
    // Chunk c covers [c * n / chunks, (c + 1) * n / chunks): a fixed split for fixed (n, chunks).
    const auto chunk_fn = [&](std::size_t c) { fn(c * n / chunks, (c + 1) * n / chunks); };
    pool().run(chunks, chunk_fn);
}

}  // namespace dydiff::nn
