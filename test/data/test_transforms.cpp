// Transforms on hand-made boundary cases: episode splitting (no flags, flag on the last row, length-1 episodes,
// terminal vs timeout), Q-learning transitions (timeout skip, terminal kept, last row, next_observations), diffusion
// windows (n > H, n = H, n < H, padding, no window crosses an episode end) and the normalizers' closed forms,
// constant dimensions, clipping and NPZ save/load.
#include "support/errors.hpp"
#include "data/episodes.hpp"
#include "data/normalizer.hpp"
#include "data/transitions.hpp"
#include "data/window_dataset.hpp"

#include "autograd/error.hpp"

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <filesystem>
#include <functional>
#include <string>
#include <vector>

#include <unistd.h>

using dydiff::test::error_of;
using dydiff::test::contains;

using namespace dydiff::data;

namespace {

constexpr float kTol = 1e-6f;

// N rows, S = 2 (row i: [i, 10 i]), A = 1 (row i: -i), rewards i, flags at the given rows.
Dataset make_dataset(std::size_t n, const std::vector<std::size_t>& terminal_rows,
                     const std::vector<std::size_t>& timeout_rows, bool with_next = false) {
    Dataset d;
    d.observations = xt::zeros<float>({n, std::size_t{2}});
    d.actions = xt::zeros<float>({n, std::size_t{1}});
    d.rewards = xt::zeros<float>({n});
    d.terminals = xt::zeros<float>({n});
    d.timeouts = xt::zeros<float>({n});
    for (std::size_t i = 0; i < n; ++i) {
        d.observations(i, 0) = static_cast<float>(i);
        d.observations(i, 1) = 10.0f * static_cast<float>(i);
        d.actions(i, 0) = -static_cast<float>(i);
        d.rewards(i) = static_cast<float>(i);
    }
    for (std::size_t i : terminal_rows) d.terminals(i) = 1.0f;
    for (std::size_t i : timeout_rows) d.timeouts(i) = 1.0f;
    if (with_next) d.next_observations = xt::xtensor<float, 2>(d.observations + 0.5f);
    return d;
}

using Ranges = std::vector<EpisodeRange>;

std::string str(const Ranges& r) {
    std::string s;
    for (const auto& e : r) s += "[" + std::to_string(e.start) + "," + std::to_string(e.end) + ")";
    return s;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(episodes, *boost::unit_test::timeout(60))

BOOST_AUTO_TEST_CASE(terminal_and_timeout_both_cut) {
    const Dataset d = make_dataset(8, {2}, {5});
    BOOST_TEST(str(split_episodes(d)) == "[0,3)[3,6)");                  // tail rows 6, 7 dropped
    BOOST_TEST(str(split_episodes(d, TailRows::keep)) == "[0,3)[3,6)[6,8)");
}

BOOST_AUTO_TEST_CASE(no_flags_at_all) {
    const Dataset d = make_dataset(5, {}, {});
    BOOST_TEST(split_episodes(d).empty());
    BOOST_TEST(str(split_episodes(d, TailRows::keep)) == "[0,5)");
}

BOOST_AUTO_TEST_CASE(flag_at_last_row_leaves_no_tail) {
    const Dataset d = make_dataset(4, {}, {3});
    BOOST_TEST(str(split_episodes(d)) == "[0,4)");
    BOOST_TEST(str(split_episodes(d, TailRows::keep)) == "[0,4)");
}

BOOST_AUTO_TEST_CASE(length_one_episodes) {
    const Dataset d = make_dataset(4, {0, 1}, {2});  // rows 0, 1, 2 each end an episode
    BOOST_TEST(str(split_episodes(d)) == "[0,1)[1,2)[2,3)");
    BOOST_TEST(str(split_episodes(d, TailRows::keep)) == "[0,1)[1,2)[2,3)[3,4)");
    const Dataset both = make_dataset(1, {0}, {0});  // both flags on one row: one episode
    BOOST_TEST(str(split_episodes(both)) == "[0,1)");
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(transitions, *boost::unit_test::timeout(60))

BOOST_AUTO_TEST_CASE(qlearning_rules_without_next_observations) {
    // Terminal at 2, timeout at 5, N = 8: row 5 skipped (timeout), row 7 dropped (last row).
    const Dataset d = make_dataset(8, {2}, {5});
    std::vector<std::size_t> rows;
    const Transitions t = make_transitions(d, {}, &rows);
    BOOST_TEST(rows == std::vector<std::size_t>({0, 1, 2, 3, 4, 6}), boost::test_tools::per_element());
    BOOST_REQUIRE(t.size() == 6u);
    for (std::size_t k = 0; k < t.size(); ++k) {
        const std::size_t i = rows[k];
        BOOST_TEST(t.observations(k, 0) == static_cast<float>(i));
        BOOST_TEST(t.actions(k, 0) == -static_cast<float>(i));
        BOOST_TEST(t.rewards(k) == static_cast<float>(i));
        BOOST_TEST(t.dones(k) == (i == 2 ? 1.0f : 0.0f));
        // Never across an episode end: s' is the next row, or the row itself for the terminal placeholder.
        const float next = i == 2 ? 2.0f : static_cast<float>(i + 1);
        BOOST_TEST(t.next_observations(k, 0) == next);
        BOOST_TEST(t.next_observations(k, 1) == 10.0f * next);
    }
}

BOOST_AUTO_TEST_CASE(qlearning_rules_with_next_observations) {
    const Dataset d = make_dataset(8, {2}, {5}, true);
    std::vector<std::size_t> rows;
    const Transitions t = make_transitions(d, {}, &rows);
    // The last row is kept (it has its own next observation); the timeout row is still skipped by default.
    BOOST_TEST(rows == std::vector<std::size_t>({0, 1, 2, 3, 4, 6, 7}), boost::test_tools::per_element());
    for (std::size_t k = 0; k < t.size(); ++k)
        BOOST_TEST(t.next_observations(k, 0) == static_cast<float>(rows[k]) + 0.5f);

    TransitionOptions keep;
    keep.keep_timeouts_with_next_obs = true;
    const Transitions u = make_transitions(d, keep, &rows);
    BOOST_TEST(rows == std::vector<std::size_t>({0, 1, 2, 3, 4, 5, 6, 7}), boost::test_tools::per_element());
    BOOST_TEST(u.dones(5) == 0.0f);  // a timeout bootstraps
    BOOST_TEST(u.dones(2) == 1.0f);

    // Without next_observations the option cannot apply: there is no valid next state at a timeout.
    const Transitions v = make_transitions(make_dataset(8, {2}, {5}), keep, &rows);
    BOOST_TEST(v.size() == 6u);
}

BOOST_AUTO_TEST_CASE(terminal_and_timeout_on_one_row_is_kept_as_terminal) {
    const Dataset d = make_dataset(4, {1}, {1});
    std::vector<std::size_t> rows;
    const Transitions t = make_transitions(d, {}, &rows);
    BOOST_TEST(rows == std::vector<std::size_t>({0, 1, 2}), boost::test_tools::per_element());
    BOOST_TEST(t.dones(1) == 1.0f);
}

BOOST_AUTO_TEST_CASE(single_row_and_flag_at_last_row) {
    BOOST_TEST(make_transitions(make_dataset(1, {}, {})).size() == 0u);
    BOOST_TEST(make_transitions(make_dataset(1, {}, {}, true)).size() == 1u);
    std::vector<std::size_t> rows;
    make_transitions(make_dataset(3, {2}, {}), {}, &rows);  // terminal last row, no next obs: dropped
    BOOST_TEST(rows == std::vector<std::size_t>({0, 1}), boost::test_tools::per_element());
    make_transitions(make_dataset(3, {2}, {}, true), {}, &rows);
    BOOST_TEST(rows == std::vector<std::size_t>({0, 1, 2}), boost::test_tools::per_element());
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(windows, *boost::unit_test::timeout(60))

BOOST_AUTO_TEST_CASE(window_offsets_per_episode) {
    // Episodes of lengths 5, 3, 2, 1 with H = 3: 3 windows, 1 window, one padded, one padded.
    const std::vector<Window> w = make_windows({{0, 5}, {5, 8}, {8, 10}, {10, 11}}, 3);
    const std::vector<Window> expected = {{0, 3}, {1, 3}, {2, 3}, {5, 3}, {8, 2}, {10, 1}};
    BOOST_TEST(w.size() == expected.size());
    for (std::size_t k = 0; k < std::min(w.size(), expected.size()); ++k) {
        BOOST_TEST(w[k].start == expected[k].start);
        BOOST_TEST(w[k].valid == expected[k].valid);
    }
    BOOST_TEST(make_windows({{0, 4}}, 1).size() == 4u);
    BOOST_TEST(contains(error_of([] { make_windows({{0, 4}}, 0); }), "horizon must be at least 1"));
}

BOOST_AUTO_TEST_CASE(no_window_crosses_an_episode_end) {
    const Dataset d = make_dataset(40, {6, 7, 20}, {13, 33});
    const auto episodes = split_episodes(d);
    for (std::size_t h : {1u, 2u, 4u, 7u, 16u}) {
        for (const Window& w : make_windows(episodes, h)) {
            bool inside = false;
            for (const EpisodeRange& e : episodes) inside |= w.start >= e.start && w.start + w.valid <= e.end;
            BOOST_TEST(inside, "window at " << w.start << " valid " << w.valid << " H " << h);
            BOOST_TEST(w.start + w.valid <= 34u);  // the tail after row 33 is never used
        }
    }
}

BOOST_AUTO_TEST_CASE(gather_normalises_and_pads) {
    // Episodes [0, 4) and [4, 6), tail [6, 7) dropped; H = 3.
    const Dataset d = make_dataset(7, {3}, {5});
    const MinMaxNormalizer norm = MinMaxNormalizer::fit(state_action_rows(d));  // all 7 rows, tail included
    BOOST_TEST(norm.max()(0) == 6.0f);
    const WindowDataset wd(d, 3, norm);
    BOOST_REQUIRE(wd.size() == 3u);  // starts 0, 1 and the padded episode at 4
    BOOST_TEST(wd.channels() == 3u);
    const xt::xtensor<float, 3> x = wd.gather({2, 0});
    BOOST_TEST(x.shape()[0] == 2u);
    // Window 2: rows 4, 5 then padding. Channel 0 of row i is i in [0, 6] -> i / 3 - 1.
    BOOST_TEST(x(0, 0, 0) == 4.0f / 3.0f - 1.0f, boost::test_tools::tolerance(kTol));
    BOOST_TEST(x(0, 1, 0) == 5.0f / 3.0f - 1.0f, boost::test_tools::tolerance(kTol));
    BOOST_TEST(x(0, 1, 2) == 1.0f - 5.0f / 3.0f, boost::test_tools::tolerance(kTol));  // action -5 in [-6, 0]
    for (std::size_t c = 0; c < 3; ++c) BOOST_TEST(x(0, 2, c) == kWindowPad);
    BOOST_TEST(kWindowPad == -1.0f - 1e-4f);
    BOOST_TEST(x(1, 0, 0) == -1.0f);
    BOOST_TEST(x(1, 2, 1) == 2.0f / 3.0f - 1.0f, boost::test_tools::tolerance(kTol));
    const std::string e = error_of([&] { wd.gather({3}); });
    BOOST_TEST(contains(e, "index 3 at position 0 is out of range (3 windows)"), e);
}

BOOST_AUTO_TEST_CASE(sampling_is_uniform_and_reproducible) {
    const Dataset d = make_dataset(30, {9, 19, 29}, {});
    const WindowDataset wd(d, 4, MinMaxNormalizer::fit(state_action_rows(d)));
    BOOST_REQUIRE(wd.size() == 21u);
    Rng a(7), b(7);
    const auto ia = wd.sample_indices(a, 4000);
    BOOST_TEST(ia == wd.sample_indices(b, 4000), boost::test_tools::per_element());
    std::vector<std::size_t> counts(wd.size(), 0);
    for (std::size_t i : ia) ++counts.at(i);
    for (std::size_t c : counts) BOOST_TEST((c > 120 && c < 260), "count " << c << " far from 4000 / 21");
}

BOOST_AUTO_TEST_CASE(errors_name_the_problem) {
    const Dataset none = make_dataset(5, {}, {});
    const std::string e = error_of([&] { WindowDataset(none, 2, MinMaxNormalizer::fit(state_action_rows(none))); });
    BOOST_TEST(contains(e, "no diffusion window: no row has terminals or timeouts set"), e);
    const Dataset d = make_dataset(5, {4}, {});
    const std::string e2 = error_of([&] { WindowDataset(d, 2, MinMaxNormalizer::fit(d.observations)); });
    BOOST_TEST(contains(e2, "the normalizer has 2 dims but the dataset's [s, a] rows have 3"), e2);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(normalizers, *boost::unit_test::timeout(60))

BOOST_AUTO_TEST_CASE(zscore_closed_form_and_constant_dim) {
    // Column 0: {1, 3} -> mean 2, population std 1. Column 1: constant 5 -> std 1 (guarded).
    const xt::xtensor<float, 2> x = {{1.0f, 5.0f}, {3.0f, 5.0f}};
    const ZScoreNormalizer z = ZScoreNormalizer::fit(x);
    BOOST_TEST(z.mean()(0) == 2.0f);
    BOOST_TEST(z.std()(0) == 1.0f);
    BOOST_TEST(z.mean()(1) == 5.0f);
    BOOST_TEST(z.std()(1) == 1.0f);
    const xt::xtensor<float, 2> y = z.apply(x);
    BOOST_TEST(y(0, 0) == -1.0f / (1.0f + 1e-6f), boost::test_tools::tolerance(kTol));
    BOOST_TEST(y(1, 0) == 1.0f / (1.0f + 1e-6f), boost::test_tools::tolerance(kTol));
    BOOST_TEST(y(0, 1) == 0.0f);
    const xt::xtensor<float, 2> off = {{2.0f, 6.0f}};
    BOOST_TEST(z.apply(off)(0, 1) == 1.0f, boost::test_tools::tolerance(kTol));  // not 1e6
    const xt::xtensor<float, 2> back = z.invert(y);
    for (std::size_t i = 0; i < 2; ++i)
        for (std::size_t j = 0; j < 2; ++j) BOOST_TEST(back(i, j) == x(i, j), boost::test_tools::tolerance(kTol));
    // Population (not sample) std: {0, 0, 0, 4} -> mean 1, std sqrt(3).
    const xt::xtensor<float, 2> p = {{0.0f}, {0.0f}, {0.0f}, {4.0f}};
    BOOST_TEST(ZScoreNormalizer::fit(p).std()(0) == std::sqrt(3.0f), boost::test_tools::tolerance(kTol));
}

BOOST_AUTO_TEST_CASE(minmax_closed_form_clip_and_constant_dim) {
    const xt::xtensor<float, 2> x = {{0.0f, -3.0f}, {2.0f, -3.0f}, {4.0f, -3.0f}};
    const MinMaxNormalizer m = MinMaxNormalizer::fit(x);
    BOOST_TEST(m.min()(0) == 0.0f);
    BOOST_TEST(m.max()(0) == 4.0f);
    // Constant dim: unit half-range, no division by zero (docs/algorithm.md §11 P10).
    BOOST_TEST(m.half_range()(1) == 1.0f);
    const xt::xtensor<float, 2> y = m.apply(x);
    BOOST_TEST(y(0, 0) == -1.0f);
    BOOST_TEST(y(1, 0) == 0.0f);
    BOOST_TEST(y(2, 0) == 1.0f);
    for (std::size_t i = 0; i < 3; ++i) BOOST_TEST(y(i, 1) == 0.0f);
    for (float v : y) BOOST_TEST(std::isfinite(v));
    BOOST_TEST(m.invert(y) == x);
    // invert clips to [-1, 1] first: 1.5 -> max, -7 -> min; constant dim -> -3 + clip(2) = -2.
    const xt::xtensor<float, 2> out = {{1.5f, 2.0f}, {-7.0f, 0.0f}};
    const xt::xtensor<float, 2> inv = m.invert(out);
    BOOST_TEST(inv(0, 0) == 4.0f);
    BOOST_TEST(inv(1, 0) == 0.0f);
    BOOST_TEST(inv(0, 1) == -2.0f);
    BOOST_TEST(inv(1, 1) == -3.0f);
    const xt::xtensor<float, 2> c = MinMaxNormalizer::clip(out);
    BOOST_TEST(c(0, 0) == 1.0f);
    BOOST_TEST(c(1, 0) == -1.0f);
    BOOST_TEST(c(1, 1) == 0.0f);
    // Matches the official code's formula 2 (x - m) / (M - m) - 1 on a generic value.
    const xt::xtensor<float, 2> g = {{1.0f, -3.0f}};
    BOOST_TEST(m.apply(g)(0, 0) == 2.0f * (1.0f - 0.0f) / 4.0f - 1.0f, boost::test_tools::tolerance(kTol));
}

BOOST_AUTO_TEST_CASE(save_and_load_through_npz) {
    namespace fs = std::filesystem;
    const fs::path path = fs::temp_directory_path() / ("dydiff-test-norm-" + std::to_string(::getpid()) + ".npz");
    const xt::xtensor<float, 2> x = {{1.0f, 5.0f, -2.0f}, {3.0f, 5.0f, 7.0f}, {4.0f, 5.0f, 0.5f}};
    const ZScoreNormalizer z = ZScoreNormalizer::fit(x, 1e-3f);
    const MinMaxNormalizer m = MinMaxNormalizer::fit(x);
    std::vector<NpzEntry> entries = z.entries("obs_norm");
    for (auto& e : m.entries("model_norm")) entries.push_back(e);
    write_npz(path.string(), entries);
    const NpzFile file = read_npz(path.string());
    BOOST_TEST(file.keys() == std::vector<std::string>({"obs_norm/mean", "obs_norm/std", "obs_norm/eps",
                                                        "model_norm/min", "model_norm/max"}),
               boost::test_tools::per_element());
    const ZScoreNormalizer z2 = ZScoreNormalizer::load(file, "obs_norm");
    const MinMaxNormalizer m2 = MinMaxNormalizer::load(file, "model_norm");
    BOOST_TEST(z2.mean() == z.mean());
    BOOST_TEST(z2.std() == z.std());
    BOOST_TEST(z2.eps() == 1e-3f);
    BOOST_TEST(z2.apply(x) == z.apply(x));
    BOOST_TEST(m2.apply(x) == m.apply(x));
    const std::string e = error_of([&] { MinMaxNormalizer::load(file, "nope"); });
    BOOST_TEST(contains(e, "missing key 'nope/min'"), e);
    fs::remove(path);
}

BOOST_AUTO_TEST_CASE(bad_inputs) {
    const MinMaxNormalizer m = MinMaxNormalizer::fit(xt::xtensor<float, 2>{{0.0f, 1.0f}});
    const std::string e = error_of([&] { m.apply(xt::xtensor<float, 2>{{0.0f, 1.0f, 2.0f}}); });
    BOOST_TEST(contains(e, "MinMaxNormalizer::apply: input has shape (1, 3) but the normalizer has 2 dimensions"), e);
    const std::string e2 = error_of([] { ZScoreNormalizer::fit(xt::xtensor<float, 2>::from_shape({0, 2})); });
    BOOST_TEST(contains(e2, "no rows"), e2);
    const std::string e3 = error_of([] { MinMaxNormalizer(xt::xtensor<float, 1>{2.0f}, xt::xtensor<float, 1>{1.0f}); });
    BOOST_TEST(contains(e3, "dim 0 has min 2 > max 1"), e3);
}

BOOST_AUTO_TEST_SUITE_END()
