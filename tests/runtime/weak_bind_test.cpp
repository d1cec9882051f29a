// weak_bind: the handler forwards its arguments to the member while the object lives, and does
// nothing (no call, no crash) once it is gone; it never keeps the object alive.
#include <gtest/gtest.h>

#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "util/weak_bind.hpp"

namespace agentrt::runtime::util {
namespace {

struct target : std::enable_shared_from_this<target> {
  explicit target(std::vector<std::string>& log) : log_(log) {}
  void none() { log_.push_back("none"); }
  void two(int n, const std::string& s) { log_.push_back(std::to_string(n) + s); }
  void moved(std::unique_ptr<int> p) { log_.push_back("moved " + std::to_string(*p)); }
  void constant(int n) const { log_.push_back("const " + std::to_string(n)); }
  int returns(int n) {
    log_.push_back("returns");
    return n;
  }
  std::vector<std::string>& log_;
};

TEST(WeakBind, ForwardsArgumentsWhileAlive) {
  std::vector<std::string> log;
  auto t = std::make_shared<target>(log);
  weak_bind(t->weak_from_this(), &target::none)();
  weak_bind(t, &target::two)(7, std::string("x"));
  weak_bind(t, &target::moved)(std::make_unique<int>(3));
  weak_bind(t, &target::constant)(5);
  weak_bind(t, &target::returns)(1);
  // Into the std::function shapes the runtime's handlers take.
  std::function<void(int, const std::string&)> f = weak_bind(t, &target::two);
  f(8, "y");
  EXPECT_EQ(log, (std::vector<std::string>{"none", "7x", "moved 3", "const 5", "returns", "8y"}));
}

TEST(WeakBind, DoesNothingOnceTheObjectIsGoneAndDoesNotKeepItAlive) {
  std::vector<std::string> log;
  auto t = std::make_shared<target>(log);
  std::weak_ptr<target> observer = t;
  std::function<void(int, const std::string&)> f = weak_bind(t, &target::two);
  EXPECT_EQ(t.use_count(), 1);
  t.reset();
  EXPECT_TRUE(observer.expired());
  f(1, "late");
  weak_bind(observer, &target::none)();
  EXPECT_TRUE(log.empty());
}

} // namespace
} // namespace agentrt::runtime::util
