// eval.csv (write, read, resume, errors), the learning-curve SVG with its band, run statistics over hand-made runs
// (mean +- std by hand), and the grouped learning-curve plot.
#include "dydiff/eval/eval_log.hpp"
#include "dydiff/eval/policy_eval.hpp"
#include "dydiff/eval/run_stats.hpp"
#include "dydiff/eval/svg_plot.hpp"
#include "data/atomic_file.hpp"
#include "support/errors.hpp"
#include "support/temp_dir.hpp"
#include "svg_check.hpp"

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <sstream>

using namespace dydiff;
using namespace dydiff::eval;
using dydiff::test::contains;
using dydiff::test::error_of;
using dydiff::test::TempDir;

namespace {

std::string slurp(const std::string& path) {
    std::ifstream in(path);
    std::stringstream ss;
    ss << in.rdbuf();
    return ss.str();
}

// A PolicyEvalResult with these episode returns and scores.
PolicyEvalResult result_of(const std::vector<double>& returns, const std::vector<double>& scores) {
    PolicyEvalResult r;
    r.env = "maze2d-umaze";
    for (std::size_t i = 0; i < returns.size(); ++i) {
        EpisodeResult e;
        e.episode_return = returns[i];
        e.score = scores[i];
        e.length = 300;
        r.episodes.push_back(e);
    }
    return r;
}

// rows with these (step, score_mean) and best columns filled as EvalLog does.
std::vector<EvalRow> rows_of(const std::vector<std::pair<std::int64_t, double>>& points) {
    std::vector<EvalRow> rows;
    for (const auto& [step, score] : points) {
        EvalRow r;
        r.step = step;
        r.episodes = 10;
        r.score_mean = score;
        r.score_std = 1.5;
        r.return_mean = 2.0 * score + 26.0;
        r.return_std = 3.0;
        r.length_mean = 300.0;
        rows.push_back(r);
        const EvalRow& best = best_row(rows);
        rows.back().best_step = best.step;
        rows.back().best_score_mean = best.score_mean;
    }
    return rows;
}

void make_run(const TempDir& root, const std::string& name, const std::string& config,
              const std::vector<std::pair<std::int64_t, double>>& points, const char* config_file = "config.toml") {
    std::filesystem::create_directories(root.path() / name);
    data::write_file_atomic(root / (name + "/" + config_file), config);
    write_eval_csv(root / (name + "/eval.csv"), rows_of(points));
}

// A train-agent config.toml as the run writes it (the keys run_stats reads): `extra` goes into the top level
// (e.g. "[dydiff]\nenabled = true\n" must come last).
std::string toml(const std::string& algo, const std::string& env, const std::string& dataset, int seed,
                 const std::string& extra = "") {
    return "# written by the test\nalgo = \"" + algo + "\"\nenv = \"" + env + "\"\nseed = " + std::to_string(seed) +
           "\nsteps = 300\n\n[td3bc]\nalpha = 2.5\n\n[bc]\nhidden = 256\n\n[run]  # provenance\ndataset = \"" + dataset +
           "\"  # the data\ndataset_sha256 = \"" + dataset + "-sha\"\n" + extra;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(eval_log)

// EvalLog rows: means and population stds over the episodes, best-so-far columns; the file reads back exactly.
BOOST_AUTO_TEST_CASE(log_round_trip) {
    TempDir dir;
    EvalLog log(dir / "eval.csv");
    log.add(1000, result_of({10.0, 20.0}, {1.0, 3.0}));
    log.add(2000, result_of({50.0, 50.0, 80.0}, {40.0, 40.0, 70.0}));
    const EvalRow& third = log.add(3000, result_of({0.1}, {1.0 / 3.0}));
    BOOST_CHECK_EQUAL(third.best_step, 2000);
    BOOST_CHECK_EQUAL(third.best_score_mean, 50.0);
    const auto& r0 = log.rows()[0];
    BOOST_CHECK_EQUAL(r0.episodes, 2u);
    BOOST_CHECK_EQUAL(r0.return_mean, 15.0);
    BOOST_CHECK_EQUAL(r0.return_std, 5.0);
    BOOST_CHECK_EQUAL(r0.score_mean, 2.0);
    BOOST_CHECK_EQUAL(r0.score_std, 1.0);
    BOOST_CHECK_EQUAL(r0.length_mean, 300.0);
    BOOST_CHECK_EQUAL(r0.best_step, 1000);
    BOOST_CHECK_CLOSE_FRACTION(log.rows()[1].score_std, std::sqrt(200.0), 1e-14);

    const auto back = read_eval_csv(dir / "eval.csv");
    BOOST_REQUIRE_EQUAL(back.size(), 3u);
    for (std::size_t i = 0; i < 3; ++i) {
        const EvalRow &a = log.rows()[i], &b = back[i];
        BOOST_CHECK_EQUAL(a.step, b.step);
        BOOST_CHECK_EQUAL(a.episodes, b.episodes);
        BOOST_CHECK_EQUAL(a.return_mean, b.return_mean);  // shortest round-trip text: exact
        BOOST_CHECK_EQUAL(a.return_std, b.return_std);
        BOOST_CHECK_EQUAL(a.score_mean, b.score_mean);
        BOOST_CHECK_EQUAL(a.score_std, b.score_std);
        BOOST_CHECK_EQUAL(a.length_mean, b.length_mean);
        BOOST_CHECK_EQUAL(a.best_step, b.best_step);
        BOOST_CHECK_EQUAL(a.best_score_mean, b.best_score_mean);
    }
    BOOST_CHECK_EQUAL(format_eval_csv(back), slurp(dir / "eval.csv"));
    const std::string text = slurp(dir / "eval.csv");
    BOOST_CHECK(contains(text, std::string(eval_csv_header()) + "\n1000,2,15,5,2,1,300,1000,2\n"));
    BOOST_CHECK(contains(text, "3000,1,0.1,0,0.3333333333333333,0,300,2000,50\n"));
}

// Resume keeps the rows up to the checkpoint's step and drops later ones; the next add continues from there.
BOOST_AUTO_TEST_CASE(resume_truncates_after_the_checkpoint) {
    TempDir dir;
    {
        EvalLog log(dir / "eval.csv");
        for (std::int64_t s : {100, 200, 300}) log.add(s, result_of({1.0}, {static_cast<double>(s)}));
    }
    EvalLog resumed(dir / "eval.csv", 200);
    BOOST_CHECK_EQUAL(resumed.rows().size(), 2u);
    BOOST_CHECK(contains(error_of([&] { resumed.add(150, result_of({1.0}, {1.0})); }), "at step 150 after one at step 200"));
    resumed.add(300, result_of({1.0}, {5.0}));
    const auto rows = read_eval_csv(dir / "eval.csv");
    BOOST_REQUIRE_EQUAL(rows.size(), 3u);
    BOOST_CHECK_EQUAL(rows[2].score_mean, 5.0);
    BOOST_CHECK_EQUAL(rows[2].best_step, 200);
    EvalLog missing(dir / "none.csv", 100);
    BOOST_CHECK(missing.rows().empty());
    EvalLog fresh(dir / "eval.csv");  // a new run replaces the file at its first add
    BOOST_CHECK(fresh.rows().empty());
}

BOOST_AUTO_TEST_CASE(reader_errors_name_file_and_line) {
    TempDir dir;
    const std::string h = std::string(eval_csv_header()) + "\n";
    data::write_file_atomic(dir / "a.csv", "step,score\n");
    BOOST_CHECK(contains(error_of([&] { read_eval_csv(dir / "a.csv"); }), "a.csv:1: header 'step,score'"));
    data::write_file_atomic(dir / "b.csv", h + "10,2,1,0,x,0,300,10,1\n");
    BOOST_CHECK(contains(error_of([&] { read_eval_csv(dir / "b.csv"); }), "b.csv:2: column 'score_mean' holds 'x'"));
    data::write_file_atomic(dir / "c.csv", h + "10,2,1,0,1,0,300,10,1\n5,2,1,0,1,0,300,10,1\n");
    BOOST_CHECK(contains(error_of([&] { read_eval_csv(dir / "c.csv"); }), "c.csv:3: step 5 does not follow step 10"));
    data::write_file_atomic(dir / "d.csv", h + "10,2,1,0,1,0,300,10,1\n20,2,1,0,4,0,300,10,1\n");
    BOOST_CHECK(contains(error_of([&] { read_eval_csv(dir / "d.csv"); }), "d.csv:3: best_step 10, best_score_mean 1 disagree"));
    data::write_file_atomic(dir / "e.csv", h + "10,2,1,0\n");
    BOOST_CHECK(contains(error_of([&] { read_eval_csv(dir / "e.csv"); }), "e.csv:2: 4 fields, expected 9"));
    BOOST_CHECK(contains(error_of([&] { read_eval_csv(dir / "nope.csv"); }), "cannot open"));
}

// The run's learning curve: a line over the evaluations and a band of +- score_std, well-formed SVG.
BOOST_AUTO_TEST_CASE(learning_curve_svg) {
    TempDir dir;
    write_learning_curve_svg(dir / "eval.svg", rows_of({{1000, 5.0}, {2000, 30.0}, {3000, 25.0}}), "td3bc & <umaze>");
    const std::string svg = slurp(dir / "eval.svg");
    BOOST_CHECK_EQUAL(dydiff::test::svg_problem(svg), "");
    BOOST_CHECK_EQUAL(dydiff::test::count_of(svg, "<polygon "), 1u);
    BOOST_CHECK_EQUAL(dydiff::test::count_of(svg, "<polyline "), 1u);
    BOOST_CHECK(contains(svg, "td3bc &amp; &lt;umaze&gt;"));
    BOOST_CHECK(contains(error_of([&] { write_learning_curve_svg(dir / "x.svg", {}, "t"); }), "no evaluations"));
}

// Bands are drawn under the lines and widen the y range; a wrong band is refused.
BOOST_AUTO_TEST_CASE(svg_band_checks) {
    LinePlot plot;
    LineSeries s{"a", {0.0, 1.0}, {1.0, 2.0}, {0.5, 1.5}, {1.5, 102.5}};
    plot.series.push_back(s);
    const std::string svg = render_svg(plot);
    BOOST_CHECK_EQUAL(dydiff::test::svg_problem(svg), "");
    BOOST_CHECK_LT(svg.find("<polygon "), svg.find("<polyline "));
    BOOST_CHECK(contains(svg, ">100</text>"));  // the band's top (102.5) sets the y ticks
    plot.series[0].band_lo = {0.5};
    BOOST_CHECK(contains(error_of([&] { render_svg(plot); }), "band of 1 lo and 2 hi values"));
    plot.series[0].band_lo = {0.5, 200.0};
    BOOST_CHECK(contains(error_of([&] { render_svg(plot); }), "band at point 1 is [200, 102.5]"));
    LinePlot one;
    one.series.push_back(LineSeries{"dot", {5.0}, {2.0}, {}, {}});
    const std::string dot = render_svg(one);
    BOOST_CHECK_EQUAL(dydiff::test::svg_problem(dot), "");
    BOOST_CHECK_EQUAL(dydiff::test::count_of(dot, "<circle "), 1u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(run_stats)

BOOST_AUTO_TEST_CASE(identity_from_config) {
    TempDir root;
    make_run(root, "r0", toml("td3bc", "maze2d-umaze", "data/umaze.npz", 7), {{10, 1.0}});
    const RunIdentity id = read_run_identity(root / "r0");
    BOOST_CHECK_EQUAL(id.algo, "td3bc");
    BOOST_CHECK_EQUAL(id.env, "maze2d-umaze");
    BOOST_CHECK_EQUAL(id.dataset, "data/umaze.npz");
    BOOST_CHECK_EQUAL(id.dataset_sha256, "data/umaze.npz-sha");
    BOOST_CHECK(id.seed && *id.seed == 7);
    // The settings: the learner's own table, not the other learners', not seed/steps/[run].
    BOOST_CHECK(id.settings == (std::map<std::string, std::string>{{"td3bc.alpha", "2.5"}}));
    make_run(root, "r1", toml("bc", "pendulum", "p.npz", 3, "\n[dydiff]\nenabled = false\ndiffusion = \"d\"\n"), {{10, 1.0}});
    const RunIdentity off = read_run_identity(root / "r1");
    BOOST_CHECK(off.settings == (std::map<std::string, std::string>{{"bc.hidden", "256"}, {"dydiff.enabled", "false"}}));
    make_run(root, "r2", "env = \"pendulum\"\n[run]\ndataset = \"p.npz\"\n", {{10, 1.0}});
    BOOST_CHECK(contains(error_of([&] { read_run_identity(root / "r2"); }), "config.toml: no 'algo' key"));
    make_run(root, "r3", "algo = \"bc\"\nenv = \"pendulum\"\nseed = 1.5\n[run]\ndataset = \"p.npz\"\n", {{10, 1.0}});
    BOOST_CHECK(contains(error_of([&] { read_run_identity(root / "r3"); }), "config.toml:3: seed '1.5' is not an integer"));
    BOOST_CHECK(contains(error_of([&] { read_run_identity(root / "none"); }), "none: no config.toml: not a run directory"));
}

// Three seeds of one experiment, one of another algo, one on another dataset: groups, and mean +- std by hand.
BOOST_AUTO_TEST_CASE(aggregation_by_hand) {
    TempDir root;
    // td3bc seeds: last scores 10, 20, 60 -> mean 30, population std sqrt(((20)^2 + 10^2 + 30^2) / 3) = sqrt(1400/3);
    // best scores 40, 20, 60 -> mean 40, std sqrt(800/3).
    make_run(root, "td3bc-0", toml("td3bc", "maze2d-umaze", "u.npz", 0), {{100, 5.0}, {200, 40.0}, {300, 10.0}});
    make_run(root, "td3bc-1", toml("td3bc", "maze2d-umaze", "u.npz", 1), {{100, 2.0}, {200, 15.0}, {300, 20.0}});
    make_run(root, "td3bc-2", toml("td3bc", "maze2d-umaze", "u.npz", 2), {{100, 1.0}, {200, 30.0}, {300, 60.0}});
    make_run(root, "bc-0", toml("bc", "maze2d-umaze", "u.npz", 0), {{100, 3.0}, {200, 4.0}});
    make_run(root, "bc-other", toml("bc", "maze2d-umaze", "u2.npz", 0), {{100, 8.0}});
    std::vector<RunRecord> runs;
    for (const char* name : {"td3bc-0", "bc-0", "td3bc-1", "bc-other", "td3bc-2"}) runs.push_back(read_run(root / name));
    const auto groups = aggregate_runs(runs);
    BOOST_REQUIRE_EQUAL(groups.size(), 3u);
    // Sorted by env, dataset, algo.
    BOOST_CHECK_EQUAL(groups[0].algo, "bc");
    BOOST_CHECK_EQUAL(groups[0].dataset, "u.npz");
    BOOST_CHECK_EQUAL(groups[1].algo, "td3bc");
    BOOST_CHECK_EQUAL(groups[2].dataset, "u2.npz");
    const GroupStats& t = groups[1];
    BOOST_CHECK_EQUAL(t.dirs.size(), 3u);
    BOOST_CHECK_EQUAL(t.dirs[1], root / "td3bc-1");
    BOOST_CHECK_CLOSE_FRACTION(t.last_score.mean, 30.0, 1e-14);
    BOOST_CHECK_CLOSE_FRACTION(t.last_score.std, std::sqrt(1400.0 / 3.0), 1e-14);
    BOOST_CHECK_CLOSE_FRACTION(t.best_score.mean, 40.0, 1e-14);
    BOOST_CHECK_CLOSE_FRACTION(t.best_score.std, std::sqrt(800.0 / 3.0), 1e-14);
    BOOST_CHECK_CLOSE_FRACTION(t.last_return.mean, 2.0 * 30.0 + 26.0, 1e-14);
    BOOST_CHECK_EQUAL(t.min_last_step, 300);
    BOOST_CHECK_EQUAL(groups[0].last_score.std, 0.0);
    BOOST_CHECK_EQUAL(groups[0].best_score.mean, 4.0);

    const std::string md = stats_markdown(groups);
    BOOST_CHECK(contains(md, "| algo | variant | env | dataset | runs | seeds | steps | last score | best score |\n"));
    BOOST_CHECK(contains(md, "| td3bc |  | maze2d-umaze | u.npz | 3 | 0, 1, 2 | 300 | 30.0 ± 21.6 | 40.0 ± 16.3 |\n"));
    BOOST_CHECK(contains(md, "| bc |  | maze2d-umaze | u.npz | 1 | 0 | 200 | 4.0 ± 0.0 | 4.0 ± 0.0 |\n"));
    BOOST_CHECK(!contains(md, "+DyDiff minus base"));
    const std::string csv = stats_csv(groups);
    BOOST_CHECK(contains(csv, "\ntd3bc,,maze2d-umaze,u.npz,u.npz-sha,3,0 1 2,300,300,30,"));
    BOOST_CHECK_EQUAL(dydiff::test::count_of(csv, "\n"), 4u);
}

// Runs that record the same dataset SHA-256 group together even when the path differs; differing last steps show as
// a range.
BOOST_AUTO_TEST_CASE(groups_by_dataset_hash) {
    TempDir root;
    make_run(root, "a", "algo = \"iql\"\nenv = \"pendulum\"\n[run]\ndataset = \"/x/p.npz\"\ndataset_sha256 = \"abc\"\n",
             {{100, 1.0}, {200, 2.0}});
    make_run(root, "b", "algo = \"iql\"\nenv = \"pendulum\"\n[run]\ndataset = \"../p.npz\"\ndataset_sha256 = \"abc\"\n",
             {{100, 3.0}});
    const auto groups = aggregate_runs({read_run(root / "a"), read_run(root / "b")});
    BOOST_REQUIRE_EQUAL(groups.size(), 1u);
    BOOST_CHECK(contains(stats_markdown(groups), "| iql |  | pendulum | /x/p.npz | 2 | ?, ? | 100-200 | 2.5 ± 0.5 |"));
}

// Learning curves: one series per group at the steps all its runs share, mean +- std over runs, names from the
// fields that differ between groups.
BOOST_AUTO_TEST_CASE(learning_curves) {
    TempDir root;
    make_run(root, "t0", toml("td3bc", "maze2d-umaze", "u.npz", 0), {{100, 10.0}, {200, 20.0}, {300, 30.0}});
    make_run(root, "t1", toml("td3bc", "maze2d-umaze", "u.npz", 1), {{100, 20.0}, {200, 40.0}});
    make_run(root, "b0", toml("bc", "maze2d-umaze", "u.npz", 0), {{100, 5.0}});
    const LinePlot plot = learning_curves_plot({read_run(root / "t0"), read_run(root / "t1"), read_run(root / "b0")});
    BOOST_CHECK_EQUAL(plot.title, "maze2d-umaze, u.npz");
    BOOST_REQUIRE_EQUAL(plot.series.size(), 2u);
    const LineSeries& t = plot.series[1];
    BOOST_CHECK_EQUAL(t.name, "td3bc (2 runs)");
    BOOST_CHECK(t.x == std::vector<double>({100.0, 200.0}));
    BOOST_CHECK(t.y == std::vector<double>({15.0, 30.0}));
    BOOST_CHECK(t.band_lo == std::vector<double>({10.0, 20.0}));
    BOOST_CHECK(t.band_hi == std::vector<double>({20.0, 40.0}));
    BOOST_CHECK_EQUAL(plot.series[0].name, "bc (1 run)");
    const std::string svg = render_svg(plot);
    BOOST_CHECK_EQUAL(dydiff::test::svg_problem(svg), "");
    BOOST_CHECK_EQUAL(dydiff::test::count_of(svg, "<polygon "), 2u);

    make_run(root, "t2", toml("td3bc", "maze2d-umaze", "u.npz", 2), {{150, 1.0}});
    BOOST_CHECK(contains(error_of([&] {
                             learning_curves_plot({read_run(root / "t0"), read_run(root / "t2")});
                         }),
                         "share no evaluation step"));
    BOOST_CHECK_EQUAL(learning_curves_plot({read_run(root / "t0")}, "mine").title, "mine");
}

// Base and +DyDiff runs of one learner form two groups named by the switch; DyDiff's own keys name +dydiff groups
// only when they differ between them; the difference table pairs each +dydiff group with its base.
BOOST_AUTO_TEST_CASE(dydiff_variants_and_differences) {
    TempDir root;
    const std::string on2 = "\n[dydiff]\nenabled = true\ndiffusion = \"m/d\"\n[dydiff.generator]\niterations = 2\n";
    const std::string on0 = "\n[dydiff]\nenabled = true\ndiffusion = \"m/d\"\n[dydiff.generator]\niterations = 0\n";
    const std::string off = "\n[dydiff]\nenabled = false\n[dydiff.generator]\niterations = 2\n";
    std::vector<RunRecord> runs;
    // base: last 10, 20, 30; +dydiff M=2: 30, 40, 50 (every resample pair differs by 20 on average; the interval is
    // [0, 40] at most and excludes 0 unless a resample takes three 30s from each side); M=0: 10, 20, 30.
    const double base[] = {10, 20, 30}, with2[] = {30, 40, 50};
    for (int s = 0; s < 3; ++s) {
        const std::string k = std::to_string(s);
        make_run(root, "b" + k, toml("td3bc", "maze2d-umaze", "u.npz", s, off), {{100, base[s]}});
        make_run(root, "m2-" + k, toml("td3bc", "maze2d-umaze", "u.npz", s, on2), {{100, with2[s]}});
        make_run(root, "m0-" + k, toml("td3bc", "maze2d-umaze", "u.npz", s, on0), {{100, base[s]}});
        for (const char* p : {"b", "m2-", "m0-"}) runs.push_back(read_run(root / (p + k)));
    }
    const auto groups = aggregate_runs(runs);
    BOOST_REQUIRE_EQUAL(groups.size(), 3u);
    std::map<std::string, const GroupStats*> by_variant;
    for (const auto& g : groups) by_variant[g.variant] = &g;
    BOOST_REQUIRE(by_variant.count("base"));
    BOOST_REQUIRE(by_variant.count("+dydiff, dydiff.generator.iterations=2"));
    BOOST_REQUIRE(by_variant.count("+dydiff, dydiff.generator.iterations=0"));
    BOOST_CHECK_EQUAL(by_variant["base"]->dirs.size(), 3u);
    const auto diffs = dydiff_differences(groups);
    BOOST_REQUIRE_EQUAL(diffs.size(), 2u);
    for (const Difference& d : diffs) {
        BOOST_CHECK_EQUAL(groups[d.without].variant, "base");
        const bool m2 = groups[d.with].variant.find("=2") != std::string::npos;
        BOOST_CHECK_CLOSE_FRACTION(d.mean, m2 ? 20.0 : 0.0, 1e-12);
        BOOST_CHECK_LE(d.ci_lo, d.mean);
        BOOST_CHECK_GE(d.ci_hi, d.mean);
        // Resampled means lie in [10, 30] and [30, 50] (or [10, 30]): the interval stays inside the extremes.
        BOOST_CHECK_GE(d.ci_lo, m2 ? 0.0 : -20.0);
        BOOST_CHECK_LE(d.ci_hi, m2 ? 40.0 : 20.0);
        if (m2) BOOST_CHECK_GT(d.ci_lo, 0.0);
        else BOOST_CHECK(d.ci_lo < 0.0 && d.ci_hi > 0.0);
    }
    // The same runs give the same interval (a fixed resampling seed).
    const auto again = dydiff_differences(aggregate_runs(runs));
    BOOST_CHECK_EQUAL(again[0].ci_lo, diffs[0].ci_lo);
    const std::string md = stats_markdown(groups);
    BOOST_CHECK(contains(md, "+DyDiff minus base"));
    BOOST_CHECK(contains(md, "| td3bc | +dydiff, dydiff.generator.iterations=2 | maze2d-umaze | u.npz | 3, 3 | 20.0 | 40.0 | +20.0 | ["));
    BOOST_CHECK(contains(md, "(includes 0)"));
    // A lone +dydiff group (no base) is named "" and has no difference row.
    const auto lone = aggregate_runs({read_run(root / "m2-0"), read_run(root / "m2-1")});
    BOOST_CHECK_EQUAL(lone[0].variant, "");
    BOOST_CHECK(dydiff_differences(lone).empty());
}

BOOST_AUTO_TEST_SUITE_END()
