// Durable session journal: memory, then an unnamed spill file, then gaps (see journal.hpp).
#include "server/journal.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <utility>

#include "agentrt/protocol/result.hpp"

namespace agentrt::runtime::server {
namespace {

std::string spill_dir(const std::string& configured) {
  if (!configured.empty())
    return configured;
  const char* tmp = std::getenv("TMPDIR");
  return tmp && *tmp ? tmp : "/tmp";
}

// An unnamed file (O_TMPFILE) disappears with its descriptor, also when the runtime is killed;
// file systems without O_TMPFILE get a named file that is unlinked at once.
protocol::result<util::unique_fd> open_spill_file(const std::string& dir) {
  util::unique_fd fd(::open(dir.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0600));
  if (fd)
    return fd;
  std::string path = dir + "/agentrt-journal-XXXXXX";
  fd.reset(::mkostemp(path.data(), O_CLOEXEC));
  if (!fd)
    return std::error_code(errno, std::generic_category());
  ::unlink(path.c_str());
  return fd;
}

bool write_all(int fd, const std::string& data, std::uint64_t offset) {
  std::size_t done = 0;
  while (done < data.size()) {
    const ssize_t n =
        ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

bool read_all(int fd, std::string& out, std::size_t size, std::uint64_t offset) {
  out.resize(size);
  std::size_t done = 0;
  while (done < size) {
    const ssize_t n =
        ::pread(fd, out.data() + done, size - done, static_cast<off_t>(offset + done));
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return false;
    done += static_cast<std::size_t>(n);
  }
  return true;
}

void add_lost(journal_gap& gap, const journal_entry_info& info, std::uint64_t messages,
              std::uint64_t bytes) {
  for (auto& l : gap.lost) {
    if (l.message_type == info.message_type && l.command == info.command &&
        l.stream == info.stream) {
      l.messages += messages;
      l.bytes += bytes;
      return;
    }
  }
  gap.lost.push_back({info.message_type, info.command, info.stream, messages, bytes});
}

void merge_gap(journal_gap& into, const journal_gap& from) {
  into.from_seq = std::min(into.from_seq, from.from_seq);
  into.to_seq = std::max(into.to_seq, from.to_seq);
  for (const auto& l : from.lost) {
    journal_entry_info info;
    info.message_type = l.message_type;
    info.command = l.command;
    info.stream = l.stream;
    add_lost(into, info, l.messages, l.bytes);
  }
}

} // namespace

journal::journal(journal_limits limits) : limits_(std::move(limits)) {}

void journal::append(std::string frame, journal_entry_info info) {
  record r;
  r.first_seq = r.last_seq = next_seq_++;
  r.size = frame.size();
  r.frame = std::move(frame);
  r.info = std::move(info);
  memory_used_ += r.size;
  bookkeeping_ += bookkeeping_of(r);
  records_.push_back(std::move(r));
  enforce_budget();
}

std::size_t journal::bookkeeping_of(const record& r) noexcept {
  // What the strings hold beyond the record (capacity past the small-string buffer counts).
  auto heap = [](const std::string& s) {
    return s.capacity() > std::string().capacity() ? s.capacity() + 1 : 0;
  };
  std::size_t n = sizeof(record) + heap(r.info.message_type) + heap(r.info.command) +
                  heap(r.info.stream) + r.gap.lost.capacity() * sizeof(journal_gap::lost_output);
  for (const auto& l : r.gap.lost)
    n += heap(l.message_type) + heap(l.command) + heap(l.stream);
  return n;
}

void journal::ack(std::uint64_t seq) {
  seq = std::min(seq, last_seq());
  if (seq <= acked_)
    return;
  acked_ = seq;
  while (!records_.empty() && records_.front().last_seq <= seq)
    erase(0);
}

void journal::enforce_budget() {
  while (memory_used_ > limits_.memory_bytes && first_memory_ < records_.size()) {
    record& r = records_[first_memory_];
    if (r.at != where::memory) {
      ++first_memory_;
      continue;
    }
    if (disk_used_ + r.size > limits_.disk_bytes) {
      if (!drop_oldest())
        break; // nothing droppable left: essentials stay in memory
      continue;
    }
    if (spill(r)) {
      ++first_memory_;
      continue;
    }
    // The spill file failed (disk full, no directory): output is dropped as a gap rather than
    // held without bound; an essential frame stays pinned in memory.
    if (r.info.droppable) {
      drop(first_memory_);
    } else {
      ++first_memory_;
    }
  }
  while (bookkeeping_ > bookkeeping_limit() && drop_oldest()) {
  }
}

bool journal::spill(record& r) {
  if (!spill_fd_ && !spill_error_) {
    auto opened = open_spill_file(spill_dir(limits_.dir));
    if (opened.ok())
      spill_fd_ = std::move(opened).value();
    else
      spill_error_ = opened.error().code;
  }
  if (!spill_fd_)
    return false;
  if (!write_all(spill_fd_.get(), r.frame, spill_end_)) {
    spill_error_.assign(errno ? errno : EIO, std::generic_category());
    return false;
  }
  r.offset = spill_end_;
  spill_end_ += r.size;
  r.at = where::disk;
  memory_used_ -= r.size;
  disk_used_ += r.size;
  std::string().swap(r.frame);
  return true;
}

bool journal::drop_oldest() {
  for (; drop_scan_ < records_.size(); ++drop_scan_) {
    const record& r = records_[drop_scan_];
    if (r.at != where::dropped && r.info.droppable) {
      drop(drop_scan_);
      return true;
    }
  }
  return false;
}

void journal::drop(std::size_t index) {
  record& r = records_[index];
  release(index);
  bookkeeping_ -= bookkeeping_of(r);
  journal_gap gap;
  gap.from_seq = r.first_seq;
  gap.to_seq = r.last_seq;
  add_lost(gap, r.info, 1, r.info.bytes);
  ++dropped_messages_;
  r.at = where::dropped;
  r.size = 0;
  std::string().swap(r.frame);
  r.info = {};
  r.gap = std::move(gap);
  bookkeeping_ += bookkeeping_of(r);
  // Adjacent gaps become one, so a long run of dropped output is one record and one notice.
  // (records_ is a deque: an erase in the middle invalidates references, hence the indexing.)
  if (index + 1 < records_.size() && records_[index + 1].at == where::dropped) {
    merge_into(index, index + 1);
    erase(index + 1);
  }
  if (index > 0 && records_[index - 1].at == where::dropped) {
    merge_into(index - 1, index);
    erase(index);
  }
}

void journal::merge_into(std::size_t into, std::size_t from) {
  record& r = records_[into];
  bookkeeping_ -= bookkeeping_of(r);
  merge_gap(r.gap, records_[from].gap);
  r.first_seq = std::min(r.first_seq, records_[from].first_seq);
  r.last_seq = std::max(r.last_seq, records_[from].last_seq);
  bookkeeping_ += bookkeeping_of(r);
}

void journal::erase(std::size_t index) {
  release(index);
  bookkeeping_ -= bookkeeping_of(records_[index]);
  records_.erase(records_.begin() + static_cast<std::ptrdiff_t>(index));
  if (index < first_memory_)
    --first_memory_;
  if (index < drop_scan_)
    --drop_scan_;
  if (disk_used_ == 0 && spill_end_ > 0 && spill_fd_) {
    // Nothing on disk any more: start the file over instead of growing it forever.
    if (::ftruncate(spill_fd_.get(), 0) == 0)
      spill_end_ = 0;
  }
}

void journal::release(std::size_t index) {
  const record& r = records_[index];
  if (r.at == where::memory) {
    memory_used_ -= r.size;
  } else if (r.at == where::disk) {
    disk_used_ -= r.size;
    // Give the blocks back now; the offsets of later frames stay valid. A hole only frees whole
    // blocks, and frames are packed: a frame's first and last block may hold a neighbour too,
    // and are freed with whichever of them goes last (punching just the frame's bytes would
    // keep one block per frame boundary allocated, and a long detached stream would grow the
    // file far past --journal-disk-bytes).
    constexpr std::uint64_t block = 4096;
    std::uint64_t begin = r.offset / block * block;
    std::uint64_t end = (r.offset + r.size + block - 1) / block * block;
    // Frames are spilled in seq order (offsets grow with the index); every frame on disk is
    // before first_memory_, and dropped runs are merged, so both scans are short.
    for (std::size_t i = index; i-- > 0;) {
      if (records_[i].at == where::disk) {
        begin =
            std::max(begin, (records_[i].offset + records_[i].size + block - 1) / block * block);
        break;
      }
    }
    for (std::size_t i = index + 1; i < std::min(first_memory_, records_.size()); ++i) {
      if (records_[i].at == where::disk) {
        end = std::min(end, records_[i].offset / block * block);
        break;
      }
    }
    if (end > begin)
      ::fallocate(spill_fd_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                  static_cast<off_t>(begin), static_cast<off_t>(end - begin));
  }
}

std::optional<journal_item> journal::read(std::uint64_t seq) const {
  if (seq > last_seq() || records_.empty())
    return std::nullopt;
  const auto it = std::lower_bound(records_.begin(), records_.end(), seq,
                                   [](const record& r, std::uint64_t s) { return r.last_seq < s; });
  if (it == records_.end())
    return std::nullopt;
  const record& r = *it;
  journal_item item;
  item.first_seq = r.first_seq;
  item.last_seq = r.last_seq;
  switch (r.at) {
  case where::memory:
    item.frame = r.frame;
    break;
  case where::disk:
    if (!read_all(spill_fd_.get(), item.frame, r.size, r.offset)) {
      item.read_error.assign(errno ? errno : EIO, std::generic_category());
      item.frame.clear();
      journal_gap gap;
      gap.from_seq = gap.to_seq = r.first_seq;
      add_lost(gap, r.info, 1, r.info.bytes);
      item.gap = std::move(gap);
    }
    break;
  case where::dropped:
    item.gap = r.gap;
    break;
  }
  return item;
}

} // namespace agentrt::runtime::server
