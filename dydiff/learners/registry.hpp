// The learners by name: the CLI and the DyDiff loop build a learner from its algorithm name ("bc", "td3bc", "iql",
// ...), the configs and the spec, and list a learner's config keys for files, --set and printing.
// Adding a learner: its config struct and factory in configs.hpp, its file, and one line in registry.cpp's table.
// Layering: dydiff/learners.
#pragma once

#include "dydiff/learners/configs.hpp"
#include "dydiff/learners/learner.hpp"
#include "dydiff/run/config.hpp"

#include <memory>
#include <string>
#include <vector>

namespace dydiff::learners {

/// The algorithm names, in the registry's order.
std::vector<std::string> learner_names();
/// True for a name in learner_names().
bool is_learner(const std::string& algo);
/// The config keys of `algo`'s struct inside `configs` (fields() of that struct). Unknown algo: an Error listing
/// the known ones.
void learner_fields(const std::string& algo, LearnerConfigs& configs, ConfigFields& fields);
/// Rows per update of `algo` (its config's `batch`), which the caller samples.
std::size_t learner_batch(const std::string& algo, const LearnerConfigs& configs);
/// Validates `algo`'s config and builds the learner for `spec`. Unknown algo: an Error listing the known ones.
std::unique_ptr<Learner> make_learner(const std::string& algo, const LearnerConfigs& configs,
                                      const LearnerSpec& spec);

}  // namespace dydiff::learners
