// Writing exported policy files (see actor_export.hpp).
#include "dydiff/learners/actor_export.hpp"

#include "autograd/error.hpp"
#include "dydiff/learners/common.hpp"
#include "embed/policy_format.hpp"

#include <cmath>
#include <string>

namespace dydiff::learners {
namespace {

namespace fmt = embed::format;

void put_text(nn::Checkpoint& ckpt, const std::string& key, const std::string& text) {
    ckpt.put_bytes(key, std::vector<std::uint8_t>(text.begin(), text.end()));
}

void put_vector(nn::Checkpoint& ckpt, const std::string& key, const std::vector<float>& v) {
    ckpt.put(key, data::NpyArray::from_vector<float>({v.size()}, v));
}

// Writes net under "<name>/..." and checks it maps `in` -> `out` (0: any).
void put_net(nn::Checkpoint& ckpt, const std::string& name, const ExportNet& net, std::size_t in, std::size_t out) {
    DYDIFF_CHECK(!net.weights.empty() && net.weights.size() == net.biases.size(),
                 "export: network '" << name << "' has " << net.weights.size() << " weights and " << net.biases.size()
                                     << " biases");
    std::size_t width = in;
    for (std::size_t l = 0; l < net.weights.size(); ++l) {
        const auto& w = net.weights[l];
        const auto& b = net.biases[l];
        DYDIFF_CHECK(w.dimension() == 2 && b.dimension() == 1 && b.shape()[0] == w.shape()[0],
                     "export: network '" << name << "' layer " << l << ": weight " << shape_str(w.shape())
                                         << " and bias " << shape_str(b.shape()) << ", expected (O, I) and (O)");
        DYDIFF_CHECK(width == 0 || w.shape()[1] == width, "export: network '" << name << "' layer " << l << " takes "
                                                                              << w.shape()[1] << " inputs, expected "
                                                                              << width);
        width = w.shape()[0];
        const std::string prefix = name + "/" + std::to_string(l) + "/";
        ckpt.put(prefix + fmt::kWeight, autograd::Array(w));
        ckpt.put(prefix + fmt::kBias, autograd::Array(b));
    }
    DYDIFF_CHECK(out == 0 || width == out, "export: network '" << name << "' gives " << width << " outputs, expected " << out);
    put_text(ckpt, name + "/" + fmt::kActivation, nn::activation_name(net.activation));
    put_text(ckpt, name + "/" + fmt::kOutputActivation, nn::activation_name(net.output_activation));
}

void put_common(nn::Checkpoint& ckpt, const ExportSpec& spec, const char* kind) {
    const std::size_t S = spec.obs_mean.size(), A = spec.action_low.size();
    DYDIFF_CHECK(S > 0 && spec.obs_std.size() == S, "export: obs_mean has " << S << " values, obs_std "
                                                                             << spec.obs_std.size());
    DYDIFF_CHECK(A > 0 && spec.action_high.size() == A, "export: action_low has " << A << " values, action_high "
                                                                                   << spec.action_high.size());
    for (std::size_t k = 0; k < A; ++k)
        DYDIFF_CHECK(spec.action_low[k] < spec.action_high[k],
                     "export: action_low[" << k << "] = " << spec.action_low[k] << " is not below action_high[" << k
                                           << "] = " << spec.action_high[k]);
    put_text(ckpt, fmt::kFormatKey, fmt::kMagic);
    ckpt.put_int64(fmt::kVersionKey, fmt::kVersion);
    put_text(ckpt, fmt::kKindKey, kind);
    put_vector(ckpt, fmt::kObsMean, spec.obs_mean);
    put_vector(ckpt, fmt::kObsStd, spec.obs_std);
    ckpt.put(fmt::kObsEps, data::NpyArray::from_data<float>({}, &spec.obs_eps));
    put_vector(ckpt, fmt::kActionLow, spec.action_low);
    put_vector(ckpt, fmt::kActionHigh, spec.action_high);
}

}  // namespace

ExportSpec export_spec(const LearnerSpec& spec, float obs_eps) {
    return ExportSpec{spec.obs_mean, spec.obs_std, obs_eps, spec.action_low, spec.action_high};
}

ExportNet export_net(const nn::Module& mlp, nn::Activation activation, nn::Activation output_activation) {
    ExportNet net;
    net.activation = activation;
    net.output_activation = output_activation;
    const auto params = mlp.named_parameters();
    auto find = [&](const std::string& name) -> const autograd::Tensor* {
        for (const auto& [n, t] : params)
            if (n == name) return &t;
        return nullptr;
    };
    for (std::size_t l = 0;; ++l) {
        const std::string prefix = "layers." + std::to_string(l) + ".";
        const autograd::Tensor* w = find(prefix + "weight");
        if (w == nullptr) break;
        const autograd::Tensor* b = find(prefix + "bias");
        DYDIFF_CHECK(b != nullptr, "export: the module has " << prefix << "weight but no " << prefix << "bias");
        net.weights.push_back(w->value());
        net.biases.push_back(b->value());
    }
    DYDIFF_CHECK(net.weights.size() + net.biases.size() == params.size(),
                 "export: the module has " << params.size() << " parameters, " << 2 * net.weights.size()
                                           << " of them layers.<l>.weight/bias: not an nn::MLP");
    DYDIFF_CHECK(!net.weights.empty(), "export: the module has no layers.0.weight (not an nn::MLP)");
    return net;
}

ExportNet keep_outputs(ExportNet net, std::size_t rows) {
    DYDIFF_CHECK(!net.weights.empty(), "keep_outputs: empty network");
    autograd::Array& w = net.weights.back();
    autograd::Array& b = net.biases.back();
    DYDIFF_CHECK(rows > 0 && rows <= w.shape()[0],
                 "keep_outputs: " << rows << " rows of a last layer with " << w.shape()[0] << " outputs");
    w = autograd::Array(xt::view(w, xt::range(0, rows), xt::all()));
    b = autograd::Array(xt::view(b, xt::range(0, rows)));
    return net;
}

namespace {

// The layers "<prefix><l>.weight" / ".bias" (l = 0, 1, ...) of a save_actor checkpoint as an ExportNet.
ExportNet net_from(const nn::Checkpoint& part, const std::string& prefix, nn::Activation activation,
                   nn::Activation output_activation, const std::string& where) {
    ExportNet net;
    net.activation = activation;
    net.output_activation = output_activation;
    for (std::size_t l = 0; part.contains(prefix + std::to_string(l) + ".weight"); ++l) {
        net.weights.push_back(part.get(prefix + std::to_string(l) + ".weight"));
        net.biases.push_back(part.get(prefix + std::to_string(l) + ".bias"));
    }
    DYDIFF_CHECK(!net.weights.empty(), where << ": no " << prefix << "0.weight (not a save_actor checkpoint?)");
    return net;
}

float scalar_float(const nn::Checkpoint& part, const std::string& key, const std::string& where) {
    const autograd::Array a = part.get(key);
    DYDIFF_CHECK(a.size() == 1, where << ": " << key << " must hold one value, found " << a.size());
    return a.data()[0];
}

}  // namespace

nn::Checkpoint policy_from_actor(const nn::Checkpoint& actor_part) {
    const std::string where = actor_part.source().empty() ? "actor checkpoint" : actor_part.source();
    const LearnerSpec spec = load_spec(actor_part);
    const auto head_bytes = actor_part.get_bytes("actor/head");
    const std::string head(head_bytes.begin(), head_bytes.end());
    nn::Checkpoint out;
    if (head == "tanh" || head == "tanh_gaussian_mean") {
        // save_actor_part's MLP: ReLU between layers, tanh of y (of its mu half for tanh_gaussian_mean).
        ExportNet net = net_from(actor_part, "actor/net.layers.", nn::Activation::relu, nn::Activation::tanh, where);
        if (head == "tanh_gaussian_mean") net = keep_outputs(std::move(net), spec.action_dim);
        put_mlp_policy(out, export_spec(spec, 0.0f), net);
    } else if (head == "ddpm") {
        // Diffusion-QL (DiffQl::save_actor): the noise network's time MLP and trunk (Mish), the VP schedule's
        // settings, the candidates' count and the target twin critic (ReLU). The betas are recomputed from beta_min
        // and beta_max exactly as VpSchedule does (docs/algorithm.md §5.4.5), in double from the stored floats.
        const std::int64_t T = actor_part.get_int64("ddpm/diffusion_steps");
        DYDIFF_CHECK(T >= 1, where << ": ddpm/diffusion_steps = " << T);
        const double beta_min = scalar_float(actor_part, "ddpm/beta_min", where);
        const double beta_max = scalar_float(actor_part, "ddpm/beta_max", where);
        std::vector<double> betas;
        const double Td = static_cast<double>(T);
        for (std::int64_t i = 1; i <= T; ++i)
            betas.push_back(1.0 - std::exp(-beta_min / Td - 0.5 * (beta_max - beta_min) *
                                                                 (2.0 * static_cast<double>(i) - 1.0) / (Td * Td)));
        const ExportNet time_net = net_from(actor_part, "actor/time_mlp.layers.", nn::Activation::mish,
                                            nn::Activation::identity, where);
        const ExportNet noise_net =
            net_from(actor_part, "actor/mid.layers.", nn::Activation::mish, nn::Activation::identity, where);
        const ExportNet q1 =
            net_from(actor_part, "ddpm/critic/q1.layers.", nn::Activation::relu, nn::Activation::identity, where);
        const ExportNet q2 =
            net_from(actor_part, "ddpm/critic/q2.layers.", nn::Activation::relu, nn::Activation::identity, where);
        put_ddpm_policy(out, export_spec(spec, 0.0f), betas, actor_part.get_int64("ddpm/eval_samples"), time_net,
                        noise_net, &q1, &q2);
    } else {
        DYDIFF_FAIL(where << ": actor/head '" << head << "': policy_from_actor converts 'tanh', 'tanh_gaussian_mean' "
                          << "and 'ddpm' actors");
    }
    out.put_bytes("learner/algo", actor_part.get_bytes("learner/algo"));
    return out;
}

void put_mlp_policy(nn::Checkpoint& ckpt, const ExportSpec& spec, const ExportNet& actor) {
    put_common(ckpt, spec, fmt::kKindMlp);
    put_net(ckpt, fmt::kActorNet, actor, spec.obs_mean.size(), spec.action_low.size());
}

void put_ddpm_policy(nn::Checkpoint& ckpt, const ExportSpec& spec, const std::vector<double>& betas,
                     std::int64_t samples, const ExportNet& time_net, const ExportNet& noise_net, const ExportNet* q1,
                     const ExportNet* q2) {
    const std::size_t S = spec.obs_mean.size(), A = spec.action_low.size();
    DYDIFF_CHECK(!betas.empty(), "export: empty beta schedule");
    for (std::size_t t = 0; t < betas.size(); ++t)
        DYDIFF_CHECK(betas[t] > 0.0 && betas[t] < 1.0, "export: beta[" << t << "] = " << betas[t] << " is not in (0, 1)");
    DYDIFF_CHECK(samples >= 1, "export: samples = " << samples << ", expected >= 1");
    DYDIFF_CHECK(samples == 1 || (q1 != nullptr && q2 != nullptr),
                 "export: " << samples << " candidates need both critics to choose among them");
    DYDIFF_CHECK(!time_net.weights.empty() && time_net.weights[0].dimension() == 2 &&
                     time_net.weights[0].shape()[1] >= 4 && time_net.weights[0].shape()[1] % 2 == 0,
                 "export: the time network must take an even sinusoid width >= 4");
    put_common(ckpt, spec, fmt::kKindDdpm);
    ckpt.put(fmt::kDdpmBetas, data::NpyArray::from_vector<double>({betas.size()}, betas));
    ckpt.put_int64(fmt::kDdpmSamples, samples);
    put_net(ckpt, fmt::kDdpmTimeNet, time_net, 0, 0);
    const std::size_t Dt = time_net.weights.back().shape()[0];
    put_net(ckpt, fmt::kDdpmNoiseNet, noise_net, A + Dt + S, A);
    if (samples > 1) {
        put_net(ckpt, fmt::kCriticQ1, *q1, S + A, 1);
        put_net(ckpt, fmt::kCriticQ2, *q2, S + A, 1);
    }
}

}  // namespace dydiff::learners
