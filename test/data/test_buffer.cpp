// ReplayBuffer and sample_mixed: ring wraparound and FIFO order, oversized batches, uniform sampling over the rows
// held, the real fraction of mixed batches and the fallback to all-real batches (docs/algorithm.md §11 P15).
#include "support/errors.hpp"
#include "data/replay_buffer.hpp"

#include "autograd/error.hpp"

#include <boost/test/unit_test.hpp>

#include <functional>
#include <string>
#include <vector>

using dydiff::test::error_of;
using dydiff::test::contains;

using namespace dydiff::data;

namespace {

// m transitions with S = 2, A = 1, row k tagged by `first + k` in every field (reward = tag, done = tag % 2).
Transitions tagged(std::size_t m, float first) {
    Transitions t = Transitions::zeros(m, 2, 1);
    for (std::size_t k = 0; k < m; ++k) {
        const float v = first + static_cast<float>(k);
        t.observations(k, 0) = v;
        t.observations(k, 1) = -v;
        t.actions(k, 0) = 2.0f * v;
        t.rewards(k) = v;
        t.next_observations(k, 0) = v + 0.5f;
        t.next_observations(k, 1) = -v - 0.5f;
        t.dones(k) = static_cast<float>(static_cast<int>(v) % 2);
    }
    return t;
}

std::vector<float> held_tags(const ReplayBuffer& b) {
    std::vector<float> out;
    for (std::size_t k = 0; k < b.size(); ++k) out.push_back(b.at(k).rewards(0));
    return out;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(replay_buffer, *boost::unit_test::timeout(60))

BOOST_AUTO_TEST_CASE(fills_then_wraps_fifo) {
    ReplayBuffer b(4, 2, 1);
    BOOST_TEST(b.size() == 0u);
    b.add_batch(tagged(3, 0.0f));
    BOOST_TEST(held_tags(b) == std::vector<float>({0, 1, 2}), boost::test_tools::per_element());
    b.add_batch(tagged(3, 3.0f));  // wraps: 0 and 1 are overwritten
    BOOST_TEST(b.size() == 4u);
    BOOST_TEST(held_tags(b) == std::vector<float>({2, 3, 4, 5}), boost::test_tools::per_element());
    b.add_batch(tagged(1, 6.0f));
    BOOST_TEST(held_tags(b) == std::vector<float>({3, 4, 5, 6}), boost::test_tools::per_element());
    const Transitions row = b.at(0);  // every field travels with its row
    BOOST_TEST(row.observations(0, 1) == -3.0f);
    BOOST_TEST(row.actions(0, 0) == 6.0f);
    BOOST_TEST(row.next_observations(0, 0) == 3.5f);
    BOOST_TEST(row.dones(0) == 1.0f);
}

BOOST_AUTO_TEST_CASE(oversized_batch_keeps_its_last_rows) {
    ReplayBuffer b(3, 2, 1);
    b.add_batch(tagged(1, 100.0f));
    b.add_batch(tagged(7, 0.0f));
    BOOST_TEST(held_tags(b) == std::vector<float>({4, 5, 6}), boost::test_tools::per_element());
    b.add_batch(tagged(0, 0.0f));  // an empty batch changes nothing
    BOOST_TEST(b.size() == 3u);
    b.clear();
    BOOST_TEST(b.size() == 0u);
    b.add_batch(tagged(2, 9.0f));
    BOOST_TEST(held_tags(b) == std::vector<float>({9, 10}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(sampling_draws_only_held_rows_uniformly) {
    ReplayBuffer b(5, 2, 1);
    b.add_batch(tagged(8, 0.0f));  // holds 3..7
    Rng rng(3), again(3);
    const Transitions s = b.sample(rng, 5000);
    BOOST_TEST(s.rewards == b.sample(again, 5000).rewards);  // same seed, same batch
    std::vector<int> counts(8, 0);
    for (std::size_t k = 0; k < s.size(); ++k) {
        const float v = s.rewards(k);
        BOOST_TEST((v >= 3.0f && v <= 7.0f));
        BOOST_TEST(s.observations(k, 0) == v);  // rows stay consistent
        BOOST_TEST(s.next_observations(k, 1) == -v - 0.5f);
        ++counts.at(static_cast<std::size_t>(v));
    }
    for (std::size_t v = 3; v < 8; ++v) BOOST_TEST((counts[v] > 850 && counts[v] < 1150), "count " << counts[v]);
}

BOOST_AUTO_TEST_CASE(storage_restore_continues_sampling_bit_for_bit) {
    ReplayBuffer a(5, 2, 1);
    a.add_batch(tagged(7, 0.0f));  // wrapped: head 2
    ReplayBuffer b(5, 2, 1);
    b.restore(a.storage_rows(), a.head());
    Rng ra(4), rb(4);
    BOOST_TEST(a.sample(ra, 50).rewards == b.sample(rb, 50).rewards);
    a.add_batch(tagged(1, 100.0f));
    b.add_batch(tagged(1, 100.0f));
    BOOST_TEST(a.storage_rows().rewards == b.storage_rows().rewards);
    ReplayBuffer c(5, 2, 1);
    BOOST_TEST(contains(error_of([&] { c.restore(tagged(3, 0.0f), 1); }), "head 1"));
}

BOOST_AUTO_TEST_CASE(errors) {
    ReplayBuffer b(4, 2, 1);
    Rng rng(1);
    BOOST_TEST(contains(error_of([&] { b.sample(rng, 1); }), "the buffer is empty"));
    BOOST_TEST(contains(error_of([&] { b.add_batch(Transitions::zeros(2, 3, 1)); }), "does not fit a buffer of obs dim 2"));
    BOOST_TEST(contains(error_of([] { ReplayBuffer(0, 2, 1); }), "capacity must be at least 1"));
    BOOST_TEST(contains(error_of([&] { b.at(0); }), "row 0 of a buffer holding 0"));
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(mixed_sampler, *boost::unit_test::timeout(60))

BOOST_AUTO_TEST_CASE(real_fraction_of_each_batch) {
    const ReplayBuffer real = ReplayBuffer::from_transitions(tagged(50, 0.0f));     // tags 0..49
    ReplayBuffer synthetic(1000, 2, 1);
    synthetic.add_batch(tagged(200, 1000.0f));                                      // tags >= 1000
    Rng rng(11);
    for (const double fraction : {0.0, 0.25, 0.5, 0.7, 1.0}) {
        MixedSamplerConfig config;
        config.real_fraction = fraction;
        const Transitions t = sample_mixed(real, synthetic, 40, rng, config);
        BOOST_REQUIRE(t.size() == 40u);
        const std::size_t n_real = static_cast<std::size_t>(40 * fraction);
        for (std::size_t k = 0; k < 40; ++k)
            BOOST_TEST((t.rewards(k) < 1000.0f) == (k < n_real), "fraction " << fraction << " row " << k);
    }
}

BOOST_AUTO_TEST_CASE(falls_back_to_all_real_below_threshold) {
    const ReplayBuffer real = ReplayBuffer::from_transitions(tagged(50, 0.0f));
    ReplayBuffer synthetic(1000, 2, 1);
    synthetic.add_batch(tagged(101, 1000.0f));  // one short of the official code's 102
    Rng rng(5);
    const MixedSamplerConfig config;
    BOOST_TEST(config.min_synthetic == 102u);
    Transitions t = sample_mixed(real, synthetic, 64, rng, config);
    for (std::size_t k = 0; k < 64; ++k) BOOST_TEST(t.rewards(k) < 1000.0f);
    synthetic.add_batch(tagged(1, 2000.0f));  // 102 rows: mixing starts
    t = sample_mixed(real, synthetic, 64, rng, config);
    std::size_t synthetic_rows = 0;
    for (std::size_t k = 0; k < 64; ++k) synthetic_rows += t.rewards(k) >= 1000.0f;
    BOOST_TEST(synthetic_rows == 32u);
    // The threshold is a parameter; an empty synthetic buffer always falls back.
    MixedSamplerConfig low;
    low.min_synthetic = 0;
    const ReplayBuffer empty(10, 2, 1);
    t = sample_mixed(real, empty, 8, rng, low);
    for (std::size_t k = 0; k < 8; ++k) BOOST_TEST(t.rewards(k) < 1000.0f);
}

BOOST_AUTO_TEST_CASE(bad_configs) {
    const ReplayBuffer real = ReplayBuffer::from_transitions(tagged(5, 0.0f));
    const ReplayBuffer other(5, 3, 1);
    Rng rng(2);
    MixedSamplerConfig config;
    config.real_fraction = 1.5;
    BOOST_TEST(contains(error_of([&] { sample_mixed(real, real, 4, rng, config); }),
                        "real_fraction must be in [0, 1], got 1.5"));
    BOOST_TEST(contains(error_of([&] { sample_mixed(real, other, 4, rng); }),
                        "the real buffer has obs dim 2, action dim 1 but the synthetic one 3, 1"));
}

BOOST_AUTO_TEST_SUITE_END()
