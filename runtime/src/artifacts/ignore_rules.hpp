// The gitignore-format rules that decide which files under a watched artifacts directory are not
// announced (docs/protocol.md, artifact_upload_request_message). Matching follows git's own
// dir.c/wildmatch.c semantics so that a user's .artifactignore behaves exactly like the
// .gitignore they know.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace agentrt::runtime::artifacts {

class ignore_rules {
public:
  // Parses gitignore text: one pattern per line (LF or CRLF), '#' comments, blank lines,
  // unescaped trailing spaces trimmed, '!' negation, '\' escapes. Never fails: like git, a
  // malformed pattern (an unterminated '[', a trailing '\') simply never matches.
  static ignore_rules parse(std::string_view content);

  // The protocol's default list, used when a directory has neither artifacts_ignore_content
  // nor a .artifactignore.
  static ignore_rules defaults();

  // relative_path uses '/' and is relative to the watched directory; empty and "." components
  // are skipped. A path is ignored when one of its parent directories is ignored (a negation
  // cannot re-include it, as in git), else when the last pattern matching it is not a negation.
  bool ignored(std::string_view relative_path, bool is_directory) const;

  bool empty() const noexcept { return patterns_.empty(); }
  std::size_t size() const noexcept { return patterns_.size(); }

private:
  struct pattern {
    std::string text;            // without the leading '!' and the trailing '/'
    bool negated = false;        // '!' prefix: re-includes what earlier patterns excluded
    bool directory_only = false; // trailing '/'
    bool basename_only = false;  // no '/' left: matched against the last path component
  };

  // Result of the last matching pattern for one path: 1 excluded, -1 re-included, 0 no match.
  int last_match(const std::string& path, std::size_t basename_offset, bool is_directory) const;

  std::vector<pattern> patterns_;
};

} // namespace agentrt::runtime::artifacts
