// libFuzzer target: the gitignore matcher (.artifactignore, artifacts_ignore_content) with
// hostile patterns and paths. Input: gitignore text, then optionally a NUL byte and the paths
// to test, one per line ("/" at the end: a directory; lines with a NUL are skipped, no file
// name has one). Without a NUL the text's own lines and a few fixed paths are tested. Besides
// crashes, timeouts and sanitizer reports (wildmatch walks raw pointers) it checks two
// documented rules: empty and "." components do not change a verdict, and everything below an
// ignored directory is ignored.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "artifacts/ignore_rules.hpp"

namespace {

using agentrt::runtime::artifacts::ignore_rules;

[[noreturn]] void fail(const char* what, std::string_view path) {
  std::fprintf(stderr, "fuzz_ignore_rules: %s: \"%.*s\"\n", what, static_cast<int>(path.size()),
               path.data());
  std::abort();
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  while (!text.empty()) {
    const std::size_t nl = text.find('\n');
    out.push_back(text.substr(0, nl));
    text.remove_prefix(nl == std::string_view::npos ? text.size() : nl + 1);
  }
  return out;
}

// The same path spelled with redundant separators and "." components.
std::string noisy(std::string_view path) {
  std::string out = "./";
  for (char c : path) {
    out += c;
    if (c == '/')
      out += "./";
  }
  return out + "/";
}

// "", ".", "./", ".//.": a rest of a path that names no further component.
bool names_nothing(std::string_view rest) {
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] == '/')
      continue;
    if (rest[i] != '.' || (i + 1 < rest.size() && rest[i + 1] != '/'))
      return false;
  }
  return true;
}

void check(const ignore_rules& rules, std::string_view line) {
  if (line.find('\0') != std::string_view::npos)
    return; // no file system path has one
  bool is_directory = false;
  if (!line.empty() && line.back() == '/') {
    is_directory = true;
    line.remove_suffix(1);
  }
  const bool verdict = rules.ignored(line, is_directory);
  if (rules.ignored(noisy(line), is_directory) != verdict)
    fail("empty or \".\" components changed the verdict", line);
  if (verdict)
    return;
  // Not ignored: then no parent directory may be ignored either.
  for (std::size_t slash = line.find('/'); slash != std::string_view::npos;
       slash = line.find('/', slash + 1)) {
    // "node_modules/." is node_modules itself, which the caller said is no directory.
    if (names_nothing(line.substr(slash + 1)))
      break;
    if (rules.ignored(line.substr(0, slash), true))
      fail("a path below an ignored directory is not ignored", line);
  }
}

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const std::size_t nul = input.find('\0');
  const std::string_view text = input.substr(0, nul);
  const ignore_rules rules = ignore_rules::parse(text);
  if (nul != std::string_view::npos) {
    for (std::string_view path : lines_of(input.substr(nul + 1)))
      check(rules, path);
  } else {
    for (std::string_view path : lines_of(text))
      check(rules, path);
    for (const char* path : {"a", "a/b", "a/b/c.txt", "node_modules/x/y.js", ".env", "dist/"})
      check(rules, path);
  }
  // The defaults must be as robust against the same paths.
  static const ignore_rules defaults = ignore_rules::defaults();
  if (nul != std::string_view::npos) {
    for (std::string_view path : lines_of(input.substr(nul + 1)))
      check(defaults, path);
  }
  return 0;
}
