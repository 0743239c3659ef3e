// Hold-out split, row copies, early stopping and member snapshots of dydiff/models/holdout.hpp.
#include "dydiff/models/holdout.hpp"

#include "autograd/error.hpp"
#include "nn/checkpoint.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numeric>

namespace dydiff {

namespace {
// What a one-step fit that met a NaN or Inf can go back to: nothing, it writes its model only when it ends.
const char* const kNoModelYet = "no model was saved (the fit writes it only when it ends)";
}  // namespace

std::size_t holdout_size(std::size_t n, float fraction, std::size_t max_holdout) {
    DYDIFF_USER_CHECK(fraction > 0.0f && fraction < 1.0f, "holdout_fraction must be in (0, 1), got " << fraction);
    const auto size = std::min(static_cast<std::size_t>(std::floor(static_cast<double>(fraction) * n)), max_holdout);
    DYDIFF_USER_CHECK(size >= 1 && size < n, "a hold-out split of " << n << " rows at holdout_fraction " << fraction
                                                                    << " (max_holdout " << max_holdout
                                                                    << ") leaves an empty part; need more rows");
    return size;
}

HoldoutSplit split_holdout(std::size_t n, float fraction, std::size_t max_holdout, data::Rng& rng) {
    const std::size_t h = holdout_size(n, fraction, max_holdout);
    const std::vector<std::size_t> perm = rng.permutation(n);
    HoldoutSplit split;
    split.holdout.assign(perm.begin(), perm.begin() + static_cast<std::ptrdiff_t>(h));
    split.train.assign(perm.begin() + static_cast<std::ptrdiff_t>(h), perm.end());
    return split;
}

void copy_rows(const autograd::Array& src, const std::size_t* rows, std::size_t count, autograd::Array& dst,
               std::size_t dst_row) {
    DYDIFF_CHECK(src.dimension() == 2, "copy_rows: source must be 2-D, got " << shape_str(src.shape()));
    const std::size_t width = src.shape()[1];
    DYDIFF_CHECK(dst.shape().back() == width && (dst_row + count) * width <= dst.size(),
                 "copy_rows: " << count << " rows of width " << width << " at row " << dst_row << " do not fit "
                               << shape_str(dst.shape()));
    const std::size_t n = src.shape()[0];
    for (std::size_t i = 0; i < count; ++i) {
        DYDIFF_CHECK(rows[i] < n, "copy_rows: row " << rows[i] << " out of range for " << n << " rows");
        std::memcpy(dst.data() + (dst_row + i) * width, src.data() + rows[i] * width, width * sizeof(float));
    }
}

std::size_t num_batches(std::size_t n, std::size_t batch) {
    DYDIFF_CHECK(batch > 0, "batch size must be positive");
    return (n + batch - 1) / batch;
}

float minibatch_step(autograd::Tensor& loss, nn::Adam& adam, const std::string& what, std::size_t epoch,
                     std::size_t batch) {
    const float value = loss.item();
    if (!std::isfinite(value))
        nn::stop_non_finite(NonFiniteError(what + ": loss " + std::to_string(value) + " at epoch " +
                                           std::to_string(epoch) + ", batch " + std::to_string(batch)),
                            kNoModelYet);
    adam.zero_grad();
    loss.backward();
    adam.step();
    return value;
}

EarlyStopping::EarlyStopping(std::size_t members, std::size_t patience)
    : patience_(patience), best_(members, std::numeric_limits<float>::infinity()), best_epoch_(members, 0) {
    DYDIFF_CHECK(members > 0, "EarlyStopping: needs at least one member");
}

std::vector<bool> EarlyStopping::update(const std::vector<float>& holdout_mse) {
    DYDIFF_CHECK(holdout_mse.size() == best_.size(),
                 "EarlyStopping: " << holdout_mse.size() << " errors for " << best_.size() << " members");
    ++epochs_;
    std::vector<bool> improved(best_.size(), false);
    bool any = false;
    for (std::size_t e = 0; e < best_.size(); ++e) {
        if (!std::isfinite(holdout_mse[e]))
            nn::stop_non_finite(NonFiniteError("hold-out MSE of member " + std::to_string(e) + " is " +
                                               std::to_string(holdout_mse[e]) + " at epoch " +
                                               std::to_string(epochs_)),
                                kNoModelYet);
        if (holdout_mse[e] < best_[e]) {
            best_[e] = holdout_mse[e];
            best_epoch_[e] = epochs_;
            improved[e] = true;
            any = true;
        }
    }
    since_improvement_ = any ? 0 : since_improvement_ + 1;
    return improved;
}

MemberSnapshot::MemberSnapshot(const nn::Module& module, std::size_t members)
    : live_(module.parameters()), members_(members) {
    DYDIFF_CHECK(members > 0, "MemberSnapshot: needs at least one member");
    for (const auto& p : live_) {
        DYDIFF_CHECK(p.dim() >= 1 && (members == 1 || p.size(0) == members),
                     "MemberSnapshot: parameter " << shape_str(p.shape()) << " has no leading axis of " << members
                                                  << " members");
        saved_.push_back(p.value());
    }
}

void MemberSnapshot::capture(std::size_t member) {
    DYDIFF_CHECK(member < members_, "MemberSnapshot: member " << member << " of " << members_);
    for (std::size_t i = 0; i < live_.size(); ++i) {
        const std::size_t chunk = saved_[i].size() / members_;
        std::memcpy(saved_[i].data() + member * chunk, live_[i].value().data() + member * chunk,
                    chunk * sizeof(float));
    }
}

void MemberSnapshot::restore() {
    for (std::size_t i = 0; i < live_.size(); ++i) {
        autograd::Array& v = live_[i].mutable_value();
        std::memcpy(v.data(), saved_[i].data(), v.size() * sizeof(float));
    }
}

std::vector<std::size_t> select_lowest(const std::vector<float>& errors, std::size_t count) {
    DYDIFF_CHECK(count >= 1 && count <= errors.size(),
                 "select_lowest: cannot pick " << count << " of " << errors.size() << " members");
    std::vector<std::size_t> order(errors.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return errors[a] < errors[b]; });
    order.resize(count);
    return order;
}

}  // namespace dydiff
