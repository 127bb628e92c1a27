# Trains the MLP example with ctnn::DataParallel on one thread (--threads 1 --data-parallel)
# and on two, both cutting the batch into 2 chunks, then on three and on four (4 chunks),
# and requires the same weights, bit for bit, within each pair: the fingerprints the example
# prints (FNV-1a of the parameters' bytes) must be equal.
include(${CMAKE_CURRENT_LIST_DIR}/run_and_match.cmake)
foreach(threads 1 2 3 4)
  run_and_match("--threads ${threads}: weights fingerprint" "weights fingerprint ([0-9a-f]+)" fp_${threads}
                ${EXE} --epochs 2 --limit 12800 --optimizer sgd --threads ${threads} --data-parallel)
endforeach()
if(NOT fp_1 STREQUAL fp_2)
  message(FATAL_ERROR "one and two threads trained different weights: ${fp_1} against ${fp_2}")
endif()
if(NOT fp_3 STREQUAL fp_4)
  message(FATAL_ERROR "three and four threads trained different weights: ${fp_3} against ${fp_4}")
endif()
