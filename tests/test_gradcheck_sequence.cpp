// Finite-difference gradient checks for the sequence layers (method in gradcheck.hpp): GRU
// and LSTM (every step returned, or the last), the causal dilated Conv1D, LayerNorm (flat and
// per step) and Dense on each step, alone and stacked so input gradients reach earlier layers.
#include "gradcheck.hpp"

using namespace ctnn;
using ctnn_test::check;
using MSE = loss::MSE;
using CE = loss::SoftmaxCrossEntropy;

TEST(GradCheckSequence, GruSequenceAndLast) {
  check<Net<Input<5, 3>, GRU<4>, Dense<2>>, MSE, 2>();
  check<Net<Input<7, 1>, GRU<3, Returns::last>, Dense<3>>, CE, 3>(4);
  // A GRU feeding a GRU: the second one's input gradient trains the first.
  check<Net<Input<4, 2>, GRU<3>, GRU<5, Returns::last>, Dense<2>>, MSE, 2>(7);
}

TEST(GradCheckSequence, LstmSequenceAndLast) {
  check<Net<Input<6, 2>, LSTM<3>, Dense<1>>, MSE, 2>();
  check<Net<Input<5, 3>, LSTM<4, Returns::last>, Dense<3>>, CE, 1>(3);
  check<Net<Input<3, 2>, Dense<4>, Tanh, LSTM<2>, LSTM<3, Returns::last>, Dense<2>>, MSE, 3>(5);
}

TEST(GradCheckSequence, CausalDilatedConv1D) {
  check<Net<Input<9, 2>, Conv1D<3, 3, 2>, Tanh, Conv1D<2, 2, 4>, Dense<1>>, MSE, 2>();
  // Kernel 1 (a per-step map), and a dilation reaching past the start of the sequence.
  check<Net<Input<5, 3>, Conv1D<2, 1>, ReLU, Conv1D<2, 4, 3>, GRU<2, Returns::last>, Dense<2>>, CE, 2>(8);
}

TEST(GradCheckSequence, LayerNormFlatAndPerStep) {
  check<Net<Input<7>, Dense<5>, LayerNorm, Tanh, Dense<3>>, CE, 2>();
  check<Net<Input<4, 3>, Dense<6>, LayerNorm, GRU<3>, LayerNorm, Dense<1>>, MSE, 2>(9);
}

TEST(GradCheckSequence, DensePerStep) {
  check<Net<Input<4, 5>, Dense<3>, Sigmoid, Dense<2>>, MSE, 3>();
}

TEST(GradCheckSequence, Residual) {
  check<Net<Input<6>, Dense<5>, Residual<Dense<5>, Tanh, Dense<5>>, Dense<2>>, CE, 2>();
  check<Net<Input<5, 3>, Dense<4>, Residual<LayerNorm, GRU<4>>, Residual<Conv1D<4, 2, 2>, Tanh>, Dense<1>>, MSE, 2>(3);
  // Nested, and on an image.
  check<Net<Input<4>, Residual<Dense<4>, Residual<Dense<3>, Sigmoid, Dense<4>>, GELU>, Dense<3>>, CE, 3>(5);
  check<Net<Input<2, 5, 5>, Residual<Conv2D<2, 3, 1, 1>, Tanh>, Flatten, Dense<2>>, CE, 2>(6);
}
