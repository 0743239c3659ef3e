// The DyDiff rollout generator (docs/algorithm.md §4.2–§4.5, batched): B_roll start observations sampled from the
// real data, Algorithm 2 on chunks of them (the one-step ensemble rollout under the learning policy, then M diffusion
// refinements with relabelling), the reward-model filter over all B_roll trajectories, and the kept trajectories cut
// into transitions by the termination rule. Memory is bounded by the chunk: the sampler's network activations scale
// with the chunk, the kept trajectories with B_roll H D floats.
// The behaviour-rollout control (docs/algorithm.md §9.1, `actions = behaviour`) replaces Algorithm 2 by one sampler
// pass conditioned on a real dataset window's start state and recorded actions: no ensemble, no policy; the same
// filter, cuts and statistics follow.
// Everything runs without an autograd graph (the callers' policy, step, sampler and reward functions run under
// NoGradGuard).
// Layering: dydiff/rollout (on dydiff/rollout/dydiff_rollout, dydiff/rollout/filter).
// Shapes: B start states, H horizon, S observation dim, A action dim, D = S + A.
#pragma once

#include "data/episodes.hpp"
#include "data/rng.hpp"
#include "data/transitions.hpp"
#include "dydiff/envs/termination.hpp"
#include "dydiff/rollout/dydiff_rollout.hpp"
#include "dydiff/rollout/filter.hpp"

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dydiff {

class ConfigFields;

struct GeneratorConfig {
    std::size_t starts = 2048;   // B_roll: start observations per generation (official code: 2048)
    std::size_t chunk = 256;     // start states per Algorithm 2 call (bounds the sampler's memory; part of the
                                 // random-stream layout, so a result is reproduced with the same chunk)
    std::size_t iterations = 2;  // M: diffusion refinements; 0 = one-step ensemble rollouts only (MBPO-style
                                 // control) (official code: 2)
    std::size_t length = 0;      // rollout length in states, <= H; 0 = the diffusion model's horizon H (official
                                 // code: -1 = H). Shorter rollouts refine the full H window and keep its first
                                 // `length` states; with iterations = 0 any length works
    std::string actions = "policy";  // policy: Algorithm 2 (official code); behaviour: the control of
                                     // docs/algorithm.md §9.1 (dataset windows' actions, one sampler pass, no
                                     // ensemble, no relabel; `iterations` is not read)
    FilterConfig filter;         // the reward filter (table [generator.filter])

    void fields(ConfigFields& f);
    void validate() const;
};

/// What one generation did (the columns of the DyDiff loop's metrics).
struct GenerationStats {
    std::size_t trajectories = 0;  // generated (B_roll)
    std::size_t kept = 0;          // kept by the filter
    std::size_t transitions = 0;   // stored (after termination cuts)
    double return_mean = 0.0;      // predicted return over all generated trajectories
    double return_std = 0.0;       // (population std)
    double kept_return_mean = 0.0; // predicted return over the kept ones
    double seconds = 0.0;          // wall time of the whole generation
};

struct Generation {
    data::Transitions transitions;  // raw scale, for the synthetic buffer
    Trajectory kept;                // raw-scale kept trajectories (K, L, S) / (K, L, A), for plots
    xt::xtensor<float, 2> kept_starts;  // (K, S) their real start observations
    std::vector<std::size_t> kept_lengths;  // (K) valid states of each: L, except a behaviour rollout whose episode
                                            // ends inside the window (entries past it are zeros)
    GenerationStats stats;
};

/// Models and rules the generator combines, each a function on RAW values (the wrappers of
/// dydiff/rollout/dydiff_rollout.hpp convert to model scale). `sample` may be empty when iterations = 0; `policy`
/// and `step` may be empty for behaviour rollouts (they are never called there).
struct GeneratorModels {
    RawPolicyFn policy;            // the learning policy (its "deterministic" action, docs/algorithm.md §4.2)
    RawStepFn step;                // the one-step ensemble
    ConditionalSampler sample;     // Algorithm 3 over the diffusion model
    const ModelScale* scale = nullptr;  // the diffusion model's min-max scale over [s, a]
    std::size_t horizon = 0;       // the diffusion model's window length H
    RewardFn reward;               // the reward model r(s, a)
    envs::TerminationFn terminated;  // the env family's termination rule
};

/// One generation. `start_pool` (N, S) raw: start observations are drawn from its rows uniformly with replacement.
/// Random streams: rng.fork(0) the starts, rng.fork(1 + c) chunk c's latents and sampler noise, rng.fork(1 << 20)
/// the softmax filter. The same inputs, config and rng give the same generation.
Generation generate_rollouts(const xt::xtensor<float, 2>& start_pool, const GeneratorModels& models,
                             const GeneratorConfig& config, const data::Rng& rng);

/// The real data behaviour rollouts start from and condition on: the dataset's rows in order and its episodes.
struct BehaviourData {
    xt::xtensor<float, 2> observations;        // (N, S) raw, row order
    xt::xtensor<float, 2> actions;             // (N, A) raw, the behaviour policy's actions
    std::vector<data::EpisodeRange> episodes;  // rows [start, end) of each episode (data::split_episodes)

    /// The rows of `dataset` and its episodes (the unflagged tail kept as a last episode: it is real, contiguous).
    static BehaviourData from_dataset(const data::Dataset& dataset);
};

/// One generation of behaviour rollouts (config.actions = "behaviour", docs/algorithm.md §9.1). Starts: windows of
/// L = length (0: H) states drawn uniformly with replacement among the windows the diffusion data makes at length L
/// (data::make_windows' rule: every in-episode row with L states of its episode from it on, and the first row of an
/// episode shorter than L, truncated to that episode). Each start b is sampled once (Algorithm 3 over H),
/// conditioned on its real s0 and the dataset's actions of rows start .. start + H - 1 (model-scale window padding
/// data::kWindowPad past the episode end, as in training); the result keeps the first n_b = min(L, rows to the
/// episode end) states, s0 exactly the real observation and the actions exactly the dataset's. Then the filter over
/// the n_b pairs, the transitions (kept_lengths cut them), the statistics. Random streams as generate_rollouts: rng.fork(0) the starts,
/// rng.fork(1 + c) chunk c's latents and sampler noise, rng.fork(1 << 20) the softmax filter.
Generation generate_behaviour_rollouts(const BehaviourData& data, const GeneratorModels& models,
                                       const GeneratorConfig& config, const data::Rng& rng);

}  // namespace dydiff
