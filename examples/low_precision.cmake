# cmake -DEXE=<fashion_mnist_mlp> -P low_precision.cmake
# Trains the MLP briefly and checks the reduced-precision line: the bf16 predictor within 0.1
# point of the float network's test accuracy, the int8 one within 0.5 point.
include(${CMAKE_CURRENT_LIST_DIR}/run_and_match.cmake)
run_and_match("fashion_mnist_mlp" "(float test_accuracy [0-9.]+\\): bf16_test_accuracy=[0-9.]+ bf16_batch1_ns=[0-9]+ int8_test_accuracy=[0-9.]+)"
              line ${EXE} --epochs 1 --limit 20000 --batch 32 --optimizer adam)
string(REGEX MATCH "test_accuracy ([0-9.]+)\\): bf16_test_accuracy=([0-9.]+) .* int8_test_accuracy=([0-9.]+)" _ "${line}")
set(fp ${CMAKE_MATCH_1})
set(bf ${CMAKE_MATCH_2})
set(i8 ${CMAKE_MATCH_3})
# In units of 0.0001 (accuracies are printed with four decimals).
foreach(v fp bf i8)
  string(REGEX REPLACE "^0\\." "" ${v}_int "${${v}}")
  math(EXPR ${v}_int "1${${v}_int} - 10000")
endforeach()
math(EXPR bf_loss "${fp_int} - ${bf_int}")
math(EXPR i8_loss "${fp_int} - ${i8_int}")
message(STATUS "float ${fp}, bf16 ${bf} (${bf_loss}/10000 below), int8 ${i8} (${i8_loss}/10000 below)")
if(bf_loss GREATER 10 OR bf_loss LESS -10)
  message(FATAL_ERROR "bf16 accuracy ${bf} is more than 0.1 point from float's ${fp}")
endif()
if(i8_loss GREATER 50)
  message(FATAL_ERROR "int8 accuracy ${i8} is more than 0.5 point below float's ${fp}")
endif()
