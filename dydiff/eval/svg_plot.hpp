// A tiny SVG line-plot writer for experiment reports (rollout error vs horizon): axes with "nice" ticks, labels,
// a legend and one <polyline> per series. No plotting dependency; the output is plain, well-formed SVG 1.1.
// Layering: dydiff/ (on autograd/error.hpp only).
#pragma once

#include <string>
#include <vector>

namespace dydiff {

struct LineSeries {
    std::string name;         // legend text
    std::vector<double> x;    // same length as y, finite
    std::vector<double> y;
};

struct LinePlot {
    std::string title;
    std::string x_label;
    std::string y_label;
    std::vector<LineSeries> series;  // drawn in order, colours from a fixed palette
    double width = 720.0;            // pixels
    double height = 440.0;
};

/// "Nice" tick positions (steps of 1, 2 or 5 times a power of ten) covering [lo, hi], about `target` of them.
std::vector<double> nice_ticks(double lo, double hi, int target = 6);

/// The plot as an SVG document. Fails on an empty plot, a series with mismatched or empty x/y, or non-finite values.
/// The y axis starts at 0 when every value is >= 0.
std::string render_svg(const LinePlot& plot);
/// render_svg written to `path` atomically.
void write_svg(const std::string& path, const LinePlot& plot);

}  // namespace dydiff
