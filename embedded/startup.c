/* Start-up code for ctnn's Cortex-M programs on the MPS2 AN386 board (qemu-system-arm -M
 * mps2-an386): the vector table, a reset handler that enables the FPU, copies .data, zeroes .bss,
 * runs the static constructors and main, and Arm semihosting for output and exit. Any use of
 * the heap ends the program with an error: _sbrk, which malloc calls for its first block, never
 * hands out memory. */
#include <stddef.h>
#include <stdint.h>

enum { SYS_WRITE0 = 0x04, SYS_EXIT = 0x18 };
enum { ADP_STOPPED_APPLICATION_EXIT = 0x20026, ADP_STOPPED_RUN_TIME_ERROR = 0x20023 };

static int semihost(int op, const void* arg) {
  register int r0 __asm__("r0") = op;
  register const void* r1 __asm__("r1") = arg;
  __asm__ volatile("bkpt 0xab" : "+r"(r0) : "r"(r1) : "memory");
  return r0;
}

void ctnn_semihost_write(const char* text) { semihost(SYS_WRITE0, text); }

__attribute__((noreturn)) void ctnn_semihost_exit(int ok) {
  semihost(SYS_EXIT, (const void*)(uintptr_t)(ok ? ADP_STOPPED_APPLICATION_EXIT : ADP_STOPPED_RUN_TIME_ERROR));
  for (;;) {
  }
}

/* newlib's system calls, for what the C library may reach: output, exit, and the heap. */
__attribute__((noreturn)) void _exit(int status) { ctnn_semihost_exit(status == 0); }

void* _sbrk(ptrdiff_t increment) {
  (void)increment;
  ctnn_semihost_write("heap use: malloc was called on a target that has no heap\n");
  ctnn_semihost_exit(0);
}

int _write(int fd, const char* data, int length) {
  (void)fd;
  char chunk[65];
  for (int done = 0; done < length;) {
    int n = length - done < 64 ? length - done : 64;
    for (int i = 0; i < n; ++i) chunk[i] = data[done + i];
    chunk[n] = '\0';
    ctnn_semihost_write(chunk);
    done += n;
  }
  return length;
}

extern int main(void);
extern uint32_t __data_start, __data_end, __data_load, __bss_start, __bss_end, __stack_top;
extern void (*__preinit_array_start[])(void), (*__preinit_array_end[])(void);
extern void (*__init_array_start[])(void), (*__init_array_end[])(void);

__attribute__((noreturn)) void ctnn_reset(void) {
  /* Full access to the FPU (CP10, CP11) before any floating-point instruction runs. */
  *(volatile uint32_t*)0xE000ED88u |= 0xFu << 20;
  __asm__ volatile("dsb\n\tisb" ::: "memory");
  const uint32_t* src = &__data_load;
  for (uint32_t* dst = &__data_start; dst < &__data_end;) *dst++ = *src++;
  for (uint32_t* dst = &__bss_start; dst < &__bss_end;) *dst++ = 0;
  for (void (**f)(void) = __preinit_array_start; f < __preinit_array_end; ++f) (*f)();
  for (void (**f)(void) = __init_array_start; f < __init_array_end; ++f) (*f)();
  ctnn_semihost_exit(main() == 0);
}

static void ctnn_fault(void) {
  ctnn_semihost_write("fault: the processor raised an exception\n");
  ctnn_semihost_exit(0);
}

/* Initial stack pointer, reset, then NMI, HardFault, MemManage, BusFault, UsageFault,
 * 4 reserved, SVCall, DebugMonitor, reserved, PendSV, SysTick. */
__attribute__((section(".vectors"), used)) static const void* const vectors[16] = {
    &__stack_top, (const void*)ctnn_reset, (const void*)ctnn_fault, (const void*)ctnn_fault,
    (const void*)ctnn_fault, (const void*)ctnn_fault, (const void*)ctnn_fault, 0, 0, 0, 0,
    (const void*)ctnn_fault, (const void*)ctnn_fault, 0, (const void*)ctnn_fault, (const void*)ctnn_fault,
};
