// RAII owners for libcurl's raw handles (easy, multi, header list), so every early return on a
// transfer's error paths releases them.
#pragma once

#include <memory>

#include <curl/curl.h>

namespace agentrt::runtime::transfer {

namespace detail {
struct easy_deleter {
  void operator()(CURL* h) const noexcept { curl_easy_cleanup(h); }
};
struct multi_deleter {
  void operator()(CURLM* h) const noexcept { curl_multi_cleanup(h); }
};
} // namespace detail

using easy_handle = std::unique_ptr<CURL, detail::easy_deleter>;
using multi_handle = std::unique_ptr<CURLM, detail::multi_deleter>;

// A curl_slist that frees itself. curl only reads the list while the transfer runs, so it must
// outlive the transfer that uses it.
class slist_handle {
public:
  slist_handle() noexcept = default;
  ~slist_handle() { curl_slist_free_all(head_); }
  slist_handle(slist_handle&& other) noexcept : head_(other.head_) { other.head_ = nullptr; }
  slist_handle& operator=(slist_handle&& other) noexcept {
    if (this != &other) {
      curl_slist_free_all(head_);
      head_ = other.head_;
      other.head_ = nullptr;
    }
    return *this;
  }
  slist_handle(const slist_handle&) = delete;
  slist_handle& operator=(const slist_handle&) = delete;

  // False when curl could not allocate; the list is unchanged then (curl_slist_append keeps
  // the old list on failure, which is why the result is not assigned blindly).
  bool append(const char* line) noexcept {
    curl_slist* next = curl_slist_append(head_, line);
    if (!next)
      return false;
    head_ = next;
    return true;
  }

  curl_slist* get() const noexcept { return head_; }

private:
  curl_slist* head_ = nullptr;
};

} // namespace agentrt::runtime::transfer
