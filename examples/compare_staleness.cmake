# Trains the parameter-server example (1 server, 2 workers) for 3 epochs with staleness 0
# (synchronous), 1, 4 and unbounded, and requires each asynchronous run's test accuracy to
# be within 1 percentage point of the synchronous one.
include(${CMAKE_CURRENT_LIST_DIR}/run_and_match.cmake)
foreach(s 0 1 4 inf)
  run_and_match("staleness ${s}: test accuracy" "result test_accuracy=([0-9.]+)" acc_${s}
                ${MPIEXEC} -n 3 --oversubscribe ${EXE} --epochs 3 --staleness ${s})
  # Accuracies print as 0.dddd: compare in units of 1e-4.
  string(REGEX REPLACE "^0\\.([0-9][0-9][0-9][0-9]).*" "\\1" a4_${s} "${acc_${s}}")
endforeach()
foreach(s 1 4 inf)
  math(EXPR diff "1${a4_0} - 1${a4_${s}}")
  if(diff GREATER 100 OR diff LESS -100)
    message(FATAL_ERROR "staleness ${s} is ${diff}e-4 from synchronous (${acc_0} vs ${acc_${s}}); the limit is 1 point")
  endif()
  message(STATUS "staleness ${s}: ${acc_${s}}, ${diff}e-4 below synchronous ${acc_0} (limit 100e-4)")
endforeach()
