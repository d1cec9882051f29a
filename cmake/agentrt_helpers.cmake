# Per-target compiler settings (no global CMAKE_CXX_FLAGS).
#
# AGENTRT_SANITIZE selects the sanitizers every first-party target is built with:
#   OFF                  none
#   ON, address          AddressSanitizer + UndefinedBehaviorSanitizer (CI's second pass)
#   thread               ThreadSanitizer (tests/tsan/run-tsan.sh)
# AGENTRT_FUZZ (clang only) adds libFuzzer's coverage instrumentation and implies address.

string(TOLOWER "${AGENTRT_SANITIZE}" _agentrt_sanitize)
if(_agentrt_sanitize MATCHES "^(on|yes|true|1|address)$")
  set(AGENTRT_SANITIZER_KIND address)
elseif(_agentrt_sanitize STREQUAL "thread")
  set(AGENTRT_SANITIZER_KIND thread)
elseif(_agentrt_sanitize MATCHES "^(off|no|false|0|)$")
  set(AGENTRT_SANITIZER_KIND none)
else()
  message(FATAL_ERROR "AGENTRT_SANITIZE=${AGENTRT_SANITIZE}: expected OFF, ON, address or thread")
endif()

if(AGENTRT_FUZZ)
  if(NOT CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    message(FATAL_ERROR "AGENTRT_FUZZ needs clang (-DCMAKE_CXX_COMPILER=clang++): libFuzzer is "
                        "part of clang's runtime")
  endif()
  if(AGENTRT_SANITIZER_KIND STREQUAL "thread")
    message(FATAL_ERROR "AGENTRT_FUZZ runs under ASan+UBSan; it cannot be combined with "
                        "AGENTRT_SANITIZE=thread")
  endif()
  set(AGENTRT_SANITIZER_KIND address)
endif()

set(AGENTRT_SANITIZER_COMPILE_OPTIONS "")
set(AGENTRT_SANITIZER_LINK_OPTIONS "")
if(AGENTRT_SANITIZER_KIND STREQUAL "address")
  set(AGENTRT_SANITIZER_COMPILE_OPTIONS
    -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer)
  set(AGENTRT_SANITIZER_LINK_OPTIONS -fsanitize=address,undefined)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "Clang")
    # Known UB in third-party headers that clang's UBSan sees and GCC's does not.
    list(APPEND AGENTRT_SANITIZER_COMPILE_OPTIONS
      -fsanitize-ignorelist=${CMAKE_CURRENT_LIST_DIR}/ubsan-ignorelist.txt)
  endif()
elseif(AGENTRT_SANITIZER_KIND STREQUAL "thread")
  set(AGENTRT_SANITIZER_COMPILE_OPTIONS -fsanitize=thread -fno-omit-frame-pointer)
  set(AGENTRT_SANITIZER_LINK_OPTIONS -fsanitize=thread)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC warns (-Wtsan) at every Asio std_fenced_block: TSan does not model
    # atomic_thread_fence. Asio's fences order a handler run in place on the thread that
    # invokes it; work crossing threads goes through the scheduler's mutex, which TSan sees.
    list(APPEND AGENTRT_SANITIZER_COMPILE_OPTIONS -Wno-tsan)
  endif()
endif()
if(AGENTRT_FUZZ)
  # Coverage feedback for libFuzzer in every library; only the fuzz executables link its main.
  list(APPEND AGENTRT_SANITIZER_COMPILE_OPTIONS -fsanitize=fuzzer-no-link)
endif()

function(agentrt_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
endfunction()

# TEST_BODIES: a target of test cases (the gtest suites), compiled at -O0 in sanitizer Debug
# builds. Everything else there gets -O1, which keeps the sanitizer runs of the streaming tests
# within CI's time budget: the code that moves the bytes is the runtime, the client and the test
# support library. Test bodies are most of the compile volume, and -O1 nearly doubles their
# compile time under ASan+UBSan (43 s -> 79 s for a websocketpp TU) for little run time.
function(agentrt_set_sanitizers target)
  cmake_parse_arguments(arg "TEST_BODIES" "" "" ${ARGN})
  if(AGENTRT_SANITIZER_KIND STREQUAL "none" AND NOT AGENTRT_FUZZ)
    return()
  endif()
  set(debug_optimization -O1)
  if(arg_TEST_BODIES)
    set(debug_optimization -O0)
  endif()
  target_compile_options(${target} PRIVATE ${AGENTRT_SANITIZER_COMPILE_OPTIONS}
    $<$<CONFIG:Debug>:${debug_optimization}>)
  # Tests skip their memory-ceiling assertions: sanitizer shadow memory inflates RSS.
  target_compile_definitions(${target} PRIVATE AGENTRT_SANITIZED=1)
  target_link_options(${target} PRIVATE ${AGENTRT_SANITIZER_LINK_OPTIONS})
endfunction()

# Warnings + sanitizers: what every first-party target gets.
function(agentrt_target_defaults target)
  agentrt_set_warnings(${target})
  agentrt_set_sanitizers(${target} ${ARGN})
endfunction()

# A libFuzzer executable (AGENTRT_FUZZ builds only): agentrt_add_fuzzer(name SOURCES... LIBS...).
function(agentrt_add_fuzzer name)
  cmake_parse_arguments(arg "" "" "SOURCES;LIBS" ${ARGN})
  add_executable(${name} ${arg_SOURCES})
  target_link_libraries(${name} PRIVATE ${arg_LIBS})
  agentrt_target_defaults(${name})
  target_compile_options(${name} PRIVATE -fsanitize=fuzzer)
  target_link_options(${name} PRIVATE -fsanitize=fuzzer)
endfunction()

# The installed libraries (agentrt::protocol, agentrt::client): exported as agentrt::<name>, and
# versioned for a BUILD_SHARED_LIBS=ON build. Under semantic versioning a 0.x MINOR release may
# break the ABI, so the soname carries MAJOR.MINOR until 1.0 and MAJOR alone from then on.
if(PROJECT_VERSION_MAJOR EQUAL 0)
  set(AGENTRT_SOVERSION ${PROJECT_VERSION_MAJOR}.${PROJECT_VERSION_MINOR})
else()
  set(AGENTRT_SOVERSION ${PROJECT_VERSION_MAJOR})
endif()
function(agentrt_library_properties target export_name)
  set_target_properties(${target} PROPERTIES
    EXPORT_NAME ${export_name}
    VERSION ${PROJECT_VERSION}
    SOVERSION ${AGENTRT_SOVERSION})
endfunction()
