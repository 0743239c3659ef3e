// Runs, groups, the stats table and the learning-curve plot (see run_stats.hpp).
#include "dydiff/eval/run_stats.hpp"

#include "autograd/error.hpp"
#include "dydiff/eval/policy_eval.hpp"
#include "dydiff/learners/registry.hpp"
#include "dydiff/run/toml.hpp"

#include <algorithm>
#include <charconv>
#include "data/rng.hpp"
#include <cstdio>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <system_error>

namespace dydiff::eval {
namespace {

// ---- the saved config ----

// A value as a short text: strings bare, numbers and booleans as written.
std::string value_text(const toml::Value& v) {
    switch (v.type) {
    case toml::Value::Type::string: return v.string;
    case toml::Value::Type::integer: return std::to_string(v.integer);
    case toml::Value::Type::boolean: return v.boolean ? "true" : "false";
    case toml::Value::Type::real: return toml::format_real(v.real, false);
    case toml::Value::Type::array: return v.text;
    }
    return v.text;
}

bool starts_with(const std::string& s, const std::string& prefix) { return s.compare(0, prefix.size(), prefix) == 0; }

// Keys that do not define the experiment: the seed (runs of one group differ in it), the budget and logging
// (a group reports the range of its last evaluation steps), provenance, and where the models are stored.
bool is_bookkeeping_key(const std::string& key) {
    static const std::set<std::string> keys{"seed",          "steps",    "eval_every",  "eval_episodes",
                                            "log_every",     "env",      "algo",        "dydiff.diffusion",
                                            "dydiff.dynamics", "dydiff.reward", "dydiff.generator.chunk"};
    return keys.count(key) > 0 || starts_with(key, "run.");
}

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

// Group membership: runs of one group share algo, env, dataset (SHA-256 when both runs record one, else path) and
// every setting.
bool same_experiment(const RunIdentity& a, const RunIdentity& b) {
    if (a.algo != b.algo || a.env != b.env || a.settings != b.settings) return false;
    if (!a.dataset_sha256.empty() && !b.dataset_sha256.empty()) return a.dataset_sha256 == b.dataset_sha256;
    return a.dataset == b.dataset;
}

bool dydiff_on(const RunIdentity& id) {
    const auto it = id.settings.find("dydiff.enabled");
    return it != id.settings.end() && it->second == "true";
}

// "+dydiff" / "base" for the DyDiff switch, "key=value" for any other setting.
std::string setting_label(const std::string& key, const std::string& value) {
    if (key == "dydiff.enabled") return value == "true" ? "+dydiff" : "base";
    return key + "=" + value;
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
        return std::tie(x.env, x.dataset, x.algo, x.settings) < std::tie(y.env, y.dataset, y.algo, y.settings);
    });
    return groups;
}

// The variant label of each group: the settings in which it differs from another group of the same algo, env and
// dataset.
std::vector<std::string> variant_labels(const std::vector<std::vector<const RunRecord*>>& groups) {
    std::vector<std::string> out(groups.size());
    for (std::size_t i = 0; i < groups.size(); ++i) {
        const RunIdentity& a = groups[i].front()->id;
        std::set<std::string> differing;
        for (std::size_t j = 0; j < groups.size(); ++j) {
            const RunIdentity& b = groups[j].front()->id;
            if (j == i || a.algo != b.algo || a.env != b.env || a.dataset != b.dataset) continue;
            for (const auto& [key, value] : a.settings) {
                const auto it = b.settings.find(key);
                if (it == b.settings.end() || it->second != value) differing.insert(key);
            }
            for (const auto& [key, value] : b.settings)
                if (!a.settings.count(key) && key.compare(0, 7, "dydiff.") != 0) differing.insert(key);
            if (dydiff_on(a) != dydiff_on(b)) differing.insert("dydiff.enabled");
        }
        // With the DyDiff switch differing, DyDiff's own keys are part of "+dydiff": list them only when they also
        // differ between two +dydiff groups.
        if (differing.count("dydiff.enabled")) {
            std::set<std::string> keep{"dydiff.enabled"};
            for (const std::string& key : differing) {
                if (key.compare(0, 7, "dydiff.") != 0) {
                    keep.insert(key);
                    continue;
                }
                for (std::size_t j = 0; j < groups.size() && dydiff_on(a); ++j) {
                    const RunIdentity& b = groups[j].front()->id;
                    if (j == i || !dydiff_on(b) || a.algo != b.algo || a.env != b.env || a.dataset != b.dataset)
                        continue;
                    const auto it = b.settings.find(key);
                    if (it == b.settings.end() || it->second != a.settings.at(key)) keep.insert(key);
                }
            }
            differing = keep;
        }
        std::string label;
        if (differing.count("dydiff.enabled")) label = dydiff_on(a) ? "+dydiff" : "base";
        for (const std::string& key : differing) {
            if (key == "dydiff.enabled") continue;
            const auto it = a.settings.find(key);
            if (it == a.settings.end()) continue;
            label += (label.empty() ? "" : ", ") + setting_label(key, it->second);
        }
        out[i] = label;
    }
    return out;
}

}  // namespace

RunIdentity read_run_identity(const std::string& run_dir) {
    const std::string path = run_dir + "/config.toml";
    DYDIFF_CHECK(std::ifstream(path), run_dir << ": no config.toml: not a run directory");
    const toml::Document doc = toml::parse_file(path);
    std::map<std::string, std::string> config;
    for (const toml::Entry& e : doc.entries) config[e.key] = value_text(e.value);
    auto require = [&](const char* key) {
        const auto it = config.find(key);
        DYDIFF_CHECK(it != config.end() && !it->second.empty(),
                     path << ": no '" << key << "' key: cannot tell which experiment the run " << run_dir
                          << " belongs to");
        return it->second;
    };
    RunIdentity id;
    id.algo = require("algo");
    id.env = require("env");
    id.dataset = require("run.dataset");
    if (config.count("run.dataset_sha256")) id.dataset_sha256 = config.at("run.dataset_sha256");
    if (const auto it = config.find("seed"); it != config.end()) {
        const toml::Entry& e = *std::find_if(doc.entries.begin(), doc.entries.end(),
                                             [](const toml::Entry& x) { return x.key == "seed"; });
        DYDIFF_CHECK(e.value.type == toml::Value::Type::integer,
                     path << ":" << e.line << ": seed '" << e.value.text << "' is not an integer");
        id.seed = e.value.integer;
    }
    // The settings: every key but the bookkeeping ones, the tables of the learners not in use, and DyDiff's tables
    // when DyDiff is off.
    const bool dydiff = config.count("dydiff.enabled") && config.at("dydiff.enabled") == "true";
    const auto learners = learners::learner_names();
    for (const auto& [key, value] : config) {
        if (is_bookkeeping_key(key)) continue;
        const std::string table = key.substr(0, key.find('.'));
        if (table != key && table != id.algo &&
            std::find(learners.begin(), learners.end(), table) != learners.end())
            continue;
        if (!dydiff && starts_with(key, "dydiff.") && key != "dydiff.enabled") continue;
        id.settings[key] = value;
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
    const auto groups = group_runs(runs);
    const auto labels = variant_labels(groups);
    for (std::size_t gi = 0; gi < groups.size(); ++gi) {
        const auto& members = groups[gi];
        GroupStats g;
        const RunIdentity& first = members.front()->id;
        g.settings = first.settings;
        g.variant = labels[gi];
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
        g.last_scores = last;
        g.best_score = mean_std_of(best);
        g.last_return = mean_std_of(last_return);
        out.push_back(std::move(g));
    }
    return out;
}

std::vector<Difference> dydiff_differences(const std::vector<GroupStats>& groups) {
    std::vector<Difference> out;
    for (std::size_t i = 0; i < groups.size(); ++i) {
        const GroupStats& w = groups[i];
        const auto on = w.settings.find("dydiff.enabled");
        if (on == w.settings.end() || on->second != "true") continue;
        // The base settings: the learner's keys as in w, DyDiff off.
        std::map<std::string, std::string> base;
        for (const auto& [key, value] : w.settings)
            if (key.compare(0, 7, "dydiff.") != 0) base[key] = value;
        base["dydiff.enabled"] = "false";
        for (std::size_t j = 0; j < groups.size(); ++j) {
            const GroupStats& b = groups[j];
            if (b.algo != w.algo || b.env != w.env || b.settings != base) continue;
            if (!w.dataset_sha256.empty() && !b.dataset_sha256.empty() ? w.dataset_sha256 != b.dataset_sha256
                                                                        : w.dataset != b.dataset)
                continue;
            Difference d;
            d.with = i;
            d.without = j;
            d.mean = w.last_score.mean - b.last_score.mean;
            data::Rng rng(20241130);
            std::vector<double> diffs(10000);
            for (double& x : diffs) {
                double sw = 0, sb = 0;
                for (std::size_t k = 0; k < w.last_scores.size(); ++k) sw += w.last_scores[rng.randint(w.last_scores.size())];
                for (std::size_t k = 0; k < b.last_scores.size(); ++k) sb += b.last_scores[rng.randint(b.last_scores.size())];
                x = sw / static_cast<double>(w.last_scores.size()) - sb / static_cast<double>(b.last_scores.size());
            }
            std::sort(diffs.begin(), diffs.end());
            // Percentiles 2.5 and 97.5 with linear interpolation between order statistics (numpy's default).
            auto pct = [&](double p) {
                const double pos = p * static_cast<double>(diffs.size() - 1);
                const auto lo = static_cast<std::size_t>(pos);
                const std::size_t hi = std::min(lo + 1, diffs.size() - 1);
                return diffs[lo] + (pos - static_cast<double>(lo)) * (diffs[hi] - diffs[lo]);
            };
            d.ci_lo = pct(0.025);
            d.ci_hi = pct(0.975);
            out.push_back(d);
            break;
        }
    }
    return out;
}

std::string stats_markdown(const std::vector<GroupStats>& groups) {
    std::ostringstream os;
    os << "| algo | variant | env | dataset | runs | seeds | steps | last score | best score |\n"
       << "|---|---|---|---|---:|---|---:|---:|---:|\n";
    for (const GroupStats& g : groups)
        os << "| " << md_cell(g.algo) << " | " << md_cell(g.variant) << " | " << md_cell(g.env) << " | "
           << md_cell(g.dataset) << " | " << g.dirs.size() << " | " << seeds_text(g.seeds, ", ") << " | "
           << steps_text(g) << " | " << fixed(g.last_score.mean, 1) << " ± " << fixed(g.last_score.std, 1) << " | "
           << fixed(g.best_score.mean, 1) << " ± " << fixed(g.best_score.std, 1) << " |\n";
    const auto diffs = dydiff_differences(groups);
    if (!diffs.empty()) {
        os << "\n+DyDiff minus base, last normalised score (mean over runs; 95% bootstrap interval over runs):\n\n"
           << "| algo | variant | env | dataset | runs (base, +dydiff) | base | +dydiff | difference | 95% interval |\n"
           << "|---|---|---|---|---|---:|---:|---:|---|\n";
        for (const Difference& d : diffs) {
            const GroupStats &w = groups[d.with], &b = groups[d.without];
            os << "| " << md_cell(w.algo) << " | " << md_cell(w.variant) << " | " << md_cell(w.env) << " | "
               << md_cell(w.dataset) << " | " << b.dirs.size() << ", " << w.dirs.size() << " | "
               << fixed(b.last_score.mean, 1) << " | " << fixed(w.last_score.mean, 1) << " | "
               << (d.mean >= 0 ? "+" : "") << fixed(d.mean, 1) << " | [" << fixed(d.ci_lo, 1) << ", "
               << fixed(d.ci_hi, 1) << "]" << (d.ci_lo > 0 || d.ci_hi < 0 ? "" : " (includes 0)") << " |\n";
        }
    }
    return os.str();
}

std::string stats_csv(const std::vector<GroupStats>& groups) {
    std::ostringstream os;
    os << "algo,variant,env,dataset,dataset_sha256,runs,seeds,min_last_step,max_last_step,last_score_mean,"
          "last_score_std,best_score_mean,best_score_std,last_return_mean,last_return_std\n";
    for (const GroupStats& g : groups)
        os << csv_field(g.algo) << "," << csv_field(g.variant) << "," << csv_field(g.env) << ","
           << csv_field(g.dataset) << "," << csv_field(g.dataset_sha256) << "," << g.dirs.size() << ","
           << seeds_text(g.seeds, " ") << "," << g.min_last_step << "," << g.max_last_step << ","
           << full(g.last_score.mean) << "," << full(g.last_score.std) << "," << full(g.best_score.mean) << ","
           << full(g.best_score.std) << "," << full(g.last_return.mean) << "," << full(g.last_return.std) << "\n";
    return os.str();
}

LinePlot learning_curves_plot(const std::vector<RunRecord>& runs, const std::string& title) {
    const auto groups = group_runs(runs);
    const auto labels = variant_labels(groups);
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
    for (std::size_t gi = 0; gi < groups.size(); ++gi) {
        const auto& members = groups[gi];
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
        if (!labels[gi].empty()) name += (name.empty() ? "" : " ") + labels[gi];
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
