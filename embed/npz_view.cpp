// The minimal NPZ reader of the embedded policy (see npz_view.hpp).
#include "embed/npz_view.hpp"

#include <cstring>
#include <sstream>

namespace dydiff::embed {
namespace {

constexpr std::uint32_t kEndSignature = 0x06054b50;      // end of central directory record
constexpr std::uint32_t kCentralSignature = 0x02014b50;  // central directory file header
constexpr std::uint32_t kLocalSignature = 0x04034b50;    // local file header
constexpr std::size_t kEndSize = 22, kCentralSize = 46, kLocalSize = 30;

[[noreturn]] void fail(const std::string& name, const std::string& what) { throw PolicyError(name + ": " + what); }

std::uint16_t u16(const std::uint8_t* p) { return static_cast<std::uint16_t>(p[0] | (p[1] << 8)); }
std::uint32_t u32(const std::uint8_t* p) {
    return static_cast<std::uint32_t>(p[0]) | (static_cast<std::uint32_t>(p[1]) << 8) |
           (static_cast<std::uint32_t>(p[2]) << 16) | (static_cast<std::uint32_t>(p[3]) << 24);
}

std::string shape_text(const std::vector<std::size_t>& shape) {
    std::ostringstream os;
    os << "(";
    for (std::size_t i = 0; i < shape.size(); ++i) os << (i ? ", " : "") << shape[i];
    os << (shape.size() == 1 ? ",)" : ")");
    return os.str();
}

std::string dtype_text(const NpzArrayView& a) {
    return std::string(a.type == 'f' ? "float" : a.type == 'i' ? "int" : "uint") + std::to_string(8 * a.itemsize);
}

// The value after `'key':` in an NPY header dict, up to the next top-level ',' or '}'.
std::string header_field(const std::string& header, const std::string& key, const std::string& where) {
    const auto k = header.find("'" + key + "'");
    if (k == std::string::npos) fail(where, "NPY header has no '" + key + "': " + header);
    auto p = header.find(':', k);
    if (p == std::string::npos) fail(where, "NPY header is malformed: " + header);
    ++p;
    while (p < header.size() && header[p] == ' ') ++p;
    std::size_t e = p;
    if (e < header.size() && header[e] == '(') {
        e = header.find(')', e);
        if (e == std::string::npos) fail(where, "NPY header shape is not closed: " + header);
        return header.substr(p, e - p + 1);
    }
    while (e < header.size() && header[e] != ',' && header[e] != '}') ++e;
    return header.substr(p, e - p);
}

NpzArrayView parse_npy(const std::uint8_t* p, std::size_t n, const std::string& key, const std::string& where) {
    if (n < 10 || std::memcmp(p, "\x93NUMPY", 6) != 0) fail(where, "not an NPY array (bad magic)");
    const int major = p[6];
    std::size_t header_len = 0, offset = 0;
    if (major == 1) {
        header_len = u16(p + 8);
        offset = 10;
    } else if (major == 2 || major == 3) {
        if (n < 12) fail(where, "truncated NPY header");
        header_len = u32(p + 8);
        offset = 12;
    } else {
        fail(where, "NPY version " + std::to_string(major) + " (expected 1, 2 or 3)");
    }
    if (offset + header_len > n) fail(where, "truncated NPY header");
    const std::string header(reinterpret_cast<const char*>(p + offset), header_len);
    NpzArrayView a;
    a.key = key;
    const std::string descr = header_field(header, "descr", where);
    if (descr == "'<f4'") {
        a.type = 'f', a.itemsize = 4;
    } else if (descr == "'<f8'") {
        a.type = 'f', a.itemsize = 8;
    } else if (descr == "'<i8'") {
        a.type = 'i', a.itemsize = 8;
    } else if (descr == "'<i4'") {
        a.type = 'i', a.itemsize = 4;
    } else if (descr == "'|u1'") {
        a.type = 'u', a.itemsize = 1;
    } else {
        fail(where, "dtype " + descr + " (a policy file holds '<f4', '<f8', '<i8', '<i4' or '|u1')");
    }
    if (header_field(header, "fortran_order", where) != "False")
        fail(where, "Fortran-order array (re-save it in C order)");
    const std::string shape = header_field(header, "shape", where);
    for (std::size_t i = 1; i + 1 < shape.size();) {
        while (i + 1 < shape.size() && (shape[i] == ' ' || shape[i] == ',')) ++i;
        if (i + 1 >= shape.size()) break;
        std::size_t v = 0, digits = 0;
        while (i + 1 < shape.size() && shape[i] >= '0' && shape[i] <= '9') {
            v = v * 10 + static_cast<std::size_t>(shape[i] - '0');
            ++i, ++digits;
        }
        if (digits == 0) fail(where, "NPY shape " + shape + " is not a tuple of integers");
        a.shape.push_back(v);
    }
    a.data = p + offset + header_len;
    if (offset + header_len + a.size() * a.itemsize != n)
        fail(where, "NPY data holds " + std::to_string(n - offset - header_len) + " bytes, the header says " +
                        shape_text(a.shape) + " of " + dtype_text(a));
    return a;
}

}  // namespace

std::size_t NpzArrayView::size() const {
    std::size_t n = 1;
    for (std::size_t d : shape) n *= d;
    return n;
}

std::uint32_t crc32(const std::uint8_t* data, std::size_t n) {
    static const auto table = [] {
        std::vector<std::uint32_t> t(256);
        for (std::uint32_t i = 0; i < 256; ++i) {
            std::uint32_t c = i;
            for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            t[i] = c;
        }
        return t;
    }();
    std::uint32_t c = 0xFFFFFFFFu;
    for (std::size_t i = 0; i < n; ++i) c = table[(c ^ data[i]) & 0xFF] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

NpzView::NpzView(const std::uint8_t* bytes, std::size_t n, std::string name) : name_(std::move(name)) {
    // The end record sits in the last 22 + 65535 (comment) bytes.
    if (n < kEndSize) fail(name_, "too short for a ZIP/NPZ archive (" + std::to_string(n) + " bytes)");
    std::size_t end = n - kEndSize + 1;
    const std::size_t lowest = n > kEndSize + 65535 ? n - kEndSize - 65535 : 0;
    do {
        --end;
        if (u32(bytes + end) == kEndSignature) break;
    } while (end > lowest);
    if (u32(bytes + end) != kEndSignature) fail(name_, "no ZIP end record: not an NPZ file, or truncated");
    const std::size_t count = u16(bytes + end + 10);
    const std::size_t cd_offset = u32(bytes + end + 16);
    if (count == 0xFFFF || cd_offset == 0xFFFFFFFFu) fail(name_, "ZIP64 archive (a policy file never needs it)");
    std::size_t p = cd_offset;
    for (std::size_t m = 0; m < count; ++m) {
        if (p + kCentralSize > n || u32(bytes + p) != kCentralSignature)
            fail(name_, "central directory entry " + std::to_string(m) + " is damaged");
        const std::uint16_t method = u16(bytes + p + 10);
        const std::uint32_t crc = u32(bytes + p + 16);
        const std::size_t size = u32(bytes + p + 20);
        const std::size_t name_len = u16(bytes + p + 28), extra_len = u16(bytes + p + 30), comment_len = u16(bytes + p + 32);
        const std::size_t local = u32(bytes + p + 42);
        if (p + kCentralSize + name_len > n) fail(name_, "central directory entry " + std::to_string(m) + " is damaged");
        const std::string member(reinterpret_cast<const char*>(bytes + p + kCentralSize), name_len);
        p += kCentralSize + name_len + extra_len + comment_len;
        const std::string where = name_ + ": member '" + member + "'";
        if (method != 0)
            fail(name_, "member '" + member + "' is compressed (ZIP method " + std::to_string(method) +
                            "); policy files are written uncompressed (np.savez, not savez_compressed)");
        if (local + kLocalSize > n || u32(bytes + local) != kLocalSignature) fail(where, "bad local header");
        const std::size_t data = local + kLocalSize + u16(bytes + local + 26) + u16(bytes + local + 28);
        if (data + size > n) fail(where, "truncated data");
        if (crc32(bytes + data, size) != crc) fail(where, "CRC-32 mismatch (corrupted file)");
        if (member.size() < 4 || member.compare(member.size() - 4, 4, ".npy") != 0) continue;
        arrays_.push_back(parse_npy(bytes + data, size, member.substr(0, member.size() - 4), where));
    }
}

const NpzArrayView* NpzView::find(const std::string& key) const {
    for (const auto& a : arrays_)
        if (a.key == key) return &a;
    return nullptr;
}

const NpzArrayView& NpzView::require(const std::string& key) const {
    if (const NpzArrayView* a = find(key)) return *a;
    fail(name_, "missing entry '" + key + "' (is this a dydiff policy file? see docs/embedding.md)");
}

std::vector<float> NpzView::floats(const std::string& key, const std::vector<std::size_t>& shape) const {
    const NpzArrayView& a = require(key);
    if (a.type != 'f') fail(name_, "entry '" + key + "' is " + dtype_text(a) + ", expected float32");
    if (a.shape != shape)
        fail(name_, "entry '" + key + "' has shape " + shape_text(a.shape) + ", expected " + shape_text(shape));
    std::vector<float> out(a.size());
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (a.itemsize == 4) {
            std::memcpy(&out[i], a.data + 4 * i, 4);
        } else {
            double d;
            std::memcpy(&d, a.data + 8 * i, 8);
            out[i] = static_cast<float>(d);
        }
    }
    return out;
}

std::vector<double> NpzView::doubles_1d(const std::string& key) const {
    const NpzArrayView& a = require(key);
    if (a.type != 'f' || a.shape.size() != 1)
        fail(name_, "entry '" + key + "' is " + dtype_text(a) + " " + shape_text(a.shape) + ", expected a 1-d float array");
    std::vector<double> out(a.size());
    for (std::size_t i = 0; i < out.size(); ++i) {
        if (a.itemsize == 8) {
            std::memcpy(&out[i], a.data + 8 * i, 8);
        } else {
            float f;
            std::memcpy(&f, a.data + 4 * i, 4);
            out[i] = f;
        }
    }
    return out;
}

std::int64_t NpzView::integer(const std::string& key) const {
    const NpzArrayView& a = require(key);
    if (a.type != 'i' || !a.shape.empty())
        fail(name_, "entry '" + key + "' is " + dtype_text(a) + " " + shape_text(a.shape) + ", expected one int64");
    if (a.itemsize == 8) {
        std::int64_t v;
        std::memcpy(&v, a.data, 8);
        return v;
    }
    std::int32_t v;
    std::memcpy(&v, a.data, 4);
    return v;
}

std::string NpzView::text(const std::string& key) const {
    const NpzArrayView& a = require(key);
    if (a.type != 'u' || a.itemsize != 1 || a.shape.size() != 1)
        fail(name_, "entry '" + key + "' is " + dtype_text(a) + " " + shape_text(a.shape) + ", expected uint8 text");
    return std::string(reinterpret_cast<const char*>(a.data), a.size());
}

}  // namespace dydiff::embed
