#pragma once
/**
 * @file lr_schedule.hpp
 * @brief Learning-rate schedules: the learning rate as a function of the step, for any
 * trainer. `lr::Constant`, `lr::Step`, `lr::Cosine`, `lr::WarmupCosine`, `lr::OneCycle`;
 * `lr::apply(trainer, schedule)` sets the optimizer's rate for the trainer's next step.
 *
 *     lr::WarmupCosine sched{.base = 1e-3f, .warmup = 500, .total = steps};
 *     for (...) { lr::apply(trainer, sched); trainer.step(x, y); }
 */
#include <cmath>
#include <concepts>
#include <cstddef>
#include <numbers>

#include "../config.hpp"

CTNN_BEGIN_NAMESPACE
namespace lr {

/// A schedule: the learning rate for a step (0-based: the number of steps already taken).
template <class S>
concept Schedule = requires(const S& s, std::size_t step) {
  { s(step) } -> std::convertible_to<float>;
};

/// The same rate at every step.
struct Constant {
  float base = 1e-3f;
  float operator()(std::size_t) const noexcept { return base; }
};

/// base · gamma^⌊step / every⌋ (PyTorch's StepLR).
struct Step {
  float base = 1e-3f;
  std::size_t every = 1000;
  float gamma = 0.1f;
  float operator()(std::size_t step) const noexcept {
    return static_cast<float>(double(base) * std::pow(double(gamma), double(step / (every ? every : 1))));
  }
};

namespace detail {
/// Half a cosine from `from` (t = 0) to `to` (t = 1), in double.
inline double cosine(double from, double to, double t) noexcept {
  return to + (from - to) * 0.5 * (1.0 + std::cos(std::numbers::pi * t));
}
inline double fraction(std::size_t step, std::size_t total) noexcept {
  return total ? std::min(1.0, double(step) / double(total)) : 1.0;
}
}  // namespace detail

/// Cosine decay from `base` to `min` over `total` steps, then `min` (SGDR without restarts).
struct Cosine {
  float base = 1e-3f;
  std::size_t total = 1;
  float min = 0.0f;
  float operator()(std::size_t step) const noexcept {
    return static_cast<float>(detail::cosine(base, min, detail::fraction(step, total)));
  }
};

/// Linear warm-up from base/warmup to `base` over `warmup` steps, then cosine decay to `min` by `total`.
struct WarmupCosine {
  float base = 1e-3f;
  std::size_t warmup = 100;
  std::size_t total = 1000;
  float min = 0.0f;
  float operator()(std::size_t step) const noexcept {
    if (step < warmup) return static_cast<float>(double(base) * double(step + 1) / double(warmup));
    return static_cast<float>(detail::cosine(base, min, detail::fraction(step - warmup, total > warmup ? total - warmup : 0)));
  }
};

/**
 * @brief Smith's one-cycle policy (as PyTorch's OneCycleLR with cosine annealing): from
 * max/div to `max` over the first `pct_start` of `total` steps, then down to
 * max/(div·final_div).
 */
struct OneCycle {
  float max = 1e-2f;
  std::size_t total = 1000;
  float pct_start = 0.3f;
  float div = 25.0f;
  float final_div = 1e4f;
  float operator()(std::size_t step) const noexcept {
    const double initial = double(max) / double(div), final_lr = initial / double(final_div);
    const double up = double(pct_start) * double(total) - 1.0, down = double(total) - 1.0;
    const double s = double(step);
    if (s <= up) return static_cast<float>(detail::cosine(initial, max, up > 0 ? s / up : 1.0));
    return static_cast<float>(detail::cosine(max, final_lr, down > up ? std::min(1.0, (s - up) / (down - up)) : 1.0));
  }
};

/// Sets `trainer`'s learning rate for its next step from `schedule` (any trainer with
/// `optimizer().options().lr` and `steps()`, or a distributed one through `local()`).
template <class T, Schedule S>
void apply(T& trainer, const S& schedule) {
  std::size_t step;
  if constexpr (requires { trainer.steps(); })
    step = trainer.steps();
  else
    step = trainer.local().steps();
  trainer.optimizer().options().lr = static_cast<float>(schedule(step));
}

}  // namespace lr
CTNN_END_NAMESPACE
