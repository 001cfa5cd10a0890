# Sanitizer build: PS_SANITIZE="address;undefined" (what the test command uses)
# or "thread". Errors abort (-fno-sanitize-recover) so a test cannot pass with
# a sanitizer report in its output.
# SPDX-License-Identifier: GPL-2.0-or-later

if(PS_SANITIZE)
  # GCC's "undefined" leaves out out-of-range float to integer conversions,
  # which input such as a JSON 1e300 can reach: ask for them.
  if("undefined" IN_LIST PS_SANITIZE)
    list(APPEND PS_SANITIZE float-cast-overflow)
  endif()
  string(REPLACE ";" "," _ps_san "${PS_SANITIZE}")
  add_compile_options(-fsanitize=${_ps_san} -fno-sanitize-recover=all
                      -fno-omit-frame-pointer -g)
  add_link_options(-fsanitize=${_ps_san})
  message(STATUS "pansift: sanitizers enabled: ${_ps_san}")
endif()
