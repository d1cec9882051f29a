# Per-target compiler settings (no global CMAKE_CXX_FLAGS).

function(agentrt_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic)
endfunction()

function(agentrt_set_sanitizers target)
  if(AGENTRT_SANITIZE)
    target_compile_options(${target} PRIVATE
      -fsanitize=address,undefined -fno-sanitize-recover=undefined -fno-omit-frame-pointer
      # -O1 keeps sanitizer runs of the streaming tests within CI's time budget.
      $<$<CONFIG:Debug>:-O1>)
    target_compile_definitions(${target} PRIVATE AGENTRT_SANITIZED=1)
    target_link_options(${target} PRIVATE -fsanitize=address,undefined)
  endif()
endfunction()

# Warnings + sanitizers: what every first-party target gets.
function(agentrt_target_defaults target)
  agentrt_set_warnings(${target})
  agentrt_set_sanitizers(${target})
endfunction()
