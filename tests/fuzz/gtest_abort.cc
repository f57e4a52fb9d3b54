// For the targets whose harness is a GoogleTest fixture (TwoStacks,
// TcpScript): their EXPECTs, which check for leaked mbufs among other
// things, run outside a test, where a failure would only be printed. This
// makes every failure a crash, which libFuzzer reports with its input.
#include <gtest/gtest.h>

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  GTEST_FLAG_SET(break_on_failure, true);
  return 0;
}
