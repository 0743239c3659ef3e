// Initialisers of nn/init.hpp.
#include "nn/init.hpp"

#include "autograd/error.hpp"

#include <cmath>

namespace dydiff::nn {

Init parse_init(const std::string& name) {
    for (Init i : {Init::torch_default, Init::normal_fan_in, Init::ensemble_fan_in, Init::zeros})
        if (name == init_name(i)) return i;
    DYDIFF_FAIL("unknown init '" << name << "'; expected torch_default, normal_fan_in, ensemble_fan_in or zeros");
}

const char* init_name(Init init) {
    switch (init) {
        case Init::torch_default: return "torch_default";
        case Init::normal_fan_in: return "normal_fan_in";
        case Init::ensemble_fan_in: return "ensemble_fan_in";
        case Init::zeros: return "zeros";
    }
    return "?";
}

void init_uniform(autograd::Array& a, float lo, float hi, data::Rng& rng) { rng.fill_uniform(a.data(), a.size(), lo, hi); }

void init_normal(autograd::Array& a, float mean, float std, data::Rng& rng) { rng.fill_normal(a.data(), a.size(), mean, std); }

void init_layer(Init scheme, autograd::Array& weight, autograd::Array* bias, std::size_t fan_in, std::size_t fan_out,
                data::Rng& rng) {
    DYDIFF_CHECK(fan_in > 0, "init_layer: fan_in must be positive");
    switch (scheme) {
        case Init::torch_default: {
            const float bound = 1.0f / std::sqrt(static_cast<float>(fan_in));
            init_uniform(weight, -bound, bound, rng);
            if (bias) init_uniform(*bias, -bound, bound, rng);
            return;
        }
        case Init::normal_fan_in:
            init_normal(weight, 0.0f, 1.0f / std::sqrt(static_cast<float>(fan_in)), rng);
            if (bias) bias->fill(0.0f);
            return;
        case Init::ensemble_fan_in: {
            const float bound = 1.0f / std::sqrt(static_cast<float>(fan_in * fan_out));
            init_uniform(weight, -bound, bound, rng);
            if (bias) init_uniform(*bias, -bound, bound, rng);
            return;
        }
        case Init::zeros:
            weight.fill(0.0f);
            if (bias) bias->fill(0.0f);
            return;
    }
    DYDIFF_FAIL("init_layer: unhandled scheme");
}

}  // namespace dydiff::nn
