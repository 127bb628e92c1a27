# CTest driver for the fuzzers. MODE=build configures and builds fuzz/ with CLANG into WORK;
# MODE=run runs HARNESS for SECONDS on a copy-free corpus (new inputs go to WORK/corpus_<HARNESS>,
# the seeds are read from SEEDS) and fails on any crash, leak or sanitizer report.
if(MODE STREQUAL "build")
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE} -B ${WORK} -G ${GENERATOR} -DCMAKE_CXX_COMPILER=${CLANG}
                          -DCMAKE_BUILD_TYPE=RelWithDebInfo COMMAND_ERROR_IS_FATAL ANY)
  execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK} COMMAND_ERROR_IS_FATAL ANY)
  return()
endif()
file(MAKE_DIRECTORY ${WORK}/corpus_${HARNESS})
execute_process(COMMAND ${WORK}/${HARNESS} ${WORK}/corpus_${HARNESS} ${SEEDS}
                        -max_total_time=${SECONDS} -rss_limit_mb=2048 -print_final_stats=1
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
string(REGEX MATCH "Done [0-9]+ runs in [0-9]+ second\\(s\\)" done "${err}")
if(NOT rc EQUAL 0 OR NOT done)
  message(FATAL_ERROR "${HARNESS} failed (exit ${rc}):\n${err}")
endif()
message(STATUS "${HARNESS}: ${done}, no crash, leak or sanitizer report")
