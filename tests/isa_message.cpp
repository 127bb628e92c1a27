// Compiled by the compile_message.* tests with various flags: what ctnn says at compile time.
#include <ctnn/ctnn.hpp>

static_assert(ctnn::backend_name<ctnn::backend::scalar>()[0] == 's');
int main() { return ctnn::backend_name()[0] == '?'; }
