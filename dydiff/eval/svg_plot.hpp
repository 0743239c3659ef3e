// A tiny SVG line-plot writer for experiment reports (rollout error vs horizon, learning curves): axes with "nice"
// ticks, labels, a legend and one <polyline> per series, with an optional shaded band (mean +- std) under it. No
// plotting dependency; the output is plain, well-formed SVG 1.1.
// Layering: dydiff/ (on autograd/error.hpp only).
#pragma once

#include <cstddef>
#include <string>
#include <vector>

namespace dydiff {

struct LineSeries {
    std::string name;         // legend text
    std::vector<double> x;    // same length as y, finite
    std::vector<double> y;
    /// Optional band drawn as a translucent area in the series' colour: empty, or both of x's length with
    /// band_lo[i] <= band_hi[i] (e.g. mean - std and mean + std).
    std::vector<double> band_lo;
    std::vector<double> band_hi;
};

struct LinePlot {
    std::string title;
    std::string x_label;
    std::string y_label;
    std::vector<LineSeries> series;  // drawn in order, colours from a fixed palette
    double width = 720.0;            // pixels
    double height = 440.0;
};

/// The colour of series i (a colour-blind-safe palette, cycling), shared by every picture of a report.
const char* series_colour(std::size_t i);
/// Text with &, <, >, " escaped for SVG/XML content and attribute values.
std::string svg_escape(const std::string& text);

/// "Nice" tick positions (steps of 1, 2 or 5 times a power of ten) covering [lo, hi], about `target` of them.
std::vector<double> nice_ticks(double lo, double hi, int target = 6);

/// The plot as an SVG document. Fails on an empty plot, a series with mismatched or empty x/y, a band of the wrong
/// length or with lo > hi, or non-finite values. The y axis covers the bands and starts at 0 when every value is
/// >= 0. A one-point series is drawn as a dot.
std::string render_svg(const LinePlot& plot);
/// render_svg written to `path` atomically.
void write_svg(const std::string& path, const LinePlot& plot);

}  // namespace dydiff
