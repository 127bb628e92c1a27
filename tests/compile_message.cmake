# Compiles SOURCE with FLAGS (';'-separated) and checks what the compiler says: the output
# must match EXPECT, must not match REJECT (if given), and the exit status must be RC
# (0: compiles; 1: fails). Prints the message it found, for the record.
separate_arguments(flags UNIX_COMMAND "${FLAGS}")
execute_process(COMMAND ${COMPILER} ${flags} -fsyntax-only -I${INCLUDE} ${SOURCE}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(all "${out}${err}")
if((RC EQUAL 0 AND NOT rc EQUAL 0) OR (NOT RC EQUAL 0 AND rc EQUAL 0))
  message(FATAL_ERROR "expected exit status ${RC}, got ${rc}:\n${all}")
endif()
if(NOT all MATCHES "${EXPECT}")
  message(FATAL_ERROR "the compiler did not say '${EXPECT}':\n${all}")
endif()
if(REJECT AND all MATCHES "${REJECT}")
  message(FATAL_ERROR "the compiler said '${REJECT}', which it must not:\n${all}")
endif()
if(all STREQUAL "")
  message(STATUS "(the compiler said nothing)")
else()
  string(REGEX MATCH "[^\n]*${EXPECT}[^\n]*" line "${all}")
  message(STATUS "${line}")
endif()
