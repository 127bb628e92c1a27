// The command line the Fashion-MNIST examples share (CLI11); only their main units include it.
#pragma once
#include <CLI/CLI.hpp>
#include <cstdio>
#include <optional>

#include "fashion_mnist_common.hpp"

namespace example {
/// The options every Fashion-MNIST example takes (all but --batch).
inline void add_common_options(CLI::App& app, Options& o) {
  app.add_option("--epochs", o.epochs, "Training epochs")->check(CLI::Range(1, 1000))->capture_default_str();
  app.add_option("--optimizer", o.optimizer, "sgd (with momentum) or adam")
      ->check(CLI::IsMember({"sgd", "adam"}))
      ->capture_default_str();
  app.add_option("--lr", o.lr, "Learning rate (default: 1e-3 for adam, 0.05 for sgd)")
      ->check(CLI::PositiveNumber);
  app.add_option("--schedule", o.schedule,
                 "Learning-rate schedule: cosine (decays to 0), constant, step (x0.1 at each third), warmup-cosine "
                 "(linear warm-up over 5%, then cosine) or onecycle (--lr is the peak)")
      ->check(CLI::IsMember({"cosine", "constant", "step", "warmup-cosine", "onecycle"}))
      ->capture_default_str();
  app.add_option("--backend", o.backend, "simd (the widest this build supports) or scalar (the reference)")
      ->check(CLI::IsMember({"simd", "scalar"}))
      ->capture_default_str();
  app.add_option("--momentum", o.momentum, "SGD momentum")->check(CLI::Range(0.0f, 0.999f))->capture_default_str();
  app.add_option("--seed", o.seed, "Seed for weights, shuffling and dropout")->capture_default_str();
  app.add_option("--data", o.data, "Directory with the IDX files")->capture_default_str();
  app.add_option("--metrics", o.metrics, "Write per-epoch metrics to this CSV file");
  app.add_option("--limit", o.limit, "Train on the first N samples only (0: all)")->capture_default_str();
  app.add_option("--checkpoint", o.checkpoint,
                 "Write a checkpoint (weights, optimizer state, data order, RNG, epoch) to this file after each epoch");
  app.add_flag("--resume", o.resume, "Continue from --checkpoint FILE, bit for bit as if never stopped")
      ->needs(app.get_option("--checkpoint"));
}

/// Parses the command line: 0 to go on, otherwise the exit code (help: 0 after printing; bad options: 2).
inline std::optional<int> parse(CLI::App& app, int argc, char** argv) {
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::fprintf(stderr, "error: %s\n\n%s", e.what(), app.help().c_str());
    return 2;
  }
  return std::nullopt;
}

}  // namespace example
