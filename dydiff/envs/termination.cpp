// MBPO termination rules (see termination.hpp).
#include "dydiff/envs/termination.hpp"

#include "autograd/error.hpp"

#include <cmath>

namespace dydiff::envs {
namespace {

void check_batch(const char* rule, const xt::xtensor<float, 2>& obs, const xt::xtensor<float, 2>& action,
                 const xt::xtensor<float, 2>& next_obs, std::size_t min_obs_dim) {
    const std::size_t b = next_obs.shape()[0];
    DYDIFF_CHECK(obs.shape()[0] == b && action.shape()[0] == b && obs.shape()[1] == next_obs.shape()[1],
                 rule << " termination: obs " << shape_str(obs.shape()) << ", action " << shape_str(action.shape())
                      << " and next_obs " << shape_str(next_obs.shape()) << " must be (B, S), (B, A), (B, S)");
    DYDIFF_CHECK(next_obs.shape()[1] >= min_obs_dim, rule << " termination needs at least " << min_obs_dim
                                                          << " observation columns, got " << shape_str(next_obs.shape()));
}

}  // namespace

xt::xtensor<float, 1> hopper_termination(const xt::xtensor<float, 2>& obs, const xt::xtensor<float, 2>& action,
                                         const xt::xtensor<float, 2>& next_obs) {
    check_batch("hopper", obs, action, next_obs, 2);
    const std::size_t b = next_obs.shape()[0], s = next_obs.shape()[1];
    xt::xtensor<float, 1> done = xt::zeros<float>({b});
    for (std::size_t i = 0; i < b; ++i) {
        const float* row = &next_obs(i, 0);
        bool ok = true;
        for (std::size_t k = 0; k < s; ++k) ok = ok && std::isfinite(row[k]);
        // NOTE: MBPO's rule is |s'[1:]| < 100. DyDiff's official terminals.py takes the absolute value of the
        // boolean (s'[1:] < 100), which drops the lower bound (docs/algorithm.md §11 P17); we implement
        // MBPO's correct rule on purpose.
        for (std::size_t k = 1; k < s; ++k) ok = ok && std::abs(row[k]) < 100.0f;
        ok = ok && row[0] > 0.7f && std::abs(row[1]) < 0.2f;
        done(i) = ok ? 0.0f : 1.0f;
    }
    return done;
}

xt::xtensor<float, 1> walker2d_termination(const xt::xtensor<float, 2>& obs, const xt::xtensor<float, 2>& action,
                                           const xt::xtensor<float, 2>& next_obs) {
    check_batch("walker2d", obs, action, next_obs, 2);
    const std::size_t b = next_obs.shape()[0];
    xt::xtensor<float, 1> done = xt::zeros<float>({b});
    for (std::size_t i = 0; i < b; ++i) {
        const float height = next_obs(i, 0), angle = next_obs(i, 1);
        const bool ok = height > 0.8f && height < 2.0f && angle > -1.0f && angle < 1.0f;
        done(i) = ok ? 0.0f : 1.0f;
    }
    return done;
}

xt::xtensor<float, 1> never_termination(const xt::xtensor<float, 2>& obs, const xt::xtensor<float, 2>& action,
                                        const xt::xtensor<float, 2>& next_obs) {
    check_batch("never", obs, action, next_obs, 0);
    return xt::zeros<float>({next_obs.shape()[0]});
}

TerminationFn termination_fn(const std::string& env_name) {
    const auto has = [&](const char* key) { return env_name.find(key) != std::string::npos; };
    if (has("hopper")) return &hopper_termination;
    if (has("walker")) return &walker2d_termination;
    if (has("halfcheetah") || has("maze") || has("pendulum")) return &never_termination;
    DYDIFF_USER_FAIL("no termination rule for task '"
                     << env_name << "' (the name must contain hopper, walker, halfcheetah, maze or pendulum)");
}

}  // namespace dydiff::envs
