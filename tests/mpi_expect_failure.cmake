# Runs EXE (with ARGS) on RANKS ranks: mpirun must exit non-zero (within the test's timeout: no hang),
# and the output must report EXPECT at least COUNT times (e.g. once per rank).
execute_process(COMMAND ${MPIEXEC} -n ${RANKS} --oversubscribe ${EXE} ${ARGS} RESULT_VARIABLE rc OUTPUT_VARIABLE out
                ERROR_VARIABLE err TIMEOUT 100)
if(rc EQUAL 0)
  message(FATAL_ERROR "mpirun exited 0, but the run must fail\n${out}${err}")
endif()
string(REGEX MATCHALL "${EXPECT}" hits "${out}${err}")
list(LENGTH hits n)
if(n LESS ${COUNT})
  message(FATAL_ERROR "expected '${EXPECT}' at least ${COUNT} times, saw ${n}:\n${out}${err}")
endif()
message(STATUS "failed as expected (mpirun exit code ${rc}); '${EXPECT}' reported ${n} times")
