/*
 * Preparing the store's file (store_schema.c), for store.c's hd_store_open().
 */
#ifndef HD_STORE_SCHEMA_H
#define HD_STORE_SCHEMA_H

#include <stddef.h>

#include <sqlite3.h>

#include "store.h"

/* On a freshly opened read-write connection: WAL mode (refused: a file that is not a database, or
 * cannot log ahead), an integrity check (refused: a corrupt file), the connection's pragmas and
 * every schema migration not applied yet, telling o->progress while that takes long. 0, or an
 * error with the reason in err. */
int hd_store_prepare(sqlite3 *db, const struct hd_store_opts *o, char *err, size_t errlen);
/* sqlite3_exec with the message in err. */
int hd_store_exec(sqlite3 *db, const char *sql, char *err, size_t errlen);

#endif
