# run_and_match(<label> <regex> <out-var> <command> [args...]): runs the command (ten minutes
# at most) and fails the calling test script, with the command's output, unless it exits 0
# and prints a match of <regex>; sets <out-var> to the match's first group.
function(run_and_match label regex outvar)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 600)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${label}: exit code ${rc}\n${out}${err}")
  endif()
  if(NOT out MATCHES "${regex}")
    message(FATAL_ERROR "${label}: no line matching '${regex}'\n${out}${err}")
  endif()
  set(${outvar} ${CMAKE_MATCH_1} PARENT_SCOPE)
  message(STATUS "${label}: ${CMAKE_MATCH_1}")
endfunction()
