// Runs, groups, the stats table and the learning-curve plot (see run_stats.hpp).
#include "dydiff/eval/run_stats.hpp"

#include "autograd/error.hpp"
#include "dydiff/eval/policy_eval.hpp"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <system_error>

namespace dydiff::eval {
namespace {

// ---- the saved config: the only place that knows its format ----

std::string trim(const std::string& s) {
    const auto b = s.find_first_not_of(" \t\r");
    if (b == std::string::npos) return "";
    const auto e = s.find_last_not_of(" \t\r");
    return s.substr(b, e - b + 1);
}

// A value as written after `key =`: a "basic" or 'literal' string, or a bare word (number, boolean), up to a comment.
std::string parse_value(const std::string& text, const std::string& where) {
    if (!text.empty() && (text[0] == '"' || text[0] == '\'')) {
        const char quote = text[0];
        std::string out;
        for (std::size_t i = 1; i < text.size(); ++i) {
            const char c = text[i];
            if (c == quote) return out;
            if (c == '\\' && quote == '"' && i + 1 < text.size()) {
                const char n = text[++i];
                out += n == 'n' ? '\n' : n == 't' ? '\t' : n;
                continue;
            }
            out += c;
        }
        DYDIFF_FAIL(where << ": unterminated string " << text);
    }
    const auto hash = text.find('#');
    return trim(text.substr(0, hash));
}

// "table.key" -> value for every `key = value` line (top-level keys have no table prefix).
std::map<std::string, std::string> read_flat_config(const std::string& path) {
    std::ifstream in(path);
    DYDIFF_CHECK(in, path << ": cannot read the run's config");
    std::map<std::string, std::string> out;
    std::string line, table;
    for (std::size_t number = 1; std::getline(in, line); ++number) {
        const std::string t = trim(line);
        if (t.empty() || t[0] == '#') continue;
        if (t[0] == '[') {
            const auto close = t.find(']');
            DYDIFF_CHECK(close != std::string::npos, path << ":" << number << ": unterminated table header " << t);
            table = trim(t.substr(1, close - 1));
            continue;
        }
        const auto eq = t.find('=');
        if (eq == std::string::npos) continue;  // a continuation line of a multi-line array: nothing we look up
        const std::string key = trim(t.substr(0, eq));
        out[table.empty() ? key : table + "." + key] = parse_value(trim(t.substr(eq + 1)), path + ":" + std::to_string(number));
    }
    return out;
}

// The value of `key` at the top level, else in the first table (in name order) that has it.
std::optional<std::string> find_key(const std::map<std::string, std::string>& config, const std::string& key) {
    if (const auto it = config.find(key); it != config.end()) return it->second;
    for (const auto& [k, v] : config) {
        const auto dot = k.rfind('.');
        if (dot != std::string::npos && k.compare(dot + 1, std::string::npos, key) == 0) return v;
    }
    return std::nullopt;
}

std::string file_exists_or(const std::string& a, const std::string& b) { return std::ifstream(a) ? a : b; }

MeanStd mean_std_of(const std::vector<double>& xs) {
    MeanStd out;
    mean_std(xs, out.mean, out.std);
    return out;
}

std::string fixed(double v, int decimals) {
    char buf[64];
    std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
    return buf;
}

std::string full(double v) {
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof buf, v);
    return std::string(buf, r.ptr);
}

std::string seeds_text(const std::vector<std::optional<std::int64_t>>& seeds, const char* sep) {
    std::string out;
    for (std::size_t i = 0; i < seeds.size(); ++i)
        out += (i ? sep : "") + (seeds[i] ? std::to_string(*seeds[i]) : std::string("?"));
    return out;
}

std::string steps_text(const GroupStats& g) {
    return g.min_last_step == g.max_last_step ? std::to_string(g.max_last_step)
                                              : std::to_string(g.min_last_step) + "-" + std::to_string(g.max_last_step);
}

std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

std::string md_cell(const std::string& s) {
    std::string out;
    for (char c : s) out += c == '|' ? std::string("\\|") : std::string(1, c);
    return out;
}

// Group membership: runs of one group share algo, env and dataset (SHA-256 when both runs record one, else path).
bool same_experiment(const RunIdentity& a, const RunIdentity& b) {
    if (a.algo != b.algo || a.env != b.env) return false;
    if (!a.dataset_sha256.empty() && !b.dataset_sha256.empty()) return a.dataset_sha256 == b.dataset_sha256;
    return a.dataset == b.dataset;
}

std::vector<std::vector<const RunRecord*>> group_runs(const std::vector<RunRecord>& runs) {
    DYDIFF_CHECK(!runs.empty(), "stats: no runs");
    std::vector<std::vector<const RunRecord*>> groups;
    for (const RunRecord& r : runs) {
        DYDIFF_CHECK(!r.rows.empty(), r.dir << ": no evaluations in eval.csv");
        auto it = std::find_if(groups.begin(), groups.end(),
                               [&](const auto& g) { return same_experiment(g.front()->id, r.id); });
        if (it == groups.end())
            groups.push_back({&r});
        else
            it->push_back(&r);
    }
    std::stable_sort(groups.begin(), groups.end(), [](const auto& a, const auto& b) {
        const RunIdentity &x = a.front()->id, &y = b.front()->id;
        return std::tie(x.env, x.dataset, x.algo) < std::tie(y.env, y.dataset, y.algo);
    });
    return groups;
}

}  // namespace

RunIdentity read_run_identity(const std::string& run_dir) {
    const std::string path = file_exists_or(run_dir + "/config.toml", run_dir + "/config.txt");
    DYDIFF_CHECK(std::ifstream(path), run_dir << ": no config.toml (nor config.txt): not a run directory");
    const auto config = read_flat_config(path);
    RunIdentity id;
    auto require = [&](const char* key, std::optional<std::string> value) {
        DYDIFF_CHECK(value && !value->empty(), path << ": no '" << key << "' key: cannot tell which experiment the run "
                                                     << run_dir << " belongs to");
        return *value;
    };
    id.algo = require("algo", find_key(config, "algo"));
    id.env = require("env", find_key(config, "env"));
    std::optional<std::string> dataset = config.count("dataset") ? config.at("dataset") : std::optional<std::string>();
    if (!dataset && config.count("dataset.path")) dataset = config.at("dataset.path");
    id.dataset = require("dataset", dataset);
    if (auto sha = find_key(config, "dataset_sha256"))
        id.dataset_sha256 = *sha;
    else if (config.count("dataset.sha256"))
        id.dataset_sha256 = config.at("dataset.sha256");
    if (auto seed = find_key(config, "seed")) {
        std::int64_t v = 0;
        const auto r = std::from_chars(seed->data(), seed->data() + seed->size(), v);
        DYDIFF_CHECK(r.ec == std::errc() && r.ptr == seed->data() + seed->size(),
                     path << ": seed '" << *seed << "' is not an integer");
        id.seed = v;
    }
    return id;
}

RunRecord read_run(const std::string& run_dir) {
    RunRecord r;
    r.dir = run_dir;
    r.id = read_run_identity(run_dir);
    r.rows = read_eval_csv(run_dir + "/eval.csv");
    DYDIFF_CHECK(!r.rows.empty(), run_dir << "/eval.csv: no evaluations yet");
    return r;
}

std::vector<GroupStats> aggregate_runs(const std::vector<RunRecord>& runs) {
    std::vector<GroupStats> out;
    for (const auto& members : group_runs(runs)) {
        GroupStats g;
        const RunIdentity& first = members.front()->id;
        g.algo = first.algo;
        g.env = first.env;
        g.dataset = first.dataset;
        g.dataset_sha256 = first.dataset_sha256;
        std::vector<double> last, best, last_return;
        g.min_last_step = members.front()->rows.back().step;
        g.max_last_step = g.min_last_step;
        for (const RunRecord* r : members) {
            g.dirs.push_back(r->dir);
            g.seeds.push_back(r->id.seed);
            last.push_back(r->rows.back().score_mean);
            best.push_back(best_row(r->rows).score_mean);
            last_return.push_back(r->rows.back().return_mean);
            g.min_last_step = std::min(g.min_last_step, r->rows.back().step);
            g.max_last_step = std::max(g.max_last_step, r->rows.back().step);
        }
        g.last_score = mean_std_of(last);
        g.best_score = mean_std_of(best);
        g.last_return = mean_std_of(last_return);
        out.push_back(std::move(g));
    }
    return out;
}

std::string stats_markdown(const std::vector<GroupStats>& groups) {
    std::ostringstream os;
    os << "| algo | env | dataset | runs | seeds | steps | last score | best score |\n"
       << "|---|---|---|---:|---|---:|---:|---:|\n";
    for (const GroupStats& g : groups)
        os << "| " << md_cell(g.algo) << " | " << md_cell(g.env) << " | " << md_cell(g.dataset) << " | " << g.dirs.size()
           << " | " << seeds_text(g.seeds, ", ") << " | " << steps_text(g) << " | " << fixed(g.last_score.mean, 1)
           << " ± " << fixed(g.last_score.std, 1) << " | " << fixed(g.best_score.mean, 1) << " ± "
           << fixed(g.best_score.std, 1) << " |\n";
    return os.str();
}

std::string stats_csv(const std::vector<GroupStats>& groups) {
    std::ostringstream os;
    os << "algo,env,dataset,dataset_sha256,runs,seeds,min_last_step,max_last_step,last_score_mean,last_score_std,"
          "best_score_mean,best_score_std,last_return_mean,last_return_std\n";
    for (const GroupStats& g : groups)
        os << csv_field(g.algo) << "," << csv_field(g.env) << "," << csv_field(g.dataset) << ","
           << csv_field(g.dataset_sha256) << "," << g.dirs.size() << "," << seeds_text(g.seeds, " ") << ","
           << g.min_last_step << "," << g.max_last_step << "," << full(g.last_score.mean) << ","
           << full(g.last_score.std) << "," << full(g.best_score.mean) << "," << full(g.best_score.std) << ","
           << full(g.last_return.mean) << "," << full(g.last_return.std) << "\n";
    return os.str();
}

LinePlot learning_curves_plot(const std::vector<RunRecord>& runs, const std::string& title) {
    const auto groups = group_runs(runs);
    // Which identity fields tell the groups apart: those go into the series names, the shared ones into the title.
    std::set<std::string> algos, envs, datasets;
    for (const auto& g : groups) {
        algos.insert(g.front()->id.algo);
        envs.insert(g.front()->id.env);
        datasets.insert(g.front()->id.dataset);
    }
    LinePlot plot;
    plot.x_label = "gradient steps";
    plot.y_label = "normalised score (mean +- std over runs)";
    std::string shared;
    auto add_shared = [&shared](const std::set<std::string>& values) {
        if (values.size() == 1) shared += (shared.empty() ? "" : ", ") + *values.begin();
    };
    add_shared(algos);
    add_shared(envs);
    add_shared(datasets);
    plot.title = title.empty() ? (shared.empty() ? "learning curves" : shared) : title;
    for (const auto& members : groups) {
        const RunIdentity& id = members.front()->id;
        // Steps every run of the group evaluated at.
        std::vector<std::int64_t> steps;
        for (const EvalRow& r : members.front()->rows) steps.push_back(r.step);
        for (const RunRecord* run : members) {
            std::vector<std::int64_t> keep;
            for (std::int64_t s : steps)
                if (std::any_of(run->rows.begin(), run->rows.end(), [s](const EvalRow& r) { return r.step == s; }))
                    keep.push_back(s);
            steps = std::move(keep);
        }
        DYDIFF_CHECK(!steps.empty(), "plot: the runs of " << id.algo << " / " << id.env << " / " << id.dataset
                                                          << " share no evaluation step (first run " << members.front()->dir
                                                          << ")");
        LineSeries s;
        std::string name;
        if (algos.size() > 1 || (envs.size() == 1 && datasets.size() == 1)) name = id.algo;
        if (envs.size() > 1) name += (name.empty() ? "" : " ") + id.env;
        if (datasets.size() > 1) name += (name.empty() ? "" : " ") + id.dataset;
        s.name = name + " (" + std::to_string(members.size()) + (members.size() == 1 ? " run)" : " runs)");
        for (std::int64_t step : steps) {
            std::vector<double> scores;
            for (const RunRecord* run : members)
                for (const EvalRow& r : run->rows)
                    if (r.step == step) scores.push_back(r.score_mean);
            const MeanStd ms = mean_std_of(scores);
            s.x.push_back(static_cast<double>(step));
            s.y.push_back(ms.mean);
            s.band_lo.push_back(ms.mean - ms.std);
            s.band_hi.push_back(ms.mean + ms.std);
        }
        plot.series.push_back(std::move(s));
    }
    return plot;
}

}  // namespace dydiff::eval
