# Included by the top-level CMakeLists.txt right after enable_testing(), so every folder can
# register pytest-driven end-to-end tests that run against the shared test broker.
#
# herald_pytest(NAME <name> FILE <test_x.py> [LABELS ...] [TIMEOUT s] [FIXTURES ...]
#               [ENV VAR=value ...] [RUN_SERIAL])
#   Runs `venv/bin/python -m pytest -x -q -rs <file>` with FIXTURES_REQUIRED pyenv;kafka (plus
#   FIXTURES), labels (default e2e), timeout (default 300 s) and, in the environment,
#   HERALD_SOURCE_DIR, HERALD_BUILD_DIR, HERALD_KAFKA_DIR, HERALD_MOCK_BROKER and PYTHONPATH
#   (tests/e2e, for herald_test). RUN_SERIAL: for tests that stop the shared broker.

# The test broker's directory (tests/kafka/kafka.sh start|stop|down DIR); DIR/bootstrap holds
# 127.0.0.1:PORT while the "kafka" fixture is up.
set(HERALD_KAFKA_DIR ${CMAKE_BINARY_DIR}/kafka-broker
    CACHE PATH "Directory of the test Kafka broker (tests/kafka/kafka.sh)")
set(HERALD_KAFKA_SH ${CMAKE_SOURCE_DIR}/tests/kafka/kafka.sh)
set(HERALD_VENV_DIR ${CMAKE_BINARY_DIR}/venv)

function(herald_pytest)
  cmake_parse_arguments(P "RUN_SERIAL" "NAME;FILE;TIMEOUT" "LABELS;FIXTURES;ENV" ${ARGN})
  if(NOT P_NAME OR NOT P_FILE)
    message(FATAL_ERROR "herald_pytest: NAME and FILE are required")
  endif()
  if(NOT IS_ABSOLUTE ${P_FILE})
    set(P_FILE ${CMAKE_CURRENT_SOURCE_DIR}/${P_FILE})
  endif()
  if(NOT P_TIMEOUT)
    set(P_TIMEOUT 300)
  endif()
  if(NOT P_LABELS)
    set(P_LABELS e2e)
  endif()
  add_test(NAME ${P_NAME}
           # (through cmake -E env: the venv does not exist yet when ctest lists the tests)
           COMMAND ${CMAKE_COMMAND} -E env ${HERALD_VENV_DIR}/bin/python -m pytest -x -q -rs -p no:cacheprovider
                   ${P_FILE}
           WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  set_tests_properties(${P_NAME} PROPERTIES
    TIMEOUT ${P_TIMEOUT}
    LABELS "${P_LABELS}"
    FIXTURES_REQUIRED "pyenv;kafka;${P_FIXTURES}"
    ENVIRONMENT "HERALD_SOURCE_DIR=${CMAKE_SOURCE_DIR};HERALD_BUILD_DIR=${CMAKE_BINARY_DIR};HERALD_KAFKA_DIR=${HERALD_KAFKA_DIR};HERALD_MOCK_BROKER=$<TARGET_FILE:herald-mock-broker>;PYTHONPATH=${CMAKE_SOURCE_DIR}/tests/e2e;PYTHONDONTWRITEBYTECODE=1;${P_ENV}")
  if(P_RUN_SERIAL)
    set_tests_properties(${P_NAME} PROPERTIES RUN_SERIAL TRUE)
  endif()
endfunction()
