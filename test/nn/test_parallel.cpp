// nn::parallel_for: every index of [0, n) visited exactly once, chunks at least `grain` long and at most
// num_threads() of them, the caller runs chunk 0, exceptions reach the caller, nested calls run serially.
#include "nn/parallel.hpp"

#include "autograd/error.hpp"

#include <boost/test/unit_test.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <mutex>
#include <stdexcept>
#include <thread>
#include <utility>
#include <vector>

namespace {

using dydiff::nn::parallel_for;

/// Restores the default thread count when a test case ends, pass or fail.
struct ThreadCount {
    explicit ThreadCount(std::size_t n) { dydiff::nn::set_num_threads(n); }
    ~ThreadCount() { dydiff::nn::set_num_threads(0); }
};

/// The chunks one parallel_for call made, in no particular order.
std::vector<std::pair<std::size_t, std::size_t>> chunks_of(std::size_t n, std::size_t grain) {
    std::mutex mutex;
    std::vector<std::pair<std::size_t, std::size_t>> chunks;
    parallel_for(n, grain, [&](std::size_t begin, std::size_t end) {
        std::lock_guard<std::mutex> lock(mutex);
        chunks.emplace_back(begin, end);
    });
    return chunks;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(parallel)

BOOST_AUTO_TEST_CASE(covers_every_index_exactly_once) {
    for (std::size_t threads : {1, 2, 3, 5}) {
        const ThreadCount guard(threads);
        for (std::size_t n : {1, 2, 3, 7, 64, 1000, 4099}) {
            std::vector<std::atomic<int>> hits(n);
            parallel_for(n, 1, [&](std::size_t begin, std::size_t end) {
                for (std::size_t i = begin; i < end; ++i) hits[i].fetch_add(1);
            });
            for (std::size_t i = 0; i < n; ++i)
                BOOST_TEST(hits[i].load() == 1, "threads " << threads << " n " << n << " index " << i);
        }
    }
}

BOOST_AUTO_TEST_CASE(thread_count_is_checked) {
    const ThreadCount guard(0);
    BOOST_CHECK_THROW(dydiff::nn::set_num_threads(1025), dydiff::Error);
    dydiff::nn::set_num_threads(3);
    BOOST_TEST(dydiff::nn::num_threads() == 3u);
}

BOOST_AUTO_TEST_CASE(zero_length_calls_nothing) {
    const ThreadCount guard(2);
    int calls = 0;
    parallel_for(0, 1, [&](std::size_t, std::size_t) { ++calls; });
    BOOST_TEST(calls == 0);
}

BOOST_AUTO_TEST_CASE(chunks_respect_grain_and_thread_count) {
    const ThreadCount guard(3);
    for (std::size_t n : {1, 5, 10, 11, 30, 100}) {
        for (std::size_t grain : {0, 1, 4, 10, 200}) {
            const auto chunks = chunks_of(n, grain);
            BOOST_TEST(chunks.size() >= 1u);
            BOOST_TEST(chunks.size() <= 3u, "n " << n << " grain " << grain);
            std::size_t total = 0;
            for (const auto& [begin, end] : chunks) {
                BOOST_TEST(begin < end);
                total += end - begin;
                if (chunks.size() > 1)
                    BOOST_TEST(end - begin >= grain, "n " << n << " grain " << grain << " chunk " << begin);
            }
            BOOST_TEST(total == n);
        }
    }
}

BOOST_AUTO_TEST_CASE(split_is_fixed_for_fixed_n_and_threads) {
    const ThreadCount guard(2);
    auto first = chunks_of(1001, 1);
    for (int repeat = 0; repeat < 20; ++repeat) {
        auto again = chunks_of(1001, 1);
        std::sort(first.begin(), first.end());
        std::sort(again.begin(), again.end());
        BOOST_TEST(again == first);
    }
}

BOOST_AUTO_TEST_CASE(caller_runs_chunk_zero) {
    // Other chunks go to whichever thread claims them first (the caller too, if a worker is slow to start).
    const ThreadCount guard(2);
    const auto caller = std::this_thread::get_id();
    for (int repeat = 0; repeat < 100; ++repeat) {
        std::atomic<bool> chunk0_on_caller{false};
        parallel_for(2, 1, [&](std::size_t begin, std::size_t) {
            if (begin == 0) chunk0_on_caller = std::this_thread::get_id() == caller;
        });
        BOOST_TEST(chunk0_on_caller.load());
    }
}

BOOST_AUTO_TEST_CASE(chunks_run_concurrently_when_a_worker_is_free) {
    // Chunk 0 waits (bounded) for chunk 1 to start: only a second thread can start it while chunk 0 is running.
    const ThreadCount guard(2);
    std::atomic<bool> chunk1_started{false};
    std::atomic<bool> overlapped{false};
    parallel_for(2, 1, [&](std::size_t begin, std::size_t) {
        if (begin == 0) {
            const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
            while (!chunk1_started && std::chrono::steady_clock::now() < deadline) std::this_thread::yield();
            overlapped = chunk1_started.load();
        } else {
            chunk1_started = true;
        }
    });
    BOOST_TEST(overlapped.load());
}

BOOST_AUTO_TEST_CASE(exception_reaches_the_caller_and_pool_survives) {
    const ThreadCount guard(2);
    for (std::size_t thrower : {0, 1}) {  // chunk 0 runs on the caller, chunk 1 on a worker
        BOOST_CHECK_THROW(parallel_for(2, 1,
                                       [&](std::size_t begin, std::size_t) {
                                           if (begin == thrower) throw std::runtime_error("chunk failed");
                                       }),
                          std::runtime_error);
    }
    std::atomic<std::size_t> sum{0};
    parallel_for(100, 1, [&](std::size_t begin, std::size_t end) {
        for (std::size_t i = begin; i < end; ++i) sum += i;
    });
    BOOST_TEST(sum.load() == 4950u);
}

BOOST_AUTO_TEST_CASE(nested_calls_run_serially_and_cover_everything) {
    const ThreadCount guard(2);
    constexpr std::size_t kOuter = 4;
    constexpr std::size_t kInner = 50;
    std::vector<std::atomic<int>> hits(kOuter * kInner);
    std::atomic<int> inner_chunks{0};
    parallel_for(kOuter, 1, [&](std::size_t begin, std::size_t end) {
        for (std::size_t o = begin; o < end; ++o) {
            parallel_for(kInner, 1, [&](std::size_t b, std::size_t e) {
                ++inner_chunks;
                for (std::size_t i = b; i < e; ++i) hits[o * kInner + i].fetch_add(1);
            });
        }
    });
    for (std::size_t i = 0; i < hits.size(); ++i) BOOST_TEST(hits[i].load() == 1, "index " << i);
    BOOST_TEST(inner_chunks.load() == static_cast<int>(kOuter));  // one serial chunk per nested call
}

BOOST_AUTO_TEST_CASE(many_small_jobs_back_to_back) {
    const ThreadCount guard(2);
    std::atomic<std::size_t> total{0};
    constexpr std::size_t kJobs = 20000;
    for (std::size_t job = 0; job < kJobs; ++job)
        parallel_for(2, 1, [&](std::size_t begin, std::size_t end) { total += end - begin; });
    BOOST_TEST(total.load() == 2 * kJobs);
}

BOOST_AUTO_TEST_SUITE_END()
