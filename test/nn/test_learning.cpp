// Small learning tests with a fixed step budget and a stated target: an MLP fits a 1-D function, a small
// conv net (down-sampling conv, transposed conv, GroupNorm, Mish, a skip) fits a sequence task. And determinism:
// the same seed gives bitwise identical parameters after training, with 1 thread and with 2.
#include "autograd/ops.hpp"
#include "nn/activation_ops.hpp"
#include "nn/conv.hpp"
#include "nn/mlp.hpp"
#include "nn/norm.hpp"
#include "nn/optim.hpp"
#include "nn/parallel.hpp"

#include <boost/test/unit_test.hpp>

#include <cmath>

using namespace dydiff;
using autograd::Array;
using autograd::Tensor;

namespace {

// y = sin(2x) on 128 points of [-pi, pi].
constexpr std::size_t kPoints = 128;
constexpr int kMlpSteps = 1500;
constexpr float kMlpTargetMse = 1e-3f;

void sine_data(Array& x, Array& y) {
    x = xt::empty<float>({kPoints, std::size_t{1}});
    y = xt::empty<float>({kPoints, std::size_t{1}});
    for (std::size_t i = 0; i < kPoints; ++i) {
        x(i, 0) = static_cast<float>(-M_PI + 2 * M_PI * i / (kPoints - 1));
        y(i, 0) = std::sin(2 * x(i, 0));
    }
}

float train_sine_mlp(nn::MLP& mlp, int steps) {
    Array x, y;
    sine_data(x, y);
    nn::Adam opt(mlp.named_parameters(), nn::AdamConfig{3e-3f});
    float loss_value = 0;
    for (int s = 0; s < steps; ++s) {
        Tensor loss = autograd::mean(autograd::square(mlp.forward(Tensor(x)) - Tensor(y)));
        opt.zero_grad();
        loss.backward();
        opt.step();
        loss_value = loss.item();
    }
    return loss_value;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(learning)

BOOST_AUTO_TEST_CASE(mlp_fits_a_sine) {
    data::Rng rng(11);
    nn::MLP mlp({1, 64, 64, 1}, nn::Activation::tanh, rng);
    const float loss = train_sine_mlp(mlp, kMlpSteps);
    BOOST_TEST_MESSAGE("sine MLP final MSE " << loss);
    BOOST_TEST(loss < kMlpTargetMse);
}

BOOST_AUTO_TEST_CASE(conv_net_fits_a_sequence_task) {
    // Task: from a random sequence x (B, 1, 16), predict its centred 3-tap moving average shifted by one step.
    constexpr std::size_t B = 16, H = 16;
    constexpr int kSteps = 400;
    constexpr float kTargetMse = 1e-2f;
    data::Rng rng(12);
    nn::Conv1d in(1, 8, 5, rng, 1, 2);
    nn::GroupNorm norm(2, 8);
    nn::Conv1d down(8, 8, 3, rng, 2, 1);          // 16 -> 8
    nn::ConvTranspose1d up(8, 8, 4, rng, 2, 1);   // 8 -> 16
    nn::Conv1d out(16, 1, 1, rng);                // after concatenating the skip
    std::vector<nn::NamedTensors> groups;
    nn::NamedTensors params;
    for (nn::Module* m : std::initializer_list<nn::Module*>{&in, &norm, &down, &up, &out})
        for (auto& p : m->named_parameters()) params.push_back(p);
    nn::Adam opt(params, nn::AdamConfig{3e-3f});
    auto forward = [&](const Tensor& x) {
        Tensor h = nn::mish(norm.forward(in.forward(x)));            // (B, 8, 16)
        Tensor u = up.forward(nn::mish(down.forward(h)));           // (B, 8, 16)
        return out.forward(autograd::concat({h, u}, 1));            // (B, 1, 16)
    };
    float loss_value = 0;
    for (int s = 0; s < kSteps; ++s) {
        Array x = xt::empty<float>({B, std::size_t{1}, H});
        rng.fill_normal(x.data(), x.size());
        Array y = xt::zeros<float>({B, std::size_t{1}, H});
        for (std::size_t b = 0; b < B; ++b)
            for (std::size_t t = 0; t < H; ++t) {
                float acc = 0;
                for (int d = -1; d <= 1; ++d) {
                    const long k = static_cast<long>(t) - 1 + d;  // shifted by one step, zero outside
                    if (k >= 0 && k < static_cast<long>(H)) acc += x(b, 0, static_cast<std::size_t>(k));
                }
                y(b, 0, t) = acc / 3.0f;
            }
        Tensor loss = autograd::mean(autograd::square(forward(Tensor(x)) - Tensor(y)));
        opt.zero_grad();
        loss.backward();
        opt.step();
        loss_value = loss.item();
    }
    BOOST_TEST_MESSAGE("conv net final MSE " << loss_value);
    BOOST_TEST(loss_value < kTargetMse);
}

BOOST_AUTO_TEST_CASE(same_seed_same_parameters_bitwise) {
    auto train = [](std::size_t threads) {
        nn::set_num_threads(threads);
        data::Rng rng(7);
        auto mlp = std::make_unique<nn::MLP>(std::vector<std::size_t>{1, 64, 64, 1}, nn::Activation::tanh, rng);
        train_sine_mlp(*mlp, 50);
        std::vector<Array> values;
        for (auto& [name, p] : mlp->named_parameters()) values.push_back(p.value());
        return values;
    };
    const auto a = train(1), b = train(1), c = train(2);
    nn::set_num_threads(0);
    BOOST_REQUIRE(a.size() == b.size());
    for (std::size_t i = 0; i < a.size(); ++i) {
        BOOST_TEST(a[i] == b[i]);  // exact equality, element by element
        BOOST_TEST(a[i] == c[i]);  // the kernels split work, never reductions, across threads
    }
}

BOOST_AUTO_TEST_SUITE_END()
