// The one result type: a value or an error with a code, one ok() polarity.
#include "agentrt/protocol/errc.hpp"
#include "agentrt/protocol/result.hpp"

#include <gtest/gtest.h>

#include <cerrno>
#include <memory>
#include <string>

namespace proto = agentrt::protocol;

namespace {

struct base {
  virtual ~base() = default;
  virtual int id() const { return 1; }
};
struct derived : base {
  int id() const override { return 2; }
};

proto::result<std::unique_ptr<base>> make(bool fail) {
  if (fail)
    return {proto::errc::invalid_value, "agent \"x\" is not one of claude, codex"};
  return std::make_unique<derived>();
}

proto::result<int> parse_port(const std::string& s) {
  if (s.empty())
    return proto::errc::missing_field;
  return std::stoi(s);
}

proto::result<void> write_file(bool fail) {
  if (fail)
    return {std::error_code(ENOSPC, std::generic_category()), "write /out/a.txt"};
  return {};
}

// One polarity: a result has ok() and no bool conversion; an error converts to true.
static_assert(!std::is_constructible_v<bool, proto::result<int>>);
static_assert(!std::is_constructible_v<bool, proto::result<void>>);
static_assert(std::is_constructible_v<bool, proto::error>);

} // namespace

TEST(Result, HoldsAValueMadeOfAConvertibleType) {
  auto r = make(false);
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r.value()->id(), 2);
  std::unique_ptr<base> owned = std::move(r).value();
  EXPECT_EQ(owned->id(), 2);
}

TEST(Result, HoldsAnErrorWithItsCodeAndText) {
  auto r = make(true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, proto::errc::invalid_value);
  EXPECT_EQ(r.error().message(), "agent \"x\" is not one of claude, codex");
  EXPECT_TRUE(static_cast<bool>(r.error())); // an error converts to true, like std::error_code
}

TEST(Result, AnErrorWithoutTextSaysItsCodesMessage) {
  auto r = parse_port("");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().message(), proto::make_error_code(proto::errc::missing_field).message());
  auto good = parse_port("8080");
  ASSERT_TRUE(good.ok());
  EXPECT_EQ(good.value(), 8080);
}

TEST(Result, VoidResultIsOkOrCarriesTheErrno) {
  EXPECT_TRUE(write_file(false).ok());
  auto r = write_file(true);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.error().code, std::errc::no_space_on_device);
  EXPECT_EQ(r.error().text, "write /out/a.txt");
}
