/* webhook simulator (work in progress). */
#include "sim.h"
const struct hd_sim_def hd_sim_webhook = {.name = "webhook"};
