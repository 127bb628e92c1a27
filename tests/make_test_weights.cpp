// Writes seeded LeNet and MLP weight files into the folder given, for the header round trip.
#include <cstdio>
#include <string>

#include <ctnn/io.hpp>

#include "weights_nets.hpp"

int main(int argc, char** argv) {
  if (argc != 2) return 2;
  static test_nets::LeNet lenet;
  static test_nets::Mlp mlp;
  lenet.init(ctnn::init::HeNormal{}, 17);
  mlp.init(ctnn::init::XavierUniform{}, 18);
  ctnn::io::save(lenet, std::string(argv[1]) + "/lenet.safetensors");
  ctnn::io::save(mlp, std::string(argv[1]) + "/mlp.safetensors");
  return 0;
}
