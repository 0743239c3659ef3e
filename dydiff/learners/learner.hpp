// Learner: the small interface every offline-RL learner implements (BC, TD3+BC, CQL, IQL, Diffusion-QL, later SAC).
// A learner sees minibatches of transitions and nothing else: it does not know whether a row came from the dataset
// or from DyDiff's synthetic buffer (the DyDiff loop in dydiff/rollout/ feeds it; learners/ never includes rollout/).
// Observations reach the learner RAW; each learner normalises them itself with the z-score statistics of its
// LearnerSpec (of the real data; learners::make_spec), so act() takes raw observations from an env as they are.
// The learners, their configs and the factory: dydiff/learners/{bc,td3bc,iql}.cpp, configs.hpp, registry.hpp;
// their shared pieces: common.hpp.
// Layering: dydiff/learners (on nn/, data/; no other dydiff/ folder except run/config for ConfigFields).
// Shapes: B batch, S observation dim, A action dim.
#pragma once

#include "data/rng.hpp"
#include "data/transitions.hpp"
#include "nn/checkpoint.hpp"

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace dydiff::learners {

using Array2 = xt::xtensor<float, 2>;
using Array1 = xt::xtensor<float, 1>;

/// What the learner is built for: dims, the action box (every learner's actions lie in [low, high]; the networks
/// work in [-1, 1] and scale), and the z-score statistics of the real observations.
struct LearnerSpec {
    std::size_t obs_dim = 0;      // S
    std::size_t action_dim = 0;   // A
    std::vector<float> action_low, action_high;  // (A) each
    std::vector<float> obs_mean, obs_std;        // (S) each; std already guarded against 0
    std::uint64_t seed = 0;       // network init and every random draw of the learner
};

/// Named scalars of one update, in a fixed order per learner (the columns of metrics.csv): for example
/// {"critic_loss", 0.31}, {"actor_loss", -1.2}, {"q_mean", 4.5}. Every update returns the same names in the same order.
using Stats = std::vector<std::pair<std::string, double>>;

class Learner {
public:
    virtual ~Learner() = default;

    /// The algorithm's name as the CLI spells it ("bc", "td3bc", "cql", "iql", "diffql").
    virtual std::string name() const = 0;
    /// One gradient step (the learner's whole per-step work: critics, actor on its delay, targets, temperature) on a
    /// batch of RAW transitions (B rows). Fails (dydiff::Error) on a non-finite loss, naming the loss.
    virtual Stats update(const data::Transitions& batch) = 0;
    /// Actions (B, A) in the action box for RAW observations (B, S); no autograd graph is built. deterministic = the
    /// evaluation action (mean / tanh(mu) / Diffusion-QL's Q-selected sample); otherwise a policy sample. Draws come
    /// from the learner's own Rng (saved with the state).
    virtual Array2 act(const Array2& obs, bool deterministic) = 0;
    /// Gradient steps taken so far.
    virtual std::int64_t steps() const = 0;

    /// The whole state (every network, target, optimiser moment, the Rng, the step, the spec with the normaliser)
    /// under "learner/..." keys (learners::save_learner), so that save -> load -> update continues bit for bit like an
    /// uninterrupted run. load() fails on another algo or another spec (dims, box, statistics), naming the key.
    virtual void save(nn::Checkpoint& ckpt) const = 0;
    virtual void load(const nn::Checkpoint& ckpt) = 0;
    /// The deployable actor alone (networks + normaliser + action box), what `dydiff export` writes for embedding:
    /// "learner/algo", "learner/spec/*", "actor/<param>", "actor/head" (learners::save_actor_part).
    virtual void save_actor(nn::Checkpoint& ckpt) const = 0;
};

}  // namespace dydiff::learners
