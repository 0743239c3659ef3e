// HDF5 -> named NpyArrays through the HDF5 C API (data/hdf5_reader.hpp). Compiled only with DYDIFF_HAVE_HDF5.
// The walk (H5Lvisit) only collects paths: no exception ever crosses the C library's stack frames.
// A Minari main_data.hdf5 (episode_<id> groups at the root) is flattened into D4RL keys by read_minari below; the
// mapping and the unfinished-episode rule are in docs/data_format.md ("Minari HDF5").
#include "data/hdf5_reader.hpp"

#include "autograd/error.hpp"

#include <hdf5.h>

#include <algorithm>
#include <cctype>
#include <cfloat>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <initializer_list>
#include <map>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace dydiff::data::detail {
namespace {

// Closes an HDF5 handle at scope exit.
class Handle {
public:
    Handle(hid_t id, herr_t (*close)(hid_t)) : id_(id), close_(close) {}
    ~Handle() {
        if (id_ >= 0) close_(id_);
    }
    Handle(const Handle&) = delete;
    Handle& operator=(const Handle&) = delete;
    hid_t get() const noexcept { return id_; }
    bool ok() const noexcept { return id_ >= 0; }

private:
    hid_t id_;
    herr_t (*close_)(hid_t);
};

// Turns off HDF5's automatic error-stack printing while we read (our errors say what went wrong), restores it after.
class QuietErrors {
public:
    QuietErrors() {
        H5Eget_auto2(H5E_DEFAULT, &func_, &data_);
        H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    }
    ~QuietErrors() { H5Eset_auto2(H5E_DEFAULT, func_, data_); }
    QuietErrors(const QuietErrors&) = delete;
    QuietErrors& operator=(const QuietErrors&) = delete;

private:
    H5E_auto2_t func_ = nullptr;
    void* data_ = nullptr;
};

struct Walk {
    std::vector<std::string> paths;  // hard links, in visiting order
};

herr_t collect(hid_t, const char* name, const H5L_info_t* info, void* op_data) {
    if (info->type == H5L_TYPE_HARD) static_cast<Walk*>(op_data)->paths.emplace_back(name);
    return 0;
}

bool is_metadata(const std::string& path) { return path == "metadata" || path.rfind("metadata/", 0) == 0; }

// h5py stores numpy bool as an enum of int8 {FALSE = 0, TRUE = 1}.
bool is_bool_enum(hid_t type) {
    if (H5Tget_size(type) != 1 || H5Tget_nmembers(type) != 2) return false;
    for (unsigned k = 0; k < 2; ++k) {
        signed char value = -1;
        if (H5Tget_member_value(type, k, &value) < 0) return false;
        if (value != static_cast<signed char>(k)) return false;
    }
    return true;
}

// The standard (IEEE / two's complement, either byte order) file types we convert: libhdf5's converters are asked
// only about these. Anything else of the float or integer class (a damaged or exotic precision, offset or size) is
// refused by read_dataset before H5Dread.
bool is_one_of(hid_t type, std::initializer_list<hid_t> types) {
    for (hid_t t : types)
        if (H5Tequal(type, t) > 0) return true;
    return false;
}
bool is_standard_float(hid_t type) {
    return is_one_of(type, {H5T_IEEE_F32LE, H5T_IEEE_F32BE, H5T_IEEE_F64LE, H5T_IEEE_F64BE});
}
bool is_standard_integer(hid_t type) {
    return is_one_of(type, {H5T_STD_I8LE, H5T_STD_I8BE, H5T_STD_U8LE, H5T_STD_U8BE, H5T_STD_I16LE, H5T_STD_I16BE,
                            H5T_STD_U16LE, H5T_STD_U16BE, H5T_STD_I32LE, H5T_STD_I32BE, H5T_STD_U32LE, H5T_STD_U32BE,
                            H5T_STD_I64LE, H5T_STD_I64BE, H5T_STD_U64LE, H5T_STD_U64BE});
}

// NOTE: deflate cannot compress better than about 1032:1 (each 258-byte match costs at least 2 bits); a filtered
// dataset claiming more uncompressed bytes than this many times its stored bytes is damaged (or not deflate, and then
// not something dydiff reads). Bounds what one small file can make us allocate.
constexpr std::uint64_t kMaxFilterRatio = 1032;

// Checks what the file actually stores for a dataset against what its shape claims, before anything is allocated or
// H5Dread is called (docs/reliability.md): the layout, each storage's place inside the file, every chunk present,
// and for unfiltered data the exact byte count. `claimed` is elements * the file type's size (overflow-checked).
void check_storage(hid_t ds, const std::string& source, const std::string& path, const std::vector<hsize_t>& dims,
                   std::uint64_t claimed, std::uint64_t item, std::uint64_t file_size) {
    const auto fail_prefix = [&] { return source + ": HDF5 dataset '" + path + "' (shape " + shape_str(dims) + ")"; };
    Handle dcpl(H5Dget_create_plist(ds), H5Pclose);
    DYDIFF_USER_CHECK(dcpl.ok(), fail_prefix() << ": cannot read its storage properties (a damaged file)");
    const H5D_layout_t layout = H5Pget_layout(dcpl.get());
    const hsize_t storage = H5Dget_storage_size(ds);
    DYDIFF_USER_CHECK(storage <= file_size, fail_prefix() << " claims " << storage << " bytes of storage in a file of "
                                                          << file_size << " bytes (a damaged file)");
    if (layout == H5D_CONTIGUOUS || layout == H5D_COMPACT) {
        DYDIFF_USER_CHECK(storage == claimed, fail_prefix() << " needs " << claimed << " bytes, but the file stores "
                                                            << storage << " (a damaged or truncated file)");
        if (layout == H5D_CONTIGUOUS) {
            const haddr_t offset = H5Dget_offset(ds);
            DYDIFF_USER_CHECK(offset != HADDR_UNDEF && offset <= file_size && storage <= file_size - offset,
                              fail_prefix() << ": its " << storage << " bytes at byte " << offset
                                            << " run past the end of the file (" << file_size
                                            << " bytes; a damaged or truncated file)");
        }
        return;
    }
    DYDIFF_USER_CHECK(layout == H5D_CHUNKED, fail_prefix() << " has a layout dydiff does not read (virtual or unknown, "
                                                           << "code " << static_cast<int>(layout)
                                                           << "); copy it into a plain dataset with h5py");
    const int rank = static_cast<int>(dims.size());
    std::vector<hsize_t> chunk(dims.size(), 0);
    DYDIFF_USER_CHECK(H5Pget_chunk(dcpl.get(), rank, chunk.data()) == rank,
                      fail_prefix() << ": its chunk shape does not match its rank (a damaged file)");
    // Chunks the shape needs, and the bytes they hold uncompressed (edge chunks are stored whole).
    std::uint64_t chunks = 1, chunk_elems = 1;
    for (std::size_t k = 0; k < dims.size(); ++k) {
        DYDIFF_USER_CHECK(chunk[k] >= 1, fail_prefix() << ": chunk shape " << shape_str(chunk)
                                                       << " has a zero dimension (a damaged file)");
        const std::uint64_t per_axis = dims[k] / chunk[k] + (dims[k] % chunk[k] != 0);
        DYDIFF_USER_CHECK(per_axis == 0 || chunks <= UINT64_MAX / per_axis,
                          fail_prefix() << ": chunk count overflows (a damaged file)");
        chunks *= per_axis;
        DYDIFF_USER_CHECK(chunk_elems <= UINT64_MAX / chunk[k], fail_prefix() << ": chunk shape " << shape_str(chunk)
                                                                              << " overflows (a damaged file)");
        chunk_elems *= chunk[k];
    }
    hsize_t present = 0;
    Handle space(H5Dget_space(ds), H5Sclose);
    DYDIFF_USER_CHECK(space.ok() && H5Dget_num_chunks(ds, space.get(), &present) >= 0,
                      fail_prefix() << ": cannot count its chunks (a damaged file)");
    DYDIFF_USER_CHECK(present == chunks, fail_prefix() << " needs " << chunks << " chunk(s) of shape "
                                                       << shape_str(chunk) << ", but the file stores " << present
                                                       << " (a damaged or unfinished file; dydiff does not read "
                                                          "unwritten chunks as fill values)");
    const double uncompressed = static_cast<double>(chunks) * static_cast<double>(chunk_elems) *
                                static_cast<double>(item);
    if (H5Pget_nfilters(dcpl.get()) == 0) {
        DYDIFF_USER_CHECK(static_cast<double>(storage) >= uncompressed,
                          fail_prefix() << " stores " << storage << " bytes for " << chunks << " unfiltered chunk(s) of "
                                        << uncompressed << " bytes (a damaged file)");
    } else {
        DYDIFF_USER_CHECK(uncompressed <= static_cast<double>(kMaxFilterRatio) * static_cast<double>(storage),
                          fail_prefix() << " claims " << uncompressed << " uncompressed bytes from " << storage
                                        << " stored bytes, more than deflate's " << kMaxFilterRatio
                                        << ":1 limit (a damaged file)");
    }
}

// Reads one dataset; returns false (with `why`) for a type we do not keep.
bool read_dataset(hid_t file, const std::string& path, const std::string& source, std::uint64_t file_size,
                  RawArray& out, std::string& why) {
    Handle ds(H5Dopen2(file, path.c_str(), H5P_DEFAULT), H5Dclose);
    DYDIFF_USER_CHECK(ds.ok(), source << ": cannot open HDF5 dataset '" << path << "'");
    Handle type(H5Dget_type(ds.get()), H5Tclose);
    Handle space(H5Dget_space(ds.get()), H5Sclose);
    DYDIFF_USER_CHECK(type.ok() && space.ok(), source << ": cannot read the type or shape of '" << path << "'");
    const H5S_class_t space_class = H5Sget_simple_extent_type(space.get());
    if (space_class == H5S_NULL) {
        why = "empty dataspace";
        return false;
    }
    const int rank = H5Sget_simple_extent_ndims(space.get());
    DYDIFF_USER_CHECK(rank >= 0 && rank <= H5S_MAX_RANK,
                      source << ": cannot read the shape of '" << path << "' (rank " << rank << ")");
    std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
    if (rank > 0)
        DYDIFF_USER_CHECK(H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr) == rank,
                          source << ": cannot read the " << rank << " dimensions of '" << path << "'");

    const H5T_class_t cls = H5Tget_class(type.get());
    const std::size_t size = H5Tget_size(type.get());
    hid_t mem_type = -1;  // a predefined native type: never closed
    std::string stored;
    if (cls == H5T_FLOAT) {
        stored = "float" + std::to_string(8 * size);
        if (!is_standard_float(type.get())) {
            why = "float type of " + std::to_string(size) + " bytes that is not IEEE float32 or float64";
            return false;
        }
        out.array.dtype = size == 4 ? DType::f32 : DType::f64;
        mem_type = size == 4 ? H5T_NATIVE_FLOAT : H5T_NATIVE_DOUBLE;
    } else if (cls == H5T_INTEGER) {
        const bool is_signed = H5Tget_sign(type.get()) == H5T_SGN_2;
        stored = std::string(is_signed ? "int" : "uint") + std::to_string(8 * size);
        if (!is_standard_integer(type.get())) {
            why = "integer type of " + std::to_string(size) + " bytes with a non-standard precision or offset";
            return false;
        }
        if (!is_signed && size == 1) {
            out.array.dtype = DType::u8;
            mem_type = H5T_NATIVE_UINT8;
        } else if (size < 4 || (size == 4 && is_signed)) {
            out.array.dtype = DType::i32;
            mem_type = H5T_NATIVE_INT32;
        } else {
            out.array.dtype = DType::i64;  // HDF5 clamps uint64 values beyond int64 in the conversion
            mem_type = H5T_NATIVE_INT64;
        }
    } else if (cls == H5T_ENUM && is_bool_enum(type.get())) {
        out.array.dtype = DType::bool_;
        stored = "bool";
    } else {
        why = cls == H5T_STRING ? "string" : cls == H5T_COMPOUND ? "compound type" : "unsupported HDF5 type";
        return false;
    }

    // Every size is checked before anything is allocated: the shape against overflow (in memory and in the file),
    // then the file's storage against the shape (check_storage), so that a small file cannot claim gigabytes.
    const std::vector<std::size_t> shape(dims.begin(), dims.end());
    const std::string where = source + ": HDF5 dataset '" + path + "'";
    const std::size_t bytes = checked_nbytes(shape, itemsize(out.array.dtype), where);
    const std::uint64_t claimed = checked_nbytes(shape, size, where);
    out.stored = stored;
    out.array.shape = shape;
    if (bytes == 0) return true;
    check_storage(ds.get(), source, path, dims, claimed, size, file_size);
    out.array.bytes.assign(bytes, 0);
    herr_t status;
    if (out.array.dtype == DType::bool_) {
        // Enum -> the native enum of the same members (HDF5 converts enums only to enums).
        Handle native(H5Tget_native_type(type.get(), H5T_DIR_ASCEND), H5Tclose);
        DYDIFF_USER_CHECK(native.ok(), source << ": cannot map the bool enum of '" << path << "' to memory");
        status = H5Dread(ds.get(), native.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.array.bytes.data());
    } else {
        status = H5Dread(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.array.bytes.data());
    }
    DYDIFF_USER_CHECK(status >= 0, source << ": reading HDF5 dataset '" << path << "' (" << stored << ", shape "
                                          << shape_str(out.array.shape)
                                          << ") failed: a filter this libhdf5 lacks, or a damaged file");
    out.array.validate(source + ": key '" + path + "'");
    return true;
}


bool is_episode_group(const std::string& p) { return p.rfind("episode_", 0) == 0 && p.find('/') == std::string::npos; }

// ---- Minari ---------------------------------------------------------------------------------------------------------

// The elements of a as doubles (bool as 0/1); a has been validated by read_dataset.
std::vector<double> as_doubles(const NpyArray& a) {
    std::vector<double> out(a.size());
    a.convert_elements(out.data());
    return out;
}

// The D4RL columns being assembled from the episodes, in id order (float64 and bool, converted once by
// dataset_from_arrays).
struct MinariColumns {
    std::vector<double> observations, next_observations, actions, rewards;  // (N*S), (N*S), (N*A), (N)
    std::vector<std::uint8_t> terminals, timeouts;                          // (N) 0/1
    std::size_t rows = 0, obs_dim = 0, action_dim = 0;
    std::string first_episode;                                              // the one that fixed obs_dim, action_dim
    std::map<std::string, std::set<std::string>> stored;                    // D4RL key -> stored dtypes seen
};

// One episode member, read and checked: it exists, is a dataset (a group means a Dict/Tuple space) and is numeric.
RawArray read_member(hid_t file, const std::string& source, std::uint64_t file_size, const std::string& episode,
                     const std::string& key) {
    const std::string p = episode + "/" + key;
    DYDIFF_USER_CHECK(H5Lexists(file, p.c_str(), H5P_DEFAULT) > 0,
                      source << ": Minari " << episode << " has no '" << key
                             << "' (an episode group holds observations, "
                             << "actions, rewards, terminations and truncations)");
    Handle obj(H5Oopen(file, p.c_str(), H5P_DEFAULT), H5Oclose);
    DYDIFF_USER_CHECK(obj.ok(), source << ": cannot open HDF5 object '" << p << "'");
    DYDIFF_USER_CHECK(
        H5Iget_type(obj.get()) == H5I_DATASET,
        source << ": Minari " << episode << "/" << key << " is a group, not an array: a Dict or Tuple "
               << (key == "actions" ? "action" : "observation") << " space. dydiff reads only flat Box (or "
               << "Discrete) spaces; flatten the space before recording, or convert with your own h5py script");
    RawArray raw;
    std::string why;
    DYDIFF_USER_CHECK(read_dataset(file, p, source, file_size, raw, why),
                      source << ": Minari " << episode << "/" << key << " cannot be read as numbers (" << why << ")");
    return raw;
}

// (rows, dim) of a (rows,) or (rows, dim) episode array: rank 1 is a Discrete space, dim 1.
std::size_t matrix_dim(const RawArray& raw, const std::string& source, const std::string& episode,
                       const std::string& key, std::size_t rows) {
    const auto& shape = raw.array.shape;
    DYDIFF_USER_CHECK(
        (shape.size() == 1 || shape.size() == 2) && shape[0] == rows,
        source << ": Minari " << episode << "/" << key << " has shape " << shape_str(shape) << ", expected (" << rows
               << ", dim) or (" << rows << ",)"
               << (key == "observations" ? " (T + 1 rows: the reset observation, then one per step)" : ""));
    const std::size_t dim = shape.size() == 2 ? shape[1] : 1;
    DYDIFF_USER_CHECK(dim >= 1, source << ": Minari " << episode << "/" << key << " has shape " << shape_str(shape)
                                       << ": its dimension must be at least 1");
    return dim;
}

// Values of a (T,) or (T, 1) episode array.
std::vector<double> step_values(const RawArray& raw, const std::string& source, const std::string& episode,
                                const std::string& key, std::size_t steps) {
    const auto& shape = raw.array.shape;
    DYDIFF_USER_CHECK((shape.size() == 1 || (shape.size() == 2 && shape[1] == 1)) && shape[0] == steps,
                      source << ": Minari " << episode << "/" << key << " has shape " << shape_str(shape)
                             << ", expected (" << steps << ",) or (" << steps << ", 1) (one per step; 'actions' has "
                             << steps << " rows)");
    return as_doubles(raw.array);
}

// Fails on the first value that is not finite in float32, naming the episode, key and step.
void check_finite_f32(const std::vector<double>& v, std::size_t cols, const std::string& source,
                      const std::string& episode, const std::string& key) {
    for (std::size_t i = 0; i < v.size(); ++i) {
        DYDIFF_USER_CHECK(std::isfinite(v[i]) && std::fabs(v[i]) <= static_cast<double>(FLT_MAX),
                          source << ": Minari " << episode << "/" << key << " row " << i / cols << ", column "
                                 << i % cols << " holds " << v[i]
                                 << (std::isfinite(v[i]) ? ", which overflows float32" : ""));
    }
}

void append_episode(hid_t file, const std::string& source, std::uint64_t file_size, const std::string& episode,
                    MinariColumns& c, std::vector<std::string>& ignored) {
    const RawArray act = read_member(file, source, file_size, episode, "actions");
    DYDIFF_USER_CHECK(!act.array.shape.empty(), source << ": Minari " << episode << "/actions is a scalar");
    const std::size_t steps = act.array.shape[0];  // T
    const RawArray obs = read_member(file, source, file_size, episode, "observations");
    const RawArray rew = read_member(file, source, file_size, episode, "rewards");
    const RawArray term = read_member(file, source, file_size, episode, "terminations");
    const RawArray trunc = read_member(file, source, file_size, episode, "truncations");
    const std::size_t s = matrix_dim(obs, source, episode, "observations", steps + 1);
    const std::size_t a = matrix_dim(act, source, episode, "actions", steps);
    if (c.first_episode.empty()) {
        c.first_episode = episode;
        c.obs_dim = s;
        c.action_dim = a;
    }
    DYDIFF_USER_CHECK(s == c.obs_dim && a == c.action_dim, source << ": Minari " << episode << " has obs dim " << s
                                                                  << ", action dim " << a << ", but " << c.first_episode
                                                                  << " has " << c.obs_dim << ", " << c.action_dim);
    if (steps == 0) {
        ignored.push_back(episode + " (0 steps)");
        return;
    }

    const std::vector<double> o = as_doubles(obs.array), u = as_doubles(act.array);
    check_finite_f32(o, s, source, episode, "observations");
    check_finite_f32(u, a, source, episode, "actions");
    const std::vector<double> r = step_values(rew, source, episode, "rewards", steps);
    check_finite_f32(r, 1, source, episode, "rewards");
    // Row t of the dataset is step t: observations[t] -> actions[t] -> observations[t + 1].
    c.observations.insert(c.observations.end(), o.begin(), o.end() - static_cast<std::ptrdiff_t>(s));
    c.next_observations.insert(c.next_observations.end(), o.begin() + static_cast<std::ptrdiff_t>(s), o.end());
    c.actions.insert(c.actions.end(), u.begin(), u.end());
    c.rewards.insert(c.rewards.end(), r.begin(), r.end());

    const auto append_flags = [&](const RawArray& raw, const std::string& key, std::vector<std::uint8_t>& out) {
        const std::vector<double> f = step_values(raw, source, episode, key, steps);
        for (std::size_t t = 0; t < steps; ++t) {
            DYDIFF_USER_CHECK(f[t] == 0.0 || f[t] == 1.0,
                              source << ": Minari " << episode << "/" << key << " step " << t << " holds " << f[t]
                                     << " (stored as " << raw.stored
                                     << "): episode flags must be bool or the numbers 0 and 1");
            out.push_back(f[t] != 0.0);
        }
    };
    append_flags(term, "terminations", c.terminals);
    append_flags(trunc, "truncations", c.timeouts);
    // NOTE: an unfinished episode (the recorder stopped before a termination or truncation) ends with neither flag.
    // Concatenated as is, split_episodes would merge it with the next episode; its last row gets timeouts = 1 so
    // every Minari episode stays one D4RL episode (a truncation: the state is not terminal).
    if (!c.terminals.back() && !c.timeouts.back()) c.timeouts.back() = 1;
    c.rows += steps;

    c.stored["observations"].insert(obs.stored);
    c.stored["next_observations"].insert(obs.stored + " (observations[t+1])");
    c.stored["actions"].insert(act.stored);
    c.stored["rewards"].insert(rew.stored);
    c.stored["terminals"].insert(term.stored + " (terminations)");
    c.stored["timeouts"].insert(trunc.stored + " (truncations)");
}

// "float64" or "float32/float64" when episodes disagree.
std::string joined(const std::set<std::string>& names) {
    std::string out;
    for (const std::string& n : names) out += (out.empty() ? "" : "/") + n;
    return out;
}

// The id of "episode_<id>"; fails unless <id> is a non-negative integer.
std::uint64_t episode_id(const std::string& name, const std::string& source) {
    const std::string digits = name.substr(std::string("episode_").size());
    DYDIFF_USER_CHECK(
        !digits.empty() && digits.size() <= 18 &&
            std::all_of(digits.begin(), digits.end(), [](unsigned char ch) { return std::isdigit(ch) != 0; }),
        source << ": Minari group '" << name << "' does not end in an episode id (episode_<integer>)");
    return std::stoull(digits);
}

// A Minari main_data.hdf5 as D4RL arrays (docs/data_format.md, "Minari HDF5"). `paths` is the whole walk.
Hdf5Contents read_minari(hid_t file, const std::string& source, std::uint64_t file_size,
                         const std::vector<std::string>& paths) {
    std::vector<std::pair<std::uint64_t, std::string>> episodes;  // (id, group name)
    std::set<std::string> ignored_kinds;                          // one entry per kind, not per episode
    for (const std::string& p : paths) {
        if (is_episode_group(p)) {
            episodes.emplace_back(episode_id(p, source), p);
            continue;
        }
        const auto slash = p.find('/');
        const std::string head = p.substr(0, slash);
        if (slash == std::string::npos || !is_episode_group(head)) {
            ignored_kinds.insert(p + " (not an episode)");
            continue;
        }
        const std::string rest = p.substr(slash + 1);
        if (rest == "infos" || rest.rfind("infos/", 0) == 0) {
            if (rest != "infos") ignored_kinds.insert("episode_*/" + rest + " (Minari infos are not read)");
        } else if (rest.find('/') == std::string::npos &&
                   rest != "observations" && rest != "actions" && rest != "rewards" && rest != "terminations" &&
                   rest != "truncations") {
            ignored_kinds.insert("episode_*/" + rest + " (unknown episode member)");
        }
        // Members below observations/ or actions/ (Dict/Tuple spaces) fail in read_member with their episode.
    }
    std::sort(episodes.begin(), episodes.end());
    for (std::size_t k = 1; k < episodes.size(); ++k)
        DYDIFF_USER_CHECK(episodes[k].first != episodes[k - 1].first,
                          source << ": Minari groups '" << episodes[k - 1].second << "' and '" << episodes[k].second
                                 << "' have the same episode id");

    MinariColumns c;
    std::vector<std::string> ignored;
    for (const auto& [id, name] : episodes) append_episode(file, source, file_size, name, c, ignored);
    DYDIFF_USER_CHECK(c.rows >= 1,
                      source << ": Minari file with " << episodes.size() << " episode group(s) but no steps");

    const auto f64 = [](std::vector<std::size_t> shape, const std::vector<double>& v) {
        return NpyArray::from_vector(shape, v);
    };
    const auto flags = [](const std::vector<std::uint8_t>& v) {
        NpyArray a = NpyArray::from_data<std::uint8_t>({v.size()}, v.data());
        a.dtype = DType::bool_;
        return a;
    };
    Hdf5Contents out;
    const std::size_t n = c.rows;
    out.arrays["observations"] = RawArray{f64({n, c.obs_dim}, c.observations), joined(c.stored["observations"])};
    out.arrays["next_observations"] =
        RawArray{f64({n, c.obs_dim}, c.next_observations), joined(c.stored["next_observations"])};
    out.arrays["actions"] = RawArray{f64({n, c.action_dim}, c.actions), joined(c.stored["actions"])};
    out.arrays["rewards"] = RawArray{f64({n}, c.rewards), joined(c.stored["rewards"])};
    out.arrays["terminals"] = RawArray{flags(c.terminals), joined(c.stored["terminals"])};
    out.arrays["timeouts"] = RawArray{flags(c.timeouts), joined(c.stored["timeouts"])};
    out.ignored = std::move(ignored);
    out.ignored.insert(out.ignored.end(), ignored_kinds.begin(), ignored_kinds.end());
    return out;
}
}  // namespace

Hdf5Contents read_hdf5_arrays(const std::string& path) {
    DYDIFF_USER_CHECK(std::ifstream(path).good(), path << ": cannot open the file (missing or unreadable)");
    std::error_code ec;
    const std::uint64_t file_size = std::filesystem::file_size(path, ec);
    DYDIFF_USER_CHECK(!ec, path << ": cannot read the file's size (" << ec.message() << ")");
    // NOTE: libhdf5 cannot close some damaged files (a corrupt metadata entry stays in its cache) and then prints
    // "HDF5: infinite loop closing library" from its atexit handler, after our one error message. We only read, so
    // there is nothing to flush at exit: the handler is not installed (a no-op once the library is initialised).
    static const bool no_atexit = H5dont_atexit() >= 0;
    (void)no_atexit;
    const QuietErrors quiet;
    DYDIFF_USER_CHECK(H5Fis_hdf5(path.c_str()) > 0, path << ": not an HDF5 file");
    Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
    DYDIFF_USER_CHECK(file.ok(), path << ": libhdf5 cannot open the file");

    Walk walk;
    DYDIFF_USER_CHECK(H5Lvisit(file.get(), H5_INDEX_NAME, H5_ITER_INC, &collect, &walk) >= 0,
                      path << ": cannot list the HDF5 file's contents (a damaged file)");

    Hdf5Contents out;
    for (const std::string& p : walk.paths) {
        if (is_episode_group(p)) return read_minari(file.get(), path, file_size, walk.paths);
    }
    for (const std::string& p : walk.paths) {
        if (is_metadata(p)) {
            if (p != "metadata") out.ignored.push_back(p + " (metadata)");
            continue;
        }
        Handle obj(H5Oopen(file.get(), p.c_str(), H5P_DEFAULT), H5Oclose);
        DYDIFF_USER_CHECK(obj.ok(), path << ": cannot open HDF5 object '" << p << "'");
        if (H5Iget_type(obj.get()) != H5I_DATASET) continue;  // groups: their datasets are visited on their own
        RawArray raw;
        std::string why;
        if (read_dataset(file.get(), p, path, file_size, raw, why)) {
            out.arrays.emplace(p, std::move(raw));
        } else {
            out.ignored.push_back(p + " (" + why + ")");
        }
    }
    return out;
}

}  // namespace dydiff::data::detail
