// The HDF5 reader (its own `meson test` data_hdf5; exit 77 = SKIP when built without the `hdf5` feature).
// D4RL-layout files are built here with libhdf5's C API the way D4RL's are (gzip-compressed chunked datasets, h5py's
// bool enum for terminals, scalar metadata/*, an infos/ group), in float32 and float64, and must load identically to
// the same arrays written as NPZ. The committed h5py fixture must load identically to its numpy twin
// (test/fixtures/make_dataset_fixtures.py). Minari files and non-HDF5 files give their errors.
#if DYDIFF_HAVE_HDF5

#define BOOST_TEST_MODULE data_hdf5
#include "support/errors.hpp"
#include <boost/test/unit_test.hpp>

#include "data/dataset.hpp"
#include "data/npz.hpp"

#include "autograd/error.hpp"

#include <hdf5.h>

#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <unistd.h>

using dydiff::test::error_of;
using dydiff::test::contains;

namespace fs = std::filesystem;
using namespace dydiff::data;

namespace {

const std::string kFixtures = "fixtures/";  // tests run in test/

struct TempDir {
    fs::path dir;
    TempDir() {
        static int counter = 0;
        dir = fs::temp_directory_path() / ("dydiff-test-hdf5-" + std::to_string(::getpid()) + "-" +
                                           std::to_string(counter++));
        fs::remove_all(dir);
        fs::create_directories(dir);
    }
    ~TempDir() {
        std::error_code ec;
        fs::remove_all(dir, ec);
    }
    std::string operator/(const std::string& name) const { return (dir / name).string(); }
};

// A file being written through the C API; datasets get intermediate groups created ("infos/qpos").
class H5Writer {
public:
    explicit H5Writer(const std::string& path) : file_(H5Fcreate(path.c_str(), H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT)) {
        BOOST_REQUIRE(file_ >= 0);
        lcpl_ = H5Pcreate(H5P_LINK_CREATE);
        H5Pset_create_intermediate_group(lcpl_, 1);
    }
    ~H5Writer() {
        H5Pclose(lcpl_);
        H5Fclose(file_);
    }
    H5Writer(const H5Writer&) = delete;
    H5Writer& operator=(const H5Writer&) = delete;

    /// `type` is both the file and the memory type; gzip adds one chunk over the whole array and deflate level 4.
    void write(const std::string& path, hid_t type, const std::vector<hsize_t>& dims, const void* data, bool gzip = true) {
        const hid_t space = dims.empty() ? H5Screate(H5S_SCALAR)
                                         : H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr);
        const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
        if (gzip && !dims.empty()) {
            H5Pset_chunk(dcpl, static_cast<int>(dims.size()), dims.data());
            H5Pset_deflate(dcpl, 4);
        }
        const hid_t ds = H5Dcreate2(file_, path.c_str(), type, space, lcpl_, dcpl, H5P_DEFAULT);
        BOOST_REQUIRE(ds >= 0);
        BOOST_REQUIRE(H5Dwrite(ds, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data) >= 0);
        H5Dclose(ds);
        H5Pclose(dcpl);
        H5Sclose(space);
    }

    /// A scalar fixed-length string, as h5py writes metadata/algorithm.
    void write_string(const std::string& path, const std::string& text) {
        const hid_t type = H5Tcopy(H5T_C_S1);
        H5Tset_size(type, text.size());
        write(path, type, {}, text.data(), false);
        H5Tclose(type);
    }

private:
    hid_t file_;
    hid_t lcpl_;
};

// h5py's bool: an enum of int8 {FALSE = 0, TRUE = 1}.
hid_t bool_enum() {
    const hid_t t = H5Tenum_create(H5T_NATIVE_INT8);
    std::int8_t v = 0;
    H5Tenum_insert(t, "FALSE", &v);
    v = 1;
    H5Tenum_insert(t, "TRUE", &v);
    return t;
}

constexpr std::size_t kN = 7, kS = 3, kA = 2;

// The same D4RL-layout data as HDF5 (C API) and as NPZ (our writer), observations in float or double.
template <class Real>
void write_both(const std::string& h5_path, const std::string& npz_path) {
    std::vector<Real> obs(kN * kS);
    for (std::size_t i = 0; i < obs.size(); ++i) obs[i] = static_cast<Real>(0.1) * static_cast<Real>(i) - 1;
    std::vector<float> act(kN * kA), rew(kN), tout(kN, 0.0f), qpos(kN * 2);
    for (std::size_t i = 0; i < act.size(); ++i) act[i] = 0.25f * static_cast<float>(i) - 1.0f;
    for (std::size_t i = 0; i < kN; ++i) rew[i] = static_cast<float>(i) * 1.5f - 2.0f;
    for (std::size_t i = 0; i < qpos.size(); ++i) qpos[i] = static_cast<float>(i);
    const std::vector<std::uint8_t> term = {0, 0, 1, 0, 0, 0, 0};
    tout[5] = 1.0f;
    const std::int32_t iteration = 42;
    const hid_t real_type = sizeof(Real) == 8 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_FLOAT;
    {
        H5Writer w(h5_path);
        w.write("observations", real_type, {kN, kS}, obs.data());
        w.write("actions", H5T_NATIVE_FLOAT, {kN, kA}, act.data());
        w.write("rewards", H5T_NATIVE_FLOAT, {kN, 1}, rew.data());  // (N, 1) rewards
        const hid_t b = bool_enum();
        w.write("terminals", b, {kN}, term.data());
        H5Tclose(b);
        w.write("timeouts", H5T_NATIVE_FLOAT, {kN}, tout.data());  // float 0/1 timeouts
        w.write("infos/qpos", H5T_NATIVE_FLOAT, {kN, 2}, qpos.data());
        w.write_string("metadata/algorithm", "SAC");
        w.write("metadata/iteration", H5T_NATIVE_INT32, {}, &iteration, false);
    }
    NpyArray term_array = NpyArray::from_data<std::uint8_t>({kN}, term.data());
    term_array.dtype = DType::bool_;
    write_npz(npz_path, {{"observations", NpyArray::from_vector({kN, kS}, obs)},
                         {"actions", NpyArray::from_vector({kN, kA}, act)},
                         {"rewards", NpyArray::from_vector({kN, 1}, rew)},
                         {"terminals", term_array},
                         {"timeouts", NpyArray::from_vector({kN}, tout)},
                         {"infos/qpos", NpyArray::from_vector({kN, 2}, qpos)}});
}

void check_same(const Dataset& a, const Dataset& b) {
    BOOST_TEST(a.observations == b.observations);
    BOOST_TEST(a.actions == b.actions);
    BOOST_TEST(a.rewards == b.rewards);
    BOOST_TEST(a.terminals == b.terminals);
    BOOST_TEST(a.timeouts == b.timeouts);
    BOOST_TEST(a.next_observations.has_value() == b.next_observations.has_value());
    if (a.next_observations && b.next_observations) BOOST_TEST(*a.next_observations == *b.next_observations);
    BOOST_TEST(a.infos.size() == b.infos.size());
    for (const auto& [key, value] : a.infos) {
        BOOST_REQUIRE(b.infos.count(key) == 1u);
        BOOST_TEST(value == b.infos.at(key));
    }
    BOOST_TEST(a.stored_dtypes == b.stored_dtypes);
}

}  // namespace

BOOST_AUTO_TEST_SUITE(hdf5, *boost::unit_test::timeout(60))

BOOST_AUTO_TEST_CASE(d4rl_gzip_float32_loads_like_npz) {
    TempDir tmp;
    write_both<float>(tmp / "d.hdf5", tmp / "d.npz");
    const Dataset h = load_dataset(tmp / "d.hdf5");
    const Dataset n = load_dataset(tmp / "d.npz");
    check_same(h, n);
    BOOST_TEST(h.terminals(2) == 1.0f);
    BOOST_TEST(h.timeouts(5) == 1.0f);
    BOOST_TEST(h.stored_dtypes.at("terminals") == "bool");
    BOOST_TEST(h.ignored_keys == std::vector<std::string>({"metadata/algorithm (metadata)",
                                                           "metadata/iteration (metadata)"}),
               boost::test_tools::per_element());
}

BOOST_AUTO_TEST_CASE(d4rl_gzip_float64_loads_like_npz) {
    TempDir tmp;
    write_both<double>(tmp / "d.h5", tmp / "d.npz");
    const Dataset h = load_dataset(tmp / "d.h5");
    check_same(h, load_dataset(tmp / "d.npz"));
    BOOST_TEST(h.stored_dtypes.at("observations") == "float64");
    BOOST_TEST(h.observations(6, 2) == static_cast<float>(0.1 * 20 - 1));
}

BOOST_AUTO_TEST_CASE(h5py_fixture_loads_like_numpy_fixture) {
    // Both written by test/fixtures/make_dataset_fixtures.py from the same arrays.
    const Dataset h = load_dataset(kFixtures + "d4rl_layout_h5py.hdf5");
    const Dataset n = load_dataset(kFixtures + "d4rl_layout.npz");
    check_same(h, n);
    BOOST_TEST(h.size() == 10u);
    BOOST_TEST(h.stored_dtypes.at("observations") == "float64");
    BOOST_TEST(h.stored_dtypes.at("terminals") == "bool");
}

BOOST_AUTO_TEST_CASE(hdf5_validation_errors_name_file_and_key) {
    TempDir tmp;
    const std::vector<float> obs(6, 0.0f);
    {
        H5Writer w(tmp / "partial.hdf5");
        w.write("observations", H5T_NATIVE_FLOAT, {3, 2}, obs.data());
    }
    const std::string e = error_of([&] { load_dataset(tmp / "partial.hdf5"); });
    BOOST_TEST(contains(e, "partial.hdf5: missing key 'actions' (keys: observations)"), e);
}

BOOST_AUTO_TEST_CASE(minari_layout_is_detected) {
    TempDir tmp;
    const std::vector<float> obs(8, 0.0f);
    {
        H5Writer w(tmp / "main_data.hdf5");
        w.write("episode_0/observations", H5T_NATIVE_FLOAT, {4, 2}, obs.data());
    }
    const std::string e = error_of([&] { load_dataset(tmp / "main_data.hdf5"); });
    BOOST_TEST(contains(e, "this is a Minari HDF5 file (group 'episode_0' at the root)"), e);
    BOOST_TEST(contains(e, "not supported yet"), e);
}

BOOST_AUTO_TEST_CASE(not_an_hdf5_file) {
    TempDir tmp;
    std::ofstream(tmp / "fake.hdf5") << "not hdf5";
    const std::string e = error_of([&] { load_dataset(tmp / "fake.hdf5"); });
    BOOST_TEST(contains(e, "fake.hdf5: not an HDF5 file"), e);
    const std::string e2 = error_of([&] { load_dataset(tmp / "missing.hdf5"); });
    BOOST_TEST(contains(e2, "missing.hdf5: cannot open the file"), e2);
}

BOOST_AUTO_TEST_SUITE_END()

#else

// Built without the `hdf5` feature: tell meson test to report SKIP.
int main() { return 77; }

#endif
