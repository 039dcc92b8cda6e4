#pragma once
// io::write_file_atomically and io::read_file: whole-file I/O for checkpoints.
//
// A checkpoint replaces the previous one, so a crash, a full disk or a killed job in the middle of
// a save must never leave a half-written file under the target name: the bytes go to a temporary
// file in the SAME directory (rename is only atomic within one file system), which is flushed and
// fsync'ed, then renamed over the target; the directory is fsync'ed so the rename itself survives
// a power loss. On any failure the temporary file is removed and the target is left as it was.
//
// POSIX (Linux, macOS) gets the full sequence. On Windows the fallback writes <target>.tmp and
// renames it with std::filesystem::rename (which replaces the target) without an fsync.

#include <ccl/core/error.hpp>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#if defined(_WIN32)
#include <filesystem>
#include <fstream>
#else
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#endif

namespace ccl::io {

namespace detail {

inline std::string errno_text(int code) { return std::strerror(code); }

inline std::string parent_directory(const std::string& path) {
  const auto slash = path.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return path.substr(0, slash);
}

}  // namespace detail

/// Replaces `path` by `bytes` atomically (see the header comment). Throws ccl::error naming the
/// path and the system's reason; the previous file at `path`, if any, is then untouched.
inline void write_file_atomically(const std::string& path, const std::vector<std::uint8_t>& bytes,
                                  const char* op = "write_file_atomically") {
  require(!path.empty(), op, ": the path is empty");
#if defined(_WIN32)
  const std::string temporary = path + ".tmp";
  {
    std::ofstream out(temporary, std::ios::binary | std::ios::trunc);
    require(bool(out), op, ": cannot create the temporary file '", temporary, "'");
    out.write(reinterpret_cast<const char*>(bytes.data()), std::streamsize(bytes.size()));
    out.flush();
    if (!out) {
      out.close();
      std::remove(temporary.c_str());
      throw error(ccl::detail::concat(op, ": writing '", temporary, "' failed"));
    }
  }
  std::error_code code;
  std::filesystem::rename(temporary, path, code);
  if (code) {
    std::remove(temporary.c_str());
    throw error(ccl::detail::concat(op, ": cannot rename '", temporary, "' to '", path,
                                    "': ", code.message()));
  }
#else
  std::string temporary = path + ".tmp-XXXXXX";
  const int fd = ::mkstemp(&temporary[0]);
  if (fd < 0) {
    const int code = errno;
    throw error(ccl::detail::concat(op, ": cannot create a temporary file next to '", path,
                                    "': ", detail::errno_text(code)));
  }
  auto fail = [&](const char* step, int code) {
    ::close(fd);
    ::unlink(temporary.c_str());
    throw error(ccl::detail::concat(op, ": ", step, " '", temporary, "' (to replace '", path,
                                    "') failed: ", detail::errno_text(code)));
  };
  // mkstemp creates the file 0600; a checkpoint is an ordinary data file.
  if (::fchmod(fd, 0644) != 0) fail("setting the mode of", errno);
  std::size_t written = 0;
  while (written < bytes.size()) {
    const ::ssize_t n = ::write(fd, bytes.data() + written, bytes.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      fail("writing", errno);
    }
    if (n == 0) fail("writing", EIO);
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) fail("flushing", errno);
  if (::close(fd) != 0) {
    const int code = errno;
    ::unlink(temporary.c_str());
    throw error(
        ccl::detail::concat(op, ": closing '", temporary, "' failed: ", detail::errno_text(code)));
  }
  if (::rename(temporary.c_str(), path.c_str()) != 0) {
    const int code = errno;
    ::unlink(temporary.c_str());
    throw error(ccl::detail::concat(op, ": cannot rename '", temporary, "' to '", path,
                                    "': ", detail::errno_text(code)));
  }
  // Make the rename durable. Some file systems refuse fsync on a directory; the data is already
  // safe in the file then, so this step is best effort.
  const int dir = ::open(detail::parent_directory(path).c_str(), O_RDONLY);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
#endif
}

/// The whole content of `path`. Throws ccl::error naming the path and the reason.
inline std::vector<std::uint8_t> read_file(const std::string& path, const char* op = "read_file") {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (file == nullptr) {
    const int code = errno;
    throw error(ccl::detail::concat(op, ": cannot open '", path, "': ", detail::errno_text(code)));
  }
  // One allocation and one read when the size is known (a regular file); chunks otherwise.
  std::vector<std::uint8_t> bytes;
  if (std::fseek(file, 0, SEEK_END) == 0) {
    const long size = std::ftell(file);
    std::fseek(file, 0, SEEK_SET);
    if (size > 0) {
      bytes.resize(static_cast<std::size_t>(size));
      bytes.resize(std::fread(bytes.data(), 1, bytes.size(), file));
    }
  }
  std::uint8_t chunk[1 << 16];
  std::size_t n = 0;
  while ((n = std::fread(chunk, 1, sizeof chunk, file)) > 0) {
    bytes.insert(bytes.end(), chunk, chunk + n);
  }
  const bool failed = std::ferror(file) != 0;
  std::fclose(file);
  require(!failed, op, ": reading '", path, "' failed");
  return bytes;
}

}  // namespace ccl::io
