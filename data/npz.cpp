// NPZ = ZIP of STORED .npy members (see npz.hpp). Record layouts follow PKWARE's APPNOTE.TXT 6.3:
//   local file header      sig 0x04034b50, 30 bytes + name + extra, then the member data
//   central directory hdr  sig 0x02014b50, 46 bytes + name + extra + comment
//   ZIP64 end record       sig 0x06064b50, 56 bytes; its locator sig 0x07064b50, 20 bytes
//   end of central dir     sig 0x06054b50, 22 bytes + archive comment
// All integers little-endian. A 32-bit field holding 0xFFFFFFFF (16-bit: 0xFFFF) means "see the ZIP64 record".
#include "data/npz.hpp"

#include "data/atomic_file.hpp"

#include <algorithm>
#include <array>
#include <iomanip>
#include <limits>
#include <sstream>

namespace dydiff::data {

namespace {

constexpr std::uint32_t kLocalSig = 0x04034b50;
constexpr std::uint32_t kCentralSig = 0x02014b50;
constexpr std::uint32_t kEndSig = 0x06054b50;
constexpr std::uint32_t kZip64EndSig = 0x06064b50;
constexpr std::uint32_t kZip64LocatorSig = 0x07064b50;
constexpr std::uint16_t kZip64ExtraId = 0x0001;

constexpr std::size_t kLocalSize = 30;
constexpr std::size_t kCentralSize = 46;
constexpr std::size_t kEndSize = 22;
constexpr std::size_t kZip64EndSize = 56;
constexpr std::size_t kZip64LocatorSize = 20;

constexpr std::uint32_t kMax32 = 0xFFFFFFFFu;
constexpr std::uint16_t kMax16 = 0xFFFFu;

constexpr std::uint16_t kVersionDefault = 20;  // 2.0: STORED members, plain directory
constexpr std::uint16_t kVersionZip64 = 45;    // 4.5: ZIP64 extensions
constexpr std::uint16_t kFlagEncrypted = 0x0001;
constexpr std::uint16_t kFlagUtf8 = 0x0800;    // bit 11: name is UTF-8
constexpr std::uint16_t kMethodStored = 0;
constexpr std::uint16_t kMethodDeflate = 8;
constexpr std::uint16_t kDosTime = 0;                            // 00:00:00
constexpr std::uint16_t kDosDate = (0 << 9) | (1 << 5) | 1;      // 1980-01-01, the DOS epoch: reproducible files

constexpr std::array<std::uint32_t, 256> make_crc_table() {
    std::array<std::uint32_t, 256> t{};
    for (std::uint32_t i = 0; i < 256; ++i) {
        std::uint32_t c = i;
        for (int k = 0; k < 8; ++k) c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
        t[i] = c;
    }
    return t;
}
constexpr std::array<std::uint32_t, 256> kCrcTable = make_crc_table();

std::string hex32(std::uint32_t v) {
    std::ostringstream os;
    os << "0x" << std::hex << std::setw(8) << std::setfill('0') << v;
    return os.str();
}

// ---- little-endian writer ----------------------------------------------------------------------------------
class Bytes {
public:
    void u16(std::uint64_t v) { put(v, 2); }
    void u32(std::uint64_t v) { put(v, 4); }
    void u64(std::uint64_t v) { put(v, 8); }
    void str(const std::string& s) { b_.insert(b_.end(), s.begin(), s.end()); }
    void raw(const std::vector<std::uint8_t>& v) { b_.insert(b_.end(), v.begin(), v.end()); }
    const std::vector<std::uint8_t>& bytes() const { return b_; }
    std::size_t size() const { return b_.size(); }

private:
    void put(std::uint64_t v, int n) {
        for (int i = 0; i < n; ++i) b_.push_back(static_cast<std::uint8_t>(v >> (8 * i)));
    }
    std::vector<std::uint8_t> b_;
};

struct WrittenMember {
    std::string name;
    std::uint32_t crc;
    std::uint64_t size;    // compressed == uncompressed (STORED)
    std::uint64_t offset;  // of the local header
    bool utf8;
};

void check_key(const std::string& path, const std::string& key, const std::map<std::string, int>& seen) {
    DYDIFF_CHECK(!key.empty(), path << ": empty key");
    DYDIFF_CHECK(key.find('\0') == std::string::npos && key.find('\\') == std::string::npos && key[0] != '/',
                 path << ": key '" << key << "' must not contain NUL or '\\' nor start with '/'");
    DYDIFF_CHECK(key.size() + 4 <= kMax16, path << ": key '" << key.substr(0, 40) << "...' is " << key.size()
                                                << " bytes, ZIP names hold at most " << kMax16 - 4);
    DYDIFF_CHECK(seen.count(key) == 0, path << ": duplicate key '" << key << "'");
}

// ---- little-endian reader over the whole file, every access bounds-checked ---------------------------------
class Reader {
public:
    Reader(const std::vector<std::uint8_t>& b, const std::string& path) : b_(b), path_(path) {}
    std::uint64_t get(std::uint64_t pos, int n, const char* what) const {
        if (pos > b_.size() || static_cast<std::uint64_t>(n) > b_.size() - pos)
            DYDIFF_USER_FAIL(path_ << ": truncated ZIP: " << what << " at byte " << pos
                                   << " runs past the end of the file (" << b_.size() << " bytes)");
        std::uint64_t v = 0;
        for (int i = 0; i < n; ++i) v |= static_cast<std::uint64_t>(b_[pos + i]) << (8 * i);
        return v;
    }
    std::uint16_t u16(std::uint64_t pos, const char* what) const { return static_cast<std::uint16_t>(get(pos, 2, what)); }
    std::uint32_t u32(std::uint64_t pos, const char* what) const { return static_cast<std::uint32_t>(get(pos, 4, what)); }
    std::uint64_t u64(std::uint64_t pos, const char* what) const { return get(pos, 8, what); }
    std::string str(std::uint64_t pos, std::size_t n, const char* what) const {
        if (n) get(pos + n - 1, 1, what);
        return std::string(b_.begin() + static_cast<std::ptrdiff_t>(pos),
                           b_.begin() + static_cast<std::ptrdiff_t>(pos + n));
    }

private:
    const std::vector<std::uint8_t>& b_;
    const std::string& path_;
};

// Finds the end-of-central-directory record: the last "PK\5\6" whose comment length reaches exactly the file end.
std::size_t find_end_record(const std::vector<std::uint8_t>& b, const std::string& path) {
    const auto starts_with = [&](const char* magic, std::size_t n) {
        return b.size() >= n && std::equal(magic, magic + n, reinterpret_cast<const char*>(b.data()));
    };
    if (b.size() >= kEndSize) {
        const std::size_t last = b.size() - kEndSize;
        const std::size_t first = last > kMax16 ? last - kMax16 : 0;  // the comment is at most 65535 bytes
        for (std::size_t pos = last + 1; pos-- > first;) {
            if (b[pos] != 0x50 || b[pos + 1] != 0x4b || b[pos + 2] != 5 || b[pos + 3] != 6) continue;
            const std::size_t comment = b[pos + 20] | (static_cast<std::size_t>(b[pos + 21]) << 8);
            if (pos + kEndSize + comment == b.size()) return pos;
        }
    }
    if (starts_with("\x93NUMPY", 6))
        DYDIFF_USER_FAIL(path << ": this is a single .npy array, not an .npz archive; read it with read_npy");
    if (starts_with("PK\x03\x04", 4) || starts_with("PK\x05\x06", 4))
        DYDIFF_USER_FAIL(path << ": ZIP end of central directory record not found in " << b.size()
                              << " bytes: the file is truncated (or has trailing bytes)");
    std::ostringstream found;
    for (std::size_t i = 0; i < std::min<std::size_t>(4, b.size()); ++i)
        found << (i ? " " : "") << std::hex << std::setw(2) << std::setfill('0') << int(b[i]);
    DYDIFF_USER_FAIL(path << ": not a ZIP/NPZ file: expected signature 50 4b 03 04 (\"PK\\3\\4\") at byte 0, found "
                          << (b.empty() ? std::string("an empty file") : found.str()));
}

}  // namespace

std::uint32_t crc32(const void* data, std::size_t n, std::uint32_t crc) noexcept {
    const auto* p = static_cast<const std::uint8_t*>(data);
    std::uint32_t c = crc ^ 0xFFFFFFFFu;
    for (std::size_t i = 0; i < n; ++i) c = kCrcTable[(c ^ p[i]) & 0xFFu] ^ (c >> 8);
    return c ^ 0xFFFFFFFFu;
}

// ---- writer ------------------------------------------------------------------------------------------------
void write_npz(const std::string& path, const std::vector<NpzEntry>& arrays, const NpzWriteOptions& options) {
    std::map<std::string, int> seen;
    for (const auto& [key, array] : arrays) {
        check_key(path, key, seen);
        seen[key] = 1;
        array.validate(path + ": key '" + key + "'");
    }

    AtomicFile file(path);
    std::vector<WrittenMember> members;
    members.reserve(arrays.size());
    for (const auto& [key, array] : arrays) {
        WrittenMember m;
        m.name = key + ".npy";
        m.utf8 = std::any_of(m.name.begin(), m.name.end(), [](char c) { return static_cast<unsigned char>(c) >= 0x80; });
        const std::vector<std::uint8_t> header = npy_header(array);
        m.size = header.size() + array.bytes.size();
        m.crc = crc32(array.bytes.data(), array.bytes.size(), crc32(header.data(), header.size()));
        m.offset = file.size();
        // A local ZIP64 extra must carry both sizes, with 0xFFFFFFFF in the 32-bit fields.
        const bool zip64 = options.force_zip64 || m.size >= kMax32;
        Bytes h;
        h.u32(kLocalSig);
        h.u16(zip64 ? kVersionZip64 : kVersionDefault);
        h.u16(m.utf8 ? kFlagUtf8 : 0);
        h.u16(kMethodStored);
        h.u16(kDosTime);
        h.u16(kDosDate);
        h.u32(m.crc);
        h.u32(zip64 ? kMax32 : m.size);
        h.u32(zip64 ? kMax32 : m.size);
        h.u16(m.name.size());
        h.u16(zip64 ? 4 + 16 : 0);
        h.str(m.name);
        if (zip64) {
            h.u16(kZip64ExtraId);
            h.u16(16);
            h.u64(m.size);
            h.u64(m.size);
        }
        file.write(h.bytes());
        file.write(header);
        file.write(array.bytes);
        members.push_back(std::move(m));
    }

    const std::uint64_t cd_offset = file.size();
    for (const WrittenMember& m : members) {
        const bool big_size = options.force_zip64 || m.size >= kMax32;
        const bool big_offset = options.force_zip64 || m.offset >= kMax32;
        Bytes extra;
        if (big_size || big_offset) {
            extra.u16(kZip64ExtraId);
            extra.u16((big_size ? 16 : 0) + (big_offset ? 8 : 0));
            if (big_size) {
                extra.u64(m.size);  // uncompressed
                extra.u64(m.size);  // compressed
            }
            if (big_offset) extra.u64(m.offset);
        }
        Bytes h;
        h.u32(kCentralSig);
        h.u16((3 << 8) | kVersionZip64);  // made by: Unix, spec 4.5
        h.u16(extra.size() ? kVersionZip64 : kVersionDefault);
        h.u16(m.utf8 ? kFlagUtf8 : 0);
        h.u16(kMethodStored);
        h.u16(kDosTime);
        h.u16(kDosDate);
        h.u32(m.crc);
        h.u32(big_size ? kMax32 : m.size);
        h.u32(big_size ? kMax32 : m.size);
        h.u16(m.name.size());
        h.u16(extra.size());
        h.u16(0);                  // comment length
        h.u16(0);                  // disk number start
        h.u16(0);                  // internal attributes
        h.u32(0100644u << 16);     // external attributes: a regular file, rw-r--r-- (Unix mode in the high half)
        h.u32(big_offset ? kMax32 : m.offset);
        h.str(m.name);
        h.raw(extra.bytes());
        file.write(h.bytes());
    }
    const std::uint64_t cd_size = file.size() - cd_offset;
    const std::uint64_t count = members.size();

    const bool zip64_end = options.force_zip64 || count >= kMax16 || cd_size >= kMax32 || cd_offset >= kMax32;
    Bytes end;
    if (zip64_end) {
        const std::uint64_t record_offset = file.size();
        end.u32(kZip64EndSig);
        end.u64(kZip64EndSize - 12);  // size of the rest of the record
        end.u16((3 << 8) | kVersionZip64);
        end.u16(kVersionZip64);
        end.u32(0);  // this disk
        end.u32(0);  // disk with the central directory
        end.u64(count);
        end.u64(count);
        end.u64(cd_size);
        end.u64(cd_offset);
        end.u32(kZip64LocatorSig);
        end.u32(0);  // disk with the ZIP64 end record
        end.u64(record_offset);
        end.u32(1);  // total disks
    }
    end.u32(kEndSig);
    end.u16(0);
    end.u16(0);
    end.u16(zip64_end ? kMax16 : count);
    end.u16(zip64_end ? kMax16 : count);
    end.u32(zip64_end ? kMax32 : cd_size);
    end.u32(zip64_end ? kMax32 : cd_offset);
    end.u16(0);  // comment length
    file.write(end.bytes());
    file.commit();
}

// ---- reader ------------------------------------------------------------------------------------------------
NpzFile read_npz(const std::string& path) { return decode_npz(read_file_bytes(path), path); }

NpzFile decode_npz(const std::vector<std::uint8_t>& b, const std::string& path) {
    const Reader r(b, path);
    const std::size_t end_pos = find_end_record(b, path);

    std::uint64_t disk = r.u16(end_pos + 4, "end record");
    std::uint64_t cd_disk = r.u16(end_pos + 6, "end record");
    std::uint64_t count = r.u16(end_pos + 10, "end record");
    std::uint64_t cd_size = r.u32(end_pos + 12, "end record");
    std::uint64_t cd_offset = r.u32(end_pos + 16, "end record");
    std::uint64_t cd_limit = end_pos;  // the central directory ends before the (ZIP64) end records
    const bool has_locator = end_pos >= kZip64LocatorSize &&
                             r.u32(end_pos - kZip64LocatorSize, "ZIP64 locator") == kZip64LocatorSig;
    if (has_locator) {
        const std::uint64_t rec = r.u64(end_pos - kZip64LocatorSize + 8, "ZIP64 locator");
        DYDIFF_USER_CHECK(rec + kZip64EndSize <= end_pos - kZip64LocatorSize && r.u32(rec, "ZIP64 end") == kZip64EndSig,
                          path << ": bad ZIP64 end record: the locator points at byte " << rec
                               << ", where no ZIP64 end record (signature 0x06064b50) is found");
        disk = r.u32(rec + 16, "ZIP64 end record");
        cd_disk = r.u32(rec + 20, "ZIP64 end record");
        count = r.u64(rec + 32, "ZIP64 end record");
        cd_size = r.u64(rec + 40, "ZIP64 end record");
        cd_offset = r.u64(rec + 48, "ZIP64 end record");
        cd_limit = rec;
    } else {
        DYDIFF_USER_CHECK(
            count != kMax16 && cd_size != kMax32 && cd_offset != kMax32,
            path << ": the end record defers to a ZIP64 end record, but there is no ZIP64 locator before it");
    }
    DYDIFF_USER_CHECK(disk == 0 && cd_disk == 0, path << ": multi-disk (split) ZIP archives are not supported (disk "
                                                      << disk << ", directory on disk " << cd_disk << ")");
    DYDIFF_USER_CHECK(cd_offset <= cd_limit && cd_size <= cd_limit - cd_offset,
                      path << ": truncated or corrupt ZIP: the central directory (" << cd_size << " bytes at offset "
                           << cd_offset << ") does not fit before the end record at byte " << cd_limit);

    NpzFile out;
    out.path_ = path;
    std::uint64_t p = cd_offset;
    const std::uint64_t cd_end = cd_offset + cd_size;
    for (std::uint64_t i = 0; i < count; ++i) {
        DYDIFF_USER_CHECK(p + kCentralSize <= cd_end, path << ": central directory holds fewer entries than the "
                                                           << count << " announced (entry " << i
                                                           << " runs past its end)");
        const std::uint32_t sig = r.u32(p, "central directory entry");
        DYDIFF_USER_CHECK(sig == kCentralSig, path << ": bad central directory signature at byte " << p << ": expected "
                                                   << hex32(kCentralSig) << ", found " << hex32(sig));
        const std::uint16_t flags = r.u16(p + 8, "central directory entry");
        const std::uint16_t method = r.u16(p + 10, "central directory entry");
        const std::uint32_t crc = r.u32(p + 16, "central directory entry");
        std::uint64_t csize = r.u32(p + 20, "central directory entry");
        std::uint64_t usize = r.u32(p + 24, "central directory entry");
        const std::uint16_t name_len = r.u16(p + 28, "central directory entry");
        const std::uint16_t extra_len = r.u16(p + 30, "central directory entry");
        const std::uint16_t comment_len = r.u16(p + 32, "central directory entry");
        std::uint64_t start_disk = r.u16(p + 34, "central directory entry");
        std::uint64_t offset = r.u32(p + 42, "central directory entry");
        DYDIFF_USER_CHECK(p + kCentralSize + name_len + extra_len + comment_len <= cd_end,
                          path << ": central directory entry " << i << " runs past the directory's end");
        const std::string name = r.str(p + kCentralSize, name_len, "member name");
        const std::string where = path + ": member '" + name + "'";

        // ZIP64 extended information: 64-bit values, in this order, for exactly the fields that hold 0xFF..FF.
        for (std::uint64_t e = p + kCentralSize + name_len, e_end = e + extra_len; e + 4 <= e_end;) {
            const std::uint16_t id = r.u16(e, "extra field");
            const std::uint16_t len = r.u16(e + 2, "extra field");
            DYDIFF_USER_CHECK(e + 4 + len <= e_end,
                              where << ": extra field 0x" << std::hex << id << " overruns its entry");
            if (id == kZip64ExtraId) {
                std::uint64_t q = e + 4;
                const auto take = [&](std::uint64_t& field, int width, const char* what) {
                    DYDIFF_USER_CHECK(q + static_cast<std::uint64_t>(width) <= e + 4 + len,
                                      where << ": ZIP64 extra field of " << len << " bytes lacks the " << what);
                    field = width == 8 ? r.u64(q, "ZIP64 extra") : r.u32(q, "ZIP64 extra");
                    q += static_cast<std::uint64_t>(width);
                };
                if (usize == kMax32) take(usize, 8, "uncompressed size");
                if (csize == kMax32) take(csize, 8, "compressed size");
                if (offset == kMax32) take(offset, 8, "local header offset");
                if (start_disk == kMax16) take(start_disk, 4, "disk number");
            }
            e += 4 + len;
        }
        p += kCentralSize + name_len + extra_len + comment_len;

        DYDIFF_USER_CHECK(!(flags & kFlagEncrypted), where << ": encrypted members are not supported");
        DYDIFF_USER_CHECK(start_disk == 0,
                          where << ": lives on disk " << start_disk << " of a split archive (unsupported)");
        DYDIFF_USER_CHECK(
            method != kMethodDeflate,
            where << ": compressed with DEFLATE (ZIP method 8, as written by np.savez_compressed); dydiff "
                     "reads only STORED (uncompressed) members. hint: re-save without compression, e.g. "
                     "python3 -c \"import numpy as np; d = dict(np.load('in.npz')); np.savez('out.npz', **d)\"");
        DYDIFF_USER_CHECK(method == kMethodStored,
                          where << ": unsupported compression method " << method
                                << "; dydiff reads only STORED (method 0) members, as np.savez writes them");
        DYDIFF_USER_CHECK(csize == usize, where << ": STORED member with compressed size " << csize
                                                << " != uncompressed size " << usize);

        // The local header repeats name and extra with lengths of its own (numpy writes a 20-byte ZIP64 extra here
        // that the central directory does not have): the data starts after *its* lengths.
        const std::uint32_t lsig = r.u32(offset, "local header");
        DYDIFF_USER_CHECK(lsig == kLocalSig, where << ": bad local header signature at byte " << offset << ": expected "
                                                   << hex32(kLocalSig) << ", found " << hex32(lsig));
        const std::uint16_t lname_len = r.u16(offset + 26, "local header");
        const std::uint16_t lextra_len = r.u16(offset + 28, "local header");
        const std::string lname = r.str(offset + kLocalSize, lname_len, "local header name");
        DYDIFF_USER_CHECK(lname == name, where << ": the local header names it '" << lname << "' (corrupt archive)");
        const std::uint64_t data = offset + kLocalSize + lname_len + lextra_len;
        DYDIFF_USER_CHECK(data <= b.size() && usize <= b.size() - data,
                          where << ": truncated: " << usize << " bytes of data at byte " << data
                                << " run past the end of the file (" << b.size() << " bytes)");
        const std::uint32_t actual = crc32(b.data() + data, usize);
        DYDIFF_USER_CHECK(actual == crc, where << ": CRC-32 mismatch: the central directory records " << hex32(crc)
                                               << ", the data gives " << hex32(actual) << " (corrupted file)");

        constexpr const char* kSuffix = ".npy";
        DYDIFF_USER_CHECK(name.size() > 4 && name.compare(name.size() - 4, 4, kSuffix) == 0,
                          where << ": not an array: NPZ members are named '<key>.npy'");
        std::string key = name.substr(0, name.size() - 4);
        DYDIFF_USER_CHECK(out.index_.count(key) == 0, where << ": duplicate key '" << key << "'");
        NpyArray array = decode_npy(b.data() + data, usize, where);
        out.index_[key] = out.entries_.size();
        out.entries_.emplace_back(std::move(key), std::move(array));
    }
    return out;
}

// ---- NpzFile accessors -------------------------------------------------------------------------------------
std::vector<std::string> NpzFile::keys() const {
    std::vector<std::string> out;
    out.reserve(entries_.size());
    for (const auto& e : entries_) out.push_back(e.first);
    return out;
}

const NpyArray* NpzFile::find(const std::string& key) const {
    const auto it = index_.find(key);
    return it == index_.end() ? nullptr : &entries_[it->second].second;
}

const NpyArray& NpzFile::require(const std::string& key) const {
    const NpyArray* a = find(key);
    if (!a) {
        std::ostringstream have;
        for (std::size_t i = 0; i < entries_.size(); ++i) have << (i ? ", " : "") << entries_[i].first;
        DYDIFF_USER_FAIL(path_ << ": missing key '" << key << "' (keys: " << (entries_.empty() ? "none" : have.str())
                               << ")");
    }
    return *a;
}

const NpyArray& NpzFile::require(const std::string& key, DType dtype) const {
    const NpyArray& a = require(key);
    a.check_dtype(dtype, path_ + ": key '" + key + "'");
    return a;
}

const NpyArray& NpzFile::require(const std::string& key, DType dtype, const std::vector<std::size_t>& shape) const {
    const NpyArray& a = require(key, dtype);
    DYDIFF_USER_CHECK(a.shape == shape, path_ << ": key '" << key << "': expected shape " << shape_str(shape)
                                              << ", found " << shape_str(a.shape));
    return a;
}

}  // namespace dydiff::data
