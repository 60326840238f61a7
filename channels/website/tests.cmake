# website simulator (CHANNELS.md §3.3): raw-HTTP tests of every rule it enforces (python3 -m
# pytest, stdlib only; starts herald-sim from the build dir). Included by CMakeLists.txt here.
if(NOT HERALD_PYTHON3)
  find_program(HERALD_PYTHON3 NAMES python3 REQUIRED)
endif()
add_test(NAME sim_website
         COMMAND ${HERALD_PYTHON3} -m pytest -q -p no:cacheprovider
                 ${CMAKE_CURRENT_SOURCE_DIR}/test_sim_website.py)
set_tests_properties(sim_website PROPERTIES LABELS sim TIMEOUT 120
  ENVIRONMENT "HERALD_BUILD_DIR=${CMAKE_BINARY_DIR};PYTHONDONTWRITEBYTECODE=1")
