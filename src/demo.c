/*
 * heraldd --demo (milestone 4 of the core issue): not yet built.
 */
#include <stdio.h>

#include "demo.h"

int hd_demo_run(struct hd_registry *reg, const char *seeds_dir, const char *state_dir, int once)
{
    fprintf(stderr, "heraldd: --demo is not available in this build yet\n");
    return 2;
}
