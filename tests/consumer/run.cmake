# Builds and runs tests/consumer as an outside project would: MODE=subdirectory adds ctnn
# with add_subdirectory; MODE=find_package installs ctnn into a prefix first.
file(REMOVE_RECURSE ${WORK_DIR})
set(consumer_src ${SOURCE_DIR}/tests/consumer)
if(MODE STREQUAL "find_package")
  execute_process(COMMAND ${CMAKE_COMMAND} -S ${SOURCE_DIR} -B ${WORK_DIR}/ctnn-build -G ${GENERATOR}
                          -DCTNN_BUILD_TESTS=OFF -DCTNN_BUILD_EXAMPLES=OFF -DCTNN_BUILD_BENCHMARKS=OFF
                          -DCMAKE_INSTALL_PREFIX=${WORK_DIR}/prefix COMMAND_ERROR_IS_FATAL ANY)
  execute_process(COMMAND ${CMAKE_COMMAND} --install ${WORK_DIR}/ctnn-build COMMAND_ERROR_IS_FATAL ANY)
  set(extra -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix -DCTNN_CONSUMER_MODE=find_package)
else()
  set(extra -DCTNN_SOURCE_DIR=${SOURCE_DIR} -DCTNN_CONSUMER_MODE=subdirectory)
endif()
execute_process(COMMAND ${CMAKE_COMMAND} -S ${consumer_src} -B ${WORK_DIR}/build -G ${GENERATOR} ${extra} COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${CMAKE_COMMAND} --build ${WORK_DIR}/build COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${WORK_DIR}/build/consumer OUTPUT_VARIABLE out COMMAND_ERROR_IS_FATAL ANY)
if(NOT out MATCHES "consumer ok params=44 outputs=2")
  message(FATAL_ERROR "consumer printed unexpected output: ${out}")
endif()
message(STATUS "${out}")
execute_process(COMMAND ${WORK_DIR}/build/consumer_io ${consumer_src}/consumer.safetensors ${WORK_DIR}/resaved.safetensors
                OUTPUT_VARIABLE out_io COMMAND_ERROR_IS_FATAL ANY)
if(NOT out_io MATCHES "consumer io ok y=")
  message(FATAL_ERROR "consumer_io printed unexpected output: ${out_io}")
endif()
message(STATUS "${out_io}")
