#include "harness/edit_tool.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <random>
#include <string_view>
#include <system_error>
#include <vector>

#include "harness/json_support.hpp"
#include "util/safe_open.hpp"
#include "util/unique_fd.hpp"

namespace agentrt::runtime::harness {
namespace {

edit_tool_result error(std::string text) {
  return {std::move(text), true};
}
edit_tool_result done(std::string text) {
  return {std::move(text), false};
}

std::string errno_text(int e) {
  return std::generic_category().message(e);
}

// path made relative to workdir and split into components; "" on success, else why not.
std::string components(const std::string& workdir, std::string path,
                       std::vector<std::string>& parts) {
  if (path.empty())
    return "\"path\" is empty";
  if (path[0] == '/') {
    std::string root = workdir;
    while (root.size() > 1 && root.back() == '/')
      root.pop_back();
    if (path.compare(0, root.size(), root) != 0 ||
        (path.size() > root.size() && path[root.size()] != '/' && root != "/"))
      return "\"" + path + "\" is outside the working directory " + workdir;
    path = path.substr(root == "/" ? 1 : root.size());
  }
  std::size_t i = 0;
  while (i <= path.size()) {
    const auto end = path.find('/', i);
    const std::string c = path.substr(i, end == std::string::npos ? std::string::npos : end - i);
    if (c == "..")
      return "\"..\" is not allowed in \"path\"";
    if (!c.empty() && c != ".")
      parts.push_back(c);
    if (end == std::string::npos)
      break;
    i = end + 1;
  }
  if (parts.empty())
    return "\"path\" names the working directory itself";
  return {};
}

std::string joined(const std::vector<std::string>& parts) {
  std::string s;
  for (const auto& p : parts)
    s += (s.empty() ? "" : "/") + p;
  return s;
}

// The directory holding the last component, opened beneath root one component at a time with
// O_NOFOLLOW (a symlinked directory fails with ELOOP or ENOTDIR); create makes missing ones.
util::unique_fd open_parent(int root, const std::vector<std::string>& parts, bool create,
                            std::string& why) {
  util::unique_fd dir(::fcntl(root, F_DUPFD_CLOEXEC, 0));
  std::string so_far;
  for (std::size_t i = 0; i + 1 < parts.size(); ++i) {
    so_far += (so_far.empty() ? "" : "/") + parts[i];
    constexpr int flags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
    int fd = ::openat(dir.get(), parts[i].c_str(), flags);
    if (fd < 0 && errno == ENOENT && create) {
      if (::mkdirat(dir.get(), parts[i].c_str(), 0755) != 0 && errno != EEXIST) {
        why = "cannot create directory " + so_far + ": " + errno_text(errno);
        return {};
      }
      fd = ::openat(dir.get(), parts[i].c_str(), flags);
    }
    if (fd < 0) {
      const int e = errno;
      why = so_far + (e == ELOOP || e == ENOTDIR ? " is a symbolic link or not a directory"
                                                 : ": " + errno_text(e));
      return {};
    }
    dir = util::unique_fd(fd);
  }
  return dir;
}

// The whole file (at most edit_tool_max_file_bytes), read beneath root without following a
// symlink or blocking.
bool read_file(int root, const std::string& rel, std::string& content, mode_t& mode,
               std::string& why) {
  auto f = util::open_regular_beneath(root, rel);
  if (!f.ok()) {
    why = f.refused ? f.where + " " + f.reason : rel + ": " + f.reason;
    return false;
  }
  if (static_cast<std::uint64_t>(f.st.st_size) > edit_tool_max_file_bytes) {
    why = rel + " has " + std::to_string(f.st.st_size) + " bytes, more than the " +
          std::to_string(edit_tool_max_file_bytes) + " this tool edits; use the shell tool";
    return false;
  }
  mode = f.st.st_mode & 07777;
  content.clear();
  char buf[65536];
  for (;;) {
    const ssize_t n = ::read(f.fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      why = rel + ": " + errno_text(errno);
      return false;
    }
    if (n == 0)
      break;
    content.append(buf, static_cast<std::size_t>(n));
    if (content.size() > edit_tool_max_file_bytes) {
      why = rel + " grew past " + std::to_string(edit_tool_max_file_bytes) + " bytes while read";
      return false;
    }
  }
  return true;
}

// content written to a temporary file beside the target, then renamed over it.
bool write_file(int root, const std::vector<std::string>& parts, const std::string& content,
                mode_t mode, std::string& why) {
  const std::string rel = joined(parts);
  if (content.size() > edit_tool_max_file_bytes) {
    why = "the result would have " + std::to_string(content.size()) + " bytes, more than " +
          std::to_string(edit_tool_max_file_bytes);
    return false;
  }
  auto dir = open_parent(root, parts, true, why);
  if (!dir.valid())
    return false;
  const std::string& name = parts.back();
  struct stat st {};
  if (::fstatat(dir.get(), name.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && !S_ISREG(st.st_mode)) {
    why = rel + (S_ISLNK(st.st_mode) ? " is a symbolic link" : " is not a regular file");
    return false;
  }
  std::random_device rd;
  const std::string tmp = "." + name.substr(0, 200) + ".agentrt-edit-" + std::to_string(rd());
  util::unique_fd out(
      ::openat(dir.get(), tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode));
  if (!out.valid()) {
    why = "cannot write " + rel + ": " + errno_text(errno);
    return false;
  }
  std::size_t off = 0;
  while (off < content.size()) {
    const ssize_t n = ::write(out.get(), content.data() + off, content.size() - off);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      why = "cannot write " + rel + ": " + errno_text(n < 0 ? errno : EIO);
      ::unlinkat(dir.get(), tmp.c_str(), 0);
      return false;
    }
    off += static_cast<std::size_t>(n);
  }
  ::fchmod(out.get(), mode); // the umask may have narrowed the mode given to openat
  if (::renameat(dir.get(), tmp.c_str(), dir.get(), name.c_str()) != 0) {
    why = "cannot replace " + rel + ": " + errno_text(errno);
    ::unlinkat(dir.get(), tmp.c_str(), 0);
    return false;
  }
  return true;
}

std::size_t count_of(const std::string& haystack, const std::string& needle) {
  std::size_t n = 0;
  for (auto at = haystack.find(needle); at != std::string::npos;
       at = haystack.find(needle, at + needle.size()))
    ++n;
  return n;
}

std::vector<std::string_view> lines_of(const std::string& content) {
  std::vector<std::string_view> lines;
  std::string_view rest(content);
  while (!rest.empty()) {
    const auto nl = rest.find('\n');
    lines.push_back(rest.substr(0, nl));
    if (nl == std::string_view::npos)
      break;
    rest.remove_prefix(nl + 1);
  }
  return lines;
}

edit_tool_result view(const std::string& content, const std::string& rel,
                      const rapidjson::Value& args) {
  const auto lines = lines_of(content);
  std::int64_t first = 1;
  std::int64_t last = static_cast<std::int64_t>(lines.size());
  if (const auto* range = json::member(args, "view_range")) {
    if (!range->IsArray() || range->Size() != 2 || !(*range)[0].IsInt64() || !(*range)[1].IsInt64())
      return error("\"view_range\" must be [first_line, last_line] (last_line -1: to the end)");
    first = (*range)[0].GetInt64();
    if ((*range)[1].GetInt64() != -1)
      last = std::min(last, (*range)[1].GetInt64());
    if (first < 1 || first > last)
      return error("\"view_range\" [" + std::to_string(first) + ", " +
                   std::to_string((*range)[1].GetInt64()) + "] is outside the file's " +
                   std::to_string(lines.size()) + " lines");
  }
  std::string out;
  std::int64_t n = first;
  for (; n <= last; ++n) {
    std::string line = std::to_string(n);
    line.insert(0, line.size() < 6 ? 6 - line.size() : 0, ' ');
    line += '\t';
    line += lines[static_cast<std::size_t>(n - 1)];
    line += '\n';
    if (out.size() + line.size() > edit_tool_max_view_bytes)
      break;
    out += line;
  }
  if (n <= last)
    out += "[lines " + std::to_string(n) + "-" + std::to_string(last) +
           " not shown: view them with \"view_range\"]\n";
  if (lines.empty())
    out = "(" + rel + " is empty)\n";
  return done(out);
}

} // namespace

const char* edit_tool_json() {
  return R"({"type":"function","function":{"name":"edit_file","description":"View, create or )"
         R"(edit a text file in the working directory. view: the file with numbered lines )"
         R"((optionally view_range [first, last], last -1 for the end). create: write file_text )"
         R"(to path (parent directories are created; an existing file is replaced). str_replace: )"
         R"(replace old_str, which must occur exactly once, with new_str. insert: insert )"
         R"(new_str after line insert_line (0 for the top).","parameters":{"type":"object",)"
         R"("properties":{"command":{"type":"string","enum":["view","create","str_replace",)"
         R"("insert"]},"path":{"type":"string","description":"relative to the working )"
         R"(directory"},"file_text":{"type":"string"},"old_str":{"type":"string"},)"
         R"("new_str":{"type":"string"},"insert_line":{"type":"integer"},"view_range":{)"
         R"("type":"array","items":{"type":"integer"}}},"required":["command","path"]}}})";
}

edit_tool_result run_edit_tool(const std::string& workdir, const rapidjson::Value& args) {
  if (!args.IsObject())
    return error("edit_file needs a JSON object argument");
  const auto command = json::string_member(args, "command");
  const auto path = json::string_member(args, "path");
  if (!command || !path)
    return error("edit_file needs string \"command\" and \"path\" arguments");
  std::vector<std::string> parts;
  if (auto why = components(workdir.empty() ? "." : workdir, *path, parts); !why.empty())
    return error(why);
  const std::string rel = joined(parts);
  const util::unique_fd root(
      ::open(workdir.empty() ? "." : workdir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid())
    return error("cannot open the working directory " + workdir + ": " + errno_text(errno));
  std::string why;
  if (*command == "create") {
    const auto text = json::string_member(args, "file_text");
    if (!text)
      return error("create needs a string \"file_text\"");
    if (!write_file(root.get(), parts, *text, 0644, why))
      return error(why);
    return done("created " + rel + " (" + std::to_string(text->size()) + " bytes)");
  }
  std::string content;
  mode_t mode = 0644;
  if (!read_file(root.get(), rel, content, mode, why))
    return error(why);
  if (*command == "view")
    return view(content, rel, args);
  if (*command == "str_replace") {
    const auto old_str = json::string_member(args, "old_str");
    if (!old_str || old_str->empty())
      return error("str_replace needs a non-empty string \"old_str\"");
    const auto new_str = json::string_member(args, "new_str").value_or("");
    const auto n = count_of(content, *old_str);
    if (n != 1)
      return error(n == 0 ? "old_str was not found in " + rel
                          : "old_str occurs " + std::to_string(n) + " times in " + rel +
                                "; include more of the surrounding text to make it unique");
    const auto at = content.find(*old_str);
    content.replace(at, old_str->size(), new_str);
    if (!write_file(root.get(), parts, content, mode, why))
      return error(why);
    const auto line = 1 + std::count(content.begin(), content.begin() + at, '\n');
    return done("edited " + rel + ": replaced 1 occurrence at line " + std::to_string(line));
  }
  if (*command == "insert") {
    const auto* at_line = json::member(args, "insert_line");
    const auto new_str = json::string_member(args, "new_str");
    if (!at_line || !at_line->IsInt64() || !new_str)
      return error("insert needs an integer \"insert_line\" and a string \"new_str\"");
    const auto lines = lines_of(content);
    const std::int64_t after = at_line->GetInt64();
    if (after < 0 || after > static_cast<std::int64_t>(lines.size()))
      return error("insert_line " + std::to_string(after) + " is outside 0.." +
                   std::to_string(lines.size()));
    std::size_t offset = 0;
    for (std::int64_t i = 0; i < after; ++i)
      offset += lines[static_cast<std::size_t>(i)].size() + 1;
    if (offset > content.size()) { // the last line had no newline
      content += '\n';
      offset = content.size();
    }
    std::string text = *new_str;
    if (text.empty() || text.back() != '\n')
      text += '\n';
    content.insert(offset, text);
    if (!write_file(root.get(), parts, content, mode, why))
      return error(why);
    return done("inserted " + std::to_string(lines_of(text).size()) + " line(s) into " + rel +
                " after line " + std::to_string(after));
  }
  return error("unknown edit_file command \"" + *command +
               "\"; use view, create, str_replace or insert");
}

} // namespace agentrt::runtime::harness
