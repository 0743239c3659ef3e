// run_job_command: the shared path of the config-driven commands (see run_command.hpp).
#include "dydiff/cli/run_command.hpp"

#include "autograd/error.hpp"
#include "nn/parallel.hpp"
#include "nn/simd/batch.hpp"

#include <algorithm>
#include <iostream>
#include <optional>
#include <set>
#include <sstream>

namespace dydiff::cli {

namespace {

// Runs f; a UserError (a bad config value, a used --out) becomes a UsageError of the command: exit code 2.
template <class F>
auto as_usage(const std::string& command, const F& f) -> decltype(f()) {
    try {
        return f();
    } catch (const UserError& e) {
        throw UsageError("dydiff " + command + ": " + e.what());
    }
}

std::string join(const std::vector<std::string>& words, const std::string& sep) {
    std::string out;
    for (std::size_t i = 0; i < words.size(); ++i) out += (i ? sep : "") + words[i];
    return out;
}

}  // namespace

// ---- Job, DatasetJob --------------------------------------------------------------------------------------------

void Job::apply_preset(const std::string& name) {
    DYDIFF_FAIL("apply_preset('" << name << "') on a command without presets");
}

std::size_t DatasetJob::read_flags(Args& args, bool resume) {
    if (!args.positional().empty())
        data_path_ = args.positional()[0];
    else if (!resume)
        args.fail("give the dataset file DATA");
    return 1;
}

void DatasetJob::prepare(const JobContext& context, RunInfo& info) {
    if (data_path_.empty()) data_path_ = context.saved->dataset;  // --resume without DATA: the run's dataset
    dataset_ = data::load_dataset(data_path_);
    identity_ = data::identify_dataset(dataset_);
    info.dataset = data_path_;
    info.dataset_sha256 = identity_.sha256;
    // Before the model (and its checkpoint) is looked at: a resumed run learns from the data it started with.
    if (context.resume && identity_.sha256 != context.saved->dataset_sha256)
        throw UsageError("dydiff " + info.command + ": --resume cannot change the dataset: run.dataset_sha256 is " +
                         context.saved->dataset_sha256 + " (" + context.saved->dataset + ") in " + context.run_path +
                         "/" + RunDir::kConfig + ", but " + data_path_ + " has " + identity_.sha256);
    prepare_model(context);
}

// ---- JobCommand -------------------------------------------------------------------------------------------------

CommandDoc JobCommand::page() const {
    CommandDoc out = doc;
    std::vector<FlagDoc> shared;
    shared.push_back({"--out RUN", default_out.empty()
                                       ? "the run directory: absent or empty (with --resume: the run to continue)"
                                       : "the output directory: absent or empty (default " + default_out + ")"});
    if (!presets.empty())
        shared.push_back(
            {"--preset P", "start from a preset's defaults: " + join(presets, ", ") + " (default " + presets[0] + ")"});
    shared.push_back({"--config FILE", "a TOML config file: `dydiff config show " + doc.name +
                                           "` prints one, a run's config.toml works too (its [run] table is ignored)"});
    shared.push_back({"--set KEY=VALUE", "override one key, repeatable; a key of a [table] is table.key"});
    shared.push_back({"--seed S", "the same as --set seed=S"});
    shared.push_back({"--threads N",
                      "worker threads (default: DYDIFF_NUM_THREADS, else every core); results do "
                      "not depend on it"});
    if (resumable) shared.push_back({"--resume", resume_doc});
    shared.push_back({"-h, --help", "this help"});
    out.flags.insert(out.flags.end(), shared.begin(), shared.end());
    return out;
}

void JobCommand::check_preset(const std::string& preset) const {
    if (std::find(presets.begin(), presets.end(), preset) == presets.end())
        throw UsageError("dydiff " + doc.name + ": unknown preset '" + preset +
                         "' (valid: " + (presets.empty() ? std::string("none") : join(presets, ", ")) + ")");
}

std::vector<std::pair<std::string, std::string>> JobCommand::all_shorthands() const {
    auto all = shorthands;
    all.emplace_back("seed", "seed");
    return all;
}

std::unique_ptr<Job> JobCommand::make_with_preset(const std::string& preset) const {
    std::unique_ptr<Job> job = make();
    if (!preset.empty()) {
        check_preset(preset);
        job->apply_preset(preset);
    }
    return job;
}

std::string keys_help(const ConfigFields& fields) {
    const auto infos = fields.describe();
    std::size_t width = 0;
    for (const auto& i : infos) width = std::max(width, i.key.size() + 3 + i.value.size());
    width = std::min<std::size_t>(width, 40);
    std::ostringstream os;
    std::string table = "";
    for (const auto& i : infos) {
        if (i.table != table) {
            table = i.table;
            const auto& tables = fields.tables();
            const auto it = std::find_if(tables.begin(), tables.end(), [&](const auto& t) { return t.name == table; });
            os << "  [" << table << "]" << (it == tables.end() || it->doc.empty() ? "" : "  " + it->doc) << "\n";
        }
        const std::string kv = i.key + " = " + i.value;
        os << "    " << kv << std::string(kv.size() < width ? width - kv.size() : 0, ' ') << "  " << i.doc;
        std::string notes = i.valid;
        if (i.on_resume == OnResume::fixed) notes += std::string(notes.empty() ? "" : "; ") + "fixed on --resume";
        if (i.on_resume == OnResume::may_grow) notes += std::string(notes.empty() ? "" : "; ") + "may grow on --resume";
        if (!notes.empty()) os << " [" << notes << "]";
        os << "\n";
    }
    return os.str();
}

// ---- the config flags -------------------------------------------------------------------------------------------

ConfigFlags ConfigFlags::read(Args& args, const JobCommand& command) {
    ConfigFlags flags;
    if (!command.presets.empty()) flags.preset = args.value("preset");
    flags.config_file = args.value("config");
    flags.sets = args.values("set");
    for (const auto& [flag, key] : command.all_shorthands())
        if (const auto v = args.value(flag)) flags.keys.emplace_back(flag, *v);
    for (const auto& [flag, assignment] : command.switches)
        if (args.flag(flag)) flags.sets.push_back(assignment);
    return flags;
}

void ConfigFlags::apply(const JobCommand& command, Job& job, ConfigFields& fields, bool resume) const {
    as_usage(command.doc.name, [&] {
        if (!resume) {
            if (preset) {
                command.check_preset(*preset);
                job.apply_preset(*preset);  // the fields point into the job's config: they see the preset
                fields.set_origin("preset " + *preset);
            }
            if (config_file) fields.load_file(*config_file, {"run"});
        }
        for (const auto& s : sets) fields.set_assignment(s, "--set");
        const auto shorthands = command.all_shorthands();
        for (const auto& [flag, value] : keys)
            for (const auto& [name, key] : shorthands)
                if (name == flag) fields.set(key, value, "--" + flag);
        fields.validate();
    });
}

// ---- the shared path --------------------------------------------------------------------------------------------

int run_job_command(const JobCommand& command, const Words& words) {
    const std::string& name = command.doc.name;
    std::set<std::string> switches{"resume"};
    for (const auto& [flag, assignment] : command.switches) switches.insert(flag);
    Args args(name, words, switches);
    if (args.help()) {
        const std::unique_ptr<Job> job = command.make();
        ConfigFields fields;
        job->fields(fields);
        std::cout << help_text(command.page()) << "\nkeys (--set KEY=VALUE or a --config file; defaults"
                  << (command.presets.empty() ? "" : " of preset " + command.presets[0])
                  << "; sections such as §6.1 are in docs/algorithm.md):\n"
                  << keys_help(fields);
        return 0;
    }

    // 1. Flags.
    const bool resume = command.resumable && args.flag("resume");
    const auto out_flag = args.value("out");
    const ConfigFlags flags = ConfigFlags::read(args, command);
    const auto& preset = flags.preset;
    apply_threads(args);
    std::unique_ptr<Job> job = command.make();
    ConfigFields fields;
    job->fields(fields);
    args.finish(job->read_flags(args, resume));
    const std::string out = out_flag ? *out_flag : command.default_out;
    if (out.empty()) args.fail("give the run directory with --out RUN");
    if (resume && (preset || flags.config_file))
        args.fail("--resume takes the config saved in the run; drop --preset and --config");
    as_usage(name, [&] { resume ? RunDir::check_existing(out) : RunDir::check_new(out); });

    // From here a --resume's errors also go to the run's log.txt.
    bool logged = false;
    try {
        // 2. The config.
        RunInfo saved;
        std::map<std::string, std::string> saved_values;
        const std::string saved_file = out + "/" + RunDir::kConfig;
        std::vector<std::string> changed;
        if (resume) {
            as_usage(name, [&] {
                const toml::Document doc = toml::parse_file(saved_file);
                fields.apply(doc, {"run"});
                saved_values = fields.snapshot();
                saved = read_run_info(doc);
            });
        }
        flags.apply(command, *job, fields, resume);
        if (resume) as_usage(name, [&] { changed = fields.check_resume(saved_values, saved_file); });

        RunInfo info;
        info.command = name;
        info.argv = words;
        info.argv.insert(info.argv.begin(), name);
        info.version = version();
        info.simd = nn::simd::arch_name();
        info.threads = static_cast<std::int64_t>(nn::num_threads());
        info.preset = resume ? saved.preset : preset ? *preset : command.presets.empty() ? "" : command.presets[0];
        info.started = resume ? saved.started : utc_now();
        info.resumed = resume ? utc_now() : "";

        // 3. The inputs.
        job->prepare({out, resume, resume ? &saved : nullptr}, info);
        if (resume && job->complete()) {
            if (!changed.empty())
                throw UsageError("dydiff " + name + ": " + out + " is complete; --set " + join(changed, ", ") +
                                 " would change nothing");
            std::cout << name << ": " << out << " is complete; nothing to resume\n";
            return 0;
        }

        // 4. The run directory, created whole or reopened; config.toml written atomically either way.
        const std::string text = run_config_text(fields, info);
        RunDir run = resume ? RunDir::open_existing(out) : RunDir::create(out, {{RunDir::kConfig, text}});
        if (resume) run.write_text(RunDir::kConfig, text);
        run.log(name + (resume ? " resumed " + info.resumed : " started " + info.started) + ": dydiff " +
                join(info.argv, " "));
        std::cout << name << ": " << (resume ? "resuming " : "") << out << " with\n" << fields.to_toml() << std::flush;

        // 5. The work.
        try {
            job->run(run);
        } catch (const std::exception& e) {
            run.log(std::string("error: ") + e.what());
            logged = true;
            throw;
        }
    } catch (const std::exception& e) {
        if (resume && !logged) RunDir::append_log(out, std::string("error: ") + e.what());
        throw;
    }
    return 0;
}

}  // namespace dydiff::cli
