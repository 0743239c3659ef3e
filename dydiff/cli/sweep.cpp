// The grid of `dydiff sweep` (sweep.hpp): the file's tables, the expansion into runs through train-agent's
// ConfigFields, run names, and the shell forms of the runs (GNU parallel list, Slurm array script).
#include "dydiff/cli/sweep.hpp"

#include "autograd/error.hpp"
#include "dydiff/cli/run_command.hpp"
#include "dydiff/learners/registry.hpp"
#include "dydiff/run/config.hpp"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <sstream>

#include <fnmatch.h>

namespace dydiff::cli {

namespace {

constexpr const char* kTables = "[sweep], [set], [grid], [label] and [data.NAME]";
constexpr const char* kEnabled = "dydiff.enabled";
constexpr std::int64_t kMaxThreads = 1024;

bool starts_with(const std::string& s, const std::string& prefix) { return s.rfind(prefix, 0) == 0; }

std::string at(const std::string& file, std::size_t line) { return file + ":" + std::to_string(line); }

/// The part after the first dot ("grid.dydiff.enabled" -> "dydiff.enabled").
std::string after_first_dot(const std::string& key) {
    const auto dot = key.find('.');
    return dot == std::string::npos ? "" : key.substr(dot + 1);
}

bool name_char(char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '+' || c == '-';
}

/// A value as a piece of a directory name: a string as itself, an array's elements joined by 'x', anything else
/// as written; characters other than [A-Za-z0-9._+-] become '_'.
std::string name_text(const toml::Value& v) {
    std::string text;
    if (v.type == toml::Value::Type::string) {
        text = v.string;
    } else if (v.type == toml::Value::Type::array) {
        for (std::size_t i = 0; i < v.array.size(); ++i) text += (i ? "x" : "") + name_text(v.array[i]);
    } else {
        text = v.text;
    }
    for (char& c : text)
        if (!name_char(c)) c = '_';
    return text;
}

/// An axis value's part of a run name: `dydiff` or `base` for dydiff.enabled (its default label), the value alone
/// for an empty label (algo), label+value when the value starts with a digit (s0, iterations2), else label_value.
std::string name_part(const SweepAxis& axis, const toml::Value& v) {
    if (axis.key == kEnabled && axis.label == "dydiff") return v.boolean ? "dydiff" : "base";
    const std::string text = name_text(v);
    if (axis.label.empty()) return text;
    if (!text.empty() && std::isdigit(static_cast<unsigned char>(text[0]))) return axis.label + text;
    return axis.label + "_" + text;
}

/// One value the sweep gives a key, with where it came from (for ConfigFields' messages).
struct Setting {
    std::string key;
    std::string text;  // TOML, as written
    std::string where;
};

/// A fresh train-agent config, from `preset` ("" = the default), with the settings applied in order (later ones win).
struct Resolved {
    std::unique_ptr<Job> job;
    ConfigFields fields;
};

std::unique_ptr<Resolved> resolve(const std::vector<Setting>& settings, const std::string& preset) {
    auto r = std::make_unique<Resolved>();
    r->job = train_agent_command().make_with_preset(preset);
    r->job->fields(r->fields);
    for (const Setting& s : settings) r->fields.set(s.key, s.text, s.where);
    return r;
}

/// A TOML value as one command-line word for --set or a shorthand flag: a string bare (ConfigFields::set takes a
/// bare word as the string itself) unless it is empty, padded or starts with a quote; anything else as TOML.
std::string flag_word(const std::string& toml_text) {
    const toml::Value v = toml::parse_value(toml_text, "flag_word");
    if (v.type != toml::Value::Type::string) return toml_text;
    const std::string& s = v.string;
    const bool bare = !s.empty() && s.front() != '"' && s.front() != '\'' &&
                      !std::isspace(static_cast<unsigned char>(s.front())) &&
                      !std::isspace(static_cast<unsigned char>(s.back()));
    return bare ? s : toml_text;
}

/// The words of one run: train-agent DATA --out DIR, each key as its switch, its shorthand flag or --set, then
/// --threads.
std::vector<std::string> run_args(const SweepRun& run, std::int64_t threads) {
    const JobCommand& command = train_agent_command();
    std::vector<std::string> words{command.doc.name, run.dataset, "--out", run.dir};
    const auto shorthands = command.all_shorthands();
    // NOTE: no structured bindings here: C++17 lambdas cannot capture them (g++ accepts it, clang refuses).
    for (const auto& key_value : run.keys) {
        const std::string& key = key_value.first;
        const std::string& value = key_value.second;
        const auto sw = std::find_if(command.switches.begin(), command.switches.end(),
                                     [&](const auto& s) { return s.second == key + "=" + value; });
        if (sw != command.switches.end()) {
            words.push_back("--" + sw->first);
            continue;
        }
        const auto sh =
            std::find_if(shorthands.begin(), shorthands.end(), [&](const auto& s) { return s.second == key; });
        if (sh != shorthands.end()) {
            words.push_back("--" + sh->first);
            words.push_back(flag_word(value));
        } else {
            words.push_back("--set");
            words.push_back(key + "=" + flag_word(value));
        }
    }
    words.push_back("--threads");
    words.push_back(std::to_string(threads));
    return words;
}

/// The learner whose table holds `key` ("td3bc" for "td3bc.alpha"), or "".
std::string learner_of(const std::string& key) {
    for (const std::string& name : learners::learner_names())
        if (starts_with(key, name + ".")) return name;
    return "";
}

/// Reads the tables into `s` (no expansion yet); checks the file's shape and that every key is train-agent's.
void read_tables(const toml::Document& doc, Sweep& s,
                 std::map<std::string, std::pair<std::string, std::size_t>>& labels) {
    const std::string& file = doc.source;
    for (const toml::Table& t : doc.tables) {
        const bool known = t.name == "sweep" || t.name == "data" || t.name == "label" || t.name == "set" ||
                           t.name == "grid" || starts_with(t.name, "set.") || starts_with(t.name, "grid.") ||
                           starts_with(t.name, "label.") || starts_with(t.name, "data.");
        DYDIFF_USER_CHECK(known, at(file, t.line) << ": unknown table [" << t.name << "] (a sweep has " << kTables
                                                  << ", docs/sweeps.md)");
    }
    ConfigFields keys;  // train-agent's keys, to check names against
    const std::unique_ptr<Job> job = train_agent_command().make();
    job->fields(keys);
    const auto require_key = [&](const std::string& key, const std::string& table, std::size_t line) {
        DYDIFF_USER_CHECK(keys.has(key), at(file, line) << ": '" << key << "' in " << table
                                                        << " is not a train-agent key (dydiff config show train-agent "
                                                           "lists them)");
    };
    bool has_out = false;
    for (const toml::Entry& e : doc.entries) {
        const std::string where = at(file, e.line);
        const std::string top = e.key.substr(0, e.key.find('.'));
        const std::string rest = after_first_dot(e.key);
        if (top == "sweep") {
            if (rest == "out" || rest == "executable") {
                DYDIFF_USER_CHECK(e.value.type == toml::Value::Type::string && !e.value.string.empty(),
                                  where << ": sweep." << rest << " wants a non-empty string, got " << e.value.text);
                (rest == "out" ? s.out : s.executable) = e.value.string;
                has_out = has_out || rest == "out";
            } else if (rest == "preset") {
                const std::vector<std::string>& presets = train_agent_command().presets;
                std::string valid;
                for (const std::string& p : presets) valid += (valid.empty() ? "" : ", ") + p;
                DYDIFF_USER_CHECK(e.value.type == toml::Value::Type::string &&
                                      std::find(presets.begin(), presets.end(), e.value.string) != presets.end(),
                                  where << ": sweep.preset wants a train-agent preset (one of: " << valid << "), got "
                                        << e.value.text);
                s.preset = e.value.string;
            } else if (rest == "threads") {
                DYDIFF_USER_CHECK(
                    e.value.type == toml::Value::Type::integer && e.value.integer >= 1 &&
                        e.value.integer <= kMaxThreads,
                    where << ": sweep.threads wants an integer in [1, " << kMaxThreads << "], got " << e.value.text);
                s.threads = e.value.integer;
            } else {
                DYDIFF_USER_FAIL(where << ": unknown key '" << rest
                                       << "' in [sweep] (valid: out, threads, preset, executable)");
            }
        } else if (top == "set") {
            require_key(rest, "[set]", e.line);
            s.fixed.push_back({rest, e.value, e.line});
        } else if (top == "grid") {
            require_key(rest, "[grid]", e.line);
            DYDIFF_USER_CHECK(e.value.type == toml::Value::Type::array,
                              where << ": grid." << rest << " = " << e.value.text
                                    << " is not an array; an axis is a list of values (a fixed value goes in [set])");
            DYDIFF_USER_CHECK(!e.value.array.empty(),
                              where << ": grid." << rest << " is empty; an axis needs at least one value");
            s.axes.push_back({rest, "", e.value.array, e.line});
        } else if (top == "label") {
            DYDIFF_USER_CHECK(e.value.type == toml::Value::Type::string &&
                                  std::all_of(e.value.string.begin(), e.value.string.end(), name_char),
                              where << ": label." << rest << " wants a string of A-Z a-z 0-9 . _ + - (or \"\"), got "
                                    << e.value.text);
            labels[rest] = {e.value.string, e.line};
        } else if (top == "data") {
            const std::string name = rest.substr(0, rest.find('.'));
            const std::string key = after_first_dot(rest);
            DYDIFF_USER_CHECK(!key.empty(), where << ": data." << rest << " is not in a dataset table; write [data."
                                                  << rest << "] with path = \"FILE.npz\"");
            auto it = std::find_if(s.datasets.begin(), s.datasets.end(),
                                   [&](const SweepDataset& d) { return d.name == name; });
            if (it == s.datasets.end()) {
                s.datasets.push_back({name, "", {}, e.line});
                it = s.datasets.end() - 1;
            }
            if (key == "path") {
                DYDIFF_USER_CHECK(
                    e.value.type == toml::Value::Type::string && !e.value.string.empty(),
                    where << ": data." << name << ".path wants the dataset file as a string, got " << e.value.text);
                it->path = e.value.string;
            } else {
                require_key(key, "[data." + name + "]", e.line);
                it->keys.push_back({key, e.value, e.line});
            }
        } else {
            DYDIFF_USER_FAIL(where << ": '" << e.key << "' is outside the sweep's tables (" << kTables
                                   << ", docs/sweeps.md)");
        }
    }
    DYDIFF_USER_CHECK(has_out, file << ": [sweep] needs out = \"DIR\", the directory the runs go under");
    DYDIFF_USER_CHECK(!s.datasets.empty(), file << ": no dataset; add a table [data.NAME] with path = \"FILE.npz\"");
    for (const SweepDataset& d : s.datasets)
        DYDIFF_USER_CHECK(!d.path.empty(), at(file, d.line) << ": [data." << d.name << "] has no path = \"FILE.npz\"");
    DYDIFF_USER_CHECK(!s.axes.empty(),
                      file << ": [grid] has no axis; a sweep needs at least one, e.g. seed = [0, 1, 2]");
}

/// Labels: [label] first, else algo -> "", seed -> "s", dydiff.enabled -> "dydiff" (dydiff/base), else the key's
/// last part, or the whole key with '_' for '.' where two axes share a last part.
void assign_labels(const std::string& file, std::vector<SweepAxis>& axes,
                   const std::map<std::string, std::pair<std::string, std::size_t>>& labels) {
    for (const auto& key_label : labels) {
        const std::string& key = key_label.first;
        const auto& label = key_label.second;
        DYDIFF_USER_CHECK(std::any_of(axes.begin(), axes.end(), [&](const SweepAxis& a) { return a.key == key; }),
                          at(file, label.second) << ": label." << key << " labels no axis of [grid]");
    }
    const auto last_part = [](const std::string& key) { return key.substr(key.rfind('.') + 1); };
    for (SweepAxis& a : axes) {
        if (const auto it = labels.find(a.key); it != labels.end()) {
            a.label = it->second.first;
        } else if (a.key == "algo") {
            a.label = "";
        } else if (a.key == "seed") {
            a.label = "s";
        } else if (a.key == kEnabled) {
            a.label = "dydiff";
        } else {
            const auto shared = std::count_if(axes.begin(), axes.end(),
                                              [&](const SweepAxis& b) { return last_part(b.key) == last_part(a.key); });
            a.label = last_part(a.key);
            if (shared > 1) std::replace((a.label = a.key).begin(), a.label.end(), '.', '_');
        }
    }
}

}  // namespace

Sweep parse_sweep(const toml::Document& doc) {
    Sweep s;
    s.file = doc.source;
    std::map<std::string, std::pair<std::string, std::size_t>> labels;
    read_tables(doc, s, labels);
    const std::string& file = s.file;

    // An axis may not also be fixed: which value would win is not obvious.
    for (const SweepAxis& a : s.axes) {
        for (const toml::Entry& e : s.fixed)
            DYDIFF_USER_CHECK(e.key != a.key, at(file, e.line)
                                                  << ": '" << a.key << "' is fixed in [set] and an axis of "
                                                  << "[grid] (line " << a.line << "); keep one");
        for (const SweepDataset& d : s.datasets)
            for (const toml::Entry& e : d.keys)
                DYDIFF_USER_CHECK(e.key != a.key, at(file, e.line)
                                                      << ": '" << a.key << "' is set in [data." << d.name
                                                      << "] and an axis of [grid] (line " << a.line << "); keep one");
    }
    // Every value of every axis is read through train-agent's field (type and range checks, file:line), and no
    // value is listed twice (as train-agent reads them: 1e-3 and 0.001 are the same value).
    for (const SweepAxis& a : s.axes) {
        std::set<std::string> seen;
        for (const toml::Value& v : a.values) {
            const auto r = resolve({{a.key, v.text, at(file, a.line)}}, s.preset);
            DYDIFF_USER_CHECK(seen.insert(r->fields.get(a.key)).second,
                              at(file, a.line) << ": grid." << a.key << " lists " << v.text << " twice");
        }
    }
    assign_labels(file, s.axes, labels);

    // The loop order, outermost first: seed, dataset, algo, the other axes by key. The name order: algo, the other
    // axes by key, seed.
    std::vector<std::size_t> others;
    std::optional<std::size_t> seed_axis, algo_axis;
    for (std::size_t i = 0; i < s.axes.size(); ++i) {
        if (s.axes[i].key == "seed")
            seed_axis = i;
        else if (s.axes[i].key == "algo")
            algo_axis = i;
        else
            others.push_back(i);
    }
    std::sort(others.begin(), others.end(),
              [&](std::size_t a, std::size_t b) { return s.axes[a].key < s.axes[b].key; });
    std::vector<std::size_t> name_order;
    if (algo_axis) name_order.push_back(*algo_axis);
    name_order.insert(name_order.end(), others.begin(), others.end());
    if (seed_axis) name_order.push_back(*seed_axis);
    // Dimensions of the loop: axis indices, with kDataset for the datasets.
    const std::size_t kDataset = s.axes.size();
    std::vector<std::size_t> dims;
    if (seed_axis) dims.push_back(*seed_axis);
    dims.push_back(kDataset);
    if (algo_axis) dims.push_back(*algo_axis);
    dims.insert(dims.end(), others.begin(), others.end());
    const auto dim_size = [&](std::size_t d) { return d == kDataset ? s.datasets.size() : s.axes[d].values.size(); };

    std::vector<bool> varies(s.axes.size(), false);  // the axis applies to at least one run
    std::map<std::string, std::vector<std::pair<std::string, std::string>>> by_name;  // name -> keys, for clashes
    std::vector<std::size_t> pick(s.axes.size() + 1, 0);  // value index per axis, dataset index at kDataset
    for (bool more = true; more;) {
        const SweepDataset& data = s.datasets[pick[kDataset]];
        std::vector<Setting> all;          // [set], then the dataset's keys, then the axes: later ones win
        std::vector<std::size_t> axis_of;  // per setting: its axis, or kDataset for a fixed one
        for (const toml::Entry& e : s.fixed) {
            all.push_back({e.key, e.value.text, at(file, e.line)});
            axis_of.push_back(kDataset);
        }
        for (const toml::Entry& e : data.keys) {
            all.push_back({e.key, e.value.text, at(file, e.line)});
            axis_of.push_back(kDataset);
        }
        for (std::size_t i = 0; i < s.axes.size(); ++i) {
            all.push_back({s.axes[i].key, s.axes[i].values[pick[i]].text, at(file, s.axes[i].line)});
            axis_of.push_back(i);
        }
        // Which settings apply: a learner's keys to its runs, [dydiff] keys to runs with DyDiff on; the others
        // are left out (their defaults stay), so a run without DyDiff is the plain train-agent run.
        std::vector<bool> active(s.axes.size(), true);
        std::vector<Setting> settings;
        {
            const auto r = resolve(all, s.preset);
            const std::string algo = toml::parse_value(r->fields.get("algo"), "algo").string;
            const bool enabled = r->fields.get(kEnabled) == "true";
            for (std::size_t j = 0; j < all.size(); ++j) {
                const std::string& key = all[j].key;
                const std::string learner = learner_of(key);
                const bool applies = (learner.empty() || learner == algo) &&
                                     (!starts_with(key, "dydiff.") || key == kEnabled || enabled);
                if (applies)
                    settings.push_back(all[j]);
                else if (axis_of[j] != kDataset)
                    active[axis_of[j]] = false;
            }
        }
        SweepRun run;
        std::string parts;
        for (std::size_t i : name_order)
            if (active[i]) {
                varies[i] = true;
                parts += (parts.empty() ? "" : "-") + name_part(s.axes[i], s.axes[i].values[pick[i]]);
            }
        run.name = data.name + "/" + (parts.empty() ? "run" : parts);
        const auto r = resolve(settings, s.preset);
        try {
            r->fields.validate();
        } catch (const UserError& e) {
            throw UserError(file + ": run " + run.name + ": " + e.what());
        }
        run.dir = (std::filesystem::path(s.out) / data.name / (parts.empty() ? "run" : parts)).string();
        run.dataset = data.path;
        run.preset = s.preset;
        for (const Setting& setting : settings)
            if (std::none_of(run.keys.begin(), run.keys.end(), [&](const auto& k) { return k.first == setting.key; }))
                run.keys.emplace_back(setting.key, r->fields.get(setting.key));
        const auto [it, fresh] = by_name.emplace(run.name, run.keys);
        if (fresh) {
            run.args = run_args(run, s.threads);
            s.runs.push_back(std::move(run));
        } else {
            // The same name again: the same run when an axis that does not apply to it is what changed.
            auto a = it->second, b = run.keys;
            std::sort(a.begin(), a.end());
            std::sort(b.begin(), b.end());
            DYDIFF_USER_CHECK(a == b, file << ": two different runs would both be named " << run.name
                                           << "; give the axes distinct labels in [label]");
        }
        // Next combination: the last dimension moves fastest.
        more = false;
        for (std::size_t d = dims.size(); d-- > 0;) {
            if (++pick[dims[d]] < dim_size(dims[d])) {
                more = true;
                break;
            }
            pick[dims[d]] = 0;
        }
    }
    for (std::size_t i = 0; i < s.axes.size(); ++i)
        DYDIFF_USER_CHECK(varies[i], at(file, s.axes[i].line)
                                         << ": grid." << s.axes[i].key << " applies to no run ("
                                         << (learner_of(s.axes[i].key).empty()
                                                 ? std::string("its [dydiff] key needs dydiff.enabled = true")
                                                 : "no run has algo = " + learner_of(s.axes[i].key))
                                         << ")");
    return s;
}

Sweep read_sweep(const std::string& path) { return parse_sweep(toml::parse_file(path)); }

std::vector<SweepRun> select_runs(const Sweep& sweep, const std::string& pattern) {
    if (pattern.empty()) return sweep.runs;
    std::vector<SweepRun> out;
    for (const SweepRun& r : sweep.runs)
        if (::fnmatch(pattern.c_str(), r.name.c_str(), 0) == 0) out.push_back(r);
    if (out.empty()) {
        std::ostringstream names;
        for (std::size_t i = 0; i < sweep.runs.size() && i < 3; ++i) names << (i ? ", " : "") << sweep.runs[i].name;
        DYDIFF_USER_FAIL("no run of " << sweep.file << " matches '" << pattern << "' (its " << sweep.runs.size()
                                      << " runs are named like " << names.str() << ")");
    }
    return out;
}

std::string shell_word(const std::string& word) {
    const bool plain = !word.empty() && std::all_of(word.begin(), word.end(), [](char c) {
        return std::isalnum(static_cast<unsigned char>(c)) || std::string("_./:=+,@%-").find(c) != std::string::npos;
    });
    if (plain) return word;
    std::string out = "'";
    for (char c : word) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

std::vector<std::string> start_words(const SweepRun& run, bool resume) {
    std::vector<std::string> words = run.args;
    if (resume) {
        words.push_back("--resume");
    } else if (!run.preset.empty()) {
        words.push_back("--preset");
        words.push_back(run.preset);
    }
    return words;
}

std::string run_shell_command(const std::string& executable, const SweepRun& run) {
    std::string line = shell_word(executable);
    for (const std::string& w : run.args) line += " " + shell_word(w);
    const std::string config = (std::filesystem::path(run.dir) / RunDir::kConfig).string();
    return line + " $(test -f " + shell_word(config) + " && echo --resume" +
           (run.preset.empty() ? "" : " || echo --preset " + shell_word(run.preset)) + ")";
}

std::string parallel_commands(const std::vector<SweepRun>& runs, const std::string& executable) {
    std::string text;
    for (const SweepRun& r : runs) text += run_shell_command(executable, r) + "\n";
    return text;
}

std::string slurm_script(const Sweep& sweep, const std::vector<SweepRun>& runs, const std::string& executable) {
    std::string job = std::filesystem::path(sweep.file).stem().string();
    for (char& c : job)
        if (!name_char(c)) c = '_';
    const std::string last = std::to_string(runs.size() - 1);
    std::ostringstream os;
    os << "#!/bin/bash\n"
       << "# " << runs.size() << " train-agent runs of " << sweep.file << ", one per array index (written by dydiff "
       << "sweep --slurm).\n"
       << "# Submit it from the directory the grid's paths are relative to: sbatch THIS_FILE; cluster settings go on\n"
       << "# the command line (sbatch --time=12:00:00 --partition=P THIS_FILE). An index whose run exists continues\n"
       << "# it (--resume) and a finished run does nothing, so submitting again is safe.\n"
       << "# When every index has finished, the table over seeds (" << sweep.out << "/stats.md, stats.csv):\n"
       << "#   " << shell_word(executable) << " sweep " << shell_word(sweep.file) << " --stats-only\n"
       << "#SBATCH --job-name=dydiff-" << job << "\n"
       << "#SBATCH --array=0-" << last << "\n"
       << "#SBATCH --ntasks=1\n"
       << "#SBATCH --cpus-per-task=" << sweep.threads << "\n"
       << "\n"
       << "case \"${SLURM_ARRAY_TASK_ID:?run this script with sbatch, which sets SLURM_ARRAY_TASK_ID}\" in\n";
    for (std::size_t i = 0; i < runs.size(); ++i)
        os << "  " << i << ")  # " << runs[i].name << "\n"
           << "    " << run_shell_command(executable, runs[i]) << " ;;\n";
    os << "  *) echo \"dydiff sweep: no run has array index $SLURM_ARRAY_TASK_ID (0-" << last << ")\" >&2; exit 2 ;;\n"
       << "esac\n";
    return os.str();
}

}  // namespace dydiff::cli
