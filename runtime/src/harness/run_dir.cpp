// Per-run private directories and files of the CLI adapters.
#include "harness/run_dir.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>

#include "util/unique_fd.hpp"

namespace agentrt::runtime::harness {

namespace fs = std::filesystem;

protocol::result<std::unique_ptr<run_dir>> run_dir::create(const std::string& prefix,
                                                           const fs::path& parent) {
  fs::path base = parent;
  if (base.empty()) {
    std::error_code ec;
    base = fs::temp_directory_path(ec);
    if (ec)
      base = "/tmp";
  }
  std::string templ = (base / (prefix + "-XXXXXX")).string();
  if (::mkdtemp(templ.data()) == nullptr) {
    const int e = errno;
    return {std::error_code(e, std::generic_category()),
            "cannot create a run directory in " + base.string() + ": " + std::strerror(e)};
  }
  return std::unique_ptr<run_dir>(new run_dir(templ));
}

protocol::result<std::unique_ptr<run_dir>>
run_dir::with_file(const std::string& prefix, const std::string& name, const std::string& text) {
  auto dir = create(prefix);
  if (!dir.ok())
    return dir;
  if (auto written = write_private_file(dir.value()->path() / name, text); !written.ok())
    return std::move(written).error();
  return dir;
}

run_dir::~run_dir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

protocol::result<void> write_private_file(const fs::path& path, const std::string& text) {
  util::unique_fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) {
    const int e = errno;
    return {std::error_code(e, std::generic_category()),
            "cannot create " + path.string() + ": " + std::strerror(e)};
  }
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      const int e = errno;
      // write() returning 0 for a non-empty buffer sets no errno: the code says EIO then.
      return {std::error_code(n < 0 ? e : EIO, std::generic_category()),
              "cannot write " + path.string() + ": " + std::strerror(e)};
    }
    done += static_cast<std::size_t>(n);
  }
  return {};
}

} // namespace agentrt::runtime::harness
