// eval.csv: one row per evaluation of a training run (issue 8 item 2), beside metrics.csv in the run directory:
//   step,episodes,return_mean,return_std,score_mean,score_std,length_mean,best_step,best_score_mean
// return_* are raw undiscounted returns, score_* normalised scores on the 0-100 scale (mean and population std over
// the episodes of that evaluation), best_* the evaluation with the highest score_mean so far (the earliest on ties),
// so the last row carries both the last and the best result. Numbers are written in their shortest round-trip
// form, so read(write(rows)) == rows exactly. The file is rewritten atomically at every evaluation.
// Also: the run's learning curve as an SVG (score mean +- std over the episodes of each evaluation).
// Layering: dydiff/eval (on data/atomic_file, dydiff/eval/svg_plot).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dydiff::eval {

struct PolicyEvalResult;

struct EvalRow {
    std::int64_t step = 0;        // gradient steps taken when the evaluation ran
    std::size_t episodes = 0;     // N
    double return_mean = 0.0;     // raw return, mean over the N episodes
    double return_std = 0.0;      // ... population std
    double score_mean = 0.0;      // normalised score (0 random, 100 expert), mean over the N episodes
    double score_std = 0.0;       // ... population std
    double length_mean = 0.0;     // episode length, mean
    std::int64_t best_step = 0;   // the step of the best evaluation so far (this one included)
    double best_score_mean = 0.0; // its score_mean
};

/// The header line of eval.csv (no newline).
const char* eval_csv_header();
/// The file's text: the header, then one line per row.
std::string format_eval_csv(const std::vector<EvalRow>& rows);
/// Writes format_eval_csv(rows) to path atomically.
void write_eval_csv(const std::string& path, const std::vector<EvalRow>& rows);
/// Reads an eval.csv. Fails, naming the file and line, on a different header, a wrong field count, a value that is
/// not a number, steps that do not increase, or best_* columns that disagree with the rows above.
std::vector<EvalRow> read_eval_csv(const std::string& path);

/// The evaluation with the highest score_mean (the earliest on ties). rows must not be empty.
const EvalRow& best_row(const std::vector<EvalRow>& rows);

/// The eval.csv of one run: adds rows as evaluations finish, keeping the best-so-far columns, and rewrites the file.
class EvalLog {
public:
    /// A new log at `path` (resume_step < 0: any existing file is replaced at the first add), or, on resume, the
    /// existing file's rows up to and including resume_step (rows written after the checkpoint are dropped, so a
    /// resumed run's file equals an uninterrupted one's). A missing file on resume is an empty log.
    explicit EvalLog(std::string path, std::int64_t resume_step = -1);

    /// Appends the evaluation at `step` (> the last row's step) and rewrites the file; returns the new row.
    const EvalRow& add(std::int64_t step, const PolicyEvalResult& result);
    const std::vector<EvalRow>& rows() const { return rows_; }
    const std::string& path() const { return path_; }

private:
    std::string path_;
    std::vector<EvalRow> rows_;
};

/// The learning curve of one run: score_mean against step with a +- score_std band (over the episodes of each
/// evaluation), titled `title`, written to svg_path atomically. rows must not be empty.
void write_learning_curve_svg(const std::string& svg_path, const std::vector<EvalRow>& rows, const std::string& title);

}  // namespace dydiff::eval
