// Internal: the wire name of the message variant's alternative at an index.
#pragma once

#include <cstddef>
#include <iterator>
#include <variant>

namespace agentrt::protocol::detail {

// "" for an index out of range.
const char* message_type_name_at(std::size_t index) noexcept;

} // namespace agentrt::protocol::detail
