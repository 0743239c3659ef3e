// embed_policy: runs an exported dydiff policy (docs/embedding.md) with nothing but libdydiff_embed.a.
//   embed_policy POLICY.npz              reads observations from standard input, one per line (obs_dim numbers,
//                                        separated by spaces or commas), and prints one action per line
//   embed_policy POLICY.npz --bench N    times N act() calls on fixed pseudo-random observations, prints ns/call
// The loop is what a controller does: load once, then act() per control tick with no allocation.
#include "embed/policy.hpp"

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>
#include <sstream>
#include <string>
#include <vector>

namespace {

constexpr const char* kUsage =
    "usage: embed_policy POLICY.npz [--bench N] [--seed S]\n"
    "  reads observations (obs_dim numbers per line) from standard input and prints one action per line\n"
    "  --bench N   time N act() calls instead (observations: 64 fixed N(0, 1) vectors, cycled)\n"
    "  --seed S    the noise stream of a ddpm policy (default 0)\n";

int run_bench(dydiff::embed::Policy& policy, long calls) {
    constexpr std::size_t kObservations = 64;
    dydiff::embed::Rng rng(12345);
    std::vector<float> obs(kObservations * policy.obs_dim()), action(policy.action_dim());
    for (float& x : obs) x = rng.normal();
    float sink = 0.0f;  // keeps the calls observable
    for (std::size_t i = 0; i < kObservations; ++i) policy.act(&obs[i * policy.obs_dim()], action.data());  // warm-up
    const auto start = std::chrono::steady_clock::now();
    for (long i = 0; i < calls; ++i) {
        policy.act(&obs[(static_cast<std::size_t>(i) % kObservations) * policy.obs_dim()], action.data());
        sink += action[0];
    }
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    std::printf("%s policy, obs %zu, action %zu: %ld calls in %.3f s, %.0f ns per call (checksum %g)\n",
                policy.kind().c_str(), policy.obs_dim(), policy.action_dim(), calls, seconds, 1e9 * seconds / calls,
                static_cast<double>(sink));
    return 0;
}

}  // namespace

int main(int argc, char** argv) {
    if (argc < 2 || std::strcmp(argv[1], "--help") == 0) {
        std::fputs(kUsage, argc < 2 ? stderr : stdout);
        return argc < 2 ? 2 : 0;
    }
    long bench = 0;
    unsigned long long seed = 0;
    for (int i = 2; i < argc; ++i) {
        const bool has_value = i + 1 < argc;
        if (std::strcmp(argv[i], "--bench") == 0 && has_value) {
            bench = std::strtol(argv[++i], nullptr, 10);
        } else if (std::strcmp(argv[i], "--seed") == 0 && has_value) {
            seed = std::strtoull(argv[++i], nullptr, 10);
        } else {
            std::fprintf(stderr, "embed_policy: unknown or incomplete argument '%s'\n%s", argv[i], kUsage);
            return 2;
        }
    }
    try {
        dydiff::embed::Policy policy = dydiff::embed::Policy::load(argv[1]);
        policy.seed(seed);
        if (bench > 0) return run_bench(policy, bench);
        std::vector<float> obs(policy.obs_dim()), action(policy.action_dim());
        std::string line;
        for (long number = 1; std::getline(std::cin, line); ++number) {
            for (char& c : line)
                if (c == ',') c = ' ';
            std::istringstream in(line);
            std::size_t n = 0;
            bool bad = false;
            for (std::string word; in >> word;) {
                char* end = nullptr;
                const float x = std::strtof(word.c_str(), &end);
                if (*end != '\0' || n == obs.size()) {
                    bad = true;
                    break;
                }
                obs[n++] = x;
            }
            if (n == 0 && !bad) continue;  // a blank line
            if (bad || n != obs.size()) {
                std::fprintf(stderr, "embed_policy: stdin line %ld: expected %zu numbers\n", number, obs.size());
                return 1;
            }
            policy.act(obs.data(), action.data());
            for (std::size_t k = 0; k < action.size(); ++k) std::printf(k ? " %.9g" : "%.9g", static_cast<double>(action[k]));
            std::printf("\n");
        }
    } catch (const dydiff::embed::PolicyError& e) {
        std::fprintf(stderr, "embed_policy: %s\n", e.what());
        return 1;
    }
    return 0;
}
