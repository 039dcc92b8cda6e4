#pragma once
// io::write_file_atomically and io::read_file: whole-file I/O for checkpoints.
//
// A checkpoint replaces the previous one, so a crash, a full disk or a killed job in the middle of
// a save must never leave a half-written file under the target name: the bytes go to a temporary
// file in the SAME directory (rename is only atomic within one file system), which is flushed and
// fsync'ed, then renamed over the target; the directory is fsync'ed so the rename itself survives
// a power loss. On any failure the temporary file is removed and the target is left as it was.
//
// A save killed before its rename (SIGKILL, power loss) cannot remove its own temporary file.
// Temporary names therefore carry the writer's host and process id, <target>.tmp-<host>-<pid>-XXXXXX,
// and every save first removes the temporaries of earlier saves of the same target whose process
// is gone on this host: repeated killed saves never accumulate, and a concurrent writer's file
// (its process alive, or on another host of a shared file system) is never touched.
//
// POSIX (Linux, macOS) gets the full sequence. On Windows the fallback writes <target>.tmp and
// renames it with std::filesystem::rename (which replaces the target) without an fsync.

#include <ccl/core/error.hpp>

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <new>
#include <string>
#include <vector>

#if defined(_WIN32)
#include <filesystem>
#include <fstream>
#else
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/types.h>
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

#if !defined(_WIN32)
// "<host>-" with the host name reduced to [A-Za-z0-9.] (at most 32 characters).
inline std::string temporary_host_tag() {
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0) host[0] = '\0';
  std::string tag;
  for (const char* c = host; *c != '\0' && tag.size() < 32; ++c)
    if ((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') ||
        *c == '.')
      tag += *c;
  if (tag.empty()) tag = "host";
  return tag + "-";
}

// The prefix of this process's temporary files for `path`: "<path>.tmp-<host>-<pid>-".
inline std::string temporary_prefix(const std::string& path) {
  return path + ".tmp-" + temporary_host_tag() + std::to_string(::getpid()) + "-";
}

// Removes "<name>.tmp-<host>-<pid>-XXXXXX" files next to `path` left by killed saves: same host,
// and the process `pid` no longer exists. Best effort: a directory that cannot be listed, or a
// file that cannot be removed, is left alone (the save itself does not depend on it).
inline void remove_stale_temporaries(const std::string& path) {
  const std::string directory = parent_directory(path);
  const auto slash = path.find_last_of('/');
  const std::string prefix =
      (slash == std::string::npos ? path : path.substr(slash + 1)) + ".tmp-" + temporary_host_tag();
  DIR* listing = ::opendir(directory.c_str());
  if (listing == nullptr) return;
  std::vector<std::string> stale;
  while (const dirent* entry = ::readdir(listing)) {
    const std::string name = entry->d_name;
    if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
    // What follows the prefix must be "<pid>-XXXXXX" exactly, as temporary_prefix + mkstemp make.
    const std::string rest = name.substr(prefix.size());
    const auto dash = rest.find('-');
    if (dash == std::string::npos || dash == 0 || dash > 9 || rest.size() != dash + 7) continue;
    bool digits = true;
    for (std::size_t i = 0; i < dash; ++i) digits = digits && rest[i] >= '0' && rest[i] <= '9';
    if (!digits) continue;
    const long pid = std::stol(rest.substr(0, dash));
    if (pid <= 0 || pid == long(::getpid())) continue;
    if (::kill(pid_t(pid), 0) == 0 || errno != ESRCH) continue;  // alive, or not ours to judge
    stale.push_back(directory + "/" + name);
  }
  ::closedir(listing);
  for (const std::string& file : stale) ::unlink(file.c_str());
}
#endif

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
  detail::remove_stale_temporaries(path);
  std::string temporary = detail::temporary_prefix(path) + "XXXXXX";
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
      try {
        bytes.resize(static_cast<std::size_t>(size));
      } catch (const std::bad_alloc&) {
        std::fclose(file);
        throw error(ccl::detail::concat(op, ": '", path, "' has ", size,
                                        " bytes, more than this process can allocate"));
      }
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
