# Compiles SOURCE with -DCTNN_CASE_<CASE>; expects failure whose output matches EXPECT
# (or, for CASE=control, success).
separate_arguments(extra UNIX_COMMAND "${EXTRA}")  # e.g. MPI's include directories
execute_process(
  COMMAND ${COMPILER} -std=c++20 -fsyntax-only -I${INCLUDE} ${extra} -DCTNN_CASE_${CASE} ${SOURCE}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(REPLACE "\n" " " all "${out}${err}")
if(CASE STREQUAL "control")
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "control case failed to compile:\n${out}${err}")
  endif()
  return()
endif()
if(rc EQUAL 0)
  message(FATAL_ERROR "case ${CASE} compiled, but it must be rejected")
endif()
if(NOT all MATCHES "${EXPECT}")
  message(FATAL_ERROR "case ${CASE} failed without the expected message '${EXPECT}':\n${out}${err}")
endif()
message(STATUS "case ${CASE}: rejected with the expected message")
