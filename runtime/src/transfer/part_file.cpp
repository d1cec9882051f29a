// Creating, committing and discarding a download's part file relative to working_dir.
#include "transfer/part_file.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <utility>

namespace agentrt::runtime::transfer {

namespace {

local_failure errno_failure(int err, std::string what) {
  return {std::error_code(err, std::generic_category()), std::move(what)};
}

} // namespace

part_file::part_file(util::unique_fd dir, util::unique_fd file, std::string name,
                     std::string part_name, std::string final_path, std::string part_path)
    : dir_(std::move(dir)), file_(std::move(file)), name_(std::move(name)),
      part_name_(std::move(part_name)), final_path_(std::move(final_path)),
      part_path_(std::move(part_path)) {}

part_file::part_file(part_file&& other) noexcept
    : dir_(std::move(other.dir_)), file_(std::move(other.file_)), name_(std::move(other.name_)),
      part_name_(std::move(other.part_name_)), final_path_(std::move(other.final_path_)),
      part_path_(std::move(other.part_path_)), open_(std::exchange(other.open_, false)) {}

part_file& part_file::operator=(part_file&& other) noexcept {
  if (this != &other) {
    discard();
    dir_ = std::move(other.dir_);
    file_ = std::move(other.file_);
    name_ = std::move(other.name_);
    part_name_ = std::move(other.part_name_);
    final_path_ = std::move(other.final_path_);
    part_path_ = std::move(other.part_path_);
    open_ = std::exchange(other.open_, false);
  }
  return *this;
}

std::optional<part_file> part_file::create(const std::string& working_dir, const std::string& name,
                                           local_failure& failure) {
  std::error_code ec;
  std::filesystem::create_directories(working_dir, ec);
  if (ec) {
    failure = {ec, "creating " + working_dir};
    return std::nullopt;
  }
  util::unique_fd dir(::open(working_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) {
    failure = errno_failure(errno, "opening " + working_dir);
    return std::nullopt;
  }
  const std::filesystem::path base(working_dir);
  std::string part_name = "." + name + ".part";
  std::string part_path = (base / part_name).string();
  // A stale .part (an earlier crash) or a planted symlink is replaced, never followed.
  if (::unlinkat(dir.get(), part_name.c_str(), 0) != 0 && errno != ENOENT) {
    failure = errno_failure(errno, "removing " + part_path);
    return std::nullopt;
  }
  util::unique_fd file(::openat(dir.get(), part_name.c_str(),
                                O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644));
  if (!file) {
    failure = errno_failure(errno, "creating " + part_path);
    return std::nullopt;
  }
  return part_file(std::move(dir), std::move(file), name, std::move(part_name),
                   (base / name).string(), std::move(part_path));
}

int part_file::write(const char* data, std::size_t size) noexcept {
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n = ::write(file_.get(), data + done, size - done);
    if (n < 0 && errno == EINTR)
      continue;
    // write() returning 0 for a regular file only happens when no space is left.
    if (n <= 0)
      return n < 0 ? errno : ENOSPC;
    done += static_cast<std::size_t>(n);
  }
  return 0;
}

std::optional<local_failure> part_file::commit() {
  // The data is not safe before close() said so (NFS, quotas).
  if (const int err = file_.close(); err != 0) {
    discard();
    return errno_failure(err, "writing " + final_path_);
  }
  if (::renameat(dir_.get(), part_name_.c_str(), dir_.get(), name_.c_str()) != 0) {
    const int err = errno;
    discard();
    return errno_failure(err, "renaming " + part_path_ + " to " + final_path_);
  }
  open_ = false;
  dir_.reset();
  return std::nullopt;
}

void part_file::discard() noexcept {
  file_.reset();
  if (open_ && dir_)
    ::unlinkat(dir_.get(), part_name_.c_str(), 0);
  open_ = false;
  dir_.reset();
}

} // namespace agentrt::runtime::transfer
