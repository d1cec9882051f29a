// libFuzzer target: any bytes as a downloaded archive, extracted into a scratch directory the
// way a Downloadable is (any supported format accepted, small limits so bombs stop early).
// Asserted after every input, whether extraction succeeded or was refused:
//   - nothing appeared outside dest: the three directories above it (where "../", "../../"
//     and "../../../" entries would land) hold exactly what they held before;
//   - inside dest only regular files, directories and symlinks, no setuid/setgid/sticky bit,
//     every symlink resolves (as far as it exists) inside dest, and every hard link count is
//     accounted for by names inside dest (no link to a file outside);
//   - no file descriptor leaked.
// The scratch tree lives under $AGENTRT_FUZZ_SCRATCH, else /dev/shm, else $TMPDIR or /tmp, and
// is removed at exit.
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>

#include "archive/archive_extractor.hpp"

namespace {

namespace fs = std::filesystem;
namespace ar = agentrt::runtime::archive;

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "fuzz_archive_extract: %s: %s\n", what, detail.c_str());
  std::abort();
}

std::set<std::string> names_in(const fs::path& dir) {
  std::set<std::string> out;
  for (const auto& e : fs::directory_iterator(dir))
    out.insert(e.path().filename().string());
  return out;
}

int count_fds() {
  int n = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator("/proc/self/fd"))
    n++;
  return n;
}

// scratch/r/l1/l2/{input,dest}: an escape by up to three levels lands in a watched directory.
struct scratch {
  fs::path root, r, l1, l2, input, dest;

  scratch() {
    std::string base = "/tmp";
    if (const char* s = std::getenv("AGENTRT_FUZZ_SCRATCH"); s && *s) {
      base = s;
    } else if (::access("/dev/shm", W_OK) == 0) {
      base = "/dev/shm";
    } else if (const char* t = std::getenv("TMPDIR"); t && *t) {
      base = t;
    }
    std::string tmpl = base + "/agentrt-fuzz-archive-XXXXXX";
    if (!::mkdtemp(tmpl.data()))
      fail("mkdtemp failed", tmpl);
    root = tmpl;
    r = root / "r";
    l1 = r / "l1";
    l2 = l1 / "l2";
    input = l2 / "input";
    dest = l2 / "dest";
    fs::create_directories(l2);
  }
  ~scratch() {
    std::error_code ec;
    make_removable(root);
    fs::remove_all(root, ec);
  }

  // Extracted directories are owner-writable already; this is defence for the cleanup.
  static void make_removable(const fs::path& dir) {
    std::error_code ec;
    fs::permissions(dir, fs::perms::owner_all, fs::perm_options::add, ec);
    for (const auto& e : fs::directory_iterator(dir, ec)) {
      if (e.is_directory(ec) && !e.is_symlink(ec))
        make_removable(e.path());
    }
  }
};

scratch& the_scratch() {
  static scratch s;
  return s;
}

bool inside(const fs::path& p, const fs::path& dir) {
  const auto rel = p.lexically_relative(dir);
  return !rel.empty() && *rel.begin() != "..";
}

void check_tree(const scratch& s, const ar::extract_result& result) {
  const std::string context = result.error.empty() ? "(extraction succeeded)" : result.error;
  if (names_in(s.r) != std::set<std::string>{"l1"})
    fail("an entry escaped to dest/../../..", context);
  if (names_in(s.l1) != std::set<std::string>{"l2"})
    fail("an entry escaped to dest/../..", context);
  if (names_in(s.l2) != std::set<std::string>{"dest", "input"})
    fail("an entry escaped to dest/..", context);
  if (!fs::exists(s.dest))
    return; // a refusal before the destination was made

  const fs::path dest = fs::canonical(s.dest);
  std::map<std::pair<dev_t, ino_t>, nlink_t> links; // inode -> names seen inside dest
  std::map<std::pair<dev_t, ino_t>, nlink_t> nlink;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(s.dest, ec); !ec && it != fs::end(it);
       it.increment(ec)) {
    const fs::path& p = it->path();
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0)
      fail("lstat failed", p.string());
    if ((st.st_mode & 07000) != 0)
      fail("a setuid, setgid or sticky bit was extracted", p.string());
    if (S_ISLNK(st.st_mode)) {
      // Resolved through every symlink as far as the path exists; when that fails (a loop,
      // a file used as a directory) the target is judged lexically from the link's directory.
      std::error_code canon_ec;
      fs::path resolved = fs::weakly_canonical(p, canon_ec);
      if (canon_ec) {
        const fs::path target = fs::read_symlink(p);
        resolved = target.is_absolute()
                       ? target
                       : (fs::canonical(p.parent_path()) / target).lexically_normal();
      }
      if (!inside(resolved, dest) && resolved != dest)
        fail("a symlink leads outside dest", p.string() + " -> " + resolved.string());
    } else if (S_ISREG(st.st_mode)) {
      const auto key = std::make_pair(st.st_dev, st.st_ino);
      links[key]++;
      nlink[key] = st.st_nlink;
    } else if (!S_ISDIR(st.st_mode)) {
      fail("an entry that is no file, directory or symlink was created", p.string());
    }
  }
  if (ec)
    fail("cannot walk dest", ec.message());
  for (const auto& [key, count] : links) {
    if (nlink[key] != count)
      fail("a hard link reaches a file outside dest", context);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  scratch& s = the_scratch();
  {
    std::ofstream out(s.input, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
    if (!out)
      fail("cannot write the input", s.input.string());
  }
  const int fds_before = count_fds();

  ar::extract_limits limits;
  limits.max_total_bytes = 8 << 20;
  limits.max_entries = 256;
  (void)ar::looks_like_archive(s.input.string());
  const ar::extract_result result =
      ar::extract_archive(s.input.string(), ar::archive_format::none, s.dest.string(), limits);
  if (result.ok() && !result.error.empty())
    fail("success with an error text", result.error);
  if (!result.ok() && result.error.empty())
    fail("a failure without an error text", result.ec.message());

  const int fds_after = count_fds();
  if (fds_after != fds_before)
    fail("file descriptors leaked",
         std::to_string(fds_before) + " -> " + std::to_string(fds_after));
  check_tree(s, result);

  std::error_code ec;
  scratch::make_removable(s.dest);
  fs::remove_all(s.dest, ec);
  if (ec)
    fail("cannot clean dest", ec.message());
  return 0;
}
