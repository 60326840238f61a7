# display_board: simulator rules on the wire (python3 -m pytest, stdlib only; starts herald-sim from the
# build dir), render tests in C (cmocka) and end-to-end tests (Kafka -> heraldd -> herald-sim).
# Included by CMakeLists.txt in this folder.
if(NOT HERALD_PYTHON3)
  find_program(HERALD_PYTHON3 NAMES python3 REQUIRED)
endif()
add_test(NAME sim_display_board
         COMMAND ${HERALD_PYTHON3} -m pytest -q -p no:cacheprovider
                 ${CMAKE_CURRENT_SOURCE_DIR}/test_sim_display_board.py)
set_tests_properties(sim_display_board PROPERTIES LABELS sim TIMEOUT 180
  ENVIRONMENT "HERALD_BUILD_DIR=${CMAKE_BINARY_DIR};PYTHONDONTWRITEBYTECODE=1")
herald_unit_test(test_display_board_render
                 SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_display_board_render.c
                 ${CMAKE_SOURCE_DIR}/tests/unit/fake_instance.c
                 LIBS herald_channels)
herald_pytest(NAME e2e_display_board FILE ${CMAKE_CURRENT_SOURCE_DIR}/test_e2e_display_board.py
              LABELS e2e TIMEOUT 300)
