// eval.csv and the run's learning curve (see eval_log.hpp).
#include "dydiff/eval/eval_log.hpp"

#include "autograd/error.hpp"
#include "data/atomic_file.hpp"
#include "dydiff/eval/policy_eval.hpp"
#include "dydiff/eval/svg_plot.hpp"

#include <charconv>
#include <cmath>
#include <fstream>
#include <sstream>
#include <system_error>

namespace dydiff::eval {
namespace {

constexpr std::size_t kColumns = 9;

void put_number(std::string& out, double v) {
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);  // shortest text that reads back to the same double
    out.append(buf, r.ptr);
}

void put_integer(std::string& out, std::int64_t v) {
    char buf[32];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    out.append(buf, r.ptr);
}

std::vector<std::string> split_fields(const std::string& line) {
    std::vector<std::string> out;
    std::string field;
    std::istringstream is(line);
    while (std::getline(is, field, ',')) out.push_back(field);
    if (!line.empty() && line.back() == ',') out.emplace_back();
    return out;
}

template <class T>
T parse_field(const std::string& text, const std::string& where, const char* column) {
    T v{};
    const auto r = std::from_chars(text.data(), text.data() + text.size(), v);
    DYDIFF_CHECK(r.ec == std::errc() && r.ptr == text.data() + text.size(),
                 where << ": column '" << column << "' holds '" << text << "', expected a number");
    return v;
}

}  // namespace

const char* eval_csv_header() {
    return "step,episodes,return_mean,return_std,score_mean,score_std,length_mean,best_step,best_score_mean";
}

std::string format_eval_csv(const std::vector<EvalRow>& rows) {
    std::string out = eval_csv_header();
    out += "\n";
    for (const EvalRow& r : rows) {
        put_integer(out, r.step);
        out += ",";
        put_integer(out, static_cast<std::int64_t>(r.episodes));
        for (double v : {r.return_mean, r.return_std, r.score_mean, r.score_std, r.length_mean}) {
            out += ",";
            put_number(out, v);
        }
        out += ",";
        put_integer(out, r.best_step);
        out += ",";
        put_number(out, r.best_score_mean);
        out += "\n";
    }
    return out;
}

void write_eval_csv(const std::string& path, const std::vector<EvalRow>& rows) {
    data::write_file_atomic(path, format_eval_csv(rows));
}

std::vector<EvalRow> read_eval_csv(const std::string& path) {
    std::ifstream in(path);
    DYDIFF_CHECK(in, path << ": cannot open the evaluation log (is this a run directory of train-agent?)");
    std::string line;
    DYDIFF_CHECK(std::getline(in, line) && line == eval_csv_header(),
                 path << ":1: header '" << line << "', expected '" << eval_csv_header() << "'");
    std::vector<EvalRow> rows;
    for (std::size_t number = 2; std::getline(in, line); ++number) {
        if (line.empty()) continue;
        const std::string where = path + ":" + std::to_string(number);
        const auto f = split_fields(line);
        DYDIFF_CHECK(f.size() == kColumns, where << ": " << f.size() << " fields, expected " << kColumns);
        EvalRow r;
        r.step = parse_field<std::int64_t>(f[0], where, "step");
        const auto episodes = parse_field<std::int64_t>(f[1], where, "episodes");
        DYDIFF_CHECK(episodes > 0, where << ": episodes " << episodes << ", expected at least 1");
        r.episodes = static_cast<std::size_t>(episodes);
        r.return_mean = parse_field<double>(f[2], where, "return_mean");
        r.return_std = parse_field<double>(f[3], where, "return_std");
        r.score_mean = parse_field<double>(f[4], where, "score_mean");
        r.score_std = parse_field<double>(f[5], where, "score_std");
        r.length_mean = parse_field<double>(f[6], where, "length_mean");
        r.best_step = parse_field<std::int64_t>(f[7], where, "best_step");
        r.best_score_mean = parse_field<double>(f[8], where, "best_score_mean");
        DYDIFF_CHECK(rows.empty() || r.step > rows.back().step,
                     where << ": step " << r.step << " does not follow step " << rows.back().step);
        rows.push_back(r);
        const EvalRow& best = best_row(rows);
        DYDIFF_CHECK(r.best_step == best.step && r.best_score_mean == best.score_mean,
                     where << ": best_step " << r.best_step << ", best_score_mean " << r.best_score_mean
                           << " disagree with the rows so far (best: step " << best.step << ", score "
                           << best.score_mean << ")");
    }
    return rows;
}

const EvalRow& best_row(const std::vector<EvalRow>& rows) {
    DYDIFF_CHECK(!rows.empty(), "best_row: no evaluations");
    const EvalRow* best = &rows.front();
    for (const EvalRow& r : rows)
        if (r.score_mean > best->score_mean) best = &r;
    return *best;
}

EvalLog::EvalLog(std::string path, std::int64_t resume_step) : path_(std::move(path)) {
    if (resume_step < 0) return;
    if (!std::ifstream(path_)) return;
    for (const EvalRow& r : read_eval_csv(path_))
        if (r.step <= resume_step) rows_.push_back(r);
}

const EvalRow& EvalLog::add(std::int64_t step, const PolicyEvalResult& result) {
    DYDIFF_CHECK(rows_.empty() || step > rows_.back().step,
                 path_ << ": evaluation at step " << step << " after one at step " << rows_.back().step);
    EvalRow r;
    r.step = step;
    r.episodes = result.episodes.size();
    r.return_mean = result.return_mean();
    r.return_std = result.return_std();
    r.score_mean = result.score_mean();
    r.score_std = result.score_std();
    r.length_mean = result.length_mean();
    rows_.push_back(r);
    const EvalRow& best = best_row(rows_);
    rows_.back().best_step = best.step;
    rows_.back().best_score_mean = best.score_mean;
    write_eval_csv(path_, rows_);
    return rows_.back();
}

void write_learning_curve_svg(const std::string& svg_path, const std::vector<EvalRow>& rows, const std::string& title) {
    DYDIFF_CHECK(!rows.empty(), svg_path << ": no evaluations to plot");
    LineSeries s;
    s.name = "score (" + std::to_string(rows.back().episodes) + " episodes)";
    for (const EvalRow& r : rows) {
        s.x.push_back(static_cast<double>(r.step));
        s.y.push_back(r.score_mean);
        s.band_lo.push_back(r.score_mean - r.score_std);
        s.band_hi.push_back(r.score_mean + r.score_std);
    }
    LinePlot plot;
    plot.title = title;
    plot.x_label = "gradient steps";
    plot.y_label = "normalised score (mean +- std over episodes)";
    plot.series.push_back(std::move(s));
    write_svg(svg_path, plot);
}

}  // namespace dydiff::eval
