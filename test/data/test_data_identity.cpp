// DataIdentity (data/data_identity.hpp): the env a dataset file records (metadata/env) and "unknown" when it records
// none, the identity's NPZ round trip and its errors, identify_dataset hashing the file, and the mixture checks:
// require_same_data naming both files and identities, require_env.
#include "data/data_identity.hpp"
#include "data/sha256.hpp"
#include "support/errors.hpp"
#include "support/temp_dir.hpp"

#include <boost/test/unit_test.hpp>

#include <cstdint>

using namespace dydiff;
using dydiff::test::contains;
using dydiff::test::error_of;

namespace {

// A two-episode dataset of obs dim 3, action dim 2; `shift` changes every observation (other data).
data::Dataset tiny_dataset(float shift) {
    data::Dataset d;
    const std::size_t n = 6;
    d.observations = xt::xtensor<float, 2>::from_shape({n, 3});
    for (std::size_t i = 0; i < d.observations.size(); ++i) d.observations.data()[i] = 0.1f * i + shift;
    d.actions = xt::zeros<float>({n, std::size_t{2}});
    d.rewards = xt::zeros<float>({n});
    d.terminals = xt::zeros<float>({n});
    d.timeouts = xt::zeros<float>({n});
    d.timeouts(2) = d.timeouts(5) = 1.0f;
    return d;
}

data::DataIdentity identity(const std::string& env, std::size_t obs, std::size_t act, const std::string& path,
                            char digit) {
    data::DataIdentity d;
    d.env = env;
    d.obs_dim = obs;
    d.action_dim = act;
    d.path = path;
    d.sha256 = std::string(64, digit);
    return d;
}

data::NpyLookup lookup(const data::NpzFile& file) {
    return [&file](const std::string& key) -> const data::NpyArray& { return file.require(key); };
}

}  // namespace

BOOST_AUTO_TEST_SUITE(data_identity)

BOOST_AUTO_TEST_CASE(generated_env_round_trips_through_npz_and_absent_env_is_unknown) {
    test::TempDir dir;
    data::Dataset d = tiny_dataset(0.0f);
    d.env = "maze2d-umaze";
    data::save_dataset_npz(d, dir / "with_env.npz");
    const data::Dataset loaded = data::load_dataset(dir / "with_env.npz");
    BOOST_TEST(loaded.env == "maze2d-umaze");
    BOOST_TEST(loaded.ignored_keys.empty());  // metadata/env is read, not ignored

    data::save_dataset_npz(tiny_dataset(0.0f), dir / "no_env.npz");  // as a D4RL file: no env recorded
    const data::Dataset plain = data::load_dataset(dir / "no_env.npz");
    BOOST_TEST(plain.env.empty());
    BOOST_TEST(data::identify_dataset(plain).env == data::kUnknownEnv);
    BOOST_TEST(plain.provenance.empty());
}

BOOST_AUTO_TEST_CASE(provenance_round_trips_through_npz) {
    test::TempDir dir;
    data::Dataset d = tiny_dataset(0.0f);
    d.provenance = {{"recipe", "policy, sampled"}, {"policy_sha256", "ab12"}, {"seed", "3"}};
    data::save_dataset_npz(d, dir / "p.npz");
    const data::Dataset loaded = data::load_dataset(dir / "p.npz");
    BOOST_TEST((loaded.provenance == d.provenance));
    BOOST_TEST(loaded.ignored_keys.empty());  // metadata/provenance/* is read, not ignored
}

BOOST_AUTO_TEST_CASE(metadata_env_of_another_dtype_is_an_error_naming_the_key) {
    test::TempDir dir;
    const data::Dataset d = tiny_dataset(0.0f);
    std::vector<data::NpzEntry> entries;
    entries.emplace_back("observations", data::NpyArray::from_xarray(d.observations));
    entries.emplace_back("actions", data::NpyArray::from_xarray(d.actions));
    entries.emplace_back("rewards", data::NpyArray::from_xarray(d.rewards));
    entries.emplace_back("terminals", data::NpyArray::from_xarray(d.terminals));
    entries.emplace_back("timeouts", data::NpyArray::from_xarray(d.timeouts));
    const float not_text = 1.0f;
    entries.emplace_back("metadata/env", data::NpyArray::from_data<float>({}, &not_text));
    data::write_npz(dir / "bad_env.npz", entries);
    const std::string e = error_of([&] { data::load_dataset(dir / "bad_env.npz"); });
    BOOST_TEST(contains(e, dir / "bad_env.npz"), e);
    BOOST_TEST(contains(e, "'metadata/env'"), e);
}

BOOST_AUTO_TEST_CASE(identify_dataset_hashes_the_file_it_was_read_from) {
    test::TempDir dir;
    data::Dataset d = tiny_dataset(0.0f);
    d.env = "pendulum";
    data::save_dataset_npz(d, dir / "p.npz");
    const data::DataIdentity id = data::identify_dataset(data::load_dataset(dir / "p.npz"));
    BOOST_TEST(id.env == "pendulum");
    BOOST_TEST(id.obs_dim == 3u);
    BOOST_TEST(id.action_dim == 2u);
    BOOST_TEST(id.path == dir / "p.npz");
    BOOST_TEST(id.sha256 == data::sha256_file(dir / "p.npz"));
    // Built in memory: nothing to hash.
    const std::string e = error_of([&] { data::identify_dataset(tiny_dataset(0.0f)); });
    BOOST_TEST(contains(e, "not a file"), e);
}

BOOST_AUTO_TEST_CASE(identity_round_trips_through_npz_entries) {
    test::TempDir dir;
    const data::DataIdentity id = identity("maze2d-medium", 4, 2, "runs/data/medium.npz", 'a');
    data::write_npz(dir / "id.npz", id.entries("data"));
    const data::NpzFile file = data::read_npz(dir / "id.npz");
    BOOST_TEST(file.keys() ==
               (std::vector<std::string>{"data/env", "data/obs_dim", "data/action_dim", "data/path", "data/sha256"}));
    const data::DataIdentity back = data::DataIdentity::load(lookup(file), "data", file.path());
    BOOST_TEST((back == id));
    BOOST_TEST(back.describe() == id.describe());
    BOOST_TEST(contains(id.describe(), "env maze2d-medium, obs/action dims 4/2, dataset runs/data/medium.npz"));
}

BOOST_AUTO_TEST_CASE(identity_load_errors_name_the_file_and_the_key) {
    test::TempDir dir;
    const data::DataIdentity id = identity("pendulum", 3, 1, "p.npz", 'b');
    std::vector<data::NpzEntry> entries = id.entries("data");

    // A missing key: the NPZ lookup names file and key.
    std::vector<data::NpzEntry> missing(entries.begin(), entries.end() - 1);  // no data/sha256
    data::write_npz(dir / "missing.npz", missing);
    const data::NpzFile f1 = data::read_npz(dir / "missing.npz");
    std::string e = error_of([&] { data::DataIdentity::load(lookup(f1), "data", f1.path()); });
    BOOST_TEST(contains(e, dir / "missing.npz"), e);
    BOOST_TEST(contains(e, "'data/sha256'"), e);

    // A dim stored as float, a digest that is not one.
    std::vector<data::NpzEntry> wrong = entries;
    const float three = 3.0f;
    wrong[1].second = data::NpyArray::from_data<float>({}, &three);
    data::write_npz(dir / "wrong.npz", wrong);
    const data::NpzFile f2 = data::read_npz(dir / "wrong.npz");
    e = error_of([&] { data::DataIdentity::load(lookup(f2), "data", f2.path()); });
    BOOST_TEST(contains(e, dir / "wrong.npz"), e);
    BOOST_TEST(contains(e, "'data/obs_dim'"), e);

    data::DataIdentity bad_digest = id;
    bad_digest.sha256 = "xyz";
    data::write_npz(dir / "digest.npz", bad_digest.entries("data"));
    const data::NpzFile f3 = data::read_npz(dir / "digest.npz");
    e = error_of([&] { data::DataIdentity::load(lookup(f3), "data", f3.path()); });
    BOOST_TEST(contains(e, "'data/sha256'"), e);
    BOOST_TEST(contains(e, "64 lowercase hex digits"), e);
}

BOOST_AUTO_TEST_CASE(same_data_passes_even_from_another_path) {
    const data::DataIdentity a = identity("maze2d-umaze", 4, 2, "umaze.npz", 'c');
    const data::DataIdentity moved = identity("maze2d-umaze", 4, 2, "/elsewhere/umaze-copy.npz", 'c');
    BOOST_CHECK_NO_THROW(data::require_same_data({{"d/checkpoint.npz", a}, {"e/model.npz", moved}, {"r/model.npz", a}}));
    BOOST_CHECK_NO_THROW(data::require_same_data({{"d/checkpoint.npz", a}}));
}

BOOST_AUTO_TEST_CASE(a_mixture_is_one_error_naming_both_files_and_identities) {
    const data::DataIdentity umaze = identity("maze2d-umaze", 4, 2, "umaze.npz", 'c');
    const data::DataIdentity medium = identity("maze2d-medium", 4, 2, "medium.npz", 'd');
    std::string e = error_of([&] {
        data::require_same_data({{"d/checkpoint.npz", umaze}, {"e/model.npz", umaze}, {"r/model.npz", medium}});
    });
    BOOST_TEST(contains(e, "d/checkpoint.npz: " + umaze.describe()), e);
    BOOST_TEST(contains(e, "r/model.npz: " + medium.describe()), e);
    BOOST_TEST(!contains(e, "e/model.npz"), e);  // the agreeing one is not blamed
    BOOST_TEST(contains(e, "differ in env, dataset SHA-256"), e);

    // Other data of the same env (another seed): the digest alone tells them apart.
    const data::DataIdentity other_seed = identity("maze2d-umaze", 4, 2, "umaze-seed1.npz", 'e');
    e = error_of([&] { data::require_same_data({{"a.npz", umaze}, {"b.npz", other_seed}}); });
    BOOST_TEST(contains(e, "differ in dataset SHA-256)"), e);

    const data::DataIdentity other_dims = identity("maze2d-umaze", 5, 2, "umaze.npz", 'c');
    e = error_of([&] { data::require_same_data({{"a.npz", umaze}, {"b.npz", other_dims}}); });
    BOOST_TEST(contains(e, "differ in obs/action dims)"), e);
}

BOOST_AUTO_TEST_CASE(require_env_compares_a_known_env_and_reports_an_unknown_one) {
    const data::DataIdentity umaze = identity("maze2d-umaze", 4, 2, "umaze.npz", 'c');
    BOOST_TEST(data::require_env({"d/checkpoint.npz", umaze}, "maze2d-umaze"));
    const std::string e = error_of([&] { data::require_env({"d/checkpoint.npz", umaze}, "maze2d-medium"); });
    BOOST_TEST(contains(e, "d/checkpoint.npz was trained on data of env maze2d-umaze, not maze2d-medium"), e);
    const data::DataIdentity d4rl = identity(data::kUnknownEnv, 4, 2, "maze2d-umaze-v1.hdf5", 'c');
    BOOST_TEST(!data::require_env({"d/checkpoint.npz", d4rl}, "maze2d-medium"));
}

BOOST_AUTO_TEST_SUITE_END()
