// `dydiff dataset <subcommand>`: look at and convert offline RL datasets (docs/data_format.md).
//   info FILE [--json]      sizes, stored dtypes, episodes, flags, returns, obs/action ranges (data::summarize)
//   convert IN OUT.npz      a D4RL or Minari HDF5 file (or a Minari dataset directory) to our NPZ (float32, bool
//                           flags), when built with HDF5
// Subcommands are rows of kSubcommands: a new one is one function, one row and one page.
#include "dydiff/cli/args.hpp"
#include "dydiff/cli/commands.hpp"

#include "data/data_identity.hpp"
#include "data/dataset.hpp"

#include <cstdio>
#include <iomanip>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace dydiff::cli {
namespace {

std::string num(double x) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.6g", x);
    return buf;
}

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (const char c : s) {
        if (c == '"' || c == '\\') {
            out += '\\';
            out += c;
        } else if (static_cast<unsigned char>(c) < 0x20) {
            char buf[8];
            std::snprintf(buf, sizeof buf, "\\u%04x", c);
            out += buf;
        } else {
            out += c;
        }
    }
    return out + "\"";
}

std::string json_array(const std::vector<float>& v) {
    std::string out = "[";
    for (std::size_t i = 0; i < v.size(); ++i) out += (i ? "," : "") + num(v[i]);
    return out + "]";
}

// "[lo, hi]" per dimension, one line.
std::string ranges(const std::vector<float>& lo, const std::vector<float>& hi) {
    std::string out;
    for (std::size_t j = 0; j < lo.size(); ++j) out += (j ? " " : "") + ("[" + num(lo[j]) + ", " + num(hi[j]) + "]");
    return out;
}

CommandDoc info_doc() {
    return {
        "dataset info",
        "FILE [--json]",
        "Describes a dataset: sizes, dtypes as stored, episodes (ended by terminals | timeouts), flags, episode\n"
        "returns, observation and action ranges.",
        {{"FILE", "a .npz (np.savez, D4RL keys), .hdf5 / .h5 (D4RL or Minari layout) or a Minari dataset directory"},
         {"--json", "one JSON object instead of text"},
         {"-h, --help", "this help"}},
        {}};
}

CommandDoc convert_doc() {
    return {"dataset convert",
            "IN OUT.npz",
            "Converts a D4RL or Minari HDF5 file (or a Minari dataset directory) to our NPZ (float32 arrays, bool\n"
            "flags), when this build has HDF5 support.",
            {{"IN", "an .hdf5 / .h5 file or a Minari dataset directory"},
             {"OUT.npz", "the output file (written atomically)"},
             {"-h, --help", "this help"}},
            {}};
}

int dataset_info(const Words& words) {
    Args args("dataset info", words, {"json"});
    if (args.help()) {
        std::cout << help_text(info_doc());
        return 0;
    }
    const bool json = args.flag("json");
    args.finish(1);
    if (args.positional().empty()) args.fail("missing FILE");
    const std::string& path = args.positional()[0];
    const data::Dataset d = data::load_dataset(path);
    const data::DatasetSummary s = data::summarize(d);

    if (json) {
        std::ostringstream os;
        os << "{\"file\":" << json_string(path);
        if (!d.dataset_id.empty()) os << ",\"dataset_id\":" << json_string(d.dataset_id);
        os << ",\"env\":" << json_string(d.env.empty() ? data::kUnknownEnv : d.env);
        os << ",\"N\":" << s.size << ",\"obs_dim\":" << s.obs_dim
           << ",\"action_dim\":" << s.action_dim << ",\"dtypes\":{";
        std::size_t k = 0;
        for (const auto& [key, dtype] : d.stored_dtypes) os << (k++ ? "," : "") << json_string(key) << ":" << json_string(dtype);
        os << "},\"next_observations\":" << (d.next_observations ? "true" : "false") << ",\"infos\":[";
        k = 0;
        for (const auto& [key, value] : d.infos) os << (k++ ? "," : "") << json_string(key);
        os << "],\"ignored\":[";
        k = 0;
        for (const auto& key : d.ignored_keys) os << (k++ ? "," : "") << json_string(key);
        os << "],\"episodes\":{\"count\":" << s.episodes << ",\"tail_rows\":" << s.tail_rows
           << ",\"length_min\":" << s.length_min << ",\"length_mean\":" << num(s.length_mean)
           << ",\"length_max\":" << s.length_max << "},\"terminals\":" << s.terminals << ",\"timeouts\":" << s.timeouts
           << ",\"returns\":{\"mean\":" << num(s.return_mean) << ",\"std\":" << num(s.return_std)
           << ",\"min\":" << num(s.return_min) << ",\"max\":" << num(s.return_max) << "}"
           << ",\"obs_min\":" << json_array(s.obs_min) << ",\"obs_max\":" << json_array(s.obs_max)
           << ",\"action_min\":" << json_array(s.action_min) << ",\"action_max\":" << json_array(s.action_max) << "}";
        std::cout << os.str() << "\n";
        return 0;
    }
    std::cout << path << (d.dataset_id.empty() ? "" : " (Minari dataset " + d.dataset_id + ")") << "\n"
              << "  env " << (d.env.empty() ? data::kUnknownEnv : d.env) << " (metadata/env)\n";
    for (const auto& [key, text] : d.provenance) std::cout << "  provenance " << key << ": " << text << "\n";
    std::cout << "  N " << s.size << ", obs dim " << s.obs_dim << ", action dim " << s.action_dim
              << (d.next_observations ? ", with next_observations" : ", no next_observations") << "\n"
              << "  stored dtypes:";
    for (const auto& [key, dtype] : d.stored_dtypes) std::cout << " " << key << "=" << dtype;
    std::cout << "\n";
    if (!d.infos.empty()) {
        std::cout << "  infos:";
        for (const auto& [key, value] : d.infos) std::cout << " " << key;
        std::cout << "\n";
    }
    if (!d.ignored_keys.empty()) {
        std::cout << "  ignored:";
        for (const auto& key : d.ignored_keys) std::cout << " " << key;
        std::cout << "\n";
    }
    std::cout << "  episodes " << s.episodes << " (ended by terminals|timeouts), length min/mean/max " << s.length_min
              << " / " << num(s.length_mean) << " / " << s.length_max << ", unflagged tail " << s.tail_rows
              << " rows\n"
              << "  terminals " << s.terminals << ", timeouts " << s.timeouts << "\n"
              << "  episode return mean " << num(s.return_mean) << ", std " << num(s.return_std) << ", min "
              << num(s.return_min) << ", max " << num(s.return_max) << "\n"
              << "  obs range    " << ranges(s.obs_min, s.obs_max) << "\n"
              << "  action range " << ranges(s.action_min, s.action_max) << "\n";
    return 0;
}

int dataset_convert(const Words& words) {
    Args args("dataset convert", words);
    if (args.help()) {
        std::cout << help_text(convert_doc());
        return 0;
    }
    args.finish(2);
    if (args.positional().size() != 2) args.fail("need IN OUT.npz");
    const std::string& in = args.positional()[0];
    const std::string& out = args.positional()[1];
    if (out.size() < 4 || out.compare(out.size() - 4, 4, ".npz") != 0)
        args.fail("the output must be a .npz file, got '" + out + "'");
    // load_dataset_hdf5 explains how to convert with h5py when this build has no HDF5 support.
    const data::Dataset d = data::load_dataset(in);
    data::save_dataset_npz(d, out);
    std::cout << "wrote " << out << ": N " << d.size() << ", obs dim " << d.obs_dim() << ", action dim "
              << d.action_dim() << ", " << d.infos.size() << " infos" << (d.next_observations ? ", next_observations" : "")
              << " (float32, bool flags)\n";
    return 0;
}

struct Subcommand {
    const char* name;
    int (*run)(const Words& args);
};

const Subcommand kSubcommands[] = {
    {"info", &dataset_info},
    {"convert", &dataset_convert},
    {"generate", &run_dataset_generate},
};

void print_usage(std::ostream& os) {
    os << "usage: dydiff dataset <subcommand> ...   (dydiff dataset <subcommand> --help)\n";
    for (const Page& p : dataset_pages()) os << "  dydiff " << p.doc.name << " " << p.doc.synopsis << "\n";
    os << "HDF5 support in this build: " << (data::hdf5_supported() ? "yes" : "no") << "\n";
}

}  // namespace

std::vector<Page> dataset_pages() { return {{info_doc()}, {convert_doc()}, {dataset_generate_doc()}}; }

int run_dataset(const Words& args) {
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
        print_usage(args.empty() ? std::cerr : std::cout);
        return args.empty() ? 2 : 0;
    }
    for (const Subcommand& c : kSubcommands)
        if (args[0] == c.name) return c.run({args.begin() + 1, args.end()});
    throw UsageError("dydiff dataset: unknown subcommand '" + args[0] + "' (valid: info, convert, generate)");
}

}  // namespace dydiff::cli
