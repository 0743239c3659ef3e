// Helpers shared by the ops_*.cpp files (not installed): axis normalisation, broadcast checks, and the
// (outer, n, inner) view of a contiguous array around one axis that the raw-loop ops use.
#pragma once

#include "autograd/error.hpp"
#include "autograd/xt.hpp"

#include <cstdint>

namespace dydiff::autograd::detail {

/// axis in [-rank, rank) → [0, rank).
inline std::size_t normalize_axis(std::int64_t axis, std::size_t rank, const char* op) {
    const auto r = static_cast<std::int64_t>(rank);
    DYDIFF_CHECK(axis >= -r && axis < r, op << ": axis " << axis << " out of range for rank " << rank);
    return static_cast<std::size_t>(axis < 0 ? axis + r : axis);
}

/// The numpy broadcast of two shapes, or an error naming the op and both shapes.
template <class S1, class S2>
Shape broadcast_shape(const S1& a, const S2& b, const char* op) {
    const std::size_t rank = std::max(a.size(), b.size());
    Shape out(rank);
    for (std::size_t i = 0; i < rank; ++i) {
        const std::size_t da = i < rank - a.size() ? 1 : a[i - (rank - a.size())];
        const std::size_t db = i < rank - b.size() ? 1 : b[i - (rank - b.size())];
        DYDIFF_CHECK(da == db || da == 1 || db == 1,
                     op << ": shapes " << shape_str(a) << " and " << shape_str(b) << " do not broadcast");
        out[i] = da == 1 ? db : da;
    }
    return out;
}

/// A contiguous array seen as (outer, n, inner) around `axis`: element (o, j, i) is at (o * n + j) * inner + i.
struct AxisView {
    std::size_t outer = 1, n = 1, inner = 1;
};

template <class S>
AxisView axis_view(const S& shape, std::size_t axis) {
    AxisView v;
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (i < axis) v.outer *= shape[i];
        else if (i == axis) v.n = shape[i];
        else v.inner *= shape[i];
    }
    return v;
}

}  // namespace dydiff::autograd::detail
