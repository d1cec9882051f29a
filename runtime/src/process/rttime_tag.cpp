// The RLIMIT_RTTIME mark of a scope's processes (see rttime_tag.hpp).
#include "process/rttime_tag.hpp"

namespace agentrt::runtime::process {
namespace {

constexpr std::uint64_t tag_base = std::uint64_t{1} << 62;
constexpr std::uint64_t tag_span = std::uint64_t{1} << 40;

} // namespace

std::uint64_t rttime_tag(std::uint64_t scope_serial) {
  return tag_base + scope_serial % tag_span;
}

std::optional<std::uint64_t> rttime_tag_serial(std::uint64_t soft_limit) {
  if (soft_limit < tag_base || soft_limit - tag_base >= tag_span)
    return std::nullopt;
  return soft_limit - tag_base;
}

scoped_rttime_tag::scoped_rttime_tag(std::optional<std::uint64_t> tag) {
  if (!tag || ::getrlimit(RLIMIT_RTTIME, &saved_) != 0)
    return;
  if (saved_.rlim_max != RLIM_INFINITY && saved_.rlim_max < *tag)
    return;
  rlimit marked = saved_;
  marked.rlim_cur = static_cast<rlim_t>(*tag);
  set_ = ::setrlimit(RLIMIT_RTTIME, &marked) == 0;
}

scoped_rttime_tag::~scoped_rttime_tag() {
  if (set_)
    ::setrlimit(RLIMIT_RTTIME, &saved_);
}

} // namespace agentrt::runtime::process
