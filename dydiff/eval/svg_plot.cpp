// SVG line plots (see svg_plot.hpp).
#include "dydiff/eval/svg_plot.hpp"

#include "autograd/error.hpp"
#include "data/atomic_file.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <limits>
#include <sstream>

namespace dydiff {

namespace {

// Okabe-Ito colour-blind-safe palette, then grey.
constexpr const char* kPalette[] = {"#0072B2", "#D55E00", "#009E73", "#CC79A7", "#E69F00", "#56B4E9", "#000000",
                                    "#999999"};
constexpr double kMarginLeft = 70.0, kMarginRight = 170.0, kMarginTop = 40.0, kMarginBottom = 55.0;

std::string num(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.2f", v);
    return buf;
}

std::string tick_label(double v) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%g", std::abs(v) < 1e-12 ? 0.0 : v);
    return buf;
}

}  // namespace

const char* series_colour(std::size_t i) { return kPalette[i % (sizeof(kPalette) / sizeof(kPalette[0]))]; }

std::string svg_escape(const std::string& text) {
    std::string out;
    for (char c : text) {
        switch (c) {
            case '&': out += "&amp;"; break;
            case '<': out += "&lt;"; break;
            case '>': out += "&gt;"; break;
            case '"': out += "&quot;"; break;
            default: out += c;
        }
    }
    return out;
}

std::vector<double> nice_ticks(double lo, double hi, int target) {
    DYDIFF_CHECK(std::isfinite(lo) && std::isfinite(hi) && lo <= hi && target >= 2,
                 "nice_ticks: bad range [" << lo << ", " << hi << "] or target " << target);
    if (hi == lo) hi = lo + 1.0;
    const double raw = (hi - lo) / static_cast<double>(target - 1);
    const double mag = std::pow(10.0, std::floor(std::log10(raw)));
    double step = mag;
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (m * mag >= raw) {
            step = m * mag;
            break;
        }
    std::vector<double> ticks;
    for (double t = std::floor(lo / step) * step; t <= hi + 1e-9 * step; t += step) ticks.push_back(t);
    if (ticks.back() < hi) ticks.push_back(ticks.back() + step);
    return ticks;
}

std::string render_svg(const LinePlot& plot) {
    DYDIFF_CHECK(!plot.series.empty(), "render_svg: no series");
    double x_lo = std::numeric_limits<double>::infinity(), x_hi = -x_lo, y_lo = x_lo, y_hi = -x_lo;
    for (const auto& s : plot.series) {
        DYDIFF_CHECK(!s.x.empty() && s.x.size() == s.y.size(),
                     "render_svg: series '" << s.name << "' has " << s.x.size() << " x and " << s.y.size() << " y");
        for (std::size_t i = 0; i < s.x.size(); ++i) {
            DYDIFF_CHECK(std::isfinite(s.x[i]) && std::isfinite(s.y[i]),
                         "render_svg: series '" << s.name << "' point " << i << " is not finite");
            x_lo = std::min(x_lo, s.x[i]);
            x_hi = std::max(x_hi, s.x[i]);
            y_lo = std::min(y_lo, s.y[i]);
            y_hi = std::max(y_hi, s.y[i]);
        }
        DYDIFF_CHECK((s.band_lo.empty() && s.band_hi.empty()) ||
                         (s.band_lo.size() == s.x.size() && s.band_hi.size() == s.x.size()),
                     "render_svg: series '" << s.name << "' has " << s.x.size() << " points but a band of "
                                            << s.band_lo.size() << " lo and " << s.band_hi.size() << " hi values");
        for (std::size_t i = 0; i < s.band_lo.size(); ++i) {
            DYDIFF_CHECK(std::isfinite(s.band_lo[i]) && std::isfinite(s.band_hi[i]) && s.band_lo[i] <= s.band_hi[i],
                         "render_svg: series '" << s.name << "' band at point " << i << " is [" << s.band_lo[i]
                                                << ", " << s.band_hi[i] << "]");
            y_lo = std::min(y_lo, s.band_lo[i]);
            y_hi = std::max(y_hi, s.band_hi[i]);
        }
    }
    if (y_lo >= 0.0) y_lo = 0.0;
    const std::vector<double> xt = nice_ticks(x_lo, x_hi), yt = nice_ticks(y_lo, y_hi);
    x_lo = std::min(x_lo, xt.front());
    x_hi = std::max(x_hi, xt.back());
    y_lo = std::min(y_lo, yt.front());
    y_hi = std::max(y_hi, yt.back());
    const double pw = plot.width - kMarginLeft - kMarginRight, ph = plot.height - kMarginTop - kMarginBottom;
    auto px = [&](double x) { return kMarginLeft + (x - x_lo) / (x_hi - x_lo) * pw; };
    auto py = [&](double y) { return kMarginTop + ph - (y - y_lo) / (y_hi - y_lo) * ph; };

    std::ostringstream os;
    os << "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
       << "<svg xmlns=\"http://www.w3.org/2000/svg\" version=\"1.1\" width=\"" << num(plot.width) << "\" height=\""
       << num(plot.height) << "\" viewBox=\"0 0 " << num(plot.width) << " " << num(plot.height)
       << "\" font-family=\"sans-serif\" font-size=\"12\">\n"
       << "<rect x=\"0\" y=\"0\" width=\"" << num(plot.width) << "\" height=\"" << num(plot.height)
       << "\" fill=\"white\"/>\n";
    os << "<text x=\"" << num(kMarginLeft + pw / 2) << "\" y=\"22\" text-anchor=\"middle\" font-size=\"15\">"
       << svg_escape(plot.title) << "</text>\n";
    // Grid and ticks.
    os << "<g stroke=\"#dddddd\" stroke-width=\"1\">\n";
    for (double t : xt)
        os << "<line x1=\"" << num(px(t)) << "\" y1=\"" << num(kMarginTop) << "\" x2=\"" << num(px(t)) << "\" y2=\""
           << num(kMarginTop + ph) << "\"/>\n";
    for (double t : yt)
        os << "<line x1=\"" << num(kMarginLeft) << "\" y1=\"" << num(py(t)) << "\" x2=\"" << num(kMarginLeft + pw)
           << "\" y2=\"" << num(py(t)) << "\"/>\n";
    os << "</g>\n";
    os << "<g stroke=\"black\" stroke-width=\"1\">\n"
       << "<line x1=\"" << num(kMarginLeft) << "\" y1=\"" << num(kMarginTop + ph) << "\" x2=\"" << num(kMarginLeft + pw)
       << "\" y2=\"" << num(kMarginTop + ph) << "\"/>\n"
       << "<line x1=\"" << num(kMarginLeft) << "\" y1=\"" << num(kMarginTop) << "\" x2=\"" << num(kMarginLeft)
       << "\" y2=\"" << num(kMarginTop + ph) << "\"/>\n</g>\n";
    os << "<g text-anchor=\"middle\">\n";
    for (double t : xt)
        os << "<text x=\"" << num(px(t)) << "\" y=\"" << num(kMarginTop + ph + 18) << "\">" << tick_label(t)
           << "</text>\n";
    os << "</g>\n<g text-anchor=\"end\">\n";
    for (double t : yt)
        os << "<text x=\"" << num(kMarginLeft - 6) << "\" y=\"" << num(py(t) + 4) << "\">" << tick_label(t)
           << "</text>\n";
    os << "</g>\n";
    os << "<text x=\"" << num(kMarginLeft + pw / 2) << "\" y=\"" << num(plot.height - 12)
       << "\" text-anchor=\"middle\">" << svg_escape(plot.x_label) << "</text>\n";
    os << "<text x=\"16\" y=\"" << num(kMarginTop + ph / 2) << "\" text-anchor=\"middle\" transform=\"rotate(-90 16 "
       << num(kMarginTop + ph / 2) << ")\">" << svg_escape(plot.y_label) << "</text>\n";
    // Series and legend.
    // Bands first, so every line stays visible above every band.
    for (std::size_t i = 0; i < plot.series.size(); ++i) {
        const auto& s = plot.series[i];
        if (s.band_lo.empty()) continue;
        os << "<polygon fill=\"" << series_colour(i) << "\" fill-opacity=\"0.18\" stroke=\"none\" points=\"";
        for (std::size_t k = 0; k < s.x.size(); ++k) os << (k ? " " : "") << num(px(s.x[k])) << "," << num(py(s.band_hi[k]));
        for (std::size_t k = s.x.size(); k-- > 0;) os << " " << num(px(s.x[k])) << "," << num(py(s.band_lo[k]));
        os << "\"/>\n";
    }
    for (std::size_t i = 0; i < plot.series.size(); ++i) {
        const auto& s = plot.series[i];
        if (s.x.size() == 1) {
            os << "<circle cx=\"" << num(px(s.x[0])) << "\" cy=\"" << num(py(s.y[0])) << "\" r=\"3\" fill=\""
               << series_colour(i) << "\"/>\n";
            continue;
        }
        os << "<polyline fill=\"none\" stroke=\"" << series_colour(i) << "\" stroke-width=\"2\" points=\"";
        for (std::size_t k = 0; k < s.x.size(); ++k) os << (k ? " " : "") << num(px(s.x[k])) << "," << num(py(s.y[k]));
        os << "\"/>\n";
    }
    const double lx = kMarginLeft + pw + 15;
    for (std::size_t i = 0; i < plot.series.size(); ++i) {
        const double ly = kMarginTop + 10 + 20.0 * static_cast<double>(i);
        os << "<line x1=\"" << num(lx) << "\" y1=\"" << num(ly) << "\" x2=\"" << num(lx + 24) << "\" y2=\"" << num(ly)
           << "\" stroke=\"" << series_colour(i) << "\" stroke-width=\"2\"/>\n"
           << "<text x=\"" << num(lx + 30) << "\" y=\"" << num(ly + 4) << "\">" << svg_escape(plot.series[i].name)
           << "</text>\n";
    }
    os << "</svg>\n";
    return os.str();
}

void write_svg(const std::string& path, const LinePlot& plot) { data::write_file_atomic(path, render_svg(plot)); }

}  // namespace dydiff
