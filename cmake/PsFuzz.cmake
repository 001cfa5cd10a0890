# Fuzzing (PS_FUZZ=ON): the libFuzzer targets of tests/fuzz and their CTest
# entries fuzz.<name>. libFuzzer needs clang. With clang as the compiler the
# targets are built in this build: every file is instrumented for coverage
# (-fsanitize=fuzzer-no-link) and checked by ASan and UBSan (PS_SANITIZE
# defaults to "address;undefined"). With another compiler (the test build
# uses GCC) nothing changes here: tests/fuzz/CMakeLists.txt builds the
# targets in a clang sub-build instead.
# SPDX-License-Identifier: GPL-2.0-or-later

set(PS_FUZZ_IN_TREE OFF)
if(PS_FUZZ AND CMAKE_C_COMPILER_ID STREQUAL "Clang")
  set(PS_FUZZ_IN_TREE ON)
  if(NOT PS_SANITIZE)
    set(PS_SANITIZE address undefined)
  endif()
  include(CheckCSourceCompiles)
  set(CMAKE_REQUIRED_FLAGS -fsanitize=fuzzer)
  check_c_source_compiles([[
#include <stddef.h>
#include <stdint.h>
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    return data && size ? 0 : 0;
}]] PS_HAVE_LIBFUZZER)
  unset(CMAKE_REQUIRED_FLAGS)
  if(NOT PS_HAVE_LIBFUZZER)
    message(FATAL_ERROR "PS_FUZZ: clang cannot link libFuzzer "
      "(-fsanitize=fuzzer): run scripts/setup --test "
      "(apt-get install libclang-rt-dev)")
  endif()
  add_compile_options(-fsanitize=fuzzer-no-link)
  message(STATUS "pansift: libFuzzer targets enabled")
endif()
