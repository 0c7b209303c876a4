// FUZZ_CHECK: the property a fuzz target asserts. A failed check prints what was expected
// and aborts, which libFuzzer reports as a crash and saves the input that caused it.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string>

#define FUZZ_CHECK(cond, what)                                                         \
  do {                                                                                 \
    if (!(cond)) {                                                                     \
      std::fprintf(stderr, "%s:%d: FUZZ_CHECK(%s) failed: %s\n", __FILE__, __LINE__,  \
                   #cond, std::string(what).c_str());                                  \
      std::abort();                                                                    \
    }                                                                                  \
  } while (0)
