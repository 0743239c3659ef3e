// DiffusionModel (dydiff/diffusion/diffusion_model.hpp): create, save, read, load.
#include "dydiff/diffusion/diffusion_model.hpp"

#include "autograd/error.hpp"

#include <cmath>

namespace dydiff {

DiffusionModel DiffusionModel::create(const data::DataIdentity& data, const UNetConfig& unet, std::size_t horizon,
                                      double sigma_data, data::MinMaxNormalizer normalizer, data::Rng& rng) {
    unet.validate();
    unet.check_horizon(horizon);
    DYDIFF_CHECK(std::isfinite(sigma_data) && sigma_data > 0.0, "DiffusionModel: sigma_data is " << sigma_data
                                                                    << ", expected a finite value > 0");
    DYDIFF_CHECK(data.obs_dim >= 1 && data.action_dim >= 1 && normalizer.dim() == data.obs_dim + data.action_dim,
                 "DiffusionModel: the normaliser has " << normalizer.dim() << " dims, the data obs/action dims "
                                                       << data.obs_dim << "/" << data.action_dim);
    DiffusionModel m;
    m.horizon = horizon;
    m.unet = unet;
    m.sigma_data = sigma_data;
    m.normalizer = std::move(normalizer);
    m.data = data;
    m.net = std::make_unique<TemporalUNet>(unet, data.obs_dim + data.action_dim, rng);
    m.ema = std::make_unique<nn::Ema>(m.net->named_parameters());
    return m;
}

void DiffusionModel::save(nn::Checkpoint& c) const {
    DYDIFF_CHECK(net, "DiffusionModel::save: the model has no network (create or load it first)");
    DYDIFF_CHECK(!net->inference_only() && ema,
                 "DiffusionModel::save: the model was made inference-only for sampling (its EMA and graph-layout "
                 "weights are gone); save the model it was loaded from instead");
    c.put_format(kKind, kVersion);
    for (auto& [key, array] : data.entries("data")) c.put(key, std::move(array));
    c.put_int64("arch/horizon", static_cast<std::int64_t>(horizon));
    c.put_int64("arch/unet/dim", static_cast<std::int64_t>(unet.dim));
    c.put_int64s("arch/unet/dim_mults", std::vector<std::int64_t>(unet.dim_mults.begin(), unet.dim_mults.end()));
    c.put_int64("arch/unet/kernel_size", static_cast<std::int64_t>(unet.kernel_size));
    c.put_int64("arch/unet/groups", static_cast<std::int64_t>(unet.groups));
    c.put_int64("arch/unet/time_dim", static_cast<std::int64_t>(unet.time_dim));
    c.put_float64("arch/sigma_data", sigma_data);
    for (auto& [key, array] : normalizer.entries("norm/state_action")) c.put(key, std::move(array));
    c.put_module("params", *net);
    for (const auto& [name, t] : ema->shadow()) c.put("ema/" + name, t.value());
}

void DiffusionModel::save(const std::string& path) const {
    nn::Checkpoint c;
    save(c);
    c.save(path);
}

DiffusionModel DiffusionModel::read(const nn::Checkpoint& c) {
    c.check_format(kKind, kVersion);
    return c.naming_errors([&] {
        DiffusionModel m;
        m.data = data::DataIdentity::load([&](const std::string& key) -> const data::NpyArray& { return c.array(key); },
                                          "data", c.source());
        // Widths are bounded by the stored weights' dimensions, before anything is allocated.
        const std::int64_t width = c.largest_dim("params");
        DYDIFF_USER_CHECK(static_cast<std::int64_t>(m.data.obs_dim + m.data.action_dim) <= width,
                          "data/obs_dim + data/action_dim = " << m.data.obs_dim + m.data.action_dim
                                                              << " exceeds every stored weight's dimensions");
        m.horizon = c.get_size("arch/horizon");
        m.unet.dim = c.get_size("arch/unet/dim", 1, width);
        m.unet.dim_mults.clear();
        for (const std::int64_t v : c.get_int64s("arch/unet/dim_mults")) {
            DYDIFF_CHECK(v >= 1 && v <= width / static_cast<std::int64_t>(m.unet.dim),
                         "key 'arch/unet/dim_mults' holds " << v << ", expected multipliers >= 1 that keep dim * "
                                                            << "multiplier within the stored weights (" << width << ")");
            m.unet.dim_mults.push_back(static_cast<std::size_t>(v));
        }
        DYDIFF_CHECK(static_cast<std::int64_t>(m.unet.dim_mults.size()) <= c.array_count("params"),
                     "key 'arch/unet/dim_mults' has " << m.unet.dim_mults.size() << " levels, more than the file "
                                                      << "stores weights for");
        m.unet.kernel_size = c.get_size("arch/unet/kernel_size", 1, width);
        m.unet.groups = c.get_size("arch/unet/groups", 1, width);
        m.unet.time_dim = c.get_size("arch/unet/time_dim", 1, width);
        m.sigma_data = c.get_float64("arch/sigma_data");
        data::MinMaxNormalizer norm =
            data::MinMaxNormalizer::load([&](const std::string& key) { return c.get(key); }, "norm/state_action");
        // Weights come from the file; the initialisation they replace needs some Rng.
        data::Rng unused(0);
        DiffusionModel out = create(m.data, m.unet, m.horizon, m.sigma_data, std::move(norm), unused);
        c.load_module("params", *out.net);
        out.ema->load(c.get_tensors("ema", out.net->named_parameters()));
        out.file = c.source();
        return out;
    });
}

DiffusionModel DiffusionModel::load(const std::string& run_or_file) {
    return read(nn::Checkpoint::load(nn::model_file(run_or_file, kFile, "train-diffusion")));
}

void DiffusionModel::make_inference_only() {
    DYDIFF_CHECK(net, "DiffusionModel::make_inference_only: the model has no network (create or load it first)");
    if (net->inference_only()) return;
    ema->copy_to(net->named_parameters());
    ema.reset();
    net->make_inference_only();
}

EdmConfig DiffusionModel::edm_config(EdmConfig sampler) const {
    sampler.sigma_data = sigma_data;
    return sampler;
}

}  // namespace dydiff
