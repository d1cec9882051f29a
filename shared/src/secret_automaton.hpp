// The multi-pattern matcher behind redactor: for every position of a text, the length of the
// longest secret that starts there, in time linear in the text whatever the number of secrets.
//
// Redaction is leftmost-first, longest at a position, non-overlapping. A forward Aho–Corasick
// scan reports matches by where they *end*, and picking the longest match *starting* at a
// position from that needs either every overlapping match (quadratic with nested secrets) or
// a rescan after each match (quadratic with secrets that share long prefixes). Scanning the
// text backwards with an automaton of the reversed secrets reports, at each position, the
// longest secret starting there directly: one state per byte, amortised O(1) per step.
//
// Compact on purpose, since a request may carry up to max_secrets_total_bytes of secrets:
// trie nodes are numbered breadth first, so a node's children are a contiguous range of ids
// and only their labels are stored (13 bytes per node). The first nodes in that order — the
// shallow ones, where nearly every step of a scan lands — also get a full transition row
// (failure links resolved) over byte classes (the bytes that occur in secrets, plus one for
// all others), within a memory budget proportional to the secrets.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace agentrt::protocol::detail {

class secret_automaton {
public:
  // secrets: non-empty, any order; duplicates are harmless.
  explicit secret_automaton(const std::vector<std::string>& secrets);

  // lens[p - from] = length of the longest secret equal to text[p, p + len) with
  // p + len <= scan_end, for every p in [from, block_end). Requires from <= block_end <=
  // scan_end <= text.size(). Costs scan_end - from steps.
  void longest_starting(std::string_view text, std::size_t from, std::size_t block_end,
                        std::size_t scan_end, std::uint32_t* lens) const noexcept;

  // The same for the single position from, without a buffer.
  std::size_t longest_at(std::string_view text, std::size_t from,
                         std::size_t scan_end) const noexcept;

  std::size_t node_count() const noexcept { return fail_.size(); }
  std::size_t dense_nodes() const noexcept { return dense_count_; }
  // Bytes held by the automaton's tables.
  std::size_t memory_bytes() const noexcept;

private:
  // The trie of the reversed secrets before it is renumbered breadth first.
  struct depth_first_trie {
    std::vector<std::uint32_t> parent{0};
    std::vector<unsigned char> label{0};
    std::vector<std::uint32_t> terminal{0}; // the length of the secret ending there, or 0
  };
  static depth_first_trie build_trie(const std::vector<std::string>& reversed);
  void number_breadth_first(depth_first_trie trie);
  void link_failures(std::size_t secret_bytes);

  std::uint32_t step(std::uint32_t state, unsigned char c) const noexcept;
  // The child of node labelled c, or 0 (the root is nobody's child).
  std::uint32_t child(std::uint32_t node, unsigned char c) const noexcept;

  std::array<std::uint16_t, 256> class_of_{}; // 0: a byte no secret contains
  std::size_t classes_ = 1;
  std::size_t dense_count_ = 1;      // nodes [0, dense_count_) have a row in dense_
  std::vector<std::uint32_t> dense_; // dense_[node * classes_ + class]: the next state
  std::vector<std::uint32_t> fail_;
  // Length of the longest secret that is a suffix of the node's (reversed) string, 0 if none:
  // read backwards, the longest secret starting at the current position.
  std::vector<std::uint32_t> out_;
  std::vector<std::uint32_t>
      first_child_;                  // node n's children: [first_child_[n], first_child_[n + 1])
  std::vector<unsigned char> label_; // the byte on the edge into each node
};

} // namespace agentrt::protocol::detail
