# ctnn_weights_header(<target> NET <type> WEIGHTS <file.safetensors> NAME <identifier>
#                     [OUTPUT <header>] [INCLUDES <header>...])
#
# Compiles weights into a header for targets without a file system. At build time a small
# host program for NET loads WEIGHTS with ctnn::io::load (every check applies: shapes,
# dtypes, a truncated or corrupt file) and writes OUTPUT (default
# ${CMAKE_CURRENT_BINARY_DIR}/<NAME>.hpp) with ctnn::io::write_header: namespace NAME holds
# `alignas(64) constexpr std::array<float, param_count> params` in ctnn's layout. <target>
# gets the header's folder on its include path and rebuilds when the weights change.
# Then, in <target>:  static constexpr NET net{NAME::params};  (read-only memory, no heap)
# INCLUDES lists headers that declare user layer tags NET uses. The program runs on the
# build machine: in a cross build, generate the header in a host build (or call
# ctnn::io::write_header from any host program) and add it to the cross build's sources.
set(_CTNN_WEIGHTS_HEADER_DIR ${CMAKE_CURRENT_LIST_DIR} CACHE INTERNAL "folder of ctnnWeightsHeader.cpp.in")
function(ctnn_weights_header target)
  cmake_parse_arguments(ARG "" "NET;WEIGHTS;NAME;OUTPUT" "INCLUDES" ${ARGN})
  foreach(required NET WEIGHTS NAME)
    if(NOT ARG_${required})
      message(FATAL_ERROR "ctnn_weights_header(${target}): ${required} is required")
    endif()
  endforeach()
  if(CMAKE_CROSSCOMPILING)
    message(FATAL_ERROR "ctnn_weights_header(${target}): the generator runs on the build machine; generate "
                        "the header in a host build and add it to this cross build")
  endif()
  if(NOT TARGET ctnn::io)
    message(FATAL_ERROR "ctnn_weights_header(${target}): needs ctnn::io (zlib and nlohmann-json)")
  endif()
  if(NOT ARG_OUTPUT)
    set(ARG_OUTPUT ${CMAKE_CURRENT_BINARY_DIR}/${ARG_NAME}.hpp)
  endif()
  get_filename_component(weights ${ARG_WEIGHTS} ABSOLUTE BASE_DIR ${CMAKE_CURRENT_SOURCE_DIR})
  get_filename_component(out_dir ${ARG_OUTPUT} DIRECTORY)
  set(CTNN_NET "${ARG_NET}")
  set(CTNN_INCLUDES "")
  foreach(h IN LISTS ARG_INCLUDES)
    string(APPEND CTNN_INCLUDES "#include \"${h}\"\n")
  endforeach()
  set(gen ctnn_weights_header_${ARG_NAME})
  configure_file(${_CTNN_WEIGHTS_HEADER_DIR}/ctnnWeightsHeader.cpp.in ${CMAKE_CURRENT_BINARY_DIR}/${gen}.cpp @ONLY)
  if(NOT TARGET ${gen})
    add_executable(${gen} EXCLUDE_FROM_ALL ${CMAKE_CURRENT_BINARY_DIR}/${gen}.cpp)
    target_link_libraries(${gen} PRIVATE ctnn::io)
    target_compile_definitions(${gen} PRIVATE CTNN_NO_ISA_MESSAGE)  # it converts files: no kernel speed needed
  endif()
  add_custom_command(OUTPUT ${ARG_OUTPUT}
    COMMAND ${CMAKE_COMMAND} -E make_directory ${out_dir}
    COMMAND ${gen} ${weights} ${ARG_OUTPUT} ${ARG_NAME}
    DEPENDS ${gen} ${weights}
    COMMENT "ctnn: compiling ${weights} into ${ARG_OUTPUT}"
    VERBATIM)
  target_sources(${target} PRIVATE ${ARG_OUTPUT})
  target_include_directories(${target} PRIVATE ${out_dir})
endfunction()
