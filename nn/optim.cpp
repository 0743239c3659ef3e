// Adam/AdamW, gradient clipping and checks, EMA and Polyak updates on the SIMD kernels of nn/simd/kernels.hpp.
#include "nn/optim.hpp"

#include "autograd/error.hpp"
#include "nn/simd/kernels.hpp"

#include <cmath>

namespace dydiff::nn {

Adam::Adam(std::vector<ParamGroup> groups, AdamConfig config) : config_(config) {
    for (auto& g : groups)
        for (auto& [name, p] : g.params) {
            DYDIFF_CHECK(p.requires_grad(), "Adam: parameter '" << name << "' does not require grad");
            slots_.push_back({name, p, xt::zeros<float>(p.value().shape()), xt::zeros<float>(p.value().shape()),
                              g.weight_decay});
        }
}

Adam::Adam(const NamedTensors& params, AdamConfig config, float weight_decay)
    : Adam(std::vector<ParamGroup>{ParamGroup{params, weight_decay}}, config) {}

Adam adamw(const NamedTensors& params, AdamConfig config, float weight_decay) {
    config.decoupled = true;
    return Adam(params, config, weight_decay);
}

void Adam::step() {
    ++step_;
    const auto t = static_cast<double>(step_);
    const auto bias_correction1 = static_cast<float>(1.0 - std::pow(static_cast<double>(config_.beta1), t));
    const auto bias_correction2 = static_cast<float>(1.0 - std::pow(static_cast<double>(config_.beta2), t));
    for (Slot& s : slots_) {
        if (!s.param.has_grad()) continue;
        simd::adam_update(s.m.size(), s.param.mutable_value().data(), s.param.node().grad.data(), s.m.data(),
                          s.v.data(), config_.lr, config_.beta1, config_.beta2, config_.eps, s.weight_decay,
                          bias_correction1, bias_correction2, config_.decoupled);
    }
}

void Adam::zero_grad() {
    for (Slot& s : slots_) s.param.zero_grad();
}

NamedTensors Adam::state() const {
    NamedTensors out;
    for (const Slot& s : slots_) {
        out.emplace_back("m." + s.name, Tensor(s.m));
        out.emplace_back("v." + s.name, Tensor(s.v));
    }
    return out;
}

void Adam::load_state(const NamedTensors& state, std::size_t steps) {
    auto find = [&](const std::string& key) -> const Array& {
        for (const auto& [name, t] : state)
            if (name == key) return t.value();
        DYDIFF_FAIL("Adam::load_state: missing '" << key << "'");
    };
    for (Slot& s : slots_) {
        for (auto [key, dst] : {std::pair<std::string, Array*>{"m." + s.name, &s.m}, {"v." + s.name, &s.v}}) {
            const Array& src = find(key);
            DYDIFF_CHECK(src.shape() == dst->shape(), "Adam::load_state: '" << key << "' has shape " << shape_str(src.shape())
                                                                           << ", expected " << shape_str(dst->shape()));
            *dst = src;
        }
    }
    DYDIFF_CHECK(state.size() == 2 * slots_.size(), "Adam::load_state: " << state.size() << " arrays for "
                                                                          << 2 * slots_.size() << " moments");
    step_ = steps;
}

float clip_grad_norm(const std::vector<Tensor>& params, float max_norm) {
    double total = 0.0;
    for (const Tensor& p : params)
        if (p.has_grad()) total += simd::sum_squares(p.numel(), p.node().grad.data());
    const auto norm = static_cast<float>(std::sqrt(total));
    if (norm > max_norm) {
        const float factor = max_norm / (norm + 1e-6f);
        for (const Tensor& p : params)
            if (p.has_grad()) simd::scale(p.numel(), factor, p.node().grad.data());
    }
    return norm;
}

void check_finite_grads(const NamedTensors& params) {
    for (const auto& [name, p] : params)
        if (p.has_grad() && !simd::all_finite(p.numel(), p.node().grad.data()))
            throw NonFiniteError("non-finite gradient (NaN or Inf) in parameter '" + name + "'");
}

Ema::Ema(const NamedTensors& params) : tracked_(params) {
    for (const auto& [name, p] : params) shadow_.emplace_back(name, Tensor(p.value()));
}

void Ema::update(float decay) {
    for (std::size_t i = 0; i < tracked_.size(); ++i) {
        const Tensor& p = tracked_[i].second;
        Tensor& s = shadow_[i].second;
        simd::axpby(p.numel(), 1.0f - decay, p.value().data(), decay, s.mutable_value().data());
    }
}

void Ema::copy_to(const NamedTensors& params) const {
    DYDIFF_CHECK(params.size() == shadow_.size(), "Ema::copy_to: " << params.size() << " parameters for "
                                                                    << shadow_.size() << " averages");
    for (std::size_t i = 0; i < params.size(); ++i) {
        DYDIFF_CHECK(params[i].first == shadow_[i].first && params[i].second.shape() == shadow_[i].second.shape(),
                     "Ema::copy_to: parameter '" << params[i].first << "' does not match average '" << shadow_[i].first
                                                 << "'");
        Tensor target = params[i].second;
        target.mutable_value() = shadow_[i].second.value();
    }
}

void Ema::load(const NamedTensors& shadow) {
    DYDIFF_CHECK(shadow.size() == shadow_.size(), "Ema::load: " << shadow.size() << " arrays for " << shadow_.size()
                                                                 << " averages");
    for (std::size_t i = 0; i < shadow.size(); ++i) {
        DYDIFF_CHECK(shadow[i].first == shadow_[i].first && shadow[i].second.shape() == shadow_[i].second.shape(),
                     "Ema::load: '" << shadow[i].first << "' does not match '" << shadow_[i].first << "'");
        shadow_[i].second.mutable_value() = shadow[i].second.value();
    }
}

void soft_update(const std::vector<Tensor>& target, const std::vector<Tensor>& source, float tau) {
    DYDIFF_CHECK(target.size() == source.size(), "soft_update: " << target.size() << " targets for " << source.size()
                                                                  << " sources");
    for (std::size_t i = 0; i < target.size(); ++i) {
        DYDIFF_CHECK(target[i].shape() == source[i].shape(), "soft_update: parameter " << i << " shapes "
                                                                                      << shape_str(target[i].shape()) << " and "
                                                                                      << shape_str(source[i].shape()));
        Tensor t = target[i];
        simd::axpby(t.numel(), tau, source[i].value().data(), 1.0f - tau, t.mutable_value().data());
    }
}

}  // namespace dydiff::nn
