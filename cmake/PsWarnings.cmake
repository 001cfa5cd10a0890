# Compiler warnings for every target of the project (curl's PickyWarnings idea,
# kept small). -Werror only with PS_WERROR=ON.
# SPDX-License-Identifier: GPL-2.0-or-later

set(PS_C_WARNINGS -Wall -Wextra -Wshadow -Wpointer-arith -Wstrict-prototypes
    -Wmissing-prototypes -Wformat=2 -Wvla -Wno-unused-parameter
    -Wno-missing-field-initializers)
# GCC only: clang has no such warning, and says so (an error with -Werror).
if(CMAKE_C_COMPILER_ID STREQUAL "GNU")
  list(APPEND PS_C_WARNINGS -Wno-format-truncation)
endif()
# Clang (the fuzz build): its -Wformat-nonliteral, part of -Wformat=2, also
# flags functions that pass a va_list on to vsnprintf, which GCC exempts.
if(CMAKE_C_COMPILER_ID STREQUAL "Clang")
  list(APPEND PS_C_WARNINGS -Wno-format-nonliteral)
endif()
set(PS_CXX_WARNINGS -Wall -Wextra -Wshadow -Wpointer-arith -Wformat=2
    -Wno-missing-field-initializers
    -Wno-unused-parameter)
if(PS_WERROR)
  list(APPEND PS_C_WARNINGS -Werror)
  list(APPEND PS_CXX_WARNINGS -Werror)
endif()
add_compile_options(
  "$<$<COMPILE_LANGUAGE:C>:${PS_C_WARNINGS}>"
  "$<$<COMPILE_LANGUAGE:CXX>:${PS_CXX_WARNINGS}>")
