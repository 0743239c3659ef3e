// A minimal read-only NPZ view for the embedded policy: the subset that dydiff's checkpoint writer (data/npz.hpp)
// produces. ZIP (PKWARE APPNOTE 6.3): end record, central directory, local headers, STORED members only, CRC-32
// checked; no ZIP64 (a policy file is far below 4 GiB). NPY: versions 1-3, C order, little-endian dtypes <f4 <f8
// <i8 <i4 |u1. Its own code, not data/npz, so that embed/ links nothing but the C++ standard library.
// Arrays point into the caller's byte buffer, which must outlive the view.
#pragma once

#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "embed/npz_view reads little-endian NPY elements as native values: little-endian hosts only"
#endif

namespace dydiff::embed {

/// Every error of loading a policy: names the file, the entry and what was expected.
class PolicyError : public std::runtime_error {
public:
    using std::runtime_error::runtime_error;
};

struct NpzArrayView {
    std::string key;                  // member name without ".npy"
    char type = 'f';                  // 'f' float, 'i' signed int, 'u' unsigned int
    std::size_t itemsize = 4;         // bytes per element
    std::vector<std::size_t> shape;   // () for a scalar
    const std::uint8_t* data = nullptr;  // little-endian elements, C order
    std::size_t size() const;         // product of shape
};

class NpzView {
public:
    /// Parses the archive in bytes[0, n); `name` is used in error messages (the file path).
    NpzView(const std::uint8_t* bytes, std::size_t n, std::string name);

    const std::string& name() const { return name_; }
    /// The array under key, or nullptr.
    const NpzArrayView* find(const std::string& key) const;
    /// The array under key; a PolicyError naming the file and key when absent.
    const NpzArrayView& require(const std::string& key) const;

    /// Typed copies with shape checks (errors name the file, the key, the expected and found dtype/shape).
    /// float32 or float64 elements, converted to float; `shape` the exact expected shape.
    std::vector<float> floats(const std::string& key, const std::vector<std::size_t>& shape) const;
    /// float64 (or float32) elements of a 1-d array of any length.
    std::vector<double> doubles_1d(const std::string& key) const;
    /// One int64 (or int32) element of a 0-d array.
    std::int64_t integer(const std::string& key) const;
    /// A uint8 1-d array as text.
    std::string text(const std::string& key) const;

private:
    std::string name_;
    std::vector<NpzArrayView> arrays_;
};

/// CRC-32 (ISO-HDLC, as in ZIP) of n bytes.
std::uint32_t crc32(const std::uint8_t* data, std::size_t n);

}  // namespace dydiff::embed
