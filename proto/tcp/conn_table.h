// The per-core table of TCP connections: open addressing with linear
// probing over a power-of-two array sized once (twice max_connections, so
// it is at most half full), backward-shift deletion. Each slot holds the
// hash's upper bits beside the pointer so a probe rarely touches a
// connection that does not match. No lock (one core owns it), no
// allocation after construction, O(1) insert, lookup and erase.
#pragma once

#include <cstdint>
#include <memory>

#include "proto/tcp/conn_key.h"

namespace ustack {

class TcpConn;

class ConnTable {
 public:
  ConnTable(std::uint32_t max_entries, std::uint64_t seed);

  TcpConn* find(const ConnKey& k) const;
  // false when full or the key is present.
  bool insert(const ConnKey& k, TcpConn* c);
  bool erase(const ConnKey& k);
  std::uint32_t size() const { return size_; }
  std::uint32_t capacity() const { return max_; }
  std::uint64_t hash(const ConnKey& k) const { return conn_hash(k, seed_); }

 private:
  struct Slot {
    std::uint32_t tag;  // upper hash bits; 0 marks an empty slot
    TcpConn* conn;
  };
  static std::uint32_t tag_of(std::uint64_t h) { return static_cast<std::uint32_t>(h >> 32) | 1u; }
  std::size_t home(std::uint64_t h) const { return static_cast<std::size_t>(h) & mask_; }
  const ConnKey& key_of(const TcpConn* c) const;

  std::unique_ptr<Slot[]> slots_;
  std::size_t mask_;
  std::uint32_t max_;
  std::uint32_t size_ = 0;
  std::uint64_t seed_;
};

}  // namespace ustack
