// Construction and backward scan of the reversed-secrets Aho–Corasick automaton (see the
// header for why backwards).
#include "secret_automaton.hpp"

#include <algorithm>
#include <utility>

namespace agentrt::protocol::detail {
namespace {

// Memory for the dense rows: twice the secrets' size, at least 256 KiB (enough for the first
// two levels of alphanumeric secrets), at most 8 MiB.
std::size_t dense_budget(std::size_t secret_bytes) {
  return std::min<std::size_t>(std::max<std::size_t>(2 * secret_bytes, 256 * 1024), 8 << 20);
}

} // namespace

// 1. The trie in depth-first order straight from the sorted reversed strings: each string adds
//    the nodes past its common prefix with the previous one, so siblings are created in
//    ascending label order.
secret_automaton::depth_first_trie
secret_automaton::build_trie(const std::vector<std::string>& reversed) {
  depth_first_trie t;
  std::vector<std::uint32_t> path{0}; // path[d]: the node at depth d of the previous string
  const std::string* previous = nullptr;
  for (const auto& r : reversed) {
    std::size_t common = 0;
    if (previous) {
      const std::size_t n = std::min(previous->size(), r.size());
      while (common < n && (*previous)[common] == r[common])
        ++common;
    }
    path.resize(common + 1);
    for (std::size_t d = common; d < r.size(); ++d) {
      path.push_back(static_cast<std::uint32_t>(t.parent.size()));
      t.parent.push_back(path[d]);
      t.label.push_back(static_cast<unsigned char>(r[d]));
      t.terminal.push_back(0);
    }
    if (!r.empty())
      t.terminal[path[r.size()]] = static_cast<std::uint32_t>(r.size());
    previous = &r;
  }
  return t;
}

// 2. Renumbered breadth first: the children of each node get consecutive ids.
void secret_automaton::number_breadth_first(depth_first_trie t) {
  const std::size_t nodes = t.parent.size();
  std::vector<std::uint32_t> first(nodes + 1, 0);
  for (std::size_t n = 1; n < nodes; ++n)
    ++first[t.parent[n] + 1];
  for (std::size_t n = 0; n < nodes; ++n)
    first[n + 1] += first[n];
  std::vector<std::uint32_t> children(nodes > 0 ? nodes - 1 : 0);
  std::vector<std::uint32_t> fill(first.begin(), first.end() - 1);
  for (std::size_t n = 1; n < nodes; ++n)
    children[fill[t.parent[n]]++] = static_cast<std::uint32_t>(n);
  t.parent = {};
  std::vector<std::uint32_t> order; // order[new id] = depth-first id
  order.reserve(nodes);
  order.push_back(0);
  first_child_.assign(nodes + 1, 0);
  label_.assign(nodes, 0);
  out_.assign(nodes, 0);
  for (std::size_t i = 0; i < order.size(); ++i) {
    const std::uint32_t old = order[i];
    first_child_[i] = static_cast<std::uint32_t>(order.size());
    for (std::uint32_t e = first[old]; e < first[old + 1]; ++e) {
      label_[order.size()] = t.label[children[e]];
      order.push_back(children[e]);
    }
    out_[i] = t.terminal[old];
  }
  first_child_[nodes] = static_cast<std::uint32_t>(nodes);
}

// 3. Failure links breadth first (a node's link is shallower, so it is final when needed),
//    with the dense rows of the first nodes: a row starts as its failure node's row, then
//    its own children overwrite their classes.
void secret_automaton::link_failures(std::size_t secret_bytes) {
  const std::size_t nodes = out_.size();
  dense_count_ = std::clamp<std::size_t>(dense_budget(secret_bytes) / (classes_ * 4), 1, nodes);
  dense_.assign(dense_count_ * classes_, 0);
  fail_.assign(nodes, 0);
  for (std::size_t u = 0; u < nodes; ++u) {
    if (u < dense_count_) {
      std::uint32_t* row = dense_.data() + u * classes_;
      if (u != 0) {
        const std::uint32_t* inherited = dense_.data() + std::size_t{fail_[u]} * classes_;
        std::copy(inherited, inherited + classes_, row);
      }
      for (std::uint32_t v = first_child_[u]; v < first_child_[u + 1]; ++v)
        row[class_of_[label_[v]]] = v;
    }
    for (std::uint32_t v = first_child_[u]; v < first_child_[u + 1]; ++v) {
      fail_[v] = u == 0 ? 0 : step(fail_[u], label_[v]);
      if (out_[v] == 0)
        out_[v] = out_[fail_[v]];
    }
  }
}

secret_automaton::secret_automaton(const std::vector<std::string>& secrets) {
  std::size_t total_bytes = 0;
  std::vector<std::string> reversed;
  reversed.reserve(secrets.size());
  for (const auto& s : secrets) {
    reversed.emplace_back(s.rbegin(), s.rend());
    total_bytes += s.size();
  }
  std::sort(reversed.begin(), reversed.end());
  depth_first_trie trie = build_trie(reversed);
  for (const auto& r : reversed) {
    for (const char c : r)
      class_of_[static_cast<unsigned char>(c)] = 1;
  }
  reversed = {};
  for (auto& k : class_of_) {
    if (k != 0)
      k = static_cast<std::uint16_t>(classes_++);
  }
  number_breadth_first(std::move(trie));
  link_failures(total_bytes);
}

std::size_t secret_automaton::memory_bytes() const noexcept {
  return dense_.size() * 4 + fail_.size() * 4 + out_.size() * 4 + first_child_.size() * 4 +
         label_.size();
}

std::uint32_t secret_automaton::child(std::uint32_t node, unsigned char c) const noexcept {
  const std::uint32_t first = first_child_[node];
  const std::uint32_t last = first_child_[node + 1];
  if (last - first <= 8) {
    for (std::uint32_t v = first; v < last; ++v) {
      if (label_[v] == c)
        return v;
    }
    return 0;
  }
  const auto begin = label_.begin();
  const auto it = std::lower_bound(begin + first, begin + last, c);
  if (it == begin + last || *it != c)
    return 0;
  return static_cast<std::uint32_t>(it - begin);
}

std::uint32_t secret_automaton::step(std::uint32_t state, unsigned char c) const noexcept {
  while (state >= dense_count_) {
    if (const std::uint32_t next = child(state, c))
      return next;
    state = fail_[state];
  }
  return dense_[std::size_t{state} * classes_ + class_of_[c]];
}

void secret_automaton::longest_starting(std::string_view text, std::size_t from,
                                        std::size_t block_end, std::size_t scan_end,
                                        std::uint32_t* lens) const noexcept {
  std::uint32_t state = 0;
  // Bytes past block_end only give the positions before it their context.
  for (std::size_t i = scan_end; i > block_end;) {
    --i;
    state = step(state, static_cast<unsigned char>(text[i]));
  }
  for (std::size_t i = block_end; i > from;) {
    --i;
    state = step(state, static_cast<unsigned char>(text[i]));
    lens[i - from] = out_[state];
  }
}

std::size_t secret_automaton::longest_at(std::string_view text, std::size_t from,
                                         std::size_t scan_end) const noexcept {
  std::uint32_t state = 0;
  for (std::size_t i = scan_end; i > from;) {
    --i;
    state = step(state, static_cast<unsigned char>(text[i]));
  }
  return scan_end > from ? out_[state] : 0;
}

} // namespace agentrt::protocol::detail
