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

std::unique_ptr<run_dir> run_dir::create(const std::string& prefix, std::string& error,
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
    error = "cannot create a run directory in " + base.string() + ": " + std::strerror(errno);
    return nullptr;
  }
  return std::unique_ptr<run_dir>(new run_dir(templ));
}

run_dir::~run_dir() {
  std::error_code ec;
  fs::remove_all(path_, ec);
}

bool write_private_file(const fs::path& path, const std::string& text, std::string& error) {
  util::unique_fd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  if (!fd) {
    error = "cannot create " + path.string() + ": " + std::strerror(errno);
    return false;
  }
  std::size_t done = 0;
  while (done < text.size()) {
    const ssize_t n = ::write(fd.get(), text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      error = "cannot write " + path.string() + ": " + std::strerror(errno);
      return false;
    }
    done += static_cast<std::size_t>(n);
  }
  return true;
}

} // namespace agentrt::runtime::harness
