// `dydiff config`: the configuration of the config-driven commands, from their own fields() lists.
//   show COMMAND [--preset P]   a complete config file (every key with its default and doc) that --config accepts
//   docs                        docs/cli.md: every command's page, its keys and output files (not listed in help;
//                               test/cli checks that docs/cli.md equals its output)
#include "dydiff/cli/run_command.hpp"

#include <iostream>
#include <sstream>

namespace dydiff::cli {

namespace {

const char* kConfigIntro =
    "Config files are TOML, in a subset dydiff parses itself: `[table]` and `[a.b]` headers, `key = value` with\n"
    "bare keys, basic strings (\"...\", with \\\\ \\\" \\n \\t \\uXXXX escapes) and literal strings ('...'),\n"
    "decimal integers, floats (with a fraction and/or exponent, `inf`, `nan`), `true`/`false`, arrays (they may\n"
    "span lines), and `#` comments. Not supported: quoted keys, inline tables, arrays of tables, multi-line\n"
    "strings, dates. Python's `tomllib` reads every file dydiff writes.";

CommandDoc config_show_doc() {
    return {
        "config show",
        "COMMAND [--preset P]",
        "Prints a complete config file of COMMAND: every key with its default (of the preset) and its doc. Save it,\n"
        "edit it, and pass it with --config; a run saves the same format as RUN/config.toml.",
        {{"COMMAND", "train-diffusion, train-dynamics, train-reward or rollout-error"},
         {"--preset P", "the defaults of a preset (train-diffusion: tiny, small, paper)"},
         {"-h, --help", "this help"}},
        {}};
}

CommandDoc config_docs_doc() {
    return {"config docs",
            "",
            "Prints docs/cli.md (this page): every command, flag, config key and output file.",
            {{"-h, --help", "this help"}},
            {}};
}

const JobCommand& job_of(const std::string& name) {
    for (const auto& c : commands())
        for (const Page& p : c.pages())
            if (p.job && p.doc.name == name) return *p.job;
    std::string valid;
    for (const auto& c : commands())
        for (const Page& p : c.pages())
            if (p.job) valid += (valid.empty() ? "" : ", ") + p.doc.name;
    throw UsageError("dydiff config show: '" + name + "' is not a config-driven command (valid: " + valid + ")");
}

int config_show(const Words& words) {
    Args args("config show", words);
    if (args.help()) {
        std::cout << help_text(config_show_doc());
        return 0;
    }
    if (args.positional().empty()) args.fail("give the command, e.g. `dydiff config show train-diffusion`");
    const JobCommand& command = job_of(args.positional()[0]);
    ConfigFlags flags;
    flags.preset = args.value("preset");
    flags.config_file = args.value("config");
    flags.sets = args.values("set");
    args.finish(1);
    const std::unique_ptr<Job> job = command.make();
    ConfigFields fields;
    job->fields(fields);
    flags.apply(command, *job, fields, false);
    std::cout << "# dydiff " << command.doc.name << " config; use it with: dydiff " << command.doc.name
              << " --config FILE\n"
              << fields.to_toml();
    return 0;
}

// ---- docs/cli.md ------------------------------------------------------------------------------------------------

std::string cell(const std::string& text) {
    std::string out;
    for (char c : text) {
        if (c == '|')
            out += "\\|";
        else if (c == '\n')
            out += ' ';
        else
            out += c;
    }
    return out;
}

std::string paragraph(const std::string& text) {
    std::string out;
    for (char c : text) out += c == '\n' ? ' ' : c;
    return out;
}

std::string anchor(const std::string& name) {
    std::string out;
    for (char c : name) out += c == ' ' ? '-' : c;
    return out;
}

void markdown_keys(std::ostream& os, const JobCommand& command) {
    const std::unique_ptr<Job> job = command.make();
    ConfigFields fields;
    job->fields(fields);
    os << "**Keys** (`--set KEY=VALUE`, or a `--config` file; `dydiff config show " << command.doc.name
       << "` prints them as a file), with their defaults"
       << (command.presets.empty() ? "" : " (of preset `" + command.presets[0] + "`)") << "."
       << (command.resumable ? " On `--resume`, a `fixed` key may not change and a `grows` key may only grow." : "")
       << "\n\n"
       << "| key | default | valid |" << (command.resumable ? " --resume |" : "") << " meaning |\n"
       << "|---|---|---|" << (command.resumable ? "---|" : "") << "---|\n";
    for (const auto& i : fields.describe()) {
        os << "| `" << i.key << "` | `" << cell(i.value) << "` | " << cell(i.valid) << " | ";
        if (command.resumable)
            os << (i.on_resume == OnResume::fixed ? "fixed" : i.on_resume == OnResume::may_grow ? "grows" : "")
               << " | ";
        os << cell(i.doc) << " |\n";
    }
    for (const auto& t : fields.tables()) os << "\n`[" << t.name << "]`: " << t.doc << ".";
    if (!fields.tables().empty()) os << "\n";
    // What each other preset changes.
    const auto defaults = fields.snapshot();
    for (std::size_t p = 1; p < command.presets.size(); ++p) {
        const std::unique_ptr<Job> other = command.make_with_preset(command.presets[p]);
        ConfigFields other_fields;
        other->fields(other_fields);
        os << "\n`--preset " << command.presets[p] << "` sets";
        std::size_t n = 0;
        for (const auto& [key, value] : other_fields.snapshot())
            if (defaults.at(key) != value) os << (n++ ? ", " : " ") << "`" << key << " = " << value << "`";
        os << ".\n";
    }
    os << "\n";
}

void markdown_page(std::ostream& os, const Page& page) {
    const CommandDoc& d = page.doc;
    os << "## dydiff " << d.name << "\n\n```\ndydiff " << d.name << (d.synopsis.empty() ? "" : " " + d.synopsis)
       << "\n```\n\n"
       << paragraph(d.summary) << "\n\n";
    if (!d.flags.empty()) {
        os << "| argument | meaning |\n|---|---|\n";
        for (const FlagDoc& f : d.flags) os << "| `" << cell(f.flag) << "` | " << cell(f.doc) << " |\n";
        os << "\n";
    }
    if (page.job) markdown_keys(os, *page.job);
    if (!d.outputs.empty()) {
        os << "**Writes**\n\n| file | contents |\n|---|---|\n";
        for (const FileDoc& f : d.outputs) os << "| `" << cell(f.name) << "` | " << cell(f.doc) << " |\n";
        os << "\n";
    }
}

int config_docs(const Words& words) {
    Args args("config docs", words);
    if (args.help()) {
        std::cout << help_text(config_docs_doc());
        return 0;
    }
    args.finish(0);
    std::ostringstream os;
    os << "# The dydiff command line\n\n"
          "<!-- Generated by `dydiff config docs` from the commands' own help pages and config fields; do not edit.\n"
          "     Regenerate: ./build/dydiff/cli/dydiff config docs > docs/cli.md (the test cli/docs_cli_md_is_current\n"
          "     of test/cli/test_cli.cpp fails when this file is stale). -->\n\n"
          "Every command prints its section of this page with `dydiff <command> --help` (or `-h`). Exit codes: 0\n"
          "success, 1 runtime error (a file that cannot be read, a malformed dataset, a diverged training), 2 usage\n"
          "error (a flag, a config key or value, a refused `--resume`); every error is one message on stderr.\n"
          "Section citations such as §6.1 refer to docs/algorithm.md. The thread count comes from `--threads N`,\n"
          "else `DYDIFF_NUM_THREADS`, else the number of cores; results do not depend on it.\n\n";
    for (const auto& c : commands())
        for (const Page& p : c.pages()) os << "- [dydiff " << p.doc.name << "](#dydiff-" << anchor(p.doc.name) << ")\n";
    os << "\n## Config files and runs\n\n"
       << kConfigIntro
       << "\n\nA config-driven command (one whose page lists keys) resolves its keys in this order: the defaults of "
          "its\npreset (`--preset`, or the default one), a `--config` file, each `--set KEY=VALUE`, then `--seed` and "
          "the\nother shorthand flags. A key of a table is `table.key` on the command line. Every value is checked "
          "against\nits range before anything is created; an error names the key, the value, where it came from "
          "and the\nvalid range. Then the inputs are loaded (the dataset, models, a checkpoint), and only then is "
          "the run\ndirectory created, whole (a failed start leaves nothing behind).\n\n"
          "A run directory holds `config.toml`: every key, then a `[run]` table of provenance (command line, dydiff\n"
          "version, SIMD instruction set, threads, preset, start and resume times in UTC, dataset path and SHA-256).\n"
          "`--config RUN/config.toml` reuses a run's keys (the `[run]` table is ignored). `--resume` reads them back,\n"
          "applies `--set`, refuses a change of a `fixed` key (architecture, horizon, seed) or of the dataset (its\n"
          "SHA-256), accepts a larger `steps`, rewrites `config.toml` atomically, and appends to `metrics.csv` and\n"
          "`log.txt` (an error of a resumed run is also appended to its `log.txt`).\n\n";
    for (const auto& c : commands())
        for (const Page& p : c.pages()) markdown_page(os, p);
    std::string text = os.str();
    while (text.size() > 1 && text[text.size() - 1] == '\n' && text[text.size() - 2] == '\n') text.pop_back();
    std::cout << text;
    return 0;
}

}  // namespace

std::vector<Page> config_pages() { return {{config_show_doc(), nullptr}, {config_docs_doc(), nullptr}}; }

int run_config(const Words& words) {
    if (words.empty() || words[0] == "--help" || words[0] == "-h" || words[0] == "help") {
        (words.empty() ? std::cerr : std::cout) << help_text(config_show_doc()) << "\n" << help_text(config_docs_doc());
        return words.empty() ? 2 : 0;
    }
    if (words[0] == "show") return config_show({words.begin() + 1, words.end()});
    if (words[0] == "docs") return config_docs({words.begin() + 1, words.end()});
    throw UsageError("dydiff config: unknown subcommand '" + words[0] + "' (valid: show, docs)");
}

}  // namespace dydiff::cli
