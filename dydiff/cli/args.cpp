// The flag parser of dydiff/cli/args.hpp.
#include "dydiff/cli/args.hpp"

#include "autograd/error.hpp"
#include "nn/parallel.hpp"

#include <cerrno>
#include <cstdlib>

namespace dydiff::cli {

Args::Args(std::string command, const std::vector<std::string>& words, const std::set<std::string>& switches)
    : command_(std::move(command)), switches_(switches) {
    switches_.insert("help");
    for (std::size_t i = 0; i < words.size(); ++i) {
        const std::string& w = words[i];
        if (w == "-h") {
            flags_.emplace_back("help", std::nullopt);
        } else if (w.size() > 2 && w.rfind("--", 0) == 0) {
            const auto eq = w.find('=');
            const std::string name = w.substr(2, eq == std::string::npos ? std::string::npos : eq - 2);
            if (switches_.count(name)) {
                if (eq != std::string::npos) fail("--" + name + " takes no value");
                flags_.emplace_back(name, std::nullopt);
            } else if (eq != std::string::npos) {
                flags_.emplace_back(name, w.substr(eq + 1));
            } else if (i + 1 < words.size()) {
                flags_.emplace_back(name, words[++i]);
            } else {
                flags_.emplace_back(name, std::nullopt);  // reported as "needs a value" when asked for
            }
        } else {
            positional_.push_back(w);
        }
    }
}

void Args::fail(const std::string& message) const {
    throw UsageError("dydiff " + command_ + ": " + message + " (see 'dydiff " + command_ + " --help')");
}

bool Args::flag(const std::string& name) {
    asked_.insert(name);
    for (const auto& [n, v] : flags_)
        if (n == name) return true;
    return false;
}

std::optional<std::string> Args::value(const std::string& name) {
    asked_.insert(name);
    std::optional<std::string> out;
    for (const auto& [n, v] : flags_)
        if (n == name) {
            if (!v) fail("--" + name + " needs a value");
            if (out) fail("--" + name + " given twice");
            out = v;
        }
    return out;
}

std::string Args::value_or(const std::string& name, const std::string& fallback) {
    const auto v = value(name);
    return v ? *v : fallback;
}

std::int64_t Args::integer(const std::string& name, std::int64_t fallback, std::int64_t lo, std::int64_t hi) {
    const auto v = value(name);
    if (!v) return fallback;
    errno = 0;
    char* end = nullptr;
    const long long n = std::strtoll(v->c_str(), &end, 10);
    if (v->empty() || *end != '\0' || errno != 0 || n < lo || n > hi)
        fail("--" + name + " wants an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got '" +
             *v + "'");
    return n;
}

double Args::real(const std::string& name, double fallback, double lo, double hi) {
    const auto v = value(name);
    if (!v) return fallback;
    errno = 0;
    char* end = nullptr;
    const double x = std::strtod(v->c_str(), &end);
    if (v->empty() || *end != '\0' || errno != 0 || !(x >= lo && x <= hi))
        fail("--" + name + " wants a number in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got '" + *v +
             "'");
    return x;
}

std::vector<std::string> Args::values(const std::string& name) {
    asked_.insert(name);
    std::vector<std::string> out;
    for (const auto& [n, v] : flags_)
        if (n == name) {
            if (!v) fail("--" + name + " needs a value");
            out.push_back(*v);
        }
    return out;
}

void Args::finish(std::size_t max_positional) {
    for (const auto& [n, v] : flags_)
        if (!asked_.count(n)) fail("unknown option '--" + n + "'");
    if (positional_.size() > max_positional)
        fail("unexpected argument '" + positional_[max_positional] + "'");
}

void apply_threads(Args& args) {
    const auto n = args.integer("threads", 0, 1, 1024);
    if (n > 0) {
        nn::set_num_threads(static_cast<std::size_t>(n));
        return;
    }
    try {
        nn::num_threads();  // reads DYDIFF_NUM_THREADS now, so that a bad value is reported before any work
    } catch (const UserError& e) {
        throw UsageError("dydiff " + args.command() + ": " + e.what());
    }
}

}  // namespace dydiff::cli
