// The only includer of xtensor headers (xtensor 0.24's flat layout); an upgrade to 0.26+ touches this file alone.
// autograd's storage type lives here: Array, a contiguous row-major xt::xarray<float>.
#pragma once

#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>
#include <xtensor/xbroadcast.hpp>
#include <xtensor/xbuilder.hpp>
#include <xtensor/xindex_view.hpp>
#include <xtensor/xmath.hpp>
#include <xtensor/xnoalias.hpp>
#include <xtensor/xmanipulation.hpp>
#include <xtensor/xreducer.hpp>
#include <xtensor/xsort.hpp>
#include <xtensor/xstrided_view.hpp>
#include <xtensor/xtensor.hpp>
#include <xtensor/xview.hpp>

#include <cstddef>
#include <vector>

namespace dydiff::autograd {

/// Every value and gradient in the engine: float32, row-major, always contiguous (never a lazy view).
using Array = xt::xarray<float>;
using Shape = std::vector<std::size_t>;

}  // namespace dydiff::autograd
