// Trains a LeNet-style CNN on Fashion-MNIST with softmax cross-entropy:
//   Input<1,28,28>, Conv2D<16,5,1,2>, ReLU, MaxPool2D<2>, Conv2D<32,5>, ReLU, MaxPool2D<2>,
//   Flatten, Dense<128>, ReLU, Dense<10>
// prints a line per epoch and, last, one machine-readable line:
//   result test_accuracy=0.XXXX epoch_seconds=X.XXX infer_batch1_ns=XXXX
// This unit holds the command line; the training is in fashion_mnist_cnn_train.cpp.
#include <cstdio>

#include "fashion_mnist_cli.hpp"
#include "fashion_mnist_cnn.hpp"

using namespace example;

namespace {
template <class Be>
int dispatch_optimizer(const Options& o, const io::FashionMnist& data) {
  if (o.optimizer == "adam") return train<LeNet, cnn_batch, optim::Adam, Be>(o, data, optimizer_options<optim::Adam>(o));
  return train<LeNet, cnn_batch, optim::SGD, Be>(o, data, optimizer_options<optim::SGD>(o));
}
}  // namespace

int main(int argc, char** argv) {
  Options o;
  o.epochs = 10;
  CLI::App app{"Train a LeNet-style CNN on Fashion-MNIST with ctnn (batch 64)", "fashion_mnist_cnn"};
  add_common_options(app, o);
  if (const auto rc = parse(app, argc, argv)) return *rc;

  try {
    const io::FashionMnist data = load(o);
    std::fputs(summary<LeNet>(cnn_batch).str().c_str(), stdout);
    std::printf("network: %zu parameters, %zu FLOPs per sample forward, optimizer %s, batch %zu, %s schedule, "
                "%s backend\n",
                LeNet::param_count, LeNet::flops_forward, o.optimizer.c_str(), cnn_batch, o.schedule.c_str(),
                o.backend.c_str());
    if (o.backend == "scalar") return dispatch_optimizer<backend::scalar>(o, data);
    return dispatch_optimizer<backend::native>(o, data);
  } catch (const Error& e) {
    std::fprintf(stderr, "error: %s\n", e.what());
    return 1;
  }
}
