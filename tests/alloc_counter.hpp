// Counts every global operator new of the test binary that includes it (in one translation
// unit only: it replaces the global allocation functions). `g_news` is the count, `g_new_bytes`
// the bytes asked for.
#pragma once
#include <atomic>
#include <cstdlib>
#include <new>

namespace {
std::atomic<long> g_news{0};
std::atomic<long> g_new_bytes{0};
std::atomic<long> g_aligned_bytes{0};  ///< of those, asked for with an alignment (ctnn's buffers)
}

// noinline: inlined into std::vector, GCC 12 pairs the malloc and free it sees and warns
// (-Wmismatched-new-delete) although both sides are the replacements below.
[[gnu::noinline]] void* operator new(std::size_t n) {
  ++g_news;
  g_new_bytes += static_cast<long>(n);
  if (void* p = std::malloc(n ? n : 1)) return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n) { return ::operator new(n); }
void* operator new(std::size_t n, std::align_val_t a) {
  ++g_news;
  g_new_bytes += static_cast<long>(n);
  g_aligned_bytes += static_cast<long>(n);
  if (void* p = std::aligned_alloc(static_cast<std::size_t>(a), (n + static_cast<std::size_t>(a) - 1) /
                                                                     static_cast<std::size_t>(a) *
                                                                     static_cast<std::size_t>(a)))
    return p;
  throw std::bad_alloc();
}
void* operator new[](std::size_t n, std::align_val_t a) { return ::operator new(n, a); }
[[gnu::noinline]] void operator delete(void* p) noexcept { std::free(p); }
[[gnu::noinline]] void operator delete(void* p, std::size_t) noexcept { std::free(p); }
void operator delete[](void* p) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t) noexcept { std::free(p); }
void operator delete(void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete(void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::align_val_t) noexcept { std::free(p); }
void operator delete[](void* p, std::size_t, std::align_val_t) noexcept { std::free(p); }

