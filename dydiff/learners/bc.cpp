// Behaviour cloning: the floor of every results table. A deterministic tanh MLP π(ŝ) ∈ [−1, 1]^A regressed on the
// data actions (mapped to [−1, 1]) with the mean squared error over all B × A entries and Adam. These are the CORL
// defaults (any_percent_bc with frac = 1: 256-256 ReLU, tanh output, F.mse_loss, Adam 3e-4, batch 256;
// docs/algorithm.md §5.4.7).
// Layering: dydiff/learners (on common.hpp). Shapes: B batch, S observation dim, A action dim.
#include "autograd/ops.hpp"
#include "dydiff/learners/common.hpp"
#include "dydiff/learners/configs.hpp"

namespace dydiff::learners {

namespace {

class BcLearner final : public Learner {
public:
    BcLearner(const BcConfig& config, const LearnerSpec& spec)
        : BcLearner(validated(config), checked(spec, "bc"), data::Rng(spec.seed).fork(kInitStream)) {}

    std::string name() const override { return "bc"; }

    Stats update(const data::Transitions& transitions) override {
        const TensorBatch batch = make_batch(spec_, transitions, 1.0f, 0.0f);
        ++steps_;
        const Tensor loss = autograd::mean(autograd::square(actor_.forward(batch.obs) - batch.actions));
        const float bc_loss = minimize(loss, adam_, "bc", "bc_loss", steps_);
        return {{"bc_loss", bc_loss}};
    }

    /// BC's policy is deterministic: both flags give π(ŝ), and no random number is drawn.
    Array2 act(const Array2& obs, bool /*deterministic*/) override {
        return act_in_box(spec_, obs, [&](const Tensor& s) { return actor_.forward(s); });
    }

    std::int64_t steps() const override { return steps_; }

    void save(nn::Checkpoint& ckpt) const override { save_learner(ckpt, name(), spec_, parts_, rng_, steps_); }
    void load(const nn::Checkpoint& ckpt) override { steps_ = load_learner(ckpt, name(), spec_, parts_, rng_); }
    void save_actor(nn::Checkpoint& ckpt) const override { save_actor_part(ckpt, name(), spec_, actor_, "tanh"); }

private:
    BcLearner(const BcConfig& config, const LearnerSpec& spec, data::Rng init_rng)
        : config_(config),
          spec_(spec),
          actor_(spec.obs_dim, spec.action_dim, config.hidden, config.layers, nn::Init::torch_default, init_rng),
          adam_(actor_.named_parameters(), nn::AdamConfig{config.lr}),
          rng_(data::Rng(spec.seed).fork(kDrawStream)),
          parts_{{{"actor", &actor_}}, {{"actor_adam", &adam_}}, {}} {}

    BcConfig config_;
    LearnerSpec spec_;
    TanhActor actor_;  // π(ŝ) ∈ [−1, 1]^A
    nn::Adam adam_;
    data::Rng rng_;    // unused by BC's updates; saved so that every learner's state has the same layout
    std::int64_t steps_ = 0;
    LearnerParts parts_;  // what save() and load() walk
};

}  // namespace

std::unique_ptr<Learner> make_bc(const BcConfig& config, const LearnerSpec& spec) {
    return std::make_unique<BcLearner>(config, spec);
}

}  // namespace dydiff::learners
