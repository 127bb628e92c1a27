// Writes the weights the Cortex-M inference program compiles in: a seeded W1 saved as
// safetensors, as a trained model would be, for ctnn_weights_header to turn into a header.
#include <string>

#include <ctnn/io.hpp>

#include "nets.hpp"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  static embedded::W1 net;
  net.init(ctnn::init::XavierUniform{}, 7);
  ctnn::io::save(net, std::string(argv[1]));
  return 0;
}
