// The learners' shared pieces (see common.hpp).
#include "dydiff/learners/common.hpp"

#include "autograd/error.hpp"
#include "autograd/ops.hpp"
#include "data/normalizer.hpp"
#include "nn/activation_ops.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace dydiff::learners {

namespace {

constexpr const char* kRoot = "learner/";

std::vector<float> to_vector(const Array& a) { return std::vector<float>(a.begin(), a.end()); }

Array from_vector(const std::vector<float>& v) {
    Array a = xt::empty<float>({v.size()});
    std::copy(v.begin(), v.end(), a.begin());
    return a;
}

std::vector<std::uint8_t> text_bytes(const std::string& s) { return std::vector<std::uint8_t>(s.begin(), s.end()); }

std::string bytes_text(const std::vector<std::uint8_t>& b) { return std::string(b.begin(), b.end()); }

const std::string& where(const nn::Checkpoint& ckpt) {
    static const std::string kMemory = "checkpoint";
    return ckpt.source().empty() ? kMemory : ckpt.source();
}

void save_spec(nn::Checkpoint& ckpt, const LearnerSpec& spec) {
    const std::string p = std::string(kRoot) + "spec/";
    ckpt.put_int64(p + "obs_dim", static_cast<std::int64_t>(spec.obs_dim));
    ckpt.put_int64(p + "action_dim", static_cast<std::int64_t>(spec.action_dim));
    ckpt.put(p + "action_low", from_vector(spec.action_low));
    ckpt.put(p + "action_high", from_vector(spec.action_high));
    ckpt.put(p + "obs_mean", from_vector(spec.obs_mean));
    ckpt.put(p + "obs_std", from_vector(spec.obs_std));
    ckpt.put_int64(p + "seed", static_cast<std::int64_t>(spec.seed));
}

// Bitwise equality of two float vectors (the normaliser must be the very same for a bitwise resume).
bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
    return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0);
}

}  // namespace

// ---- the spec ---------------------------------------------------------------------------------------------------

void check_spec(const LearnerSpec& spec, const std::string& who) {
    const std::size_t S = spec.obs_dim, A = spec.action_dim;
    DYDIFF_CHECK(S > 0 && A > 0, who << ": LearnerSpec obs_dim " << S << ", action_dim " << A << " (both must be > 0)");
    DYDIFF_CHECK(spec.obs_mean.size() == S && spec.obs_std.size() == S,
                 who << ": LearnerSpec obs_mean has " << spec.obs_mean.size() << " and obs_std "
                     << spec.obs_std.size() << " entries, expected obs_dim = " << S);
    DYDIFF_CHECK(spec.action_low.size() == A && spec.action_high.size() == A,
                 who << ": LearnerSpec action_low has " << spec.action_low.size() << " and action_high "
                     << spec.action_high.size() << " entries, expected action_dim = " << A);
    for (std::size_t k = 0; k < S; ++k)
        DYDIFF_CHECK(std::isfinite(spec.obs_mean[k]) && std::isfinite(spec.obs_std[k]) && spec.obs_std[k] > 0.0f,
                     who << ": LearnerSpec obs_mean[" << k << "] = " << spec.obs_mean[k] << ", obs_std[" << k
                         << "] = " << spec.obs_std[k] << " (finite, std > 0 expected)");
    for (std::size_t k = 0; k < A; ++k)
        DYDIFF_CHECK(std::isfinite(spec.action_low[k]) && std::isfinite(spec.action_high[k]) &&
                         spec.action_low[k] < spec.action_high[k],
                     who << ": LearnerSpec action box [" << spec.action_low[k] << ", " << spec.action_high[k]
                         << "] in dim " << k << " (finite, low < high expected)");
}

LearnerSpec make_spec(const Array2& observations, const std::vector<float>& action_low,
                      const std::vector<float>& action_high, std::uint64_t seed) {
    DYDIFF_CHECK(observations.shape()[0] > 0, "make_spec: no observations");
    const data::ZScoreNormalizer z = data::ZScoreNormalizer::fit(observations);
    LearnerSpec spec;
    spec.obs_dim = observations.shape()[1];
    spec.action_dim = action_low.size();
    spec.action_low = action_low;
    spec.action_high = action_high;
    for (std::size_t k = 0; k < spec.obs_dim; ++k) {
        spec.obs_mean.push_back(z.mean()(k));
        spec.obs_std.push_back(z.std()(k) + z.eps());
    }
    spec.seed = seed;
    check_spec(spec, "make_spec");
    return spec;
}

const LearnerSpec& checked(const LearnerSpec& spec, const std::string& who) {
    check_spec(spec, who);
    return spec;
}

Array2 normalize_obs(const LearnerSpec& spec, const Array2& obs) {
    const std::size_t S = spec.obs_dim;
    DYDIFF_CHECK(obs.shape()[1] == S, "normalize_obs: observations " << shape_str(obs.shape()) << " are not (B, "
                                                                     << S << ")");
    const std::size_t B = obs.shape()[0];
    Array2 out = xt::empty<float>({B, S});
    for (std::size_t i = 0; i < B; ++i)
        for (std::size_t k = 0; k < S; ++k)
            out(i, k) = (obs(i, k) - spec.obs_mean[k]) / spec.obs_std[k];
    return out;
}

Array2 to_box_action(const LearnerSpec& spec, const Array2& u) {
    const std::size_t A = spec.action_dim;
    DYDIFF_CHECK(u.shape()[1] == A, "to_box_action: actions " << shape_str(u.shape()) << " are not (B, " << A << ")");
    const std::size_t B = u.shape()[0];
    Array2 out = xt::empty<float>({B, A});
    for (std::size_t i = 0; i < B; ++i)
        for (std::size_t k = 0; k < A; ++k) {
            const float half = 0.5f * (spec.action_high[k] - spec.action_low[k]);
            out(i, k) = std::clamp(spec.action_low[k] + (u(i, k) + 1.0f) * half, spec.action_low[k],
                                   spec.action_high[k]);
        }
    return out;
}

Array2 to_unit_action(const LearnerSpec& spec, const Array2& a) {
    const std::size_t A = spec.action_dim;
    DYDIFF_CHECK(a.shape()[1] == A, "to_unit_action: actions " << shape_str(a.shape()) << " are not (B, " << A << ")");
    const std::size_t B = a.shape()[0];
    Array2 out = xt::empty<float>({B, A});
    for (std::size_t i = 0; i < B; ++i)
        for (std::size_t k = 0; k < A; ++k) {
            const float half = 0.5f * (spec.action_high[k] - spec.action_low[k]);
            out(i, k) = std::clamp((a(i, k) - spec.action_low[k]) / half - 1.0f, -1.0f, 1.0f);
        }
    return out;
}

// ---- batches ----------------------------------------------------------------------------------------------------

TensorBatch make_batch(const LearnerSpec& spec, const data::Transitions& batch, float reward_scale,
                       float reward_bias) {
    const std::size_t B = batch.size();
    DYDIFF_CHECK(B > 0, "make_batch: empty batch");
    DYDIFF_CHECK(batch.observations.shape()[1] == spec.obs_dim && batch.next_observations.shape()[1] == spec.obs_dim &&
                     batch.next_observations.shape()[0] == B && batch.actions.shape()[1] == spec.action_dim &&
                     batch.actions.shape()[0] == B && batch.rewards.shape()[0] == B && batch.dones.shape()[0] == B,
                 "make_batch: observations " << shape_str(batch.observations.shape()) << ", actions "
                                             << shape_str(batch.actions.shape()) << ", rewards "
                                             << shape_str(batch.rewards.shape()) << ", next_observations "
                                             << shape_str(batch.next_observations.shape()) << ", dones "
                                             << shape_str(batch.dones.shape()) << " are not (B, " << spec.obs_dim
                                             << "), (B, " << spec.action_dim << "), (B), (B, " << spec.obs_dim
                                             << "), (B)");
    Array rewards = xt::empty<float>({B, std::size_t{1}});
    Array not_done = xt::empty<float>({B, std::size_t{1}});
    for (std::size_t i = 0; i < B; ++i) {
        rewards(i, 0) = reward_scale * batch.rewards(i) + reward_bias;
        not_done(i, 0) = 1.0f - batch.dones(i);
    }
    TensorBatch out;
    out.obs = Tensor(Array(normalize_obs(spec, batch.observations)));
    out.actions = Tensor(Array(to_unit_action(spec, batch.actions)));
    out.rewards = Tensor(std::move(rewards));
    out.next_obs = Tensor(Array(normalize_obs(spec, batch.next_observations)));
    out.not_done = Tensor(std::move(not_done));
    out.size = B;
    return out;
}

Tensor td_target(const TensorBatch& batch, const Tensor& next_value, float discount) {
    DYDIFF_CHECK(next_value.dim() == 2 && next_value.size(0) == batch.size && next_value.size(1) == 1,
                 "td_target: next value " << shape_str(next_value.shape()) << " is not (" << batch.size << ", 1)");
    const autograd::NoGradGuard no_grad;
    return batch.rewards + discount * batch.not_done * next_value;
}

Tensor expectile_loss(const Tensor& u, float expectile) {
    Array weight = xt::empty<float>(u.value().shape());  // |τ − 1[u < 0]|, a constant
    const float* uv = u.value().data();
    for (std::size_t i = 0; i < weight.size(); ++i) weight.data()[i] = uv[i] < 0.0f ? 1.0f - expectile : expectile;
    return autograd::mean(Tensor(std::move(weight)) * autograd::square(u));
}

double td3bc_lambda(float alpha, const Array& q) {
    DYDIFF_CHECK(q.size() > 0, "td3bc_lambda: empty Q");
    double sum_abs = 0.0;
    for (const float v : q) sum_abs += std::fabs(static_cast<double>(v));
    return static_cast<double>(alpha) / (sum_abs / static_cast<double>(q.size()));
}

Array advantage_weights(const Array& advantage, float beta, float max_weight) {
    Array w = xt::empty<float>(advantage.shape());
    for (std::size_t i = 0; i < w.size(); ++i) w.data()[i] = std::min(std::exp(beta * advantage.data()[i]), max_weight);
    return w;
}

Tensor gaussian_log_prob(const Tensor& x, const Tensor& mean, const Tensor& log_std) {
    DYDIFF_CHECK(x.dim() == 2 && x.shape() == mean.shape() &&
                     (log_std.shape() == x.shape() || (log_std.dim() == 1 && log_std.size(0) == x.size(1))),
                 "gaussian_log_prob: x " << shape_str(x.shape()) << ", mean " << shape_str(mean.shape())
                                         << ", log_std " << shape_str(log_std.shape())
                                         << " (expected x, mean (B, A) and log_std (B, A) or (A))");
    const float half_log_2pi = 0.5f * std::log(2.0f * static_cast<float>(M_PI));
    const Tensor z = (x - mean) * autograd::exp(-log_std);                    // (B, A)
    const Tensor log_density = -0.5f * autograd::square(z) - log_std - half_log_2pi;  // (B, A)
    return autograd::sum(log_density, {1}, true);                             // (B, 1)
}

float checked_loss(const Tensor& loss, const std::string& who, const char* loss_name, std::int64_t step) {
    const float v = loss.item();
    if (!std::isfinite(v))
        throw NonFiniteError(who + ": " + loss_name + " is " + std::to_string(v) + " at step " + std::to_string(step));
    return v;
}

float minimize(const Tensor& loss, nn::Adam& optimizer, const std::string& who, const char* loss_name,
               std::int64_t step) {
    const float v = checked_loss(loss, who, loss_name, step);
    optimizer.zero_grad();
    Tensor(loss).backward();
    optimizer.step();
    return v;
}

// ---- networks ---------------------------------------------------------------------------------------------------

std::vector<std::size_t> mlp_widths(std::size_t in, std::size_t hidden, std::size_t layers, std::size_t out) {
    DYDIFF_CHECK(in > 0 && hidden > 0 && layers > 0 && out > 0,
                 "mlp_widths: in " << in << ", hidden " << hidden << ", layers " << layers << ", out " << out);
    std::vector<std::size_t> widths{in};
    widths.insert(widths.end(), layers, hidden);
    widths.push_back(out);
    return widths;
}

void copy_parameters(const nn::Module& source, nn::Module& target) {
    const auto src = source.named_parameters();
    auto dst = target.named_parameters();
    DYDIFF_CHECK(src.size() == dst.size(), "copy_parameters: " << src.size() << " source and " << dst.size()
                                                               << " target parameters");
    for (std::size_t i = 0; i < src.size(); ++i) {
        DYDIFF_CHECK(src[i].first == dst[i].first && src[i].second.shape() == dst[i].second.shape(),
                     "copy_parameters: source '" << src[i].first << "' " << shape_str(src[i].second.shape())
                                                 << " vs target '" << dst[i].first << "' "
                                                 << shape_str(dst[i].second.shape()));
        dst[i].second.mutable_value() = src[i].second.value();
    }
}

FreezeGuard::FreezeGuard(const nn::Module& module) : params_(module.parameters()) {
    for (Tensor& p : params_) {
        was_trainable_.push_back(p.requires_grad());
        p.set_requires_grad(false);
    }
}

FreezeGuard::~FreezeGuard() {
    for (std::size_t i = 0; i < params_.size(); ++i) params_[i].set_requires_grad(was_trainable_[i]);
}

TwinQ::TwinQ(std::size_t obs_dim, std::size_t action_dim, std::size_t hidden, std::size_t layers, nn::Init init,
             data::Rng& rng)
    : obs_dim_(obs_dim),
      action_dim_(action_dim),
      q1_(mlp_widths(obs_dim + action_dim, hidden, layers, 1), nn::Activation::relu, rng, init),
      q2_(mlp_widths(obs_dim + action_dim, hidden, layers, 1), nn::Activation::relu, rng, init) {
    register_module("q1", q1_);
    register_module("q2", q2_);
}

namespace {

Tensor critic_input(const Tensor& obs, const Tensor& actions, std::size_t S, std::size_t A) {
    DYDIFF_CHECK(obs.dim() == 2 && actions.dim() == 2 && obs.size(1) == S && actions.size(1) == A &&
                     obs.size(0) == actions.size(0),
                 "TwinQ: observations " << shape_str(obs.shape()) << " and actions " << shape_str(actions.shape())
                                        << " are not (B, " << S << ") and (B, " << A << ")");
    return autograd::concat({obs, actions}, 1);  // (B, S + A)
}

}  // namespace

std::pair<Tensor, Tensor> TwinQ::forward(const Tensor& obs, const Tensor& actions) const {
    const Tensor x = critic_input(obs, actions, obs_dim_, action_dim_);
    return {q1_.forward(x), q2_.forward(x)};
}

Tensor TwinQ::q1(const Tensor& obs, const Tensor& actions) const {
    return q1_.forward(critic_input(obs, actions, obs_dim_, action_dim_));
}

Tensor TwinQ::min(const Tensor& obs, const Tensor& actions) const {
    const auto [q1, q2] = forward(obs, actions);
    return autograd::minimum(q1, q2);
}

Tensor tanh_gaussian_log_prob(const Tensor& u, const Tensor& mean, const Tensor& log_std) {
    DYDIFF_CHECK(u.dim() == 2 && u.shape() == mean.shape() && u.shape() == log_std.shape(),
                 "tanh_gaussian_log_prob: u " << shape_str(u.shape()) << ", mean " << shape_str(mean.shape())
                                              << ", log_std " << shape_str(log_std.shape()) << " must be one (B, A)");
    const Tensor log_det = 2.0f * (std::log(2.0f) - u - nn::softplus(-2.0f * u));  // (B, A) log(1 − tanh²u)
    return gaussian_log_prob(u, mean, log_std) - autograd::sum(log_det, {1}, true);  // (B, 1)
}

TanhGaussianActor::TanhGaussianActor(std::size_t obs_dim, std::size_t action_dim, std::size_t hidden,
                                     std::size_t layers, nn::Init init, data::Rng& rng)
    : action_dim_(action_dim),
      net_(mlp_widths(obs_dim, hidden, layers, 2 * action_dim), nn::Activation::relu, rng, init) {
    register_module("net", net_);
}

TanhGaussianActor::Head TanhGaussianActor::forward(const Tensor& obs) const {
    const Tensor out = net_.forward(obs);  // (B, 2A)
    return {autograd::slice(out, 1, 0, action_dim_),
            autograd::clamp(autograd::slice(out, 1, action_dim_, 2 * action_dim_), kLogStdMin, kLogStdMax)};
}

TanhGaussianActor::Sample TanhGaussianActor::sample(const Tensor& obs, data::Rng& rng) const {
    const Head head = forward(obs);
    Array eps = xt::empty<float>(head.mean.value().shape());  // (B, A) ~ N(0, 1)
    rng.fill_normal(eps.data(), eps.size());
    const Tensor u = head.mean + autograd::exp(head.log_std) * Tensor(std::move(eps));
    return {nn::tanh(u), tanh_gaussian_log_prob(u, head.mean, head.log_std)};
}

Tensor TanhGaussianActor::mode(const Tensor& obs) const { return nn::tanh(forward(obs).mean); }

TanhActor::TanhActor(std::size_t obs_dim, std::size_t action_dim, std::size_t hidden, std::size_t layers,
                     nn::Init init, data::Rng& rng)
    : net_(mlp_widths(obs_dim, hidden, layers, action_dim), nn::Activation::relu, rng, init,
           nn::Activation::tanh) {
    register_module("net", net_);
}

Tensor TanhActor::forward(const Tensor& obs) const { return net_.forward(obs); }

// ---- save / load ------------------------------------------------------------------------------------------------

void save_learner(nn::Checkpoint& ckpt, const std::string& algo, const LearnerSpec& spec, const LearnerParts& parts,
                  const data::Rng& rng, std::int64_t step) {
    const std::string root = kRoot;
    ckpt.put_bytes(root + "algo", text_bytes(algo));
    save_spec(ckpt, spec);
    ckpt.put_int64(root + "step", step);
    ckpt.put_bytes(root + "rng", rng.state());
    for (const auto& [name, module] : parts.modules) ckpt.put_module(root + name, *module);
    for (const auto& [name, adam] : parts.optimizers) {
        for (const auto& [key, moment] : adam->state()) ckpt.put(root + name + "/" + key, moment.value());
        ckpt.put_int64(root + name + "/steps", static_cast<std::int64_t>(adam->steps()));
    }
    for (const auto& [name, value] : parts.scalars) {
        ckpt.put(root + "scalar/" + name, data::NpyArray::from_data<double>({}, value));
    }
}

std::int64_t load_learner(const nn::Checkpoint& ckpt, const std::string& algo, const LearnerSpec& spec,
                          const LearnerParts& parts, data::Rng& rng) {
    const std::string root = kRoot;
    const std::string stored_algo = load_algo(ckpt);
    DYDIFF_CHECK(stored_algo == algo, where(ckpt) << ": holds a '" << stored_algo << "' learner, not '" << algo << "'");
    const LearnerSpec stored = load_spec(ckpt);
    DYDIFF_CHECK(stored.obs_dim == spec.obs_dim && stored.action_dim == spec.action_dim,
                 where(ckpt) << ": learner dims S = " << stored.obs_dim << ", A = " << stored.action_dim
                             << ", expected S = " << spec.obs_dim << ", A = " << spec.action_dim);
    DYDIFF_CHECK(same_bits(stored.action_low, spec.action_low) && same_bits(stored.action_high, spec.action_high),
                 where(ckpt) << ": the learner's action box differs from this run's (" << root
                             << "spec/action_low, action_high)");
    DYDIFF_CHECK(same_bits(stored.obs_mean, spec.obs_mean) && same_bits(stored.obs_std, spec.obs_std),
                 where(ckpt) << ": the learner's observation statistics (" << root
                             << "spec/obs_mean, obs_std) differ from this run's: another dataset?");
    // Read everything before modifying anything, so a failed load leaves the learner as it was.
    for (const auto& [name, module] : parts.modules)
        for (const auto& [param, t] : module->named_parameters()) {
            const std::string key = root + name + "/" + param;
            DYDIFF_CHECK(ckpt.contains(key), where(ckpt) << ": missing key '" << key << "'");
            const autograd::Shape shape = t.shape();
            DYDIFF_CHECK(ckpt.array(key).shape == std::vector<std::size_t>(shape.begin(), shape.end()),
                         where(ckpt) << ": '" << key << "' has shape " << shape_str(ckpt.array(key).shape)
                                     << ", expected " << shape_str(shape));
        }
    data::Rng restored = rng;
    restored.set_state(ckpt.get_bytes(root + "rng"));
    std::vector<std::pair<nn::NamedTensors, std::size_t>> adam_states;
    for (const auto& [name, adam] : parts.optimizers) {
        nn::NamedTensors state;
        for (const auto& [key, moment] : adam->state()) {
            Array value = ckpt.get(root + name + "/" + key);
            DYDIFF_CHECK(value.shape() == moment.value().shape(),
                         where(ckpt) << ": '" << root << name << "/" << key << "' has shape "
                                     << shape_str(value.shape()) << ", expected " << shape_str(moment.value().shape()));
            state.emplace_back(key, Tensor(std::move(value)));
        }
        const std::int64_t steps = ckpt.get_int64(root + name + "/steps");
        DYDIFF_CHECK(steps >= 0, where(ckpt) << ": '" << root << name << "/steps' = " << steps);
        adam_states.emplace_back(std::move(state), static_cast<std::size_t>(steps));
    }
    std::vector<double> scalars;
    for (const auto& [name, value] : parts.scalars) {
        const data::NpyArray& a = ckpt.array(root + "scalar/" + name);
        a.check_dtype(data::DType::f64, where(ckpt) + ": key '" + root + "scalar/" + name + "'");
        const auto v = a.to_vector<double>();
        DYDIFF_CHECK(v.size() == 1, where(ckpt) << ": '" << root << "scalar/" << name << "' holds " << v.size()
                                                << " values, expected 1");
        scalars.push_back(v[0]);
    }
    const std::int64_t step = ckpt.get_int64(root + "step");
    DYDIFF_CHECK(step >= 0, where(ckpt) << ": '" << root << "step' = " << step);
    for (const auto& [name, module] : parts.modules) ckpt.load_module(root + name, *module);
    for (std::size_t i = 0; i < parts.optimizers.size(); ++i)
        parts.optimizers[i].second->load_state(adam_states[i].first, adam_states[i].second);
    for (std::size_t i = 0; i < parts.scalars.size(); ++i) *parts.scalars[i].second = scalars[i];
    rng = restored;
    return step;
}

void save_actor_part(nn::Checkpoint& ckpt, const std::string& algo, const LearnerSpec& spec, const nn::Module& actor,
                     const std::string& head) {
    DYDIFF_CHECK(head == "tanh" || head == "tanh_gaussian_mean" || head == "ddpm",
                 "save_actor_part: head '" << head << "' (expected tanh, tanh_gaussian_mean or ddpm)");
    ckpt.put_bytes(std::string(kRoot) + "algo", text_bytes(algo));
    save_spec(ckpt, spec);
    ckpt.put_module("actor", actor);
    ckpt.put_bytes("actor/head", text_bytes(head));
}

LearnerSpec load_spec(const nn::Checkpoint& ckpt) {
    const std::string p = std::string(kRoot) + "spec/";
    LearnerSpec spec;
    const std::int64_t S = ckpt.get_int64(p + "obs_dim"), A = ckpt.get_int64(p + "action_dim");
    DYDIFF_CHECK(S > 0 && A > 0, where(ckpt) << ": " << p << "obs_dim = " << S << ", action_dim = " << A);
    spec.obs_dim = static_cast<std::size_t>(S);
    spec.action_dim = static_cast<std::size_t>(A);
    spec.action_low = to_vector(ckpt.get(p + "action_low"));
    spec.action_high = to_vector(ckpt.get(p + "action_high"));
    spec.obs_mean = to_vector(ckpt.get(p + "obs_mean"));
    spec.obs_std = to_vector(ckpt.get(p + "obs_std"));
    spec.seed = static_cast<std::uint64_t>(ckpt.get_int64(p + "seed"));
    check_spec(spec, where(ckpt));
    return spec;
}

std::string load_algo(const nn::Checkpoint& ckpt) { return bytes_text(ckpt.get_bytes(std::string(kRoot) + "algo")); }

}  // namespace dydiff::learners
