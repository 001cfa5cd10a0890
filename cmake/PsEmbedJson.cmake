# PsEmbedJson.cmake: turns a JSON file of the source tree into a C source
# file of the build tree that holds its bytes, so that the program carries
# the file without reading it at run time. Run in script mode by a custom
# command (query/CMakeLists.txt embeds query/openapi.json this way):
#   cmake -DIN=<file.json> -DOUT=<file.c> -DSYMBOL=<name> -P PsEmbedJson.cmake
# The C file defines `const unsigned char SYMBOL[]` (the bytes, no NUL
# added) and `const size_t SYMBOL_len`. The JSON is checked here, so a
# document that does not parse fails the build rather than the server; an
# OpenAPI document must also have an "openapi" version and servers[0].url
# (the server rewrites that field to its API prefix). Not a general-purpose
# resource compiler: JSON only, one file per call.
# SPDX-License-Identifier: GPL-2.0-or-later

foreach(var IN ITEMS IN OUT SYMBOL)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "PsEmbedJson.cmake: -D${var}=... is required")
  endif()
endforeach()

file(READ "${IN}" text)
string(JSON kind ERROR_VARIABLE json_error TYPE "${text}")
if(json_error)
  message(FATAL_ERROR "${IN}: not valid JSON: ${json_error}")
endif()
string(JSON version ERROR_VARIABLE json_error GET "${text}" openapi)
if(NOT json_error)
  string(JSON url ERROR_VARIABLE json_error GET "${text}" servers 0 url)
  if(json_error)
    message(FATAL_ERROR "${IN}: an OpenAPI document needs servers[0].url")
  endif()
endif()

file(READ "${IN}" hex HEX)
string(LENGTH "${hex}" nhex)
math(EXPR nbytes "${nhex} / 2")
string(REGEX REPLACE "([0-9a-f][0-9a-f])" "0x\\1," bytes "${hex}")
# Sixteen bytes per line (CMake's regular expressions have no {n}).
string(REPEAT "0x[0-9a-f][0-9a-f]," 16 line)
string(REGEX REPLACE "(${line})" "\\1\n    " bytes "${bytes}")
get_filename_component(name "${IN}" NAME)

file(WRITE "${OUT}"
"/*
 * Generated at build time by cmake/PsEmbedJson.cmake from ${name}:
 * its ${nbytes} bytes as a C array. Do not edit; edit ${name}.
 */
#include <stddef.h>

extern const unsigned char ${SYMBOL}[];
extern const size_t ${SYMBOL}_len;

const unsigned char ${SYMBOL}[] = {
    ${bytes}
};
const size_t ${SYMBOL}_len = sizeof ${SYMBOL};
")
