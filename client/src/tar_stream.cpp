// A small tar writer and a hostile-input-safe tar extractor for directory transfers.
#include "tar_stream.hpp"

#include "agentrt/client/errors.hpp"
#include "agentrt/protocol/errc.hpp"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <vector>

namespace agentrt::client::detail {
namespace {

constexpr std::size_t block = 512;

// width - 1 octal digits and a NUL, as ustar wants; v must fit.
void put_octal(char* field, std::size_t width, std::uint64_t v) {
  field[width - 1] = '\0';
  for (std::size_t i = width - 1; i-- > 0; v >>= 3)
    field[i] = static_cast<char>('0' + (v & 7));
}

std::string pax_record(const std::string& key, const std::string& value) {
  // "<len> key=value\n" where len counts itself.
  const std::size_t body = key.size() + value.size() + 3;
  std::size_t len = body + std::to_string(body).size();
  if (std::to_string(len).size() != std::to_string(body).size())
    ++len;
  return std::to_string(len) + " " + key + "=" + value + "\n";
}

std::string header_block(const std::string& name, char type, unsigned mode, std::uint64_t size,
                         std::int64_t mtime, const std::string& link) {
  std::string h(block, '\0');
  std::memcpy(&h[0], name.data(), std::min<std::size_t>(name.size(), 100));
  put_octal(&h[100], 8, mode & 07777);
  put_octal(&h[108], 8, 0);
  put_octal(&h[116], 8, 0);
  put_octal(&h[124], 12, size);
  put_octal(&h[136], 12, static_cast<std::uint64_t>(std::max<std::int64_t>(mtime, 0)));
  std::memset(&h[148], ' ', 8);
  h[156] = type;
  std::memcpy(&h[157], link.data(), std::min<std::size_t>(link.size(), 100));
  std::memcpy(&h[257], "ustar", 6);
  std::memcpy(&h[263], "00", 2);
  unsigned sum = 0;
  for (unsigned char c : h)
    sum += c;
  std::snprintf(&h[148], 8, "%06o", sum);
  h[155] = ' ';
  return h;
}

std::string padding(std::uint64_t size) {
  return std::string(static_cast<std::size_t>((block - size % block) % block), '\0');
}

// The error for a failed system call: its errno, and `what: strerror` as the text.
protocol::error errno_error(const std::string& what) {
  const int e = errno;
  return {std::error_code(e, std::generic_category()), what + ": " + std::strerror(e)};
}

class tar_writer {
public:
  explicit tar_writer(const std::function<bool(std::string_view)>& out)
      : out_(out), buf_(256 * 1024) {}

  protocol::result<void> entry(const std::string& name, char type, const struct stat& st,
                               std::uint64_t size, const std::string& link) {
    std::string pax;
    if (name.size() > 99)
      pax += pax_record("path", name);
    if (link.size() > 99)
      pax += pax_record("linkpath", link);
    if (size >= (1ULL << 33))
      pax += pax_record("size", std::to_string(size));
    if (!pax.empty()) {
      for (const std::string& part :
           {header_block("././@PaxHeader", 'x', 0644, pax.size(), st.st_mtime, ""), pax,
            padding(pax.size())})
        if (auto sent = emit(part); !sent.ok())
          return sent;
    }
    return emit(
        header_block(name, type, st.st_mode, size >= (1ULL << 33) ? 0 : size, st.st_mtime, link));
  }

  protocol::result<void> tree(int dir, const std::string& prefix) {
    const int fd = ::openat(dir, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
      return {std::error_code(errno, std::generic_category()),
              "cannot read " + (prefix.empty() ? std::string(".") : prefix)};
    std::unique_ptr<DIR, int (*)(DIR*)> d(::fdopendir(fd), ::closedir);
    if (!d) {
      const std::error_code ec(errno, std::generic_category());
      ::close(fd);
      return {ec, "cannot read " + prefix};
    }
    while (const dirent* ent = ::readdir(d.get())) {
      const std::string name = ent->d_name;
      if (name == "." || name == "..")
        continue;
      if (auto added = child(dirfd(d.get()), name, prefix.empty() ? name : prefix + "/" + name);
          !added.ok())
        return added;
    }
    return {};
  }

private:
  // One entry of a directory (name in dir, path in the tar): a directory with its tree, a
  // symlink, or a regular file with its data; anything else is skipped.
  protocol::result<void> child(int dir, const std::string& name, const std::string& path) {
    struct stat st {};
    if (::fstatat(dir, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0)
      return {};
    if (S_ISDIR(st.st_mode)) {
      const int sub = ::openat(dir, name.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (sub < 0)
        return errno_error("cannot open " + path);
      auto added = entry(path + "/", '5', st, 0, "");
      if (added.ok())
        added = tree(sub, path);
      ::close(sub);
      return added;
    }
    if (S_ISLNK(st.st_mode)) {
      std::vector<char> target(4097);
      const ssize_t n = ::readlinkat(dir, name.c_str(), target.data(), 4096);
      if (n < 0)
        return {};
      return entry(path, '2', st, 0, std::string(target.data(), static_cast<std::size_t>(n)));
    }
    if (S_ISREG(st.st_mode)) {
      const int in = ::openat(dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK);
      if (in < 0)
        return errno_error("cannot open " + path);
      auto added = file(in, path, st);
      ::close(in);
      return added;
    }
    return {};
  }

  protocol::result<void> file(int in, const std::string& path, const struct stat& st) {
    const std::uint64_t size = static_cast<std::uint64_t>(st.st_size);
    if (auto header = entry(path, '0', st, size, ""); !header.ok())
      return header;
    std::uint64_t left = size;
    while (left > 0) {
      ssize_t n = ::read(in, buf_.data(),
                         static_cast<std::size_t>(std::min<std::uint64_t>(left, buf_.size())));
      if (n < 0 && errno == EINTR)
        continue;
      if (n <= 0) { // shrank meanwhile: zeros keep the stream well-formed
        n = static_cast<ssize_t>(std::min<std::uint64_t>(left, buf_.size()));
        std::fill_n(buf_.data(), n, '\0');
      }
      if (auto sent = emit(std::string_view(buf_.data(), static_cast<std::size_t>(n))); !sent.ok())
        return sent;
      left -= static_cast<std::uint64_t>(n);
    }
    return emit(padding(size));
  }

  protocol::result<void> emit(std::string_view s) {
    if (s.empty() || out_(s))
      return {};
    return {errc::connection_failed, "the upload connection failed"};
  }

  const std::function<bool(std::string_view)>& out_;
  std::vector<char> buf_;
};

std::uint64_t parse_octal(const char* p, std::size_t n) {
  std::uint64_t v = 0;
  for (std::size_t i = 0; i < n && p[i]; ++i) {
    if (p[i] >= '0' && p[i] <= '7')
      v = v * 8 + static_cast<std::uint64_t>(p[i] - '0');
    else if (p[i] != ' ')
      break;
  }
  return v;
}

// The components of an entry path; false for an absolute path or a ".." component.
bool split_relative(const std::string& path, std::vector<std::string>& out) {
  if (path.empty() || path.front() == '/')
    return false;
  std::size_t start = 0;
  while (start <= path.size()) {
    const auto slash = std::min(path.find('/', start), path.size());
    const std::string comp = path.substr(start, slash - start);
    if (comp == "..")
      return false;
    if (!comp.empty() && comp != ".")
      out.push_back(comp);
    start = slash + 1;
  }
  return true;
}

} // namespace

protocol::result<void> write_tar(const std::string& dir,
                                 const std::function<bool(std::string_view)>& out) {
  const int fd = ::open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return errno_error("cannot open " + dir);
  tar_writer w(out);
  auto written = w.tree(fd, "");
  ::close(fd);
  if (!written.ok())
    return written;
  if (!out(std::string(2 * block, '\0')))
    return {errc::connection_failed, "the upload connection failed"};
  return {};
}

tar_extractor::tar_extractor(std::string dest) : dest_(std::move(dest)) {}

tar_extractor::~tar_extractor() {
  if (out_fd_ >= 0)
    ::close(out_fd_);
  if (root_ >= 0)
    ::close(root_);
}

protocol::result<void> tar_extractor::feed(const char* data, std::size_t n) {
  if (error_)
    return error_;
  auto fed = consume(data, n);
  if (!fed.ok())
    error_ = fed.error();
  return fed;
}

protocol::result<void> tar_extractor::consume(const char* data, std::size_t n) {
  if (root_ < 0) {
    ::mkdir(dest_.c_str(), 0755);
    root_ = ::open(dest_.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (root_ < 0)
      return errno_error("cannot create " + dest_);
  }
  while (n > 0) {
    if (ended_)
      return {}; // what follows the end blocks is padding
    std::size_t take = 0;
    if (data_left_ > 0) {
      take = static_cast<std::size_t>(std::min<std::uint64_t>(data_left_, n));
      if (auto stored = on_data(data, take); !stored.ok())
        return stored;
    } else if (pad_left_ > 0) {
      take = static_cast<std::size_t>(std::min<std::uint64_t>(pad_left_, n));
      pad_left_ -= take;
    } else {
      take = std::min(block - header_.size(), n);
      header_.append(data, take);
      if (header_.size() == block)
        if (auto read = on_header(); !read.ok())
          return read;
    }
    data += take;
    n -= take;
  }
  return {};
}

// `take` bytes of the current entry's data (no more than data_left_).
protocol::result<void> tar_extractor::on_data(const char* data, std::size_t take) {
  if (type_ == 'x' || type_ == 'L' || type_ == 'K') {
    if (meta_.size() + take > (1u << 20))
      return {protocol::errc::invalid_value, "a tar metadata record is too large"};
    meta_.append(data, take);
  } else if (out_fd_ >= 0) {
    for (std::size_t off = 0; off < take;) {
      const ssize_t w = ::write(out_fd_, data + off, take - off);
      if (w < 0 && errno == EINTR)
        continue;
      if (w < 0)
        return errno_error("cannot write " + path_);
      off += static_cast<std::size_t>(w);
    }
  }
  data_left_ -= take;
  if (data_left_ == 0)
    return begin_entry();
  return {};
}

protocol::result<void> tar_extractor::on_header() {
  const std::string h = std::move(header_);
  header_.clear();
  if (std::all_of(h.begin(), h.end(), [](char c) { return c == '\0'; })) {
    ended_ = true;
    return {};
  }
  unsigned sum = 0;
  for (std::size_t i = 0; i < block; ++i)
    sum += (i >= 148 && i < 156) ? ' ' : static_cast<unsigned char>(h[i]);
  if (sum != parse_octal(&h[148], 8))
    return {protocol::errc::invalid_value, "not a tar stream (bad header checksum)"};
  type_ = h[156];
  std::uint64_t size = parse_octal(&h[124], 12);
  std::string name(h.data(), strnlen(h.data(), 100));
  if (std::memcmp(&h[257], "ustar", 5) == 0 && h[345] != '\0')
    name = std::string(&h[345], strnlen(&h[345], 155)) + "/" + name;
  link_ = std::string(&h[157], strnlen(&h[157], 100));
  mode_ = static_cast<unsigned>(parse_octal(&h[100], 8)) & 0777;
  if (type_ == 'x' || type_ == 'L' || type_ == 'K' || type_ == 'g') {
    if (type_ == 'g')
      type_ = 'G'; // global pax header: skipped like data of an ignored entry
    meta_.clear();
    data_left_ = size;
    pad_left_ = (block - size % block) % block;
    if (size == 0)
      return begin_entry();
    return {};
  }
  // A pax or GNU record before this header overrides its name, link and size.
  path_ = pax_path_.empty() ? name : pax_path_;
  if (!pax_link_.empty())
    link_ = pax_link_;
  if (pax_size_ >= 0)
    size = static_cast<std::uint64_t>(pax_size_);
  pax_path_.clear();
  pax_link_.clear();
  pax_size_ = -1;
  data_left_ = size;
  pad_left_ = (block - size % block) % block;
  return create_entry();
}

// The entry's parents, never through a symlink: a descriptor for the last one (the caller
// closes it).
protocol::result<int> tar_extractor::open_parents(const std::vector<std::string>& comps) {
  int dir = ::fcntl(root_, F_DUPFD_CLOEXEC, 0);
  for (std::size_t i = 0; i + 1 < comps.size(); ++i) {
    ::mkdirat(dir, comps[i].c_str(), 0755);
    const int next = ::openat(dir, comps[i].c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    ::close(dir);
    if (next < 0)
      return {protocol::errc::invalid_value,
              "entry \"" + path_ + "\": \"" + comps[i] + "\" is not a directory (or is a symlink)"};
    dir = next;
  }
  return dir;
}

protocol::result<void> tar_extractor::create_entry() {
  std::vector<std::string> comps;
  if (!split_relative(path_, comps))
    return {protocol::errc::invalid_value,
            "entry \"" + path_ + "\": absolute path or \"..\" refused"};
  if (comps.empty())
    return data_left_ == 0 ? begin_entry() : protocol::result<void>(); // "./": nothing to create
  auto dir = open_parents(comps);
  if (!dir.ok())
    return std::move(dir).error();
  auto created = create_leaf(dir.value(), comps.back(), comps.size() - 1);
  ::close(dir.value());
  if (!created.ok())
    return created;
  if (data_left_ == 0)
    return begin_entry();
  return {};
}

namespace {

// Whether a symlink `depth` directories below the root, pointing at link, stays under it.
bool link_stays_inside(const std::string& link, int depth) {
  bool inside = !link.empty() && link.front() != '/';
  for (std::size_t start = 0; inside && start <= link.size();) {
    const auto slash = std::min(link.find('/', start), link.size());
    const std::string comp = link.substr(start, slash - start);
    if (comp == "..")
      inside = --depth >= 0;
    else if (!comp.empty() && comp != ".")
      ++depth;
    start = slash + 1;
  }
  return inside;
}

} // namespace

// The entry itself, named leaf in dir, `depth` directories below the root: a directory, a
// file (opened for its data) or a symlink that stays inside; anything else (hardlinks,
// devices, FIFOs) is skipped with its data.
protocol::result<void> tar_extractor::create_leaf(int dir, const std::string& leaf,
                                                  std::size_t depth) {
  if (type_ == '5') {
    if (::mkdirat(dir, leaf.c_str(), mode_ | 0700) != 0 && errno != EEXIST)
      return errno_error("cannot create " + path_);
  } else if (type_ == '0' || type_ == '\0' || type_ == '7') {
    struct stat st {};
    if (::fstatat(dir, leaf.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
      ::unlinkat(dir, leaf.c_str(), 0); // replaced, never written through
    out_fd_ =
        ::openat(dir, leaf.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode_);
    if (out_fd_ < 0)
      return errno_error("cannot create " + path_);
    ::fchmod(out_fd_, mode_);
  } else if (type_ == '2') {
    if (!link_stays_inside(link_, static_cast<int>(depth)))
      return {protocol::errc::invalid_value,
              "entry \"" + path_ + "\": symlink target \"" + link_ + "\" points outside"};
    if (::symlinkat(link_.c_str(), dir, leaf.c_str()) != 0 && errno != EEXIST)
      return errno_error("cannot create " + path_);
  }
  return {};
}

protocol::result<void> tar_extractor::begin_entry() {
  // The end of an entry's data: close a file, or apply a metadata record to the next entry.
  if (out_fd_ >= 0) {
    const int rc = ::close(out_fd_);
    out_fd_ = -1;
    if (rc != 0)
      return errno_error("cannot write " + path_);
  }
  if (type_ == 'L') {
    pax_path_ = meta_.c_str();
  } else if (type_ == 'K') {
    pax_link_ = meta_.c_str();
  } else if (type_ == 'x') {
    std::size_t pos = 0;
    while (pos < meta_.size()) {
      const auto space = meta_.find(' ', pos);
      if (space == std::string::npos)
        break;
      const std::size_t len = std::strtoull(meta_.c_str() + pos, nullptr, 10);
      if (len == 0 || pos + len > meta_.size())
        break;
      const std::string rec = meta_.substr(space + 1, pos + len - space - 2);
      const auto eq = rec.find('=');
      if (eq != std::string::npos) {
        const std::string key = rec.substr(0, eq);
        const std::string value = rec.substr(eq + 1);
        if (key == "path")
          pax_path_ = value;
        else if (key == "linkpath")
          pax_link_ = value;
        else if (key == "size")
          pax_size_ = static_cast<std::int64_t>(std::strtoull(value.c_str(), nullptr, 10));
      }
      pos += len;
    }
  }
  meta_.clear();
  type_ = 0;
  return {};
}

protocol::result<void> tar_extractor::finish() {
  if (error_)
    return error_;
  if (data_left_ > 0 || !header_.empty()) {
    error_ = {protocol::errc::invalid_value, "the tar stream ended in the middle of an entry"};
    return error_;
  }
  return {};
}

} // namespace agentrt::client::detail
