// For the targets whose harness is a GoogleTest fixture (TwoStacks,
// TcpScript): their EXPECTs, which check for leaked mbufs among other
// things, run outside a test, where a failure would only be printed. This
// makes every failure an abort, which libFuzzer catches and reports with
// the input saved as a crash-* file (a debug trap, what break_on_failure
// raises, would kill the process before libFuzzer could save the input).
#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>

namespace {

class AbortOnFailure : public testing::EmptyTestEventListener {
  void OnTestPartResult(const testing::TestPartResult& r) override {
    if (!r.failed()) return;
    std::fprintf(stderr, "fuzz property failed at %s:%d:\n%s\n",
                 r.file_name() != nullptr ? r.file_name() : "?", r.line_number(), r.message());
    std::abort();
  }
};

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  testing::UnitTest::GetInstance()->listeners().Append(new AbortOnFailure);
  return 0;
}
