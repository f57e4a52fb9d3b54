#include "core/counters.h"

namespace ustack {

Counter& CounterSet::get(std::string_view name) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_name_.find(name);
  if (it != by_name_.end()) return *it->second;
  Counter& c = storage_.emplace_back();
  by_name_.emplace(std::string(name), &c);
  return c;
}

std::uint64_t CounterSet::value(std::string_view name) const {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = by_name_.find(name);
  return it == by_name_.end() ? 0 : it->second->value();
}

void CounterSet::for_each(const std::function<void(const std::string&, std::uint64_t)>& fn) const {
  std::lock_guard<std::mutex> lock(mu_);
  for (const auto& [name, c] : by_name_) fn(name, c->value());
}

std::map<std::string, std::uint64_t> aggregate(std::span<const CounterSet* const> sets) {
  std::map<std::string, std::uint64_t> out;
  for (const CounterSet* s : sets) {
    s->for_each([&](const std::string& name, std::uint64_t v) { out[name] += v; });
  }
  return out;
}

}  // namespace ustack
