// Unpredictable bytes from the kernel's random source (getrandom), for what
// an attacker must not guess: DNS transaction IDs and source ports (RFC 5452
// §9), WebSocket keys and masking keys (RFC 6455 §4.1, §5.3). Callers are
// at connection or message rate, never per packet of the stack.
#pragma once

#include <cstddef>
#include <cstdint>

namespace ustack::app {

// Fills `n` bytes; a pool refilled 4 KiB at a time keeps system calls rare.
void secure_random(void* out, std::size_t n);
std::uint32_t secure_random32();

}  // namespace ustack::app
