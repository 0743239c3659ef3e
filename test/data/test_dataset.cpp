// Dataset loading and validation: the numpy-written D4RL-layout fixture (float64 observations, bool terminals,
// float 0/1 timeouts, (N, 1) rewards, infos), every error message of dataset_from_arrays, check_dims, the NPZ
// round trip, load_dataset's dispatch and summarize's closed forms.
#include "support/errors.hpp"
#include "support/temp_dir.hpp"
#include "data/dataset.hpp"
#include "data/npz.hpp"

#include "autograd/error.hpp"

#include <boost/test/unit_test.hpp>

#include <cmath>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include <unistd.h>

using dydiff::test::error_of;
using dydiff::test::contains;
using dydiff::test::TempDir;

namespace fs = std::filesystem;
using namespace dydiff::data;

namespace {

constexpr double kTol = 1e-6;
const std::string kFixtures = "fixtures/";  // tests run in test/

template <class T>
RawArray raw(const std::vector<std::size_t>& shape, const std::vector<T>& values) {
    NpyArray a = NpyArray::from_vector(shape, values);
    return RawArray{a, dtype_name(a.dtype)};
}

RawArray raw_bool(const std::vector<std::uint8_t>& values) {
    NpyArray a = NpyArray::from_data<std::uint8_t>({values.size()}, values.data());
    a.dtype = DType::bool_;
    return RawArray{a, "bool"};
}

// A valid 4-row dataset: S = 2, A = 1, terminal at row 1, timeout at row 3.
std::map<std::string, RawArray> valid_arrays() {
    std::map<std::string, RawArray> m;
    m["observations"] = raw<double>({4, 2}, {0, 1, 2, 3, 4, 5, 6, 7});
    m["actions"] = raw<float>({4, 1}, {0.5f, -0.5f, 0.25f, 1.0f});
    m["rewards"] = raw<float>({4, 1}, {1, 2, 3, 4});
    m["terminals"] = raw_bool({0, 1, 0, 0});
    m["timeouts"] = raw<float>({4}, {0, 0, 0, 1});
    return m;
}

}  // namespace

BOOST_AUTO_TEST_SUITE(dataset, *boost::unit_test::timeout(60))

BOOST_AUTO_TEST_CASE(numpy_fixture_loads_with_stored_dtypes) {
    // test/fixtures/make_dataset_fixtures.py: N = 10, S = 3, A = 2.
    const Dataset d = load_dataset(kFixtures + "d4rl_layout.npz");
    BOOST_TEST(d.size() == 10u);
    BOOST_TEST(d.obs_dim() == 3u);
    BOOST_TEST(d.action_dim() == 2u);
    BOOST_TEST(d.stored_dtypes.at("observations") == "float64");
    BOOST_TEST(d.stored_dtypes.at("terminals") == "bool");
    BOOST_TEST(d.stored_dtypes.at("timeouts") == "float64");
    BOOST_TEST(d.stored_dtypes.at("rewards") == "float32");
    for (std::size_t i = 0; i < 10; ++i) {
        for (std::size_t j = 0; j < 3; ++j) {
            const double o = static_cast<double>(i * 3 + j) * 0.25 - 1.0;
            BOOST_TEST(d.observations(i, j) == o, boost::test_tools::tolerance(kTol));
            BOOST_TEST((*d.next_observations)(i, j) == o + 0.125, boost::test_tools::tolerance(kTol));
        }
        for (std::size_t j = 0; j < 2; ++j)
            BOOST_TEST(d.actions(i, j) == static_cast<float>(i * 2 + j) / 10.0f - 0.5f);
        BOOST_TEST(d.rewards(i) == 0.5f * static_cast<float>(i));  // (N, 1) squeezed
        BOOST_TEST(d.terminals(i) == (i == 2 ? 1.0f : 0.0f));
        BOOST_TEST(d.timeouts(i) == (i == 5 ? 1.0f : 0.0f));
    }
    BOOST_REQUIRE(d.infos.count("infos/qpos") == 1u);
    BOOST_TEST(d.infos.at("infos/qpos").shape()[1] == 2u);
    BOOST_TEST(d.infos.at("infos/qpos")(9, 1) == 19.0f);
    BOOST_TEST(d.source == kFixtures + "d4rl_layout.npz");
}

BOOST_AUTO_TEST_CASE(from_arrays_converts_and_keeps_infos) {
    auto m = valid_arrays();
    m["infos/goal"] = raw<float>({4, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
    m["infos/short"] = raw<float>({3}, {1, 2, 3});   // first axis not N: ignored
    m["metadata/iteration"] = raw<std::int32_t>({}, {3});  // ignored
    const Dataset d = dataset_from_arrays(m, "mem");
    BOOST_TEST(d.observations(3, 1) == 7.0f);
    BOOST_TEST(d.rewards(2) == 3.0f);
    BOOST_TEST(d.terminals(1) == 1.0f);
    BOOST_TEST(d.timeouts(3) == 1.0f);
    BOOST_TEST(!d.next_observations.has_value());
    BOOST_TEST(d.infos.size() == 1u);
    BOOST_TEST(d.infos.at("infos/goal")(3, 1) == 8.0f);
    BOOST_TEST(d.ignored_keys.size() == 2u);
    BOOST_TEST(contains(d.ignored_keys[0] + d.ignored_keys[1], "infos/short (first axis is not N)"));
    BOOST_TEST(contains(d.ignored_keys[0] + d.ignored_keys[1], "metadata/iteration"));
}

BOOST_AUTO_TEST_CASE(missing_key_names_file_and_key) {
    auto m = valid_arrays();
    m.erase("timeouts");
    const std::string e = error_of([&] { dataset_from_arrays(m, "hopper.npz"); });
    BOOST_TEST(contains(e, "hopper.npz: missing key 'timeouts'"), e);
    BOOST_TEST(contains(e, "keys: actions, observations, rewards, terminals"), e);
}

BOOST_AUTO_TEST_CASE(length_mismatch_names_both_keys) {
    auto m = valid_arrays();
    m["actions"] = raw<float>({3, 1}, {0, 0, 0});
    const std::string e = error_of([&] { dataset_from_arrays(m, "f.npz"); });
    BOOST_TEST(contains(e, "f.npz: length mismatch: key 'actions' has 3 rows but 'observations' has 4"), e);
    m = valid_arrays();
    m["timeouts"] = raw<float>({5}, {0, 0, 0, 0, 1});
    const std::string e2 = error_of([&] { dataset_from_arrays(m, "f.npz"); });
    BOOST_TEST(contains(e2, "key 'timeouts' has 5 rows but 'observations' has 4"), e2);
    m = valid_arrays();
    m["next_observations"] = raw<float>({4, 3}, std::vector<float>(12, 0.0f));
    const std::string e3 = error_of([&] { dataset_from_arrays(m, "f.npz"); });
    BOOST_TEST(contains(e3, "key 'next_observations' has shape (4, 3) but 'observations' has (4, 2)"), e3);
}

BOOST_AUTO_TEST_CASE(wrong_rank_is_an_error) {
    auto m = valid_arrays();
    m["observations"] = raw<float>({4}, {0, 1, 2, 3});
    const std::string e = error_of([&] { dataset_from_arrays(m, "f.npz"); });
    BOOST_TEST(contains(e, "f.npz: key 'observations' has shape (4,), expected rank 2 (N, dim)"), e);
    m = valid_arrays();
    m["rewards"] = raw<float>({2, 2}, {1, 2, 3, 4});
    const std::string e2 = error_of([&] { dataset_from_arrays(m, "f.npz"); });
    BOOST_TEST(contains(e2, "key 'rewards' has shape (2, 2), expected (N,) or (N, 1)"), e2);
    m = valid_arrays();
    m["actions"] = raw<float>({4, 0}, {});
    const std::string e3 = error_of([&] { dataset_from_arrays(m, "f.npz"); });
    BOOST_TEST(contains(e3, "key 'actions' has shape (4, 0): its dimension must be at least 1"), e3);
}

BOOST_AUTO_TEST_CASE(non_finite_values_name_key_and_first_index) {
    auto m = valid_arrays();
    const double nan = std::numeric_limits<double>::quiet_NaN();
    m["observations"] = raw<double>({4, 2}, {0, 1, 2, nan, 4, nan, 6, 7});
    const std::string e = error_of([&] { dataset_from_arrays(m, "f.npz"); });
    BOOST_TEST(contains(e, "f.npz: key 'observations' has a non-finite value nan at row 1, column 1"), e);
    m = valid_arrays();
    m["rewards"] = raw<float>({4}, {1, 2, 3, std::numeric_limits<float>::infinity()});
    const std::string e2 = error_of([&] { dataset_from_arrays(m, "f.npz"); });
    BOOST_TEST(contains(e2, "key 'rewards' has a non-finite value inf at row 3"), e2);
    m = valid_arrays();
    m["observations"] = raw<double>({4, 2}, {0, 1, 2, 3, 1e300, 5, 6, 7});
    const std::string e3 = error_of([&] { dataset_from_arrays(m, "f.npz"); });
    BOOST_TEST(contains(e3, "key 'observations' row 2, column 0: the float64 value 1e+300 overflows float32"), e3);
    m = valid_arrays();
    m["next_observations"] = raw<float>({4, 2}, {0, 0, 0, 0, 0, 0, -std::numeric_limits<float>::infinity(), 0});
    const std::string e4 = error_of([&] { dataset_from_arrays(m, "f.npz"); });
    BOOST_TEST(contains(e4, "key 'next_observations' has a non-finite value -inf at row 3, column 0"), e4);
}

BOOST_AUTO_TEST_CASE(flags_must_be_bool_or_zero_one) {
    auto m = valid_arrays();
    m["terminals"] = raw<float>({4}, {0, 1, 0.5f, 0});
    const std::string e = error_of([&] { dataset_from_arrays(m, "f.npz"); });
    BOOST_TEST(contains(e, "f.npz: key 'terminals' row 2 holds 0.5 (stored as float32): episode flags must be bool "
                           "or the numbers 0 and 1"), e);
    m = valid_arrays();
    m["timeouts"] = raw<std::int64_t>({4}, {0, 2, 0, 0});
    const std::string e2 = error_of([&] { dataset_from_arrays(m, "f.npz"); });
    BOOST_TEST(contains(e2, "key 'timeouts' row 1 holds 2 (stored as int64)"), e2);
    m = valid_arrays();
    m["timeouts"] = raw<std::int64_t>({4, 1}, {0, 1, 0, 1});  // (N, 1) integer 0/1 flags are fine
    BOOST_TEST(dataset_from_arrays(m, "f.npz").timeouts(3) == 1.0f);
}

BOOST_AUTO_TEST_CASE(check_dims_names_both_sides) {
    const Dataset d = dataset_from_arrays(valid_arrays(), "walker.npz");
    check_dims(d, 2, 1, "config a.toml");
    const std::string e = error_of([&] { check_dims(d, 17, 6, "checkpoint run/diffusion.npz"); });
    BOOST_TEST(contains(e, "checkpoint run/diffusion.npz expects obs dim 17, action dim 6, but dataset walker.npz has "
                           "obs dim 2, action dim 1"), e);
}

BOOST_AUTO_TEST_CASE(npz_round_trip_is_exact) {
    TempDir tmp;
    auto m = valid_arrays();
    m["next_observations"] = raw<float>({4, 2}, {1, 2, 3, 4, 5, 6, 7, 8});
    m["infos/qpos"] = raw<float>({4}, {9, 8, 7, 6});
    const Dataset d = dataset_from_arrays(m, "mem");
    save_dataset_npz(d, tmp / "d.npz");
    const Dataset e = load_dataset(tmp / "d.npz");
    BOOST_TEST(e.observations == d.observations);
    BOOST_TEST(e.actions == d.actions);
    BOOST_TEST(e.rewards == d.rewards);
    BOOST_TEST(e.terminals == d.terminals);
    BOOST_TEST(e.timeouts == d.timeouts);
    BOOST_TEST(*e.next_observations == *d.next_observations);
    BOOST_TEST(e.infos.at("infos/qpos") == d.infos.at("infos/qpos"));
    BOOST_TEST(e.stored_dtypes.at("terminals") == "bool");
    BOOST_TEST(e.stored_dtypes.at("observations") == "float32");
}

BOOST_AUTO_TEST_CASE(load_dataset_dispatch_errors) {
    const std::string e = error_of([] { load_dataset("data.csv"); });
    BOOST_TEST(contains(e, "data.csv: unknown dataset format '.csv'"), e);
    const std::string e2 = error_of([] { load_dataset(kFixtures + "no_such_file.npz"); });
    BOOST_TEST(contains(e2, "no_such_file.npz"), e2);
    if (!hdf5_supported()) {
        const std::string e3 = error_of([] { load_dataset("hopper-medium-v2.hdf5"); });
        BOOST_TEST(contains(e3, "built without HDF5 support"), e3);
        BOOST_TEST(contains(e3, "h5py"), e3);
    }
}

BOOST_AUTO_TEST_CASE(summarize_closed_form) {
    // Episodes [0, 2) return 1 + 2 = 3, [2, 4) return 3 + 4 = 7: mean 5, population std 2.
    const DatasetSummary s = summarize(dataset_from_arrays(valid_arrays(), "mem"));
    BOOST_TEST(s.size == 4u);
    BOOST_TEST(s.episodes == 2u);
    BOOST_TEST(s.tail_rows == 0u);
    BOOST_TEST(s.length_min == 2u);
    BOOST_TEST(s.length_max == 2u);
    BOOST_TEST(s.length_mean == 2.0);
    BOOST_TEST(s.terminals == 1u);
    BOOST_TEST(s.timeouts == 1u);
    BOOST_TEST(s.return_mean == 5.0);
    BOOST_TEST(s.return_std == 2.0);
    BOOST_TEST(s.return_min == 3.0);
    BOOST_TEST(s.return_max == 7.0);
    BOOST_TEST(s.obs_min == std::vector<float>({0.0f, 1.0f}), boost::test_tools::per_element());
    BOOST_TEST(s.obs_max == std::vector<float>({6.0f, 7.0f}), boost::test_tools::per_element());
    BOOST_TEST(s.action_min[0] == -0.5f);
    BOOST_TEST(s.action_max[0] == 1.0f);

    auto m = valid_arrays();
    m["timeouts"] = raw<float>({4}, {0, 0, 0, 0});  // rows 2, 3 become an unflagged tail
    const DatasetSummary t = summarize(dataset_from_arrays(m, "mem"));
    BOOST_TEST(t.episodes == 1u);
    BOOST_TEST(t.tail_rows == 2u);
    BOOST_TEST(t.return_std == 0.0);
}

BOOST_AUTO_TEST_SUITE_END()
