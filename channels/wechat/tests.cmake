# wechat tests. Included by CMakeLists.txt in this folder.
#   test_wechat_render (unit): render limits, truncation, image plan, cover, summary fallback.
#   sim_wechat (sim): raw-HTTP tests of every simulator rule (stdlib pytest, starts herald-sim).
#   e2e_wechat (e2e): Kafka -> heraldd -> herald-sim, the adapter's behaviours end to end.
#   e2e_wechat_kill (e2e fault): kill -9 heraldd while it publishes to WeChat; nothing twice.
herald_unit_test(test_wechat_render SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_wechat_render.c
                 LIBS herald_channels)
if(NOT HERALD_PYTHON3)
  find_program(HERALD_PYTHON3 NAMES python3 REQUIRED)
endif()
add_test(NAME sim_wechat
         COMMAND ${HERALD_PYTHON3} -m pytest -q -p no:cacheprovider
                 ${CMAKE_CURRENT_SOURCE_DIR}/test_sim_wechat.py)
set_tests_properties(sim_wechat PROPERTIES LABELS sim TIMEOUT 180
  ENVIRONMENT "HERALD_BUILD_DIR=${CMAKE_BINARY_DIR};PYTHONDONTWRITEBYTECODE=1")
if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/test_e2e_wechat.py)
  herald_pytest(NAME e2e_wechat FILE ${CMAKE_CURRENT_SOURCE_DIR}/test_e2e_wechat.py TIMEOUT 600)
endif()
if(EXISTS ${CMAKE_CURRENT_SOURCE_DIR}/test_e2e_wechat_kill.py)
  herald_pytest(NAME e2e_wechat_kill FILE ${CMAKE_CURRENT_SOURCE_DIR}/test_e2e_wechat_kill.py
                LABELS e2e fault TIMEOUT 600)
endif()
#   test_wx_crypt (unit): the event encryption against openssl- and hashlib-made vectors.
herald_unit_test(test_wx_crypt SOURCES ${CMAKE_CURRENT_SOURCE_DIR}/test_wx_crypt.c
                 ${CMAKE_CURRENT_SOURCE_DIR}/wx_crypt.c)
target_include_directories(test_wx_crypt PRIVATE ${CMAKE_CURRENT_SOURCE_DIR})
