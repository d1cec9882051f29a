// The one byte range of a Range header (RFC 9110 14.1.2) against a file of a known size, so
// that an interrupted download resumes where it stopped.
#pragma once

#include <cstdint>
#include <string_view>

namespace agentrt::runtime::files {

struct byte_range {
  enum class kind { whole, partial, unsatisfiable };
  kind k = kind::whole;
  std::uint64_t first = 0;
  std::uint64_t length = 0; // bytes to send
};

// header empty, not "bytes=", or several ranges: the whole file (allowed: a server may ignore
// Range). "bytes=a-b", "bytes=a-", "bytes=-n" are honoured; a first byte past the end is
// unsatisfiable.
byte_range parse_byte_range(std::string_view header, std::uint64_t size);

} // namespace agentrt::runtime::files
