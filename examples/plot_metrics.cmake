# example.plot_metrics: a short run writes --metrics, scripts/plot_metrics.py draws it.
file(REMOVE ${WORK}/metrics.csv ${WORK}/metrics.png)
execute_process(COMMAND ${EXE} --epochs 2 --limit 6000 --metrics ${WORK}/metrics.csv COMMAND_ERROR_IS_FATAL ANY
                OUTPUT_QUIET)
execute_process(COMMAND ${PYTHON} ${SCRIPT} ${WORK}/metrics.csv ${WORK}/metrics.png --title "test run"
                COMMAND_ERROR_IS_FATAL ANY)
file(SIZE ${WORK}/metrics.png size)
if(size LESS 10000)
  message(FATAL_ERROR "metrics.png is only ${size} bytes")
endif()
file(READ ${WORK}/metrics.png magic LIMIT 4 HEX)
if(NOT magic STREQUAL "89504e47")
  message(FATAL_ERROR "metrics.png is not a PNG")
endif()
message(STATUS "metrics.png: ${size} bytes")
