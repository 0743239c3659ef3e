// NPY encode/decode (see npy.hpp): header writer with 64-byte alignment, a small parser for the Python-dict header,
// byte swapping for big-endian descr, Fortran-order transposition.
#include "data/npy.hpp"

#include "data/atomic_file.hpp"

#include <algorithm>
#include <cctype>
#include <limits>
#include <sstream>

namespace dydiff::data {

namespace {

constexpr std::uint8_t kMagic[6] = {0x93, 'N', 'U', 'M', 'P', 'Y'};
// Data starts at a multiple of this (numpy >= 1.9 pads to 64 for memory-mapped, aligned access).
constexpr std::size_t kHeaderAlign = 64;

std::string descr_list() { return "'<f4', '<f8', '<i4', '<i8', '|u1', '|b1' (either byte order)"; }

std::string quote_printable(const std::string& s) {
    std::ostringstream os;
    for (unsigned char c : s) {
        if (c >= 0x20 && c < 0x7f) {
            os << c;
        } else {
            const char* hex = "0123456789abcdef";
            os << "\\x" << hex[c >> 4] << hex[c & 15];
        }
    }
    return os.str();
}

}  // namespace

std::size_t checked_nbytes(const std::vector<std::size_t>& shape, std::size_t item, const std::string& where) {
    // NOTE: a zero dimension makes the byte count 0, but xtensor still computes strides from the other dimensions
    // (signed std::ptrdiff_t): (0, 2^32, 2^32) must fail like (1, 2^32, 2^32). So the product runs over every
    // dimension with 0 counted as 1, and must stay within PTRDIFF_MAX bytes.
    constexpr std::size_t kLimit = static_cast<std::size_t>(std::numeric_limits<std::ptrdiff_t>::max());
    std::size_t n = item, bytes = item;
    for (std::size_t d : shape) {
        const std::size_t f = d == 0 ? 1 : d;
        if (n > kLimit / f)
            DYDIFF_USER_FAIL(where << ": shape " << shape_str(shape) << " of " << item
                                   << "-byte elements overflows the address space");
        n *= f;
        bytes = d == 0 ? 0 : bytes * d;
    }
    return bytes;
}

namespace {

// ---- header parser: a Python dict literal of strings, booleans and int tuples --------------------------------
class HeaderParser {
public:
    HeaderParser(const std::string& text, const std::string& where) : s_(text), where_(where) {}

    void skip_ws() {
        while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
    }
    bool accept(char c) {
        skip_ws();
        if (i_ < s_.size() && s_[i_] == c) {
            ++i_;
            return true;
        }
        return false;
    }
    void expect(char c) {
        if (!accept(c)) fail(std::string("expected '") + c + "'");
    }
    std::string string() {
        skip_ws();
        if (i_ >= s_.size() || (s_[i_] != '\'' && s_[i_] != '"')) fail("expected a quoted string");
        const char q = s_[i_++];
        const auto end = s_.find(q, i_);
        if (end == std::string::npos) fail("unterminated string");
        std::string out = s_.substr(i_, end - i_);
        i_ = end + 1;
        return out;
    }
    bool boolean() {
        skip_ws();
        for (const auto& [word, value] : {std::pair<const char*, bool>{"True", true}, {"False", false}}) {
            const std::size_t n = std::strlen(word);
            if (s_.compare(i_, n, word) == 0) {
                i_ += n;
                return value;
            }
        }
        fail("expected True or False");
    }
    std::size_t integer() {
        skip_ws();
        if (i_ >= s_.size() || !std::isdigit(static_cast<unsigned char>(s_[i_]))) fail("expected a dimension");
        std::size_t v = 0;
        while (i_ < s_.size() && std::isdigit(static_cast<unsigned char>(s_[i_]))) {
            const std::size_t digit = static_cast<std::size_t>(s_[i_++] - '0');
            if (v > (std::numeric_limits<std::size_t>::max() - digit) / 10) fail("dimension overflows size_t");
            v = v * 10 + digit;
        }
        if (i_ < s_.size() && (s_[i_] == 'L' || s_[i_] == 'l')) ++i_;  // Python 2 longs, written by old numpy
        return v;
    }
    std::vector<std::size_t> tuple() {
        expect('(');
        std::vector<std::size_t> out;
        while (!accept(')')) {
            out.push_back(integer());
            if (!accept(',')) {
                expect(')');
                break;
            }
        }
        return out;
    }
    bool peek(char c) {
        skip_ws();
        return i_ < s_.size() && s_[i_] == c;
    }
    bool at_end() {
        skip_ws();
        return i_ == s_.size();
    }
    [[noreturn]] void fail(const std::string& what) const {
        DYDIFF_USER_FAIL(where_ << ": bad NPY header: " << what << " at offset " << i_ << " in \""
                                << quote_printable(s_) << "\"");
    }

private:
    const std::string& s_;
    const std::string& where_;
    std::size_t i_ = 0;
};

struct Descr {
    DType dtype;
    bool big_endian;
};

Descr parse_descr(const std::string& d, const std::string& where) {
    const auto unknown = [&]() {
        DYDIFF_USER_FAIL(where << ": unsupported dtype descr '" << quote_printable(d) << "'; dydiff reads "
                               << descr_list() << "; hint: convert with arr.astype(np.float32) before saving");
    };
    if (d.size() != 3) unknown();
    const char order = d[0];
    if (order != '<' && order != '>' && order != '|' && order != '=') unknown();
    const std::string code = d.substr(1);
    static const std::pair<const char*, DType> kCodes[] = {{"f4", DType::f32}, {"f8", DType::f64},
                                                           {"i4", DType::i32}, {"i8", DType::i64},
                                                           {"u1", DType::u8},  {"b1", DType::bool_}};
    for (const auto& [name, dtype] : kCodes) {
        if (code != name) continue;
        // '|' (not applicable) is legal for one-byte types only; '=' is native order, little-endian on our hosts.
        if (order == '|' && itemsize(dtype) != 1) unknown();
        return {dtype, order == '>' && itemsize(dtype) > 1};
    }
    unknown();
    return {DType::f32, false};
}

void byteswap_inplace(std::vector<std::uint8_t>& bytes, std::size_t item) {
    for (std::size_t i = 0; i + item <= bytes.size(); i += item) std::reverse(bytes.begin() + i, bytes.begin() + i + item);
}

// Fortran-order (column-major) bytes -> C order, any rank.
std::vector<std::uint8_t> fortran_to_c(const std::vector<std::uint8_t>& src, const std::vector<std::size_t>& shape,
                                       std::size_t item) {
    const std::size_t rank = shape.size();
    std::size_t n = 1;
    for (std::size_t d : shape) n *= d;
    std::vector<std::uint8_t> dst(src.size());
    if (n == 0) return dst;
    std::vector<std::size_t> fstride(rank);  // element strides of the Fortran layout
    std::size_t s = 1;
    for (std::size_t k = 0; k < rank; ++k) {
        fstride[k] = s;
        s *= shape[k];
    }
    std::vector<std::size_t> idx(rank, 0);
    std::size_t fpos = 0;
    for (std::size_t c = 0; c < n; ++c) {
        std::memcpy(&dst[c * item], &src[fpos * item], item);
        // Odometer increment of the C-order index (last axis fastest), tracking the Fortran offset.
        for (std::size_t k = rank; k-- > 0;) {
            if (++idx[k] < shape[k]) {
                fpos += fstride[k];
                break;
            }
            fpos -= (shape[k] - 1) * fstride[k];
            idx[k] = 0;
        }
    }
    return dst;
}

std::uint32_t read_le(const std::uint8_t* p, int nbytes) {
    std::uint32_t v = 0;
    for (int i = 0; i < nbytes; ++i) v |= static_cast<std::uint32_t>(p[i]) << (8 * i);
    return v;
}

}  // namespace

std::size_t itemsize(DType dtype) noexcept {
    switch (dtype) {
        case DType::f32: return 4;
        case DType::f64: return 8;
        case DType::i32: return 4;
        case DType::i64: return 8;
        case DType::u8: return 1;
        case DType::bool_: return 1;
    }
    return 0;
}

const char* dtype_name(DType dtype) noexcept {
    switch (dtype) {
        case DType::f32: return "float32";
        case DType::f64: return "float64";
        case DType::i32: return "int32";
        case DType::i64: return "int64";
        case DType::u8: return "uint8";
        case DType::bool_: return "bool";
    }
    return "?";
}

const char* dtype_descr(DType dtype) noexcept {
    switch (dtype) {
        case DType::f32: return "<f4";
        case DType::f64: return "<f8";
        case DType::i32: return "<i4";
        case DType::i64: return "<i8";
        case DType::u8: return "|u1";
        case DType::bool_: return "|b1";
    }
    return "?";
}

std::size_t NpyArray::size() const noexcept {
    std::size_t n = 1;
    for (std::size_t d : shape) n *= d;
    return n;
}

void NpyArray::validate(const std::string& where) const {
    const std::size_t expected = checked_nbytes(shape, itemsize(dtype), where);
    DYDIFF_USER_CHECK(bytes.size() == expected, where << ": shape " << shape_str(shape) << " of " << dtype_name(dtype)
                                                      << " needs " << expected << " bytes, found " << bytes.size());
    if (dtype == DType::bool_) {
        const auto bad = std::find_if(bytes.begin(), bytes.end(), [](std::uint8_t b) { return b > 1; });
        DYDIFF_USER_CHECK(bad == bytes.end(), where << ": bool element " << (bad - bytes.begin()) << " is " << int(*bad)
                                                    << ", expected 0 or 1");
    }
}

void NpyArray::check_dtype(DType expected, const std::string& context) const {
    DYDIFF_USER_CHECK(dtype == expected, context << ": expected dtype " << dtype_name(expected) << ", found "
                                                 << dtype_name(dtype) << " with shape " << shape_str(shape));
}

template <class U>
void NpyArray::convert_elements(U* out) const {
    const std::size_t n = size();
    const std::uint8_t* b = bytes.data();
    const auto convert = [&](auto tag) {
        using T = decltype(tag);
        for (std::size_t i = 0; i < n; ++i) {
            T v;
            std::memcpy(&v, b + i * sizeof(T), sizeof(T));  // bytes are not aligned for T
            out[i] = static_cast<U>(v);
        }
    };
    switch (dtype) {
        case DType::f32: convert(float{}); break;
        case DType::f64: convert(double{}); break;
        case DType::i32: convert(std::int32_t{}); break;
        case DType::i64: convert(std::int64_t{}); break;
        case DType::u8: convert(std::uint8_t{}); break;
        case DType::bool_:
            for (std::size_t i = 0; i < n; ++i) out[i] = b[i] ? U(1) : U(0);
            break;
    }
}

template void NpyArray::convert_elements<float>(float*) const;
template void NpyArray::convert_elements<double>(double*) const;

xt::xarray<float> NpyArray::to_float() const {
    xt::xarray<float> out = xt::xarray<float>::from_shape(shape);
    convert_elements(out.data());
    return out;
}

std::vector<std::uint8_t> npy_header(const NpyArray& a) {
    std::string shape = "(";
    for (std::size_t k = 0; k < a.shape.size(); ++k) shape += (k ? ", " : "") + std::to_string(a.shape[k]);
    if (a.shape.size() == 1) shape += ',';
    shape += ')';
    std::string dict = std::string("{'descr': '") + dtype_descr(a.dtype) + "', 'fortran_order': False, 'shape': " +
                       shape + ", }";
    // v1.0: 10-byte preamble with a uint16 length; v2.0: 12 bytes with a uint32 length, for headers over 65535.
    std::size_t preamble = 10;
    std::size_t total = (preamble + dict.size() + 1 + kHeaderAlign - 1) / kHeaderAlign * kHeaderAlign;
    if (total - preamble > 0xFFFF) {
        preamble = 12;
        total = (preamble + dict.size() + 1 + kHeaderAlign - 1) / kHeaderAlign * kHeaderAlign;
    }
    const std::size_t header_len = total - preamble;
    dict.append(header_len - dict.size() - 1, ' ');
    dict += '\n';
    std::vector<std::uint8_t> out(kMagic, kMagic + 6);
    out.push_back(preamble == 10 ? 1 : 2);
    out.push_back(0);
    for (std::size_t i = 0; i < preamble - 8; ++i) out.push_back(static_cast<std::uint8_t>(header_len >> (8 * i)));
    out.insert(out.end(), dict.begin(), dict.end());
    return out;
}

std::vector<std::uint8_t> encode_npy(const NpyArray& a) {
    a.validate("encode_npy");
    std::vector<std::uint8_t> out = npy_header(a);
    out.insert(out.end(), a.bytes.begin(), a.bytes.end());
    return out;
}

NpyArray decode_npy(const std::uint8_t* data, std::size_t n, const std::string& where) {
    DYDIFF_USER_CHECK(n >= 10, where << ": truncated NPY: " << n << " bytes, the fixed preamble alone is 10");
    DYDIFF_USER_CHECK(std::equal(kMagic, kMagic + 6, data),
                      where << ": bad NPY magic: expected \"\\x93NUMPY\", found \""
                            << quote_printable(std::string(data, data + 6)) << "\" (not a .npy file)");
    const int major = data[6], minor = data[7];
    DYDIFF_USER_CHECK(
        (major == 1 || major == 2 || major == 3) && minor == 0,
        where << ": unsupported NPY version " << major << "." << minor << ", dydiff reads 1.0, 2.0 and 3.0");
    const std::size_t len_bytes = major == 1 ? 2 : 4;
    DYDIFF_USER_CHECK(n >= 8 + len_bytes, where << ": truncated NPY: " << n << " bytes, no room for the header length");
    const std::size_t header_len = read_le(data + 8, static_cast<int>(len_bytes));
    const std::size_t data_start = 8 + len_bytes + header_len;
    DYDIFF_USER_CHECK(data_start <= n, where << ": truncated NPY: header of " << header_len << " bytes ends at byte "
                                             << data_start << " but the file holds " << n);
    const std::string text(reinterpret_cast<const char*>(data) + 8 + len_bytes, header_len);

    HeaderParser p(text, where);
    bool have_descr = false, have_order = false, have_shape = false, fortran = false;
    std::string descr;
    std::vector<std::size_t> shape;
    p.expect('{');
    while (!p.accept('}')) {
        const std::string key = p.string();
        p.expect(':');
        if (key == "descr") {
            if (p.peek('['))
                DYDIFF_USER_FAIL(where << ": unsupported dtype: structured (record) arrays are not read; dydiff reads "
                                       << descr_list());
            descr = p.string();
            have_descr = true;
        } else if (key == "fortran_order") {
            fortran = p.boolean();
            have_order = true;
        } else if (key == "shape") {
            shape = p.tuple();
            have_shape = true;
        } else {
            p.fail("unknown key '" + quote_printable(key) + "' (expected descr, fortran_order, shape)");
        }
        if (!p.accept(',')) {
            p.expect('}');
            break;
        }
    }
    if (!p.at_end()) p.fail("trailing characters after the dict");
    if (!have_descr || !have_order || !have_shape) p.fail("missing key: the header needs descr, fortran_order, shape");
    const Descr d = parse_descr(descr, where);

    NpyArray a;
    a.dtype = d.dtype;
    a.shape = shape;
    const std::size_t item = itemsize(d.dtype);
    const std::size_t expected = checked_nbytes(shape, item, where);
    const std::size_t found = n - data_start;
    DYDIFF_USER_CHECK(found == expected, where << ": header says shape " << shape_str(shape) << " of "
                                               << dtype_name(d.dtype) << " = " << expected << " bytes of data, found "
                                               << found << (found < expected ? " (truncated)" : " (trailing bytes)"));
    a.bytes.assign(data + data_start, data + n);
    if (d.big_endian) byteswap_inplace(a.bytes, item);
    if (fortran && shape.size() > 1) a.bytes = fortran_to_c(a.bytes, shape, item);
    a.validate(where);
    return a;
}

NpyArray read_npy(const std::string& path) {
    const std::vector<std::uint8_t> bytes = read_file_bytes(path);
    return decode_npy(bytes.data(), bytes.size(), path);
}

void write_npy(const std::string& path, const NpyArray& a) {
    a.validate(path);
    AtomicFile f(path);
    f.write(npy_header(a));
    f.write(a.bytes);
    f.commit();
}

}  // namespace dydiff::data
