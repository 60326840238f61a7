/*
 * Parsed items for the engine's operations. An item goes to several channels and targets (18
 * streets, 10 board areas): its stored document is read and parsed once and shared, counted by
 * reference, by the ops that use it; the most recently used ones stay for the next.
 */
#include <uthash.h>

#include "common.h"
#include "engine_int.h"

#define CACHE_MAX 2048 /* channels drain a backlog at different speeds: keep enough */

struct cached_item {
    char key[300]; /* "<id>\x1f<version>" */
    struct hd_item_doc *doc;
    int refs;      /* ops holding it */
    uint64_t used; /* last use, for eviction */
    UT_hash_handle hh;
};

struct hd_item_doc *hd_itemcache_get(struct hd_engine *e, const char *id, int64_t version,
                                     struct hd_item_error *err)
{
    struct cached_item *c;
    char key[300];
    snprintf(key, sizeof(key), "%s\x1f%lld", id, (long long)version);
    HASH_FIND_STR(e->items, key, c);
    if (c) {
        c->refs++;
        c->used = ++e->item_clock;
        return c->doc;
    }
    char *text = hd_store_item_doc(e->st, id, version);
    struct hd_item_doc *doc = NULL;
    if (!text) {
        snprintf(err->code, sizeof(err->code), "missing");
        snprintf(err->detail, sizeof(err->detail), "item %s version %lld is not stored", id,
                 (long long)version);
        return NULL;
    }
    int rc = hd_item_parse(text, strlen(text), NULL, 0, 0, &doc, err);
    free(text);
    if (rc != 0)
        return NULL;
    if (HASH_COUNT(e->items) >= CACHE_MAX) {
        /* evict the least recently used item no op holds */
        struct cached_item *it, *tmp, *victim = NULL;
        HASH_ITER (hh, e->items, it, tmp)
            if (it->refs == 0 && (!victim || it->used < victim->used))
                victim = it;
        if (victim) {
            HASH_DEL(e->items, victim);
            hd_item_destroy(victim->doc);
            free(victim);
        }
    }
    c = calloc(1, sizeof(*c));
    if (!c) {
        hd_item_destroy(doc);
        return NULL;
    }
    hd_strlcpy(c->key, key, sizeof(c->key));
    c->doc = doc;
    c->refs = 1;
    c->used = ++e->item_clock;
    HASH_ADD_STR(e->items, key, c);
    return doc;
}

void hd_itemcache_put(struct hd_engine *e, struct hd_item_doc *doc)
{
    struct cached_item *c, *tmp;
    if (!doc)
        return;
    HASH_ITER (hh, e->items, c, tmp)
        if (c->doc == doc) {
            c->refs--;
            return;
        }
    hd_item_destroy(doc); /* not cached (cannot happen): do not leak it */
}

void hd_itemcache_clear(struct hd_engine *e)
{
    struct cached_item *c, *tmp;
    HASH_ITER (hh, e->items, c, tmp) {
        HASH_DEL(e->items, c);
        hd_item_destroy(c->doc);
        free(c);
    }
}
