// weak_bind(weak_from_this(), &T::member): a handler that calls self->member(args...) if the
// object is still alive when it runs, and does nothing otherwise. In the spirit of Beast's
// bind_front_handler, but weak: timers, watchers and child processes hold handlers that must
// not keep their owner alive (the owner holds them), which is what every
//   [weak = weak_from_this()](auto... a) { if (auto self = weak.lock()) self->f(a...); }
// spelled out by hand. Only for handlers that forward their arguments unchanged; one that
// checks state or drops an argument stays a lambda.
#pragma once

#include <functional>
#include <memory>
#include <utility>

namespace agentrt::runtime::util {

template <class T, class Member> class weak_member_handler {
public:
  weak_member_handler(std::weak_ptr<T> weak, Member member)
      : weak_(std::move(weak)), member_(member) {}

  // The object's member's result is dropped: a handler whose object is gone has none to give.
  template <class... Args> void operator()(Args&&... args) const {
    if (auto self = weak_.lock())
      std::invoke(member_, self.get(), std::forward<Args>(args)...);
  }

private:
  std::weak_ptr<T> weak_;
  Member member_;
};

template <class T, class Member>
weak_member_handler<T, Member> weak_bind(std::weak_ptr<T> weak, Member member) {
  return {std::move(weak), member};
}

template <class T, class Member>
weak_member_handler<T, Member> weak_bind(const std::shared_ptr<T>& object, Member member) {
  return {std::weak_ptr<T>(object), member};
}

} // namespace agentrt::runtime::util
