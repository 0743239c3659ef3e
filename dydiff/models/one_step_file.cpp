// The shared part of the one-step model files (see one_step_file.hpp).
#include "dydiff/models/one_step_file.hpp"

#include "autograd/error.hpp"

namespace dydiff {

void put_one_step_common(nn::Checkpoint& c, const char* who, const char* kind, std::int64_t version, std::size_t obs_dim,
                         std::size_t action_dim, const data::DataIdentity& data, const data::ZScoreNormalizer& norm) {
    DYDIFF_CHECK(data.obs_dim == obs_dim && data.action_dim == action_dim && norm.dim() == obs_dim,
                 who << ": the model is (" << obs_dim << ", " << action_dim << "), the data identity " << data.obs_dim
                     << "/" << data.action_dim << ", the normaliser " << norm.dim() << " wide");
    c.put_format(kind, version);
    for (auto& [key, array] : data.entries("data")) c.put(key, std::move(array));
    for (auto& [key, array] : norm.entries("norm/obs")) c.put(key, std::move(array));
}

void read_one_step_common(const nn::Checkpoint& c, data::DataIdentity& data, data::ZScoreNormalizer& norm) {
    data = data::DataIdentity::load([&](const std::string& key) -> const data::NpyArray& { return c.array(key); },
                                    "data", c.source());
    norm = data::ZScoreNormalizer::load([&](const std::string& key) { return c.get(key); }, "norm/obs");
    DYDIFF_CHECK(norm.dim() == data.obs_dim,
                 "key 'norm/obs/mean' has " << norm.dim() << " dims, expected data/obs_dim = " << data.obs_dim);
}

}  // namespace dydiff
