// mpi_data_parallel --model cnn: the CNN's training units (Adam; every exchange but
// --overlap), compiled beside the MLP's.
#include "fashion_mnist_cnn.hpp"
#include "mpi_data_parallel.hpp"

namespace example {
int run_cnn(const Options& o, double target, const std::string& compression, const io::FashionMnist& data,
            const mpi::Environment& env) {
  if (compression == "topk") return run<LeNet, optim::Adam, mpi::TopK<10>>(o, target, data, env);
  if (compression == "local") return run<LeNet, optim::Adam, mpi::LocalSGD<8>>(o, target, data, env);
  if (compression == "powersgd1") return run<LeNet, optim::Adam, mpi::PowerSGD<1>>(o, target, data, env);
  if (compression == "powersgd2") return run<LeNet, optim::Adam, mpi::PowerSGD<2>>(o, target, data, env);
  if (compression == "powersgd4") return run<LeNet, optim::Adam, mpi::PowerSGD<4>>(o, target, data, env);
  return run<LeNet, optim::Adam, mpi::Exact>(o, target, data, env);
}
}  // namespace example
