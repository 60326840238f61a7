/*
 * assets: serves the images and attachments items link to, for the demo and tests (nothing
 * outside is reachable). GET /a/<size>/<path> answers <size> deterministic bytes shaped by the
 * extension — a JPEG (FF D8 FF E0 … FF D9), a PNG signature, a PDF header and trailer, or filler
 * — so adapters that check magic bytes, sizes and SHA-256 see real-looking files.
 * hd_sim_asset_bytes() is the same generator, for whoever writes the item's sha256.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim.h"

#define MAX_ASSET (16u << 20)

static int ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);
    return n >= m && strcasecmp(s + n - m, suffix) == 0;
}

char *hd_sim_asset_bytes(const char *path, size_t size, const char **content_type)
{
    if (!path || size < 16 || size > MAX_ASSET)
        return NULL;
    unsigned char *b = malloc(size);
    if (!b)
        return NULL;
    uint64_t x = 1469598103934665603ULL; /* FNV-1a of the path seeds a xorshift filler */
    for (const char *p = path; *p; p++)
        x = (x ^ (unsigned char)*p) * 1099511628211ULL;
    for (size_t i = 0; i < size; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        b[i] = (unsigned char)x;
    }
    const char *ct = "application/octet-stream";
    if (ends_with(path, ".jpg") || ends_with(path, ".jpeg")) {
        static const unsigned char soi[] = {0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x10, 'J',
                                            'F',  'I',  'F',  0x00, 0x01, 0x01, 0x00};
        memcpy(b, soi, sizeof(soi));
        b[size - 2] = 0xFF;
        b[size - 1] = 0xD9;
        ct = "image/jpeg";
    } else if (ends_with(path, ".png")) {
        static const unsigned char sig[] = {0x89, 'P', 'N', 'G', 0x0D, 0x0A, 0x1A, 0x0A};
        memcpy(b, sig, sizeof(sig));
        ct = "image/png";
    } else if (ends_with(path, ".pdf")) {
        memcpy(b, "%PDF-1.7\n", 9);
        memcpy(b + size - 6, "%%EOF\n", 6);
        ct = "application/pdf";
    } else if (ends_with(path, ".docx") || ends_with(path, ".xlsx")) {
        memcpy(b, "PK\x03\x04", 4);
        ct = ends_with(path, ".docx")
                 ? "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
                 : "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";
    }
    if (content_type)
        *content_type = ct;
    return (char *)b;
}

static int init(struct hd_sim *sim, const json_t *conf, void **state)
{
    *state = sim;
    return 0;
}

static void destroy(void *state)
{
}

static void reset(void *state)
{
}

static void handle(void *state, struct hd_sim_req *r)
{
    const char *path = hd_sim_req_path(r);
    if (strcmp(hd_sim_req_method(r), "GET") != 0 || strncmp(path, "/a/", 3) != 0) {
        hd_sim_reply(r, 404, "text/plain", "not found\n", 10);
        return;
    }
    char *end;
    unsigned long size = strtoul(path + 3, &end, 10);
    const char *ct;
    char *bytes = *end == '/' ? hd_sim_asset_bytes(end + 1, size, &ct) : NULL;
    if (!bytes) {
        hd_sim_reply(r, 404, "text/plain", "no such asset\n", 14);
        return;
    }
    hd_sim_reply(r, 200, ct, bytes, size);
    free(bytes);
}

const struct hd_sim_def hd_sim_assets = {
    .name = "assets",
    .description = "the files items link to (images, attachments), generated",
    .init = init,
    .destroy = destroy,
    .reset = reset,
    .handle = handle,
};
