// The HDF5 reader (its own `meson test` data_hdf5; exit 77 = SKIP when built without the `hdf5` feature).
// D4RL-layout files are built here with libhdf5's C API the way D4RL's are (gzip-compressed chunked datasets, h5py's
// bool enum for terminals, scalar metadata/*, an infos/ group), in float32 and float64, and must load identically to
// the same arrays written as NPZ. The committed h5py fixture must load identically to its numpy twin
// (test/fixtures/make_dataset_fixtures.py). A Minari main_data.hdf5 built here (three episodes of different lengths,
// ids not in name order: terminated, truncated with float flags, unfinished) must give hand-computed D4RL rows,
// also through a Minari dataset directory; Dict spaces, Arrow datasets and bad shapes give errors naming file and
// episode/key; non-HDF5 files give theirs.
#if DYDIFF_HAVE_HDF5

#define BOOST_TEST_MODULE data_hdf5
#include "support/errors.hpp"
#include "support/run_dydiff.hpp"
#include "support/temp_dir.hpp"
#include <boost/test/unit_test.hpp>

#include "data/dataset.hpp"
#include "data/npz.hpp"

#include "autograd/error.hpp"

#include <hdf5.h>

#include <array>
#include <cstdint>
#include <filesystem>
#include <fstream>
#include <functional>
#include <string>
#include <vector>

#include <sys/resource.h>
#include <unistd.h>

using dydiff::test::error_of;
using dydiff::test::contains;
using dydiff::test::TempDir;
using dydiff::test::CliResult;
using dydiff::test::run_dydiff;

namespace fs = std::filesystem;
using namespace dydiff::data;

namespace {

const std::string kFixtures = "fixtures/";  // tests run in test/

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

    /// A dataset that claims `dims` but is never written: no storage (contiguous) or no chunks (chunked, `chunk`
    /// given, deflate on), as a damaged or hand-made hostile file has it. Unlimited max dims allow a 0 dimension.
    void claim(const std::string& path, hid_t type, const std::vector<hsize_t>& dims, const std::vector<hsize_t>& chunk) {
        const std::vector<hsize_t> max(dims.size(), H5S_UNLIMITED);
        const hid_t space = H5Screate_simple(static_cast<int>(dims.size()), dims.data(), chunk.empty() ? nullptr : max.data());
        const hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE);
        if (!chunk.empty()) {
            H5Pset_chunk(dcpl, static_cast<int>(chunk.size()), chunk.data());
            H5Pset_deflate(dcpl, 4);
        }
        const hid_t ds = H5Dcreate2(file_, path.c_str(), type, space, lcpl_, dcpl, H5P_DEFAULT);
        BOOST_REQUIRE(ds >= 0);
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

// ---- Minari ----

namespace {

// The Minari test file: episodes with ids 0, 2 and 10 (written in the order 10, 0, 2; lexicographic order would be
// 0, 10, 2), S = 2, A = 2.
//   id  T  end                                 flags stored as
//    0  3  terminated at step 2                bool enum
//    2  2  truncated at step 1                 float64 0/1
//   10  4  unfinished (no flag at step 3)      bool enum
// observations (T + 1, 2) float64: obs(id, k, j) = 100 id + 10 k + j + 0.25
// actions      (T, 2)     float32: act(id, t, j) = 10 id + t + 0.5 j
// rewards      (T, 1)     float64: rew(id, t) = id + 0.5 t
constexpr std::size_t kMS = 2, kMA = 2;
struct MinariEpisode {
    int id;
    std::size_t steps;
    int terminated_at;  // -1: none
    int truncated_at;   // -1: none
    bool float_flags;
};
const std::array<MinariEpisode, 3> kMinariEpisodes = {{{10, 4, -1, -1, false}, {0, 3, 2, -1, false}, {2, 2, -1, 1, true}}};

double m_obs(int id, std::size_t k, std::size_t j) { return 100.0 * id + 10.0 * static_cast<double>(k) + static_cast<double>(j) + 0.25; }
float m_act(int id, std::size_t t, std::size_t j) { return 10.0f * static_cast<float>(id) + static_cast<float>(t) + 0.5f * static_cast<float>(j); }
double m_rew(int id, std::size_t t) { return id + 0.5 * static_cast<double>(t); }

void write_minari(const std::string& path) {
    H5Writer w(path);
    const hid_t b = bool_enum();
    for (const MinariEpisode& e : kMinariEpisodes) {
        const std::string g = "episode_" + std::to_string(e.id) + "/";
        std::vector<double> obs, rew, term_f, trunc_f;
        std::vector<float> act;
        std::vector<std::uint8_t> term, trunc;
        for (std::size_t k = 0; k <= e.steps; ++k)
            for (std::size_t j = 0; j < kMS; ++j) obs.push_back(m_obs(e.id, k, j));
        for (std::size_t t = 0; t < e.steps; ++t) {
            for (std::size_t j = 0; j < kMA; ++j) act.push_back(m_act(e.id, t, j));
            rew.push_back(m_rew(e.id, t));
            term.push_back(static_cast<int>(t) == e.terminated_at);
            trunc.push_back(static_cast<int>(t) == e.truncated_at);
            term_f.push_back(term.back());
            trunc_f.push_back(trunc.back());
        }
        w.write(g + "observations", H5T_NATIVE_DOUBLE, {e.steps + 1, kMS}, obs.data());
        w.write(g + "actions", H5T_NATIVE_FLOAT, {e.steps, kMA}, act.data());
        w.write(g + "rewards", H5T_NATIVE_DOUBLE, {e.steps, 1}, rew.data());  // (T, 1), as older Minari
        if (e.float_flags) {
            w.write(g + "terminations", H5T_NATIVE_DOUBLE, {e.steps}, term_f.data());
            w.write(g + "truncations", H5T_NATIVE_DOUBLE, {e.steps}, trunc_f.data());
        } else {
            w.write(g + "terminations", b, {e.steps}, term.data());
            w.write(g + "truncations", b, {e.steps}, trunc.data());
        }
        const std::vector<double> success(e.steps + 1, 0.0);  // infos have T + 1 entries
        w.write(g + "infos/success", H5T_NATIVE_DOUBLE, {e.steps + 1}, success.data());
    }
    H5Tclose(b);
}

// The rows the loader must produce, by hand from the table above: episodes in id order 0, 2, 10.
void check_minari_rows(const Dataset& d) {
    const std::array<int, 3> order = {0, 2, 10};
    const std::array<std::size_t, 3> steps = {3, 2, 4};
    BOOST_REQUIRE(d.size() == 9u);
    BOOST_REQUIRE(d.obs_dim() == kMS);
    BOOST_REQUIRE(d.action_dim() == kMA);
    BOOST_REQUIRE(d.next_observations.has_value());
    std::size_t i = 0;
    for (std::size_t e = 0; e < order.size(); ++e) {
        for (std::size_t t = 0; t < steps[e]; ++t, ++i) {
            for (std::size_t j = 0; j < kMS; ++j) {
                BOOST_TEST(d.observations(i, j) == static_cast<float>(m_obs(order[e], t, j)), "row " << i);
                // s' is the same episode's next observation: at an episode's last row, its final observation.
                BOOST_TEST((*d.next_observations)(i, j) == static_cast<float>(m_obs(order[e], t + 1, j)), "row " << i);
            }
            for (std::size_t j = 0; j < kMA; ++j) BOOST_TEST(d.actions(i, j) == m_act(order[e], t, j), "row " << i);
            BOOST_TEST(d.rewards(i) == static_cast<float>(m_rew(order[e], t)), "row " << i);
        }
    }
    // Episode 0 terminated at its step 2, episode 2 truncated at its step 1, episode 10 unfinished -> timeout added.
    const std::vector<float> terminals = {0, 0, 1, 0, 0, 0, 0, 0, 0};
    const std::vector<float> timeouts = {0, 0, 0, 0, 1, 0, 0, 0, 1};
    BOOST_TEST(std::vector<float>(d.terminals.begin(), d.terminals.end()) == terminals, boost::test_tools::per_element());
    BOOST_TEST(std::vector<float>(d.timeouts.begin(), d.timeouts.end()) == timeouts, boost::test_tools::per_element());
    // No row pairs two episodes: at each boundary s' is the final observation, not the next episode's reset one.
    BOOST_TEST((*d.next_observations)(2, 0) == 30.25f);
    BOOST_TEST(d.observations(3, 0) == 200.25f);
    BOOST_TEST((*d.next_observations)(4, 0) == 220.25f);
    BOOST_TEST(d.observations(5, 0) == 1000.25f);
    BOOST_TEST((*d.next_observations)(8, 1) == 1041.25f);
    const DatasetSummary s = summarize(d);
    BOOST_TEST(s.episodes == 3u);
    BOOST_TEST(s.tail_rows == 0u);
    BOOST_TEST(s.length_min == 2u);
    BOOST_TEST(s.length_max == 4u);
    BOOST_TEST(d.stored_dtypes.at("observations") == "float64");
    BOOST_TEST(d.stored_dtypes.at("actions") == "float32");
    BOOST_TEST(d.stored_dtypes.at("terminals") == "bool (terminations)/float64 (terminations)");
    BOOST_TEST(d.infos.empty());
    BOOST_TEST(d.ignored_keys == std::vector<std::string>({"episode_*/infos/success (Minari infos are not read)"}),
               boost::test_tools::per_element());
}

}  // namespace

BOOST_AUTO_TEST_CASE(minari_file_flattens_to_d4rl_rows) {
    TempDir tmp;
    write_minari(tmp / "main_data.hdf5");
    const Dataset d = load_dataset(tmp / "main_data.hdf5");
    check_minari_rows(d);
    BOOST_TEST(d.dataset_id.empty());
    BOOST_TEST(d.source == tmp / "main_data.hdf5");
}

BOOST_AUTO_TEST_CASE(minari_directory_loads_with_its_id) {
    TempDir tmp;
    fs::create_directories(tmp.path() / "ds" / "data");
    write_minari(tmp / "ds/data/main_data.hdf5");
    std::ofstream(tmp / "ds/metadata.json")
        << "{\"dataset_id\": \"test/toy/mixed-v0\", \"total_episodes\": 3, \"data_format\": \"hdf5\"}";
    const Dataset d = load_dataset(tmp / "ds");
    check_minari_rows(d);
    BOOST_TEST(d.dataset_id == "test/toy/mixed-v0");

    // Without metadata.json the id is simply unknown.
    fs::remove(tmp.path() / "ds" / "metadata.json");
    BOOST_TEST(load_dataset(tmp / "ds").dataset_id.empty());
}

BOOST_AUTO_TEST_CASE(minari_arrow_and_empty_directories_are_refused) {
    TempDir tmp;
    fs::create_directories(tmp.path() / "arrow" / "data");
    std::ofstream(tmp / "arrow/metadata.json") << "{\"dataset_id\": \"x/y-v0\", \"data_format\": \"arrow\"}";
    const std::string e = error_of([&] { load_dataset(tmp / "arrow"); });
    BOOST_TEST(contains(e, "arrow: a Minari dataset in Arrow format"), e);
    BOOST_TEST(contains(e, "dydiff reads only HDF5 Minari datasets"), e);
    BOOST_TEST(contains(e, "minari_api_to_npz.py"), e);
    fs::create_directories(tmp.path() / "empty");
    const std::string e2 = error_of([&] { load_dataset(tmp / "empty"); });
    BOOST_TEST(contains(e2, "empty: a directory without data/main_data.hdf5"), e2);
}

BOOST_AUTO_TEST_CASE(minari_errors_name_file_episode_and_key) {
    TempDir tmp;
    const std::vector<double> obs(8, 0.0), act(3, 0.0), rew(3, 0.0), flags(3, 0.0), flags_bad = {0, 2, 0};
    const auto write_episode = [&](H5Writer& w, const std::string& g) {
        w.write(g + "actions", H5T_NATIVE_DOUBLE, {3, 1}, act.data());
        w.write(g + "rewards", H5T_NATIVE_DOUBLE, {3}, rew.data());
        w.write(g + "terminations", H5T_NATIVE_DOUBLE, {3}, flags.data());
    };
    {  // Dict observation space: observations is a group.
        H5Writer w(tmp / "dict.hdf5");
        write_episode(w, "episode_0/");
        w.write("episode_0/truncations", H5T_NATIVE_DOUBLE, {3}, flags.data());
        w.write("episode_0/observations/achieved_goal", H5T_NATIVE_DOUBLE, {4, 2}, obs.data());
    }
    const std::string e = error_of([&] { load_dataset(tmp / "dict.hdf5"); });
    BOOST_TEST(contains(e, "dict.hdf5: Minari episode_0/observations is a group, not an array: a Dict or Tuple "
                           "observation space"), e);
    {  // observations with T rows instead of T + 1.
        H5Writer w(tmp / "short.hdf5");
        write_episode(w, "episode_7/");
        w.write("episode_7/truncations", H5T_NATIVE_DOUBLE, {3}, flags.data());
        w.write("episode_7/observations", H5T_NATIVE_DOUBLE, {3, 2}, obs.data());
    }
    const std::string e2 = error_of([&] { load_dataset(tmp / "short.hdf5"); });
    BOOST_TEST(contains(e2, "short.hdf5: Minari episode_7/observations has shape (3, 2), expected (4, dim)"), e2);
    {  // a flag that is neither 0 nor 1, and (separately) a missing key.
        H5Writer w(tmp / "flag.hdf5");
        write_episode(w, "episode_1/");
        w.write("episode_1/truncations", H5T_NATIVE_DOUBLE, {3}, flags_bad.data());
        w.write("episode_1/observations", H5T_NATIVE_DOUBLE, {4, 2}, obs.data());
        write_episode(w, "episode_3/");
    }
    const std::string e3 = error_of([&] { load_dataset(tmp / "flag.hdf5"); });
    BOOST_TEST(contains(e3, "flag.hdf5: Minari episode_1/truncations step 1 holds 2"), e3);
    {
        H5Writer w(tmp / "missing.hdf5");
        write_episode(w, "episode_3/");
        w.write("episode_3/observations", H5T_NATIVE_DOUBLE, {4, 2}, obs.data());
    }
    const std::string e4 = error_of([&] { load_dataset(tmp / "missing.hdf5"); });
    BOOST_TEST(contains(e4, "missing.hdf5: Minari episode_3 has no 'truncations'"), e4);
}

BOOST_AUTO_TEST_CASE(not_an_hdf5_file) {
    TempDir tmp;
    std::ofstream(tmp / "fake.hdf5") << "not hdf5";
    const std::string e = error_of([&] { load_dataset(tmp / "fake.hdf5"); });
    BOOST_TEST(contains(e, "fake.hdf5: not an HDF5 file"), e);
    const std::string e2 = error_of([&] { load_dataset(tmp / "missing.hdf5"); });
    BOOST_TEST(contains(e2, "missing.hdf5: cannot open the file"), e2);
}

namespace {

// Replaces every occurrence of the 8-byte little-endian dims `from` (as HDF5 stores a dataspace) by `to` in the file;
// returns how many it replaced. Files written with the default (earliest) format have no header checksums, so the
// damaged dims are what libhdf5 reads back.
std::size_t patch_dims(const std::string& path, const std::vector<std::uint64_t>& from,
                       const std::vector<std::uint64_t>& to) {
    const auto encode = [](const std::vector<std::uint64_t>& dims) {
        std::string b;
        for (std::uint64_t d : dims)
            for (int i = 0; i < 8; ++i) b.push_back(static_cast<char>((d >> (8 * i)) & 0xFF));
        return b;
    };
    std::string bytes;
    {
        std::ifstream in(path, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>());
    }
    const std::string a = encode(from), b = encode(to);
    std::size_t n = 0;
    for (auto pos = bytes.find(a); pos != std::string::npos; pos = bytes.find(a, pos + b.size()), ++n)
        bytes.replace(pos, a.size(), b);
    std::ofstream(path, std::ios::binary | std::ios::trunc) << bytes;
    return n;
}

// Peak resident memory of this process so far, in MiB.
double peak_rss_mib() {
    struct rusage u {};
    getrusage(RUSAGE_SELF, &u);
    return static_cast<double>(u.ru_maxrss) / 1024.0;
}

// What every hostile file must give: one dydiff::Error naming the file (and a key where there is one), no crash, no
// allocation of what the header claims (the peak memory check at the end of the test case).
void check_refused(const std::string& path, const std::string& part) {
    const std::string e = error_of([&] { load_dataset(path); });
    BOOST_TEST(contains(e, path), e);
    BOOST_TEST(contains(e, part), e);
}

}  // namespace

BOOST_AUTO_TEST_CASE(claims_beyond_the_stored_data_are_refused_before_reading) {
    TempDir tmp;
    const double rss_before = peak_rss_mib();
    {
        H5Writer w(tmp / "chunked.hdf5");  // (2^28, 2) float32 in a file of a few KB: 2 GiB claimed, no chunk stored
        w.claim("observations", H5T_NATIVE_FLOAT, {hsize_t{1} << 28, 2}, {1024, 2});
    }
    check_refused(tmp / "chunked.hdf5", "'observations' (shape (268435456, 2)) needs 262144 chunk(s) of shape (1024, 2), "
                                        "but the file stores 0");
    {
        H5Writer w(tmp / "contiguous.hdf5");
        w.claim("observations", H5T_NATIVE_FLOAT, {hsize_t{1} << 28, 2}, {});
    }
    check_refused(tmp / "contiguous.hdf5", "needs 2147483648 bytes, but the file stores 0");
    {
        H5Writer w(tmp / "wraps.hdf5");  // (2^62,) int32: 2^64 bytes, 0 after a wrap-around
        w.claim("rewards", H5T_NATIVE_INT32, {hsize_t{1} << 62}, {1 << 20});
    }
    check_refused(tmp / "wraps.hdf5", "HDF5 dataset 'rewards': shape (4611686018427387904,) of 4-byte elements "
                                      "overflows the address space");
    {
        H5Writer w(tmp / "empty.hdf5");  // 0 elements, but strides of 2^64 elements
        w.claim("infos/big", H5T_NATIVE_FLOAT, {0, hsize_t{1} << 32, hsize_t{1} << 32}, {1, 1, 1});
    }
    check_refused(tmp / "empty.hdf5", "HDF5 dataset 'infos/big': shape (0, 4294967296, 4294967296)");

    // A real file whose dims are damaged on disk: contiguous (the layout's byte count disagrees) and gzip chunks.
    const std::vector<float> obs(15, 1.0f);
    for (const bool gzip : {false, true}) {
        const std::string path = tmp / (gzip ? "patched_gzip.hdf5" : "patched.hdf5");
        {
            H5Writer w(path);
            w.write("observations", H5T_NATIVE_FLOAT, {5, 3}, obs.data(), gzip);
        }
        BOOST_REQUIRE(patch_dims(path, {5, 3}, {std::uint64_t{1} << 40, 3}) >= 1u);
        check_refused(path, "observations");
    }
    BOOST_TEST(peak_rss_mib() - rss_before < 256.0, "peak memory grew by " << peak_rss_mib() - rss_before << " MiB");
}

BOOST_AUTO_TEST_CASE(minari_file_with_damaged_dims_is_one_error) {
    TempDir tmp;
    const std::string path = tmp / "main_data.hdf5";
    write_minari(path);
    // episode_0/observations (4, 2) and episode_10/actions (4, 2) claim 2^40 rows.
    BOOST_REQUIRE(patch_dims(path, {4, 2}, {std::uint64_t{1} << 40, 2}) >= 1u);
    const double rss_before = peak_rss_mib();
    check_refused(path, "episode_");
    BOOST_TEST(peak_rss_mib() - rss_before < 256.0, "peak memory grew by " << peak_rss_mib() - rss_before << " MiB");
    // The same through the CLI: exit 1 and one message, never an abort.
    const CliResult r = run_dydiff(tmp, {"dataset", "info", path});
    BOOST_TEST(r.code == 1, r.all());
    BOOST_TEST(contains(r.err, "dydiff: error: " + path), r.all());
}

BOOST_AUTO_TEST_SUITE_END()

#else

// Built without the `hdf5` feature: tell meson test to report SKIP.
int main() { return 77; }

#endif
