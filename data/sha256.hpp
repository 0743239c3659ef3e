// SHA-256 (FIPS 180-4) of bytes and of files: the identity of a dataset, recorded in every run's config and in every
// model checkpoint, so that models trained on different data are never combined silently.
// Layering: data/ (autograd/error.hpp for errors).
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>

namespace dydiff::data {

class Sha256 {
public:
    Sha256();
    void update(const void* bytes, std::size_t n);
    /// The digest as 64 lowercase hex digits; the object must not be updated afterwards.
    std::string hex_digest();

private:
    void block(const std::uint8_t* p);  // one 64-byte block into state_
    std::array<std::uint32_t, 8> state_;
    std::array<std::uint8_t, 64> buffer_{};
    std::size_t buffered_ = 0;
    std::uint64_t total_bytes_ = 0;
};

/// SHA-256 of `n` bytes, hex.
std::string sha256_hex(const void* bytes, std::size_t n);
/// SHA-256 of a file's contents, hex; an error names the file when it cannot be read.
std::string sha256_file(const std::string& path);

}  // namespace dydiff::data
