# Trains the MLP example with ctnn::DataParallel on one thread (--threads 1 --data-parallel)
# and on two, both cutting the batch into 2 chunks, then on three and on four (4 chunks),
# and requires the same weights, bit for bit, within each pair: the fingerprints the example
# prints (FNV-1a of the parameters' bytes) must be equal.
foreach(threads 1 2 3 4)
  execute_process(COMMAND ${EXE} --epochs 2 --limit 12800 --optimizer sgd --threads ${threads} --data-parallel
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 600)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "--threads ${threads}: exit code ${rc}\n${out}${err}")
  endif()
  if(NOT out MATCHES "weights fingerprint ([0-9a-f]+)")
    message(FATAL_ERROR "--threads ${threads}: no fingerprint line\n${out}${err}")
  endif()
  set(fp_${threads} ${CMAKE_MATCH_1})
  message(STATUS "--threads ${threads}: weights fingerprint ${CMAKE_MATCH_1}")
endforeach()
if(NOT fp_1 STREQUAL fp_2)
  message(FATAL_ERROR "one and two threads trained different weights: ${fp_1} against ${fp_2}")
endif()
if(NOT fp_3 STREQUAL fp_4)
  message(FATAL_ERROR "three and four threads trained different weights: ${fp_3} against ${fp_4}")
endif()
