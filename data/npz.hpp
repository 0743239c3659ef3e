// NPZ archives: numpy's np.savez format, a ZIP of STORED (uncompressed) "<key>.npy" members. Our checkpoint and
// dataset container (docs/checkpoints.md). The ZIP layer is our own (PKWARE APPNOTE 6.3): local headers, central
// directory, end record, ZIP64 records when sizes, offsets or the member count outgrow 32/16 bits, CRC-32 (table
// driven, reflected polynomial 0xEDB88320). DEFLATE members (np.savez_compressed) are refused with a hint.
// Writes are atomic (data/atomic_file.hpp) and deterministic: fixed 1980-01-01 timestamps, members in the given order.
// data/ layer: depends on autograd/error.hpp, autograd/xt.hpp and the standard library only.
#pragma once

#include "data/npy.hpp"

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace dydiff::data {

/// CRC-32 (ISO-HDLC, as in ZIP and PNG) of n bytes, continuing from `crc`: crc32(b, m, crc32(a, n)) is the CRC of
/// a followed by b. crc32("123456789", 9) == 0xCBF43926.
std::uint32_t crc32(const void* data, std::size_t n, std::uint32_t crc = 0) noexcept;

struct NpzWriteOptions {
    /// Write ZIP64 extra fields and end records even when nothing needs them (tests; Python's force_zip64).
    bool force_zip64 = false;
};

/// One named array of an archive; the member is "<key>.npy", and numpy's np.load(path)[key] finds it.
using NpzEntry = std::pair<std::string, NpyArray>;

/// Writes `arrays` in order as an np.savez-compatible archive, atomically. Keys must be non-empty, unique, free of
/// NUL and backslash and must not start with '/'; '/' inside keys ("actor/fc0/weight") is fine.
void write_npz(const std::string& path, const std::vector<NpzEntry>& arrays, const NpzWriteOptions& options = {});

/// An archive read into memory: entries in file order, looked up by key (the member name without ".npy").
class NpzFile {
public:
    const std::string& path() const noexcept { return path_; }
    std::size_t size() const noexcept { return entries_.size(); }
    bool empty() const noexcept { return entries_.empty(); }
    bool contains(const std::string& key) const { return index_.count(key) != 0; }
    /// Keys in file order.
    std::vector<std::string> keys() const;
    const std::vector<NpzEntry>& entries() const noexcept { return entries_; }
    std::vector<NpzEntry>::const_iterator begin() const noexcept { return entries_.begin(); }
    std::vector<NpzEntry>::const_iterator end() const noexcept { return entries_.end(); }

    /// The array under key, or nullptr.
    const NpyArray* find(const std::string& key) const;
    /// The array under key; throws "<path>: missing key 'k' (keys: a, b)" when absent.
    const NpyArray& require(const std::string& key) const;
    /// ... and of this dtype ("<path>: key 'k': expected dtype float32, found float64 ...").
    const NpyArray& require(const std::string& key, DType dtype) const;
    /// ... and of this shape ("<path>: key 'k': expected shape (2, 3), found (3, 2)").
    const NpyArray& require(const std::string& key, DType dtype, const std::vector<std::size_t>& shape) const;

private:
    friend NpzFile decode_npz(const std::vector<std::uint8_t>& bytes, const std::string& path);
    std::string path_;
    std::vector<NpzEntry> entries_;
    std::map<std::string, std::size_t> index_;  // key -> position in entries_
};

/// Reads an np.savez archive: end record (searched backwards past any comment), ZIP64 records, sizes and offsets
/// from the central directory, each local header's own name and extra lengths, CRC-32 checked per member.
/// Errors name the file, the member and what was expected vs found.
NpzFile read_npz(const std::string& path);
/// The same from the archive's bytes in memory; `path` names it in errors (the NPZ fuzz target's entry point).
NpzFile decode_npz(const std::vector<std::uint8_t>& bytes, const std::string& path);

}  // namespace dydiff::data
