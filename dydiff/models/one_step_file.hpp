// What the two one-step model files (TrainedDynamics, TrainedReward; docs/checkpoints.md "Model files") share:
// format/*, data/* and norm/obs/*, written and read back the same way. Each file adds its own arch/* keys and
// params/* (and the ensemble its fit/elite_indices).
// Layering: dydiff/models (on nn/checkpoint, data/data_identity, data/normalizer).
#pragma once

#include "data/data_identity.hpp"
#include "data/normalizer.hpp"
#include "nn/checkpoint.hpp"

#include <cstddef>
#include <cstdint>

namespace dydiff {

/// Writes format/<kind, version>, data/* and norm/obs/* after checking that the model's dims (S, A), the data
/// identity and the normaliser agree; `who` names the caller in that error.
void put_one_step_common(nn::Checkpoint& c, const char* who, const char* kind, std::int64_t version, std::size_t obs_dim,
                         std::size_t action_dim, const data::DataIdentity& data, const data::ZScoreNormalizer& norm);
/// Reads data/* and norm/obs/* (the caller has checked the format) and checks the normaliser's width.
void read_one_step_common(const nn::Checkpoint& c, data::DataIdentity& data, data::ZScoreNormalizer& norm);

}  // namespace dydiff
