#pragma once
// What the embedded programs need from their platform: print a line, and end with a status.
// On the bare-metal Cortex-M build (CTNN_BARE_METAL) both go through Arm semihosting to the
// debugger or emulator (startup.cpp); on a host, through stdout and the exit code. Values are
// printed as the eight hex digits of their bits, so the host compares them exactly.
#include <bit>
#include <cstdint>

namespace platform {

void write(const char* text) noexcept;
[[noreturn]] void finish(bool ok) noexcept;

/// Writes `label`, then each value's bits as " xxxxxxxx", then a newline.
inline void print_floats(const char* label, const float* v, unsigned n) noexcept {
  write(label);
  char buf[10];
  for (unsigned i = 0; i < n; ++i) {
    const std::uint32_t bits = std::bit_cast<std::uint32_t>(v[i]);
    buf[0] = ' ';
    for (int d = 0; d < 8; ++d) buf[1 + d] = "0123456789abcdef"[(bits >> (28 - 4 * d)) & 0xF];
    buf[9] = '\0';
    write(buf);
  }
  write("\n");
}

}  // namespace platform

#ifdef CTNN_BARE_METAL
extern "C" void ctnn_semihost_write(const char* text);
extern "C" [[noreturn]] void ctnn_semihost_exit(int ok);
inline void platform::write(const char* text) noexcept { ctnn_semihost_write(text); }
inline void platform::finish(bool ok) noexcept { ctnn_semihost_exit(ok ? 1 : 0); }
#else
#include <cstdio>
#include <cstdlib>
inline void platform::write(const char* text) noexcept { std::fputs(text, stdout); }
inline void platform::finish(bool ok) noexcept {
  std::fflush(stdout);
  std::exit(ok ? 0 : 1);
}
#endif
