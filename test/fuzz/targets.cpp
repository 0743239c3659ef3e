// The fuzz targets of test/fuzz/targets.hpp.
#include "fuzz/targets.hpp"

#include "autograd/error.hpp"
#include "data/dataset.hpp"
#include "data/npy.hpp"
#include "data/npz.hpp"
#include "dydiff/agent/agent.hpp"
#include "dydiff/cli/args.hpp"
#include "dydiff/cli/commands.hpp"
#include "dydiff/cli/run_command.hpp"
#include "dydiff/diffusion/diffusion_model.hpp"
#include "dydiff/diffusion/trainer.hpp"
#include "dydiff/learners/common.hpp"
#include "dydiff/learners/configs.hpp"
#include "dydiff/learners/registry.hpp"
#include "dydiff/models/dynamics_ensemble.hpp"
#include "dydiff/models/reward_model.hpp"
#include "dydiff/run/config.hpp"
#include "dydiff/run/toml.hpp"
#include "nn/checkpoint.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace dydiff::fuzz {

namespace {

// Runs f; the refusals a reader is allowed (its own error types) are swallowed, anything else escapes.
template <class F>
void refusals_allowed(F&& f) {
    try {
        f();
    } catch (const Error&) {
    } catch (const cli::UsageError&) {
    }
}

std::vector<std::uint8_t> bytes_of(const std::uint8_t* data, std::size_t size) { return {data, data + size}; }

}  // namespace

const std::vector<NamedTarget>& targets() {
    static const std::vector<NamedTarget> all{{"npy", &fuzz_npy},
                                              {"npz", &fuzz_npz},
                                              {"dataset_npz", &fuzz_dataset_npz},
                                              {"dataset_hdf5", &fuzz_dataset_hdf5},
                                              {"config", &fuzz_config},
                                              {"cli_flags", &fuzz_cli_flags},
                                              {"checkpoint", &fuzz_checkpoint}};
    return all;
}

int fuzz_npy(const std::uint8_t* data, std::size_t size) {
    refusals_allowed([&] { (void)data::decode_npy(data, size, "fuzz.npy").to_float(); });
    return 0;
}

int fuzz_npz(const std::uint8_t* data, std::size_t size) {
    refusals_allowed([&] { (void)data::decode_npz(bytes_of(data, size), "fuzz.npz"); });
    return 0;
}

int fuzz_dataset_npz(const std::uint8_t* data, std::size_t size) {
    refusals_allowed([&] { (void)data::summarize(data::dataset_from_npz(data::decode_npz(bytes_of(data, size), "fuzz.npz"))); });
    return 0;
}

int fuzz_dataset_hdf5(const std::uint8_t* data, std::size_t size) {
    if (!data::hdf5_supported()) return 0;
    // libhdf5 reads files: one per process, rewritten for each input.
    static const std::string path =
        (std::filesystem::temp_directory_path() / ("dydiff-fuzz-" + std::to_string(::getpid()) + ".hdf5")).string();
    {
        std::ofstream out(path, std::ios::binary | std::ios::trunc);
        out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    }
    refusals_allowed([&] { (void)data::summarize(data::load_dataset_hdf5(path)); });
    return 0;
}

int fuzz_config(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    refusals_allowed([&] {
        const toml::Document doc = toml::parse(text, "fuzz.toml");
        refusals_allowed([&] {
            agent::AgentConfig config;
            ConfigFields fields;
            config.fields(fields);
            fields.apply(doc, {"run"});
            fields.validate();
            (void)fields.to_toml();
        });
        refusals_allowed([&] {
            DiffusionTrainConfig config;
            ConfigFields fields;
            config.fields(fields);
            fields.apply(doc, {"run"});
            fields.validate();
            (void)fields.to_toml();
        });
    });
    return 0;
}

int fuzz_cli_flags(const std::uint8_t* data, std::size_t size) {
    std::vector<std::string> words(1);
    for (std::size_t i = 0; i < size; ++i) {
        const char c = static_cast<char>(data[i]);
        if (c == '\0' || c == '\n') words.emplace_back();
        else words.back() += c;
    }
    // The flag and config stages of run_job_command for train-agent, without --threads (global), --config (a file
    // path) and anything that touches the disk.
    refusals_allowed([&] {
        const cli::JobCommand& command = cli::train_agent_command();
        std::set<std::string> switches{"resume"};
        for (const auto& [flag, assignment] : command.switches) switches.insert(flag);
        cli::Args args(command.doc.name, words, switches);
        if (args.help()) return;
        const bool resume = args.flag("resume");
        (void)args.value("out");
        cli::ConfigFlags flags = cli::ConfigFlags::read(args, command);
        flags.config_file.reset();
        std::unique_ptr<cli::Job> job = command.make();
        ConfigFields fields;
        job->fields(fields);
        args.finish(job->read_flags(args, resume));
        flags.apply(command, *job, fields, resume);
        (void)fields.to_toml();
    });
    return 0;
}

int fuzz_checkpoint(const std::uint8_t* data, std::size_t size) {
    refusals_allowed([&] {
        const nn::Checkpoint c = nn::Checkpoint::from_npz(data::decode_npz(bytes_of(data, size), "fuzz.npz"));
        refusals_allowed([&] { (void)DiffusionModel::read(c); });
        refusals_allowed([&] { (void)TrainedDynamics::read(c); });
        refusals_allowed([&] { (void)TrainedReward::read(c); });
        refusals_allowed([&] {
            const learners::LearnerConfigs configs;
            learners::make_learner(learners::load_algo(c), configs, learners::load_spec(c))->load(c);
        });
    });
    return 0;
}

}  // namespace dydiff::fuzz
