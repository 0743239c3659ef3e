// AtomicFile on POSIX: open(O_CREAT | O_EXCL) a unique temp name, write(), fsync(), rename(), fsync the directory.
#include "data/atomic_file.hpp"

#include "autograd/error.hpp"

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>

#if !__has_include(<unistd.h>)
#error "data/atomic_file.cpp needs POSIX open/write/fsync/rename (<unistd.h>)"
#endif
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace dydiff::data {

namespace {

std::atomic<std::uint64_t> g_temp_counter{0};

std::string os_error() { return std::strerror(errno); }

std::string directory_of(const std::string& path) {
    const auto slash = path.find_last_of('/');
    if (slash == std::string::npos) return ".";
    return slash == 0 ? "/" : path.substr(0, slash);
}

}  // namespace

AtomicFile::AtomicFile(std::string path) : path_(std::move(path)) {
    DYDIFF_CHECK(!path_.empty() && path_.back() != '/', "AtomicFile: '" << path_ << "' is not a file path");
    // The umask applies to 0666 as for any new file; O_EXCL makes the name ours alone.
    for (int attempt = 0; attempt < 100; ++attempt) {
        temp_path_ = path_ + ".tmp-" + std::to_string(::getpid()) + "-" + std::to_string(g_temp_counter++);
        fd_ = ::open(temp_path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
        if (fd_ >= 0) return;
        if (errno != EEXIST) break;
    }
    DYDIFF_USER_FAIL("cannot create temp file '" << temp_path_ << "' for writing '" << path_ << "': " << os_error());
}

AtomicFile::~AtomicFile() {
    if (!committed_) discard();
}

void AtomicFile::discard() noexcept {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
    ::unlink(temp_path_.c_str());
}

void AtomicFile::write(const void* data, std::size_t n) {
    DYDIFF_CHECK(fd_ >= 0, "AtomicFile: write to '" << path_ << "' after commit()");
    const auto* p = static_cast<const char*>(data);
    while (n > 0) {
        const ::ssize_t w = ::write(fd_, p, n);
        if (w < 0 && errno == EINTR) continue;
        if (w <= 0) {
            const std::string err = w < 0 ? os_error() : "no progress";
            discard();
            DYDIFF_USER_FAIL("writing '" << path_ << "' (temp '" << temp_path_ << "') failed after " << size_
                                         << " bytes: " << err);
        }
        p += w;
        n -= static_cast<std::size_t>(w);
        size_ += static_cast<std::uint64_t>(w);
    }
}

void AtomicFile::commit() {
    DYDIFF_CHECK(fd_ >= 0, "AtomicFile: commit() of '" << path_ << "' called twice");
    if (::fsync(fd_) != 0) {
        const std::string err = os_error();
        discard();
        DYDIFF_USER_FAIL("fsync of '" << temp_path_ << "' failed: " << err << "; '" << path_ << "' left unchanged");
    }
    const int fd = fd_;
    fd_ = -1;
    if (::close(fd) != 0) {
        const std::string err = os_error();
        discard();
        DYDIFF_USER_FAIL("close of '" << temp_path_ << "' failed: " << err << "; '" << path_ << "' left unchanged");
    }
    if (std::rename(temp_path_.c_str(), path_.c_str()) != 0) {
        const std::string err = os_error();
        discard();
        DYDIFF_USER_FAIL("rename '" << temp_path_ << "' -> '" << path_ << "' failed: " << err << "; '" << path_
                                    << "' left unchanged");
    }
    committed_ = true;
    // Make the rename itself durable. NOTE: some filesystems refuse fsync on a directory (EINVAL); the file is
    // complete and in place either way, so that failure is not an error.
    const int dir = ::open(directory_of(path_).c_str(), O_RDONLY | O_CLOEXEC);
    if (dir >= 0) {
        ::fsync(dir);
        ::close(dir);
    }
}

void write_file_atomic(const std::string& path, const void* data, std::size_t n) {
    AtomicFile f(path);
    f.write(data, n);
    f.commit();
}

void write_file_atomic(const std::string& path, const std::vector<std::uint8_t>& bytes) {
    write_file_atomic(path, bytes.data(), bytes.size());
}

void write_file_atomic(const std::string& path, const std::string& text) {
    write_file_atomic(path, text.data(), text.size());
}

std::vector<std::uint8_t> read_file_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    DYDIFF_USER_CHECK(in.is_open(), "cannot open '" << path << "' for reading: " << os_error());
    const std::streamoff size = in.tellg();
    DYDIFF_USER_CHECK(size >= 0, "cannot determine the size of '" << path << "' (not a regular file?)");
    std::vector<std::uint8_t> bytes(static_cast<std::size_t>(size));
    in.seekg(0);
    in.read(reinterpret_cast<char*>(bytes.data()), size);
    DYDIFF_USER_CHECK(in.gcount() == size,
                      "reading '" << path << "': got " << in.gcount() << " of " << size << " bytes");
    return bytes;
}

}  // namespace dydiff::data
