// Where there is no GPU (CI), every entry point of ctnn::cuda fails with a clear
// ctnn::Error instead of crashing or computing nothing. Where there is one, it exits 77
// (CTest: skipped); the GPU tests cover that case.
#include <cstdio>
#include <ctnn/ctnn.hpp>
#include <ctnn/cuda.cuh>
#include <string>

using namespace ctnn;

int main() {
  if (cuda::device_count() > 0) {
    std::printf("SKIPPED: a CUDA device is present; this test checks the no-device errors\n");
    return 77;
  }
  using N = Net<Input<8>, Dense<16>, ReLU, Dense<4>>;
  N net;
  net.init(1);
  int failures = 0;
  auto expect_error = [&](const char* what, auto&& f) {
    try {
      f();
      std::printf("FAIL: %s did not raise\n", what);
      ++failures;
    } catch (const Error& e) {
      const std::string msg = e.what();
      if (msg.find("no CUDA device is available") == std::string::npos) {
        std::printf("FAIL: %s raised an unclear error: %s\n", what, msg.c_str());
        ++failures;
      } else {
        std::printf("ok: %s -> %s\n", what, msg.c_str());
      }
    }
  };
  expect_error("cuda::Network", [&] { cuda::Network<N> g(net); });
  expect_error("cuda::require_device", [] { cuda::require_device(); });
  return failures == 0 ? 0 : 1;
}
