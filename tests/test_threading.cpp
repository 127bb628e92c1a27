// The workers' synchronisation, shared by DataParallel and the pipeline: the Barrier (every
// party sees every other's writes of the round; parties that slept past the spin are woken)
// and the Crew's start/finish handshake, on its fast path (back-to-back runs, the workers
// spinning) and its slow ones (run() waiting for a slow worker; workers that slept between
// runs; stopping sleeping workers).
#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <chrono>
#include <ctnn/parallel/threading.hpp>
#include <thread>
#include <vector>

using namespace ctnn::pipeline_detail;

namespace {
// Every party writes its slot, passes the barrier, and must then see every party's write of
// that round; a second barrier keeps the next round's writes from overtaking the reads. Party
// `slow` sleeps past the spin budget in the rounds listed, so the others block and are woken.
void barrier_rounds(std::size_t parties, int rounds, std::size_t slow, std::vector<int> slow_rounds) {
  Barrier barrier(parties);
  std::vector<std::atomic<int>> seen(parties);
  std::atomic<int> mismatches{0}, checks{0};
  auto party = [&](std::size_t p) {
    for (int r = 1; r <= rounds; ++r) {
      if (p == slow)
        for (int s : slow_rounds)
          if (s == r) std::this_thread::sleep_for(Channel::spin_budget + std::chrono::milliseconds(10));
      seen[p].store(r, std::memory_order_relaxed);
      barrier.arrive_and_wait();
      for (std::size_t q = 0; q < parties; ++q) {
        mismatches += seen[q].load(std::memory_order_relaxed) != r;
        ++checks;
      }
      barrier.arrive_and_wait();
    }
  };
  std::vector<std::thread> threads;
  for (std::size_t p = 1; p < parties; ++p) threads.emplace_back(party, p);
  party(0);
  for (auto& t : threads) t.join();
  EXPECT_EQ(mismatches.load(), 0);
  EXPECT_EQ(checks.load(), static_cast<int>(parties) * static_cast<int>(parties) * rounds);
}
}  // namespace

TEST(Threading, BarrierOrdersEveryRound) {
  barrier_rounds(2, 3000, 0, {});
  barrier_rounds(3, 1000, 0, {});
  barrier_rounds(4, 300, 0, {});
}

TEST(Threading, BarrierWakesPartiesThatSlept) {
  barrier_rounds(2, 50, 1, {3, 40});
  barrier_rounds(3, 30, 0, {10});
}

TEST(Threading, CrewRunsEveryJobOnEveryWorkerOnce) {
  constexpr std::size_t n = 3;
  std::array<std::atomic<long>, n> sum{}, count{};
  {
    Crew crew;
    crew.start_pinned(n, [](std::size_t s) { return s; }, [&](std::size_t s, int job) {
      if (s == 2 && job % 100 == 7) std::this_thread::sleep_for(std::chrono::microseconds(300));  // run() waits past its spin
      sum[s] += job;
      ++count[s];
    });
    long expected = 0;
    for (int job = 1; job <= 2000; ++job) {
      if (job % 500 == 0) std::this_thread::sleep_for(std::chrono::milliseconds(2));  // workers sleep between runs
      crew.run(job);
      expected += job;
      // run() returns only when every worker is done with this job
      for (std::size_t s = 0; s < n; ++s) ASSERT_EQ(count[s].load(), job) << "worker " << s;
    }
    for (std::size_t s = 0; s < n; ++s) EXPECT_EQ(sum[s].load(), expected) << "worker " << s;
  }  // the destructor stops workers that are sleeping
}
