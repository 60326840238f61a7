# weibo tests. Included by CMakeLists.txt in this folder.
# - sim_weibo: raw-HTTP tests of every simulator rule (python3 -m pytest, stdlib only; starts
#   herald-sim from the build dir). README.md maps each rule to its test and CHANNELS.md section.
# - test_weibo_render: the adapter's pure parts in C (length rule, links, topics, truncation,
#   error codes, time parsing).
# - e2e_weibo*: Kafka -> heraldd (website:portal, then weibo) -> herald-sim.
if(NOT HERALD_PYTHON3)
  find_program(HERALD_PYTHON3 NAMES python3 REQUIRED)
endif()
add_test(NAME sim_weibo
         COMMAND ${HERALD_PYTHON3} -m pytest -q -p no:cacheprovider
                 ${CMAKE_CURRENT_SOURCE_DIR}/test_sim_weibo.py)
set_tests_properties(sim_weibo PROPERTIES LABELS sim TIMEOUT 180
  ENVIRONMENT "HERALD_BUILD_DIR=${CMAKE_BINARY_DIR};PYTHONDONTWRITEBYTECODE=1")
herald_unit_test(test_weibo_render SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_weibo_render.c
                 LIBS herald_channels)
herald_pytest(NAME e2e_weibo FILE ${CMAKE_CURRENT_SOURCE_DIR}/test_e2e_weibo.py
              LABELS e2e TIMEOUT 420)
herald_pytest(NAME e2e_weibo_kill9 FILE ${CMAKE_CURRENT_SOURCE_DIR}/test_kill9_weibo.py
              LABELS e2e fault TIMEOUT 600)
