// NPY arrays: numpy's .npy format (v1.0 written, v1/v2/v3 read) and NpyArray, the tagged array of our file I/O.
// Format (numpy NEP 1 / numpy.lib.format, see docs/checkpoints.md): magic "\x93NUMPY", version, a little-endian
// header length, an ASCII Python-dict header {'descr', 'fortran_order', 'shape'} padded with spaces and '\n' so that
// the data starts on a 64-byte boundary, then the raw elements in C order.
// Read: descr <f4 <f8 <i4 <i8 |u1 |b1 in either byte order (big-endian is converted), Fortran order is transposed
// to C order. NpyArray always holds little-endian, C-order bytes.
// data/ layer: depends on autograd/error.hpp, autograd/xt.hpp and the standard library only.
#pragma once

#include "autograd/error.hpp"
#include "autograd/xt.hpp"

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <string>
#include <type_traits>
#include <vector>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "dydiff's NPY/NPZ code stores little-endian bytes and reads them as native values: little-endian hosts only"
#endif

namespace dydiff::data {

/// Element types of NPY files we read and write (numpy descr in the comment).
enum class DType : std::uint8_t {
    f32,    ///< '<f4' float32
    f64,    ///< '<f8' float64
    i32,    ///< '<i4' int32
    i64,    ///< '<i8' int64
    u8,     ///< '|u1' uint8
    bool_,  ///< '|b1' bool, one byte 0 or 1
};

/// Bytes per element.
std::size_t itemsize(DType dtype) noexcept;
/// numpy's name: "float32", "float64", "int32", "int64", "uint8", "bool".
const char* dtype_name(DType dtype) noexcept;
/// The descr we write: "<f4", "<f8", "<i4", "<i8", "|u1", "|b1".
const char* dtype_descr(DType dtype) noexcept;

/// DType of a C++ element type: DTypeOf<float>::value == DType::f32.
template <class T> struct DTypeOf;
template <> struct DTypeOf<float> { static constexpr DType value = DType::f32; };
template <> struct DTypeOf<double> { static constexpr DType value = DType::f64; };
template <> struct DTypeOf<std::int32_t> { static constexpr DType value = DType::i32; };
template <> struct DTypeOf<std::int64_t> { static constexpr DType value = DType::i64; };
template <> struct DTypeOf<std::uint8_t> { static constexpr DType value = DType::u8; };
template <> struct DTypeOf<bool> { static constexpr DType value = DType::bool_; };

/// A typed n-d array as stored in a file: little-endian, C order, shape () for a scalar.
struct NpyArray {
    DType dtype = DType::f32;
    std::vector<std::size_t> shape;   // () is a 0-d scalar holding one element
    std::vector<std::uint8_t> bytes;  // size() * itemsize(dtype) bytes

    /// Number of elements: the product of shape (1 for a scalar, 0 when any dimension is 0).
    std::size_t size() const noexcept;

    /// Throws unless bytes.size() == size() * itemsize(dtype) (and bool bytes are 0 or 1).
    void validate(const std::string& where) const;

    /// Copies n = prod(shape) elements of type T from data (C order).
    template <class T>
    static NpyArray from_data(const std::vector<std::size_t>& shape, const T* data) {
        NpyArray a;
        a.dtype = DTypeOf<T>::value;
        a.shape = shape;
        a.bytes.resize(a.size() * sizeof(T));
        if (!a.bytes.empty()) std::memcpy(a.bytes.data(), data, a.bytes.size());
        return a;
    }

    /// From a std::vector<T>; values.size() must equal prod(shape). (std::vector<bool> is not contiguous: use uint8
    /// values with from_data<bool> on a bool array, or from_xarray.)
    template <class T>
    static NpyArray from_vector(const std::vector<std::size_t>& shape, const std::vector<T>& values) {
        static_assert(!std::is_same<T, bool>::value, "std::vector<bool> is a bitset; use xt::xarray<bool>");
        NpyArray a;
        a.dtype = DTypeOf<T>::value;
        a.shape = shape;
        DYDIFF_CHECK(values.size() == a.size(), "NpyArray::from_vector: shape " << shape_str(shape) << " holds "
                                                                                << a.size() << " elements, got "
                                                                                << values.size());
        return from_data(shape, values.data());
    }

    /// From any xtensor expression (xarray, xtensor, views), evaluated in C order; dtype follows its value_type.
    template <class E>
    static NpyArray from_xarray(const xt::xexpression<E>& expr) {
        using T = std::remove_cv_t<typename E::value_type>;
        const xt::xarray<T, xt::layout_type::row_major> a = expr.derived_cast();
        const std::vector<std::size_t> shape(a.shape().begin(), a.shape().end());
        return from_data(shape, a.data());
    }

    /// The elements as T; T must match dtype exactly (no conversion), else dydiff::Error.
    template <class T>
    std::vector<T> to_vector() const {
        static_assert(!std::is_same<T, bool>::value, "std::vector<bool> is a bitset; use to_xarray<bool>()");
        check_dtype(DTypeOf<T>::value, "NpyArray::to_vector");
        std::vector<T> out(size());
        if (!out.empty()) std::memcpy(out.data(), bytes.data(), out.size() * sizeof(T));
        return out;
    }

    /// The array as xt::xarray<T> of the same shape; T must match dtype exactly, else dydiff::Error.
    template <class T>
    xt::xarray<T> to_xarray() const {
        check_dtype(DTypeOf<T>::value, "NpyArray::to_xarray");
        xt::xarray<T> out = xt::xarray<T>::from_shape(shape);
        if (size() != 0) std::memcpy(out.data(), bytes.data(), size() * sizeof(T));
        return out;
    }

    /// The array converted to float32 from any dtype (f64 rounds, i64 beyond 2^24 rounds, bool gives 0/1).
    xt::xarray<float> to_float() const;
    /// The size() elements converted to U (float or double) into out, in C order; bool gives 0/1.
    template <class U>
    void convert_elements(U* out) const;

    /// Throws "<context>: expected dtype X, found Y" unless dtype == expected.
    void check_dtype(DType expected, const std::string& context) const;
};

/// size * item bytes of an array of this shape, for every reader before it allocates: fails (naming `where` and the
/// shape) unless the product of the dimensions, a 0 counted as 1, times item fits in std::ptrdiff_t (xtensor's
/// strides are signed, and are computed even for an empty array).
std::size_t checked_nbytes(const std::vector<std::size_t>& shape, std::size_t item, const std::string& where);

/// The .npy bytes of a: header (v1.0, or v2.0 when the header exceeds 65535 bytes) followed by the data.
std::vector<std::uint8_t> encode_npy(const NpyArray& a);
/// Just the header part of encode_npy(a) (magic .. '\n'); the data follows it unchanged.
std::vector<std::uint8_t> npy_header(const NpyArray& a);
/// Parses a whole .npy image of n bytes. `where` names the source in errors ("run.npz: member 'w.npy'").
NpyArray decode_npy(const std::uint8_t* data, std::size_t n, const std::string& where);

/// Reads a .npy file.
NpyArray read_npy(const std::string& path);
/// Writes a .npy file atomically (temp file in the same directory, fsync, rename).
void write_npy(const std::string& path, const NpyArray& a);

}  // namespace dydiff::data
