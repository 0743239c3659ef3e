// HDF5 -> named NpyArrays through the HDF5 C API (data/hdf5_reader.hpp). Compiled only with DYDIFF_HAVE_HDF5.
// The walk (H5Lvisit) only collects paths: no exception ever crosses the C library's stack frames.
#include "data/hdf5_reader.hpp"

#include "autograd/error.hpp"

#include <hdf5.h>

#include <cstring>
#include <fstream>
#include <string>
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

// Reads one dataset; returns false (with `why`) for a type we do not keep.
bool read_dataset(hid_t file, const std::string& path, const std::string& source, RawArray& out, std::string& why) {
    Handle ds(H5Dopen2(file, path.c_str(), H5P_DEFAULT), H5Dclose);
    DYDIFF_CHECK(ds.ok(), source << ": cannot open HDF5 dataset '" << path << "'");
    Handle type(H5Dget_type(ds.get()), H5Tclose);
    Handle space(H5Dget_space(ds.get()), H5Sclose);
    DYDIFF_CHECK(type.ok() && space.ok(), source << ": cannot read the type or shape of '" << path << "'");
    const H5S_class_t space_class = H5Sget_simple_extent_type(space.get());
    if (space_class == H5S_NULL) {
        why = "empty dataspace";
        return false;
    }
    const int rank = H5Sget_simple_extent_ndims(space.get());
    DYDIFF_CHECK(rank >= 0, source << ": cannot read the shape of '" << path << "'");
    std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
    if (rank > 0) H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr);

    const H5T_class_t cls = H5Tget_class(type.get());
    const std::size_t size = H5Tget_size(type.get());
    hid_t mem_type = -1;  // a predefined native type: never closed
    std::string stored;
    if (cls == H5T_FLOAT) {
        out.array.dtype = size <= 4 ? DType::f32 : DType::f64;
        mem_type = size <= 4 ? H5T_NATIVE_FLOAT : H5T_NATIVE_DOUBLE;
        stored = "float" + std::to_string(8 * size);
    } else if (cls == H5T_INTEGER) {
        const bool is_signed = H5Tget_sign(type.get()) == H5T_SGN_2;
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
        stored = std::string(is_signed ? "int" : "uint") + std::to_string(8 * size);
    } else if (cls == H5T_ENUM && is_bool_enum(type.get())) {
        out.array.dtype = DType::bool_;
        stored = "bool";
    } else {
        why = cls == H5T_STRING ? "string" : cls == H5T_COMPOUND ? "compound type" : "unsupported HDF5 type";
        return false;
    }

    out.array.shape.assign(dims.begin(), dims.end());
    out.array.bytes.assign(out.array.size() * itemsize(out.array.dtype), 0);
    out.stored = stored;
    if (out.array.size() == 0) return true;
    herr_t status;
    if (out.array.dtype == DType::bool_) {
        // Enum -> the native enum of the same members (HDF5 converts enums only to enums).
        Handle native(H5Tget_native_type(type.get(), H5T_DIR_ASCEND), H5Tclose);
        DYDIFF_CHECK(native.ok(), source << ": cannot map the bool enum of '" << path << "' to memory");
        status = H5Dread(ds.get(), native.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, out.array.bytes.data());
    } else {
        status = H5Dread(ds.get(), mem_type, H5S_ALL, H5S_ALL, H5P_DEFAULT, out.array.bytes.data());
    }
    DYDIFF_CHECK(status >= 0, source << ": reading HDF5 dataset '" << path << "' (" << stored << ", shape "
                                     << shape_str(out.array.shape)
                                     << ") failed: a filter this libhdf5 lacks, or a damaged file");
    out.array.validate(source + ": key '" + path + "'");
    return true;
}

}  // namespace

Hdf5Contents read_hdf5_arrays(const std::string& path) {
    DYDIFF_CHECK(std::ifstream(path).good(), path << ": cannot open the file (missing or unreadable)");
    const QuietErrors quiet;
    DYDIFF_CHECK(H5Fis_hdf5(path.c_str()) > 0, path << ": not an HDF5 file");
    Handle file(H5Fopen(path.c_str(), H5F_ACC_RDONLY, H5P_DEFAULT), H5Fclose);
    DYDIFF_CHECK(file.ok(), path << ": libhdf5 cannot open the file");

    Walk walk;
    DYDIFF_CHECK(H5Lvisit(file.get(), H5_INDEX_NAME, H5_ITER_INC, &collect, &walk) >= 0,
                 path << ": cannot list the HDF5 file's contents");

    Hdf5Contents out;
    for (const std::string& p : walk.paths) {
        if (p.rfind("episode_", 0) == 0 && p.find('/') == std::string::npos) {
            DYDIFF_FAIL(path << ": this is a Minari HDF5 file (group '" << p << "' at the root); Minari's "
                             << "per-episode layout is not supported yet: convert it to a D4RL-layout NPZ with the "
                             << "h5py recipe in docs/data_format.md");
        }
    }
    for (const std::string& p : walk.paths) {
        if (is_metadata(p)) {
            if (p != "metadata") out.ignored.push_back(p + " (metadata)");
            continue;
        }
        Handle obj(H5Oopen(file.get(), p.c_str(), H5P_DEFAULT), H5Oclose);
        DYDIFF_CHECK(obj.ok(), path << ": cannot open HDF5 object '" << p << "'");
        if (H5Iget_type(obj.get()) != H5I_DATASET) continue;  // groups: their datasets are visited on their own
        RawArray raw;
        std::string why;
        if (read_dataset(file.get(), p, path, raw, why)) {
            out.arrays.emplace(p, std::move(raw));
        } else {
            out.ignored.push_back(p + " (" + why + ")");
        }
    }
    return out;
}

}  // namespace dydiff::data::detail
