// The MLP example's data-parallel instantiations (--threads 2..4): batch 64 on the SIMD
// backend, cut into 2 chunks (2 threads) or 4 (3 or 4 threads), for each optimizer.
#include <ctnn/parallel/data_parallel.hpp>

#include "fashion_mnist_mlp.hpp"
#include "fashion_mnist_train.hpp"

namespace example {
/// `train` on `o.threads` worker threads (data parallel, the batch cut into C chunks).
template <class NetT, std::size_t B, class Opt, std::size_t C>
int train_threads(const Options& o, const io::FashionMnist& data, typename Opt::Options opt_options) {
  using Be = backend::native;
  auto net = std::make_unique<NetT>();
  net->init(init::HeUniform{}, o.seed);
  DataParallel<Trainer<NetT, loss::SoftmaxCrossEntropy, Opt, Batch<B>, Be>, Threads<0>, Chunks<C>> trainer{
      *net, opt_options, static_cast<std::size_t>(o.threads), o.seed};
  return run_training<NetT, B, Be>(o, data, *net, trainer);
}

template int train_threads<Mlp, 64, CTNN_EXAMPLE_OPTIMIZER, 2>(const Options&, const io::FashionMnist&,
                                                              typename CTNN_EXAMPLE_OPTIMIZER::Options);
template int train_threads<Mlp, 64, CTNN_EXAMPLE_OPTIMIZER, 4>(const Options&, const io::FashionMnist&,
                                                              typename CTNN_EXAMPLE_OPTIMIZER::Options);
}  // namespace example
