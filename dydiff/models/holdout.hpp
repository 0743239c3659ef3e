// Training plumbing shared by the auxiliary models of pretraining (docs/algorithm.md §4.1 b/c, §5.2, §5.3, §6.4):
// a random hold-out split, row gathering into minibatches, per-member early stopping and snapshots of each member's
// best weights. Written once for the dynamics ensemble (E = 7 members) and the reward model (E = 1).
// Layering: dydiff/ (on nn/module, data/rng).
// NOTE: the official code keeps the *last* weights by mistake (§11 P18); MemberSnapshot is how we keep the best ones.
#pragma once

#include "autograd/xt.hpp"
#include "data/rng.hpp"
#include "nn/module.hpp"
#include "nn/optim.hpp"

#include <cstddef>
#include <limits>
#include <string>
#include <vector>

namespace dydiff {

/// Row indices of a data set split into a training part and a hold-out part (disjoint, together 0..N-1).
struct HoldoutSplit {
    std::vector<std::size_t> train;    // shuffled order
    std::vector<std::size_t> holdout;  // shuffled order
};

/// Hold-out size floor(fraction · n) capped at max_holdout, as in the official code (§5.2: 20%, at most 5000).
/// Fails unless both parts end up non-empty.
std::size_t holdout_size(std::size_t n, float fraction, std::size_t max_holdout);

/// A random split of n rows: one permutation, the first holdout_size() entries are the hold-out.
HoldoutSplit split_holdout(std::size_t n, float fraction, std::size_t max_holdout, data::Rng& rng);

/// Copies rows[0..count) of `src` (N, F) into `dst` (count, F) starting at dst_row (dst must be large enough).
/// Works on the raw row-major storage; `src` and `dst` are 2-D (or 3-D dst viewed as rows).
void copy_rows(const autograd::Array& src, const std::size_t* rows, std::size_t count, autograd::Array& dst,
               std::size_t dst_row);

/// Number of minibatches of size `batch` covering n rows; the last one may be short.
std::size_t num_batches(std::size_t n, std::size_t batch);

/// One minibatch step of both trainers: fails unless `loss` is finite (naming `what`, the epoch and the batch),
/// then zero_grad, backward, Adam. Returns the loss value.
float minibatch_step(autograd::Tensor& loss, nn::Adam& adam, const std::string& what, std::size_t epoch,
                     std::size_t batch);

/// Per-member early stopping on the hold-out MSE: a member improves when its error is strictly below its best so
/// far (no relative threshold: §5.2 states none). Training stops once no member has improved for more than
/// `patience` consecutive epochs.
class EarlyStopping {
public:
    EarlyStopping(std::size_t members, std::size_t patience);

    /// Records one epoch's hold-out errors (one per member); returns per member whether it improved (then the
    /// caller snapshots that member).
    std::vector<bool> update(const std::vector<float>& holdout_mse);
    /// True once epochs_since_improvement() > patience.
    bool should_stop() const { return since_improvement_ > patience_; }

    std::size_t epochs() const { return epochs_; }
    std::size_t epochs_since_improvement() const { return since_improvement_; }
    /// Best hold-out MSE per member (+inf before the first epoch).
    const std::vector<float>& best() const { return best_; }
    /// Epoch (1-based) of each member's best; 0 before the first epoch.
    const std::vector<std::size_t>& best_epoch() const { return best_epoch_; }

private:
    std::size_t patience_;
    std::size_t epochs_ = 0;
    std::size_t since_improvement_ = 0;
    std::vector<float> best_;
    std::vector<std::size_t> best_epoch_;
};

/// A copy of a module's parameters in which member e can be overwritten with the live values. Every parameter is
/// split into `members` equal contiguous chunks along its leading axis (EnsembleLinear's (E, I, O) and (E, 1, O));
/// with members = 1 a chunk is the whole parameter, which is how the reward MLP uses it.
class MemberSnapshot {
public:
    MemberSnapshot(const nn::Module& module, std::size_t members);
    /// Copies member e of the live parameters into the snapshot.
    void capture(std::size_t member);
    /// Copies the whole snapshot back into the live parameters.
    void restore();

private:
    std::vector<autograd::Tensor> live_;
    std::vector<autograd::Array> saved_;
    std::size_t members_;
};

/// Indices of the `count` smallest entries of `errors`, best first; ties go to the lower index.
std::vector<std::size_t> select_lowest(const std::vector<float>& errors, std::size_t count);

}  // namespace dydiff
