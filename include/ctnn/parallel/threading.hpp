#pragma once
/**
 * @file threading.hpp
 * @brief The thread machinery shared by the pipeline and data-parallel executors:
 * persistent pinned workers (`Crew`), bounded channels, a barrier, and short spins
 * before blocking waits (a worker owns its core; a futex wake-up costs tens of µs).
 */
#include <pthread.h>
#include <sched.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "devices.hpp"

CTNN_BEGIN_NAMESPACE
namespace pipeline_detail {

/// Spins for up to ~`budget` before a blocking wait: a stage usually hears from its
/// neighbour within microseconds, and a futex wake-up costs tens of them.
template <class Ready>
inline bool spin_until(Ready ready, std::chrono::microseconds budget = std::chrono::microseconds(200)) {
  const auto until = std::chrono::steady_clock::now() + budget;
  for (unsigned i = 1;; ++i) {
    if (ready()) return true;
    if (i % 64 == 0) {
      if (std::chrono::steady_clock::now() > until) return false;
      std::this_thread::yield();  // lets the caller's thread run if it shares this core
    }
  }
}

/// A bounded FIFO of micro-batch indices between two threads (mutex + condition variable,
/// with a short spin on the element count first).
class Channel {
 public:
  /// A stage owns its core, so it may spin through a whole neighbour's micro-batch
  /// (milliseconds) rather than pay a futex wake-up per message.
  static constexpr std::chrono::microseconds spin_budget{20'000};

  explicit Channel(std::size_t capacity) : buf_(capacity) {}
  void push(std::size_t v) {
    spin_until([&] { return size_.load(std::memory_order_acquire) < buf_.size(); }, spin_budget);
    std::unique_lock lock(m_);
    cv_.wait(lock, [&] { return count_ < buf_.size(); });
    buf_[(head_ + count_) % buf_.size()] = v;
    size_.store(++count_, std::memory_order_release);
    cv_.notify_all();
  }
  std::size_t pop() {
    spin_until([&] { return size_.load(std::memory_order_acquire) > 0; }, spin_budget);
    std::unique_lock lock(m_);
    cv_.wait(lock, [&] { return count_ > 0; });
    const std::size_t v = buf_[head_];
    head_ = (head_ + 1) % buf_.size();
    size_.store(--count_, std::memory_order_release);
    cv_.notify_all();
    return v;
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  std::vector<std::size_t> buf_;
  std::size_t head_ = 0, count_ = 0;
  std::atomic<std::size_t> size_{0};  ///< mirror of count_ for spinning readers
};

/// A reusable barrier for the stage threads (spins, then waits).
class Barrier {
 public:
  explicit Barrier(std::size_t parties) : parties_(parties) {}
  void arrive_and_wait() {
    std::unique_lock lock(m_);
    const std::uint64_t gen = generation_;
    if (++arrived_ == parties_) {
      arrived_ = 0;
      ++generation_;
      published_.store(generation_, std::memory_order_release);
      cv_.notify_all();
      return;
    }
    lock.unlock();
    spin_until([&] { return published_.load(std::memory_order_acquire) != gen; }, Channel::spin_budget);
    lock.lock();
    cv_.wait(lock, [&] { return generation_ != gen; });
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  std::size_t parties_, arrived_ = 0;
  std::uint64_t generation_ = 0;
  std::atomic<std::uint64_t> published_{0};
};

/// Pins the calling thread to `core` (modulo the machine's cores); false if the OS refused.
inline bool pin_to_core(std::size_t core) noexcept {
  const unsigned n = std::max(1u, std::thread::hardware_concurrency());
  cpu_set_t set;
  CPU_ZERO(&set);
  CPU_SET(static_cast<int>(core % n), &set);
  return pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0;
}

/**
 * @brief The workers and the start/finish handshake: `run(job)` wakes every worker with
 * the job, does worker 0's part on the calling thread, waits until all have finished it,
 * and returns.
 */
class Crew {
 public:
  /// Starts one thread per stage, pinned to `devices[s].index`; each runs `body(s, job)` per `run`.
  template <class Body>
  void start(std::size_t stages, const DeviceSpec* devices, Body body) {
    start_pinned(stages, [devices](std::size_t s) { return devices[s].index; }, body);
  }
  /// Starts workers 1..n−1, worker s pinned to core `core_of(s)`; worker 0 is the thread
  /// that calls `run` (it does its share instead of waiting, and no core is oversubscribed).
  template <class CoreOf, class Body>
  void start_pinned(std::size_t n, CoreOf core_of, Body body) {
    count_ = n - 1;
    first_ = body;
    for (std::size_t s = 1; s < n; ++s)
      threads_.emplace_back([this, s, body, core = core_of(s)] {
        pin_to_core(core);
        std::uint64_t seen = 0;
        while (true) {
          int job;
          spin_until([&] { return published_.load(std::memory_order_acquire) != seen; });
          {
            std::unique_lock lock(m_);
            cv_.wait(lock, [&] { return generation_ != seen || quit_; });
            if (quit_) return;
            seen = generation_;
            job = job_;
          }
          body(s, job);
          std::lock_guard lock(m_);
          if (++done_ == count_) {
            finished_.store(generation_, std::memory_order_release);
            done_cv_.notify_all();
          }
        }
      });
  }
  /// Runs `job` on every worker (worker 0 on the calling thread) and returns when all are done.
  void run(int job) {
    std::uint64_t g;
    {
      std::lock_guard lock(m_);
      job_ = job;
      done_ = 0;
      g = ++generation_;
      published_.store(g, std::memory_order_release);
    }
    cv_.notify_all();
    first_(0, job);
    if (count_ == 0) return;
    spin_until([&] { return finished_.load(std::memory_order_acquire) == g; }, std::chrono::microseconds(50));
    std::unique_lock lock(m_);
    done_cv_.wait(lock, [&] { return done_ == count_; });
  }
  ~Crew() {
    {
      std::lock_guard lock(m_);
      quit_ = true;
    }
    cv_.notify_all();
    for (auto& t : threads_) t.join();
  }

 private:
  std::mutex m_;
  std::condition_variable cv_, done_cv_;
  std::vector<std::thread> threads_;
  std::uint64_t generation_ = 0;
  std::atomic<std::uint64_t> published_{0}, finished_{0};  ///< for spinning before the waits
  std::size_t done_ = 0, count_ = 0;  ///< count_: worker threads (all but worker 0)
  std::function<void(std::size_t, int)> first_;
  int job_ = 0;
  bool quit_ = false;
};

}  // namespace pipeline_detail
CTNN_END_NAMESPACE
