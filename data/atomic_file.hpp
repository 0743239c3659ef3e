// Whole-file I/O for data/ and everything above it: atomic writes (checkpoints, configs, CSVs) and whole-file reads.
// An AtomicFile writes "<path>.tmp-<pid>-<n>" in the target's directory, and commit() flushes, fsyncs and renames
// it over <path>: readers see the old file or the new one, never a partial one. A destructor without commit()
// (an exception on the way) removes the temp file.
// data/ layer: depends on autograd/error.hpp and the standard library (plus POSIX open/fsync/rename where present).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace dydiff::data {

class AtomicFile {
public:
    /// Creates the temp file next to `path` (same directory, so the final rename stays on one filesystem).
    explicit AtomicFile(std::string path);
    /// Removes the temp file unless commit() succeeded.
    ~AtomicFile();
    AtomicFile(const AtomicFile&) = delete;
    AtomicFile& operator=(const AtomicFile&) = delete;

    /// Appends n bytes; throws dydiff::Error (naming the file and the OS error) on failure.
    void write(const void* data, std::size_t n);
    void write(const std::vector<std::uint8_t>& bytes) { write(bytes.data(), bytes.size()); }
    void write(const std::string& text) { write(text.data(), text.size()); }

    /// Bytes written so far.
    std::uint64_t size() const noexcept { return size_; }
    /// The final path and the temp path (for messages and tests).
    const std::string& path() const noexcept { return path_; }
    const std::string& temp_path() const noexcept { return temp_path_; }

    /// Flushes, fsyncs, closes and renames the temp file over path(). After a failure the temp file is gone.
    void commit();

private:
    void discard() noexcept;
    std::string path_;
    std::string temp_path_;
    int fd_ = -1;
    std::uint64_t size_ = 0;
    bool committed_ = false;
};

/// Writes `bytes` to `path` atomically (AtomicFile + commit).
void write_file_atomic(const std::string& path, const void* data, std::size_t n);
void write_file_atomic(const std::string& path, const std::vector<std::uint8_t>& bytes);
void write_file_atomic(const std::string& path, const std::string& text);

/// The whole file as bytes; throws dydiff::Error naming the path when it cannot be opened or read.
std::vector<std::uint8_t> read_file_bytes(const std::string& path);

}  // namespace dydiff::data
