// Compiled by the test suite with each available compiler (g++ and clang++-14) under
// default constexpr limits: a 64-layer network planned over 8 devices at compile time.
#include <ctnn/ctnn.hpp>
#include <ctnn/parallel/partition.hpp>
#include <utility>

using namespace ctnn;

template <std::size_t... I>
auto deep_net(std::index_sequence<I...>) -> Net<Input<32>, std::conditional_t<I % 2 == 0, Dense<32 + 8 * (I % 5)>, ReLU>...>;
using Deep64 = decltype(deep_net(std::make_index_sequence<64>{}));
using Eight = Devices<CpuCore<0>, CpuCore<1>, CpuCore<2>, CpuCore<3>, CpuCore<4>, CpuCore<5>, CpuCore<6>, CpuCore<7>>;
using Plan64 = partition<Deep64, Eight, Batch<64>>;
static_assert(Deep64::layer_count == 64);
static_assert(Plan64::stage_count == 8 && Plan64::stage<0>::first_layer == 0 && Plan64::stage<7>::last_layer == 63);
static_assert(Plan64::bottleneck_ps > 0 && Plan64::bottleneck_ps * 8 >= Plan64::total_ps);

int main() { return Plan64::stage<3>::first_layer > 0 ? 0 : 1; }
