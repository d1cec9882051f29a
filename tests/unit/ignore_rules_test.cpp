// ignore_rules against git's documented behaviour (gitignore(5) examples, escapes, trailing
// spaces, "**" forms, character classes, negation vs. an excluded parent) and the protocol's
// default list. Every row was cross-checked with `git check-ignore` on a real tree.
#include "artifacts/ignore_rules.hpp"

#include <ostream>
#include <string>

#include <gtest/gtest.h>

namespace agentrt::test {
namespace {

using runtime::artifacts::ignore_rules;

constexpr bool dir = true;
constexpr bool file = false;

struct ignore_case {
  const char* patterns; // gitignore text; nullptr = ignore_rules::defaults()
  const char* path;
  bool is_directory;
  bool expected_ignored;
};

std::ostream& operator<<(std::ostream& os, const ignore_case& c) {
  os << "patterns=";
  if (c.patterns) {
    os << '"';
    for (const char* p = c.patterns; *p; ++p)
      os << (*p == '\n' ? std::string("\\n") : std::string(1, *p));
    os << '"';
  } else {
    os << "<defaults>";
  }
  return os << " path=\"" << c.path << "\" " << (c.is_directory ? "dir" : "file")
            << " expected=" << (c.expected_ignored ? "ignored" : "kept");
}

// "Exclude everything except directory foo/bar" from gitignore(5).
constexpr const char* only_foo_bar = "/*\n!/foo\n/foo/*\n!/foo/bar\n";

const ignore_case cases[] = {
    // A pattern without a slash matches a name at any level.
    {"hello.*", "hello.txt", file, true},
    {"hello.*", "src/deep/hello.c", file, true},
    {"hello.*", "hello", file, false},
    {"hello.*", "ahello.txt", file, false},
    {"bar", "a/b/bar", file, true},
    {"logs", "logs", dir, true},
    {"logs", "logs", file, true},
    {"*", "a/b/c", file, true},

    // A trailing slash matches directories only (and everything below them).
    {"foo/", "foo", dir, true},
    {"foo/", "foo", file, false},
    {"foo/", "foo/bar.txt", file, true},
    {"foo/", "a/foo/b", file, true},
    {"doc/frotz/", "doc/frotz", dir, true},
    {"doc/frotz/", "a/doc/frotz", dir, false},
    {"doc/frotz/", "doc/frotz/x.txt", file, true},
    {"frotz/", "frotz", dir, true},
    {"frotz/", "a/frotz", dir, true},

    // A leading or middle slash anchors the pattern to the watched directory.
    {"doc/frotz", "doc/frotz", file, true},
    {"/doc/frotz", "doc/frotz", file, true},
    {"doc/frotz", "a/doc/frotz", file, false},
    {"/bar", "bar", file, true},
    {"/bar", "a/bar", file, false},
    {"foo/*", "foo/test.json", file, true},
    {"foo/*", "foo/bar", dir, true},
    // The '*' does not match "bar/hello.c", but the parent foo/bar is itself excluded.
    {"foo/*", "foo/bar/hello.c", file, true},
    {"foo/*.c", "foo/bar/hello.c", file, false},
    {"foo/*", "foo", dir, false},

    // gitignore(5): exclude everything except directory foo/bar.
    {only_foo_bar, "top.txt", file, true},
    {only_foo_bar, "foo", dir, false},
    {only_foo_bar, "foo/baz.txt", file, true},
    {only_foo_bar, "foo/bar", dir, false},
    {only_foo_bar, "foo/bar/deep/x.c", file, false},
    {only_foo_bar, "other/foo/bar", file, true},

    // "**" forms.
    {"**/foo", "foo", file, true},
    {"**/foo", "a/b/foo", file, true},
    {"**/foo", "a/foo/x", file, true},
    {"**/foo/bar", "x/foo/bar", file, true},
    {"**/foo/bar", "foo/bar", file, true},
    {"**/foo/bar", "foo/x/bar", file, false},
    {"abc/**", "abc/x", file, true},
    {"abc/**", "abc/x/y/z", file, true},
    {"abc/**", "abc", dir, false},
    {"abc/**", "x/abc/y", file, false},
    {"a/**/b", "a/b", file, true},
    {"a/**/b", "a/x/b", file, true},
    {"a/**/b", "a/x/y/b", file, true},
    {"a/**/b", "a/x/y/c", file, false},
    {"a/**/b", "b", file, false},
    // Other consecutive asterisks are ordinary asterisks.
    {"a**b", "x/axyb", file, true},
    {"x/a**b", "x/a/b", file, false},
    {"x/a**b", "x/aqqb", file, true},
    // git compares the literal prefix first, so this "**" starts the remaining pattern.
    {"foo**/bar", "foox/y/bar", file, true},
    {"foo**/bar", "foo/bar", file, true},

    // '?' and bracket expressions; none of them matches '/'.
    {"*.[oa]", "x.o", file, true},
    {"*.[oa]", "lib/x.a", file, true},
    {"*.[oa]", "x.c", file, false},
    {"file[0-9].txt", "file5.txt", file, true},
    {"file[0-9].txt", "filex.txt", file, false},
    {"file[!0-9].txt", "filex.txt", file, true},
    {"file[!0-9].txt", "file5.txt", file, false},
    {"file[^0-9].txt", "fileA.txt", file, true},
    {"file[^0-9].txt", "file5.txt", file, false},
    {"[a-zA-Z]*.md", "README.md", file, true},
    {"[a-zA-Z]*.md", "1.md", file, false},
    {"?.txt", "a.txt", file, true},
    {"?.txt", "ab.txt", file, false},
    {"d?r/x", "d/r/x", file, false},
    {"d?r/x", "dir/x", file, true},
    {"d[/]r/x", "d/r/x", file, false},
    {"[]a]", "]", file, true},
    {"[]a]", "b", file, false},
    {"[[:digit:]]*.log", "1.log", file, true},
    {"[[:digit:]]*.log", "a.log", file, false},
    {"[abc", "[abc", file, false}, // unterminated class never matches

    // Negation: the last matching pattern wins.
    {"*.log\n!important.log", "debug.log", file, true},
    {"*.log\n!important.log", "important.log", file, false},
    {"*.log\n!important.log", "logs/important.log", file, false},
    {"!important.log\n*.log", "important.log", file, true},
    {"*.html\n!foo.html", "foo.html", file, false},
    {"*.html\n!foo.html", "bar.html", file, true},
    // ... but nothing below an excluded directory can be re-included.
    {"build/\n!build/keep.txt", "build/keep.txt", file, true},
    {"build/\n!build/keep.txt", "build", dir, true},
    {"build\n!build/keep.txt", "build/keep.txt", file, true},
    {"build/*\n!build/keep.txt", "build/keep.txt", file, false},
    {"build/*\n!build/keep.txt", "build/other.txt", file, true},
    {"node_modules/\n!node_modules/x/", "node_modules/x/y.js", file, true},
    {"out/\n!out/", "out/a.txt", file, false},

    // Escapes, comments, blank lines, trailing spaces, CRLF.
    {"\\!important!.txt", "!important!.txt", file, true},
    {"\\!important!.txt", "important!.txt", file, false},
    {"\\#notes", "#notes", file, true},
    {"#notes", "#notes", file, false},
    {"\n# comment\n\n*.tmp\n", "a.tmp", file, true},
    {"\n# comment\n\n*.tmp\n", "# comment", file, false},
    {"foo.txt   ", "foo.txt", file, true},
    {"foo.txt  ", "foo.txt ", file, false},
    {"foo\\ ", "foo ", file, true},
    {"foo\\ ", "foo", file, false},
    {"foo\\  ", "foo ", file, true},
    {"foo\\", "foo", file, false}, // a trailing backslash never matches
    {"*.tmp\r\n!keep.tmp\r\n", "keep.tmp", file, false},
    {"*.tmp\r\n!keep.tmp\r\n", "x.tmp", file, true},
    {"\xEF\xBB\xBF*.bak", "a.bak", file, true},
    {"  *.bak", "a.bak", file, false}, // leading spaces are part of the pattern
    {"!", "a", file, false},
    {"/", "a", dir, false},

    // The protocol's default list.
    {nullptr, "node_modules/x/y.js", file, true},
    {nullptr, "src/node_modules/z", file, true},
    {nullptr, "node_modules", dir, true},
    {nullptr, "node_modules", file, false},
    {nullptr, "dist", file, false},
    {nullptr, "dist", dir, true},
    {nullptr, "dist/app.js", file, true},
    {nullptr, "distribution/x", file, false},
    {nullptr, ".venv/lib/python3/site.py", file, true},
    {nullptr, ".env", file, false},
    {nullptr, ".env/bin/activate", file, true},
    {nullptr, "env/bin/python", file, true},
    {nullptr, "venv/x", file, true},
    {nullptr, "app/__pycache__/m.pyc", file, true},
    {nullptr, "__pytest_cache__/x", file, true},
    {nullptr, ".pytest_cache/v/cache/nodeids", file, true},
    {nullptr, "src/main.py", file, false},
    {nullptr, "environment.yml", file, false},
    {nullptr, "report.txt", file, false},
};

class IgnoreRulesTable : public ::testing::TestWithParam<ignore_case> {};

TEST_P(IgnoreRulesTable, MatchesGit) {
  const ignore_case& c = GetParam();
  const ignore_rules rules =
      c.patterns ? ignore_rules::parse(c.patterns) : ignore_rules::defaults();
  EXPECT_EQ(rules.ignored(c.path, c.is_directory), c.expected_ignored) << c;
}

INSTANTIATE_TEST_SUITE_P(IgnoreRules, IgnoreRulesTable, ::testing::ValuesIn(cases));

TEST(IgnoreRules, ParseCountsPatternsNotCommentsOrBlankLines) {
  EXPECT_EQ(ignore_rules::parse("# c\n\n*.a\n!b\n   \n/c/\n").size(), 3u);
  EXPECT_TRUE(ignore_rules::parse("").empty());
  EXPECT_EQ(ignore_rules::defaults().size(), 9u);
}

TEST(IgnoreRules, EmptyRulesIgnoreNothing) {
  const ignore_rules none = ignore_rules::parse("# only a comment\n");
  EXPECT_FALSE(none.ignored("node_modules/x.js", false));
  EXPECT_FALSE(none.ignored("a", true));
}

TEST(IgnoreRules, PathNormalisation) {
  const ignore_rules rules = ignore_rules::parse("/build/\n*.tmp\n");
  EXPECT_TRUE(rules.ignored("./build/x", false));
  EXPECT_TRUE(rules.ignored("build//x", false));
  EXPECT_TRUE(rules.ignored("a/./b.tmp", false));
  EXPECT_TRUE(rules.ignored("build/", true));
  EXPECT_FALSE(rules.ignored("", true));
  EXPECT_FALSE(rules.ignored(".", true));
}

} // namespace
} // namespace agentrt::test
