# Trains the MPI example on 2 ranks for 5 epochs without and with top-k compression and
# requires the compressed run's test accuracy to be within 1 percentage point.
include(${CMAKE_CURRENT_LIST_DIR}/run_and_match.cmake)
foreach(mode none topk)
  run_and_match("${mode}: test accuracy" "result test_accuracy=([0-9.]+)" acc_${mode}
                ${MPIEXEC} -n 2 --oversubscribe ${EXE} --epochs 5 --compression ${mode})
endforeach()
# Accuracies print as 0.dddd: compare in units of 1e-4.
string(REGEX REPLACE "^0\\.([0-9][0-9][0-9][0-9]).*" "\\1" none4 "${acc_none}")
string(REGEX REPLACE "^0\\.([0-9][0-9][0-9][0-9]).*" "\\1" topk4 "${acc_topk}")
math(EXPR diff "1${none4} - 1${topk4}")
if(diff GREATER 100 OR diff LESS -100)
  message(FATAL_ERROR "top-k compression lost ${diff}e-4 accuracy (none ${acc_none}, topk ${acc_topk}); the limit is 1 point")
endif()
message(STATUS "top-k within ${diff}e-4 of exact (limit 100e-4)")
