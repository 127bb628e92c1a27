// Proves the heap guard of the Cortex-M programs: an allocation must end the program with an
// error (startup.c's _sbrk), not hand out memory. The test expects this program to fail.
#include <cstdlib>

#include "platform.hpp"

int main() {
  void* volatile p = std::malloc(16);
  platform::write(p ? "malloc returned memory\n" : "malloc returned null\n");
  platform::finish(true);
}
