// gitignore matching as git implements it: parse_path_pattern/match_basename/match_pathname from
// git's dir.c and a port of wildmatch.c (case-sensitive, as git is with core.ignoreCase=false).
// Porting the reference algorithm, quirks included, is what makes "exactly like .gitignore" hold
// for the corner cases (e.g. "**" next to a literal, "[]a]", a pattern ending in '\').
#include "artifacts/ignore_rules.hpp"

#include <cctype>
#include <cstring>

namespace agentrt::runtime::artifacts {
namespace {

enum wild_result { wm_match = 0, wm_no_match = 1, wm_abort_all = -1, wm_abort_to_starstar = -2 };
constexpr unsigned wm_pathname = 1; // '*', '?' and '[...]' do not match '/'; "**/" is special

using uchar = unsigned char;

bool is_glob_special(uchar c) {
  return c == '*' || c == '?' || c == '[' || c == '\\';
}

// POSIX [:class:] names inside a bracket expression, as wildmatch.c accepts them.
// Returns -1 for an unknown class name (the whole match then aborts, as in git).
int class_matches(const uchar* name, std::size_t len, uchar c) {
  auto is = [&](const char* s) { return std::strlen(s) == len && std::memcmp(name, s, len) == 0; };
  if (is("alnum"))
    return std::isalnum(c) != 0;
  if (is("alpha"))
    return std::isalpha(c) != 0;
  if (is("blank"))
    return c == ' ' || c == '\t';
  if (is("cntrl"))
    return std::iscntrl(c) != 0;
  if (is("digit"))
    return std::isdigit(c) != 0;
  if (is("graph"))
    return std::isgraph(c) != 0;
  if (is("lower"))
    return std::islower(c) != 0;
  if (is("print"))
    return std::isprint(c) != 0;
  if (is("punct"))
    return std::ispunct(c) != 0;
  if (is("space"))
    return std::isspace(c) != 0;
  if (is("upper"))
    return std::isupper(c) != 0;
  if (is("xdigit"))
    return std::isxdigit(c) != 0;
  return -1;
}

// wildmatch.c's dowild(). Both strings are NUL-terminated; `pattern` is where the pattern
// started, which decides whether a "**" is at the start of a component. Kept in one piece, past
// the ~80-line guideline, so that it reads against git's wildmatch.c case by case: .gitignore
// semantics are defined by that code, and its cases share the loop's state.
int dowild(const uchar* p, const uchar* text, const uchar* pattern, unsigned flags) {
  uchar p_ch;
  for (; (p_ch = *p) != '\0'; text++, p++) {
    uchar t_ch = *text;
    if (t_ch == '\0' && p_ch != '*')
      return wm_abort_all;
    switch (p_ch) {
    case '\\':
      // Literal match with the next character; a trailing '\' compares against '\0' and
      // fails, which is git's "a pattern ending in a backslash never matches".
      p_ch = *++p;
      [[fallthrough]];
    default:
      if (t_ch != p_ch)
        return wm_no_match;
      continue;
    case '?':
      if ((flags & wm_pathname) && t_ch == '/')
        return wm_no_match;
      continue;
    case '*': {
      bool match_slash;
      if (*++p == '*') {
        const uchar* prev_p = p - 2;
        while (*++p == '*') {
        }
        if ((prev_p < pattern || *prev_p == '/') &&
            (*p == '\0' || *p == '/' || (p[0] == '\\' && p[1] == '/'))) {
          // "**/" may match zero directories: try the rest of the pattern right here, so
          // "a/**/b" matches "a/b".
          if (p[0] == '/' && dowild(p + 1, text, pattern, flags) == wm_match)
            return wm_match;
          match_slash = true;
        } else {
          match_slash = false; // "**" not forming a whole component is a plain '*'
        }
      } else {
        match_slash = (flags & wm_pathname) == 0;
      }
      if (*p == '\0') {
        // A trailing "**" matches everything; a trailing '*' only within one component.
        if (!match_slash && std::strchr(reinterpret_cast<const char*>(text), '/')) {
          return wm_no_match;
        }
        return wm_match;
      }
      if (!match_slash && *p == '/') {
        // One '*' followed by '/' consumes exactly the rest of the current component.
        const char* slash = std::strchr(reinterpret_cast<const char*>(text), '/');
        if (!slash)
          return wm_no_match;
        text = reinterpret_cast<const uchar*>(slash);
        break; // the for loop's increment consumes the slash on both sides
      }
      for (;;) {
        if (t_ch == '\0')
          break;
        // When a literal follows the star, skip ahead to its next occurrence; everything
        // before it must belong to the star.
        if (!is_glob_special(*p)) {
          p_ch = *p;
          while ((t_ch = *text) != '\0' && (match_slash || t_ch != '/')) {
            if (t_ch == p_ch)
              break;
            text++;
          }
          if (t_ch != p_ch)
            return match_slash ? wm_abort_all : wm_abort_to_starstar;
        }
        int matched = dowild(p, text, pattern, flags);
        if (matched != wm_no_match) {
          if (!match_slash || matched != wm_abort_to_starstar)
            return matched;
        } else if (!match_slash && t_ch == '/') {
          return wm_abort_to_starstar;
        }
        t_ch = *++text;
      }
      return wm_abort_all;
    }
    case '[': {
      p_ch = *++p;
      if (p_ch == '^')
        p_ch = '!';
      const bool negated = p_ch == '!';
      if (negated)
        p_ch = *++p;
      uchar prev_ch = 0;
      bool matched = false;
      // do/while: the first character after '[' (or "[!") is a member even if it is ']'.
      do {
        if (!p_ch)
          return wm_abort_all;
        if (p_ch == '\\') {
          p_ch = *++p;
          if (!p_ch)
            return wm_abort_all;
          if (t_ch == p_ch)
            matched = true;
        } else if (p_ch == '-' && prev_ch && p[1] && p[1] != ']') {
          p_ch = *++p;
          if (p_ch == '\\') {
            p_ch = *++p;
            if (!p_ch)
              return wm_abort_all;
          }
          if (t_ch <= p_ch && t_ch >= prev_ch)
            matched = true;
          p_ch = 0; // a range end cannot start another range
        } else if (p_ch == '[' && p[1] == ':') {
          const uchar* s = p += 2;
          while ((p_ch = *p) && p_ch != ']')
            p++;
          if (!p_ch)
            return wm_abort_all;
          const std::ptrdiff_t i = p - s - 1;
          if (i < 0 || p[-1] != ':') {
            // No ":]": the '[' was an ordinary member.
            p = s - 2;
            p_ch = '[';
            if (t_ch == p_ch)
              matched = true;
            continue;
          }
          const int cls = class_matches(s, static_cast<std::size_t>(i), t_ch);
          if (cls < 0)
            return wm_abort_all;
          if (cls)
            matched = true;
          p_ch = 0;
        } else if (t_ch == p_ch) {
          matched = true;
        }
      } while (prev_ch = p_ch, (p_ch = *++p) != ']');
      if (matched == negated || ((flags & wm_pathname) && t_ch == '/'))
        return wm_no_match;
      continue;
    }
    }
  }
  return *text ? wm_no_match : wm_match;
}

bool wildmatch(const char* pattern, const char* text, unsigned flags) {
  const auto* p = reinterpret_cast<const uchar*>(pattern);
  return dowild(p, reinterpret_cast<const uchar*>(text), p, flags) == wm_match;
}

// Length of the leading part of a pattern that has no glob characters.
std::size_t simple_length(std::string_view s) {
  std::size_t n = 0;
  while (n < s.size() && !is_glob_special(static_cast<uchar>(s[n])))
    n++;
  return n;
}

// git's trim_trailing_spaces(): only ' ' is trimmed, and "\ " protects a space.
std::string_view trim_trailing_spaces(std::string_view line) {
  std::size_t last_space = std::string_view::npos;
  for (std::size_t i = 0; i < line.size(); i++) {
    if (line[i] == ' ') {
      if (last_space == std::string_view::npos)
        last_space = i;
    } else if (line[i] == '\\') {
      if (++i == line.size())
        return line; // a lone trailing '\' keeps everything
      last_space = std::string_view::npos;
    } else {
      last_space = std::string_view::npos;
    }
  }
  return last_space == std::string_view::npos ? line : line.substr(0, last_space);
}

// match_pathname() for patterns with a base of "" (they all come from the watched directory's
// own rules): the literal prefix is compared first and the rest goes to wildmatch on its own.
// That split is observable (a "**" right after the prefix counts as a component start), and git
// has it, so it is kept.
bool match_pathname(const std::string& path, const std::string& pattern) {
  // Both remainders are suffixes of NUL-terminated strings, so wildmatch needs no copies.
  std::size_t p = !pattern.empty() && pattern.front() == '/' ? 1 : 0;
  std::size_t n = 0;
  const std::size_t prefix = simple_length(std::string_view(pattern).substr(p));
  if (prefix > 0) {
    if (prefix > path.size() || path.compare(0, prefix, pattern, p, prefix) != 0)
      return false;
    p += prefix;
    n = prefix;
    if (p == pattern.size() && n == path.size())
      return true;
  }
  return wildmatch(pattern.c_str() + p, path.c_str() + n, wm_pathname);
}

} // namespace

ignore_rules ignore_rules::parse(std::string_view content) {
  ignore_rules rules;
  // git skips a UTF-8 byte order mark at the start of an ignore file.
  if (content.substr(0, 3) == "\xEF\xBB\xBF")
    content.remove_prefix(3);
  while (!content.empty()) {
    const std::size_t nl = content.find('\n');
    std::string_view line = content.substr(0, nl);
    content.remove_prefix(nl == std::string_view::npos ? content.size() : nl + 1);
    if (!line.empty() && line.back() == '\r')
      line.remove_suffix(1);
    if (line.empty() || line.front() == '#')
      continue;
    line = trim_trailing_spaces(line);

    pattern pat;
    if (!line.empty() && line.front() == '!') {
      pat.negated = true;
      line.remove_prefix(1);
    }
    if (!line.empty() && line.back() == '/') {
      pat.directory_only = true;
      line.remove_suffix(1);
    }
    if (line.empty())
      continue; // matches nothing in git either
    pat.basename_only = line.find('/') == std::string_view::npos;
    pat.text = std::string(line);
    rules.patterns_.push_back(std::move(pat));
  }
  return rules;
}

ignore_rules ignore_rules::defaults() {
  return parse("node_modules/\n.venv/\n.env/\nenv/\nvenv/\ndist/\n__pycache__/\n__pytest_cache__/\n"
               ".pytest_cache/\n");
}

int ignore_rules::last_match(const std::string& path, std::size_t basename_offset,
                             bool is_directory) const {
  for (auto it = patterns_.rbegin(); it != patterns_.rend(); ++it) {
    if (it->directory_only && !is_directory)
      continue;
    const bool hit = it->basename_only
                         ? wildmatch(it->text.c_str(), path.c_str() + basename_offset, 0)
                         : match_pathname(path, it->text);
    if (hit)
      return it->negated ? -1 : 1;
  }
  return 0;
}

bool ignore_rules::ignored(std::string_view relative_path, bool is_directory) const {
  if (patterns_.empty())
    return false;
  // Walk the components, checking each parent directory before the path itself: git never
  // descends into an excluded directory, so nothing below it can be re-included.
  std::string prefix;
  prefix.reserve(relative_path.size());
  std::size_t basename_offset = 0;
  bool have_component = false;
  while (true) {
    const std::size_t slash = relative_path.find('/');
    const std::string_view comp = relative_path.substr(0, slash);
    const bool last = relative_path.find_first_not_of('/', comp.size()) == std::string_view::npos;
    relative_path.remove_prefix(slash == std::string_view::npos ? relative_path.size() : slash + 1);
    if (!comp.empty() && comp != ".") {
      if (have_component) {
        // `prefix` so far names a parent directory of the path.
        if (last_match(prefix, basename_offset, true) > 0)
          return true;
        prefix += '/';
      }
      basename_offset = prefix.size();
      prefix += comp;
      have_component = true;
    }
    if (last)
      break;
  }
  if (!have_component)
    return false;
  return last_match(prefix, basename_offset, is_directory) > 0;
}

} // namespace agentrt::runtime::artifacts
