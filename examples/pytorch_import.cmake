# example.pytorch_import: the Python half trains and exports, then the C++ half loads,
# evaluates and compares (it exits 1 if the accuracies differ by more than 0.001).
if(NOT EXISTS "${PYTHON}")
  message(FATAL_ERROR "no ${PYTHON}: run scripts/deps.sh (it makes .venv with torch and safetensors)")
endif()
set(weights ${WORK}/fmnist_torch.safetensors)
execute_process(COMMAND ${PYTHON} ${SCRIPT} --out ${weights} RESULT_VARIABLE rc COMMAND_ECHO STDOUT)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "pytorch_import.py failed (${rc})")
endif()
execute_process(COMMAND ${EXE} --weights ${weights} RESULT_VARIABLE rc COMMAND_ECHO STDOUT)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "pytorch_import failed (${rc})")
endif()
