// Each CTNN_CASE_* must be rejected at compile time with a readable message;
// tests/CMakeLists.txt lists the message each must print. With no case it compiles.
#include <ctnn/ctnn.hpp>

#include <vector>

using namespace ctnn;

#if defined(CTNN_CASE_softmax_in_middle)
using N = Net<Input<4>, Dense<3>, Softmax, Dense<2>>;
constexpr auto n = N::param_count;
#elif defined(CTNN_CASE_dense_zero)
using N = Net<Input<4>, Dense<3>, ReLU, Dense<0>>;
constexpr auto n = N::param_count;
#elif defined(CTNN_CASE_empty_net)
using N = Net<Input<4>>;
constexpr auto n = N::param_count;
#elif defined(CTNN_CASE_no_input)
using N = Net<Dense<3>, ReLU>;
constexpr auto n = N::param_count;
#elif defined(CTNN_CASE_input_zero)
using N = Net<Input<0>, Dense<3>>;
constexpr auto n = N::param_count;
#elif defined(CTNN_CASE_not_a_layer)
using N = Net<Input<4>, Dense<3>, int>;
constexpr auto n = N::param_count;
#elif defined(CTNN_CASE_softmax_then_cross_entropy)
using N = Net<Input<4>, Dense<3>, Softmax>;
N net;
Trainer<N, loss::SoftmaxCrossEntropy, optim::SGD, Batch<2>> trainer{net};
#elif defined(CTNN_CASE_batch_zero)
using N = Net<Input<4>, Dense<3>>;
constexpr auto n = N::workspace_bytes<Batch<0>::size>;
#elif defined(CTNN_CASE_wrong_target_type)
// MSE takes real-valued targets; integer labels are for SoftmaxCrossEntropy.
using N = Net<Input<4>, Dense<3>>;
N net;
Trainer<N, loss::MSE, optim::SGD, Batch<2>> trainer{net};
std::vector<float> x(8);
std::vector<int> t(6);
float l = trainer.step(x, t);
#else
using N = Net<Input<4>, Dense<3>, ReLU, Dense<2>, Softmax>;
static_assert(N::param_count == 4 * 3 + 3 + 3 * 2 + 2);
#endif

int main() {}
