/*
 * herald-sim helpers for signed, idempotent push protocols (CHANNELS.md §3.2 / §3.3): the
 * Stripe-style "v1=" HMAC-SHA256 signature check and the Idempotency-Key records that replay a
 * saved response, refuse a reused key (422) and a key still in flight (409). The webhook and
 * website simulators share them so both enforce the same rules the same way.
 */
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "common.h"
#include "sim.h"

struct hd_sim_idem {
    struct hd_sim *sim; /* borrowed */
    int64_t ttl_ms;
    int replay_2xx; /* 0, or the status a saved 2xx is replayed with */
    json_t *keys;   /* owned: key -> {"fp","status","body","at_ms"} */
};

static int hexval(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

static void to_hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

void hd_sim_sha256_hex(const void *data, size_t len, char out[65])
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int md_len = 0;
    if (!EVP_Digest(data, len, md, &md_len, EVP_sha256(), NULL) || md_len != 32) {
        out[0] = '\0';
        return;
    }
    to_hex(md, 32, out);
}

int hd_sim_verify_v1(const char *secret, const char *timestamp, const char *body, size_t len,
                     const char *header)
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int mac_len = 0;
    size_t ts_len;
    char *signed_bytes;
    int ok = 0;

    if (!secret || !timestamp || !header || !*timestamp)
        return HD_EINVAL;
    ts_len = strlen(timestamp);
    signed_bytes = malloc(ts_len + 1 + len);
    if (!signed_bytes)
        return HD_ENOMEM;
    memcpy(signed_bytes, timestamp, ts_len);
    signed_bytes[ts_len] = '.';
    memcpy(signed_bytes + ts_len + 1, body, len);
    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (unsigned char *)signed_bytes,
              ts_len + 1 + len, mac, &mac_len) ||
        mac_len != 32) {
        free(signed_bytes);
        return HD_EIO;
    }
    free(signed_bytes);

    /* "v1=<hex>,v1=<hex>" — optional blanks around the items; other schemes are skipped. */
    const char *p = header;
    while (*p) {
        while (*p == ' ' || *p == '\t' || *p == ',')
            p++;
        const char *item = p;
        while (*p && *p != ',')
            p++;
        size_t n = (size_t)(p - item);
        while (n > 0 && (item[n - 1] == ' ' || item[n - 1] == '\t'))
            n--;
        if (n != 3 + 64 || strncmp(item, "v1=", 3) != 0)
            continue;
        unsigned char given[32];
        int valid = 1;
        for (size_t i = 0; i < 32; i++) {
            int hi = hexval((unsigned char)item[3 + 2 * i]);
            int lo = hexval((unsigned char)item[4 + 2 * i]);
            if (hi < 0 || lo < 0) {
                valid = 0;
                break;
            }
            given[i] = (unsigned char)(hi * 16 + lo);
        }
        if (valid && CRYPTO_memcmp(given, mac, 32) == 0)
            ok = 1; /* keep going: the time taken must not tell which item matched */
    }
    return ok ? 0 : HD_EINVAL;
}

int hd_sim_idem_key_ok(const char *key)
{
    size_t n = key ? strlen(key) : 0;
    if (n == 0 || n > 255)
        return HD_EINVAL;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)key[i] < 0x20 || (unsigned char)key[i] > 0x7e)
            return HD_EINVAL;
    return 0;
}

struct hd_sim_idem *hd_sim_idem_create(struct hd_sim *sim, int64_t ttl_ms, int replay_2xx)
{
    struct hd_sim_idem *idem = calloc(1, sizeof(*idem));
    if (!idem)
        return NULL;
    idem->sim = sim;
    idem->ttl_ms = ttl_ms;
    idem->replay_2xx = replay_2xx;
    idem->keys = json_object();
    if (!idem->keys) {
        free(idem);
        return NULL;
    }
    return idem;
}

void hd_sim_idem_destroy(struct hd_sim_idem *idem)
{
    if (!idem)
        return;
    json_decref(idem->keys);
    free(idem);
}

void hd_sim_idem_clear(struct hd_sim_idem *idem)
{
    json_object_clear(idem->keys);
}

/* What makes two requests "the same": method, path and the exact body bytes. */
static void fingerprint(struct hd_sim_req *r, char out[65])
{
    size_t len;
    const char *body = hd_sim_req_body(r, &len);
    const char *method = hd_sim_req_method(r), *path = hd_sim_req_path(r);
    size_t head = strlen(method) + 1 + strlen(path) + 1;
    char *buf = malloc(head + len);
    if (!buf) {
        out[0] = '\0';
        return;
    }
    snprintf(buf, head + 1, "%s %s\n", method, path);
    memcpy(buf + head, body, len);
    hd_sim_sha256_hex(buf, head + len, out);
    free(buf);
}

int hd_sim_idem_begin(struct hd_sim_idem *idem, struct hd_sim_req *r, const char *key)
{
    if (hd_sim_in_flight(r, key)) {
        hd_sim_reply_json(r, 409, json_pack("{s:s}", "error", "in_flight"));
        return 1;
    }
    json_t *rec = json_object_get(idem->keys, key);
    if (rec && hd_sim_now_ms(idem->sim) - json_integer_value(json_object_get(rec, "at_ms")) >
                   idem->ttl_ms) {
        json_object_del(idem->keys, key); /* expired: the platform forgot it */
        rec = NULL;
    }
    if (!rec)
        return 0;
    char fp[65];
    fingerprint(r, fp);
    if (strcmp(fp, json_string_value(json_object_get(rec, "fp"))) != 0) {
        hd_sim_reply_json(r, 422, json_pack("{s:s}", "error", "idempotency_key_reused"));
        return 1;
    }
    const char *saved = json_string_value(json_object_get(rec, "body"));
    hd_sim_duplicate(r, key);
    hd_sim_reply_header(r, "Idempotent-Replayed", "true");
    int status = (int)json_integer_value(json_object_get(rec, "status"));
    if (idem->replay_2xx && status >= 200 && status < 300)
        status = idem->replay_2xx;
    hd_sim_reply(r, status, "application/json", saved, strlen(saved));
    return 1;
}

void hd_sim_idem_reply(struct hd_sim_idem *idem, struct hd_sim_req *r, const char *key, int status,
                       json_t *body)
{
    char fp[65];
    char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
    json_decref(body);
    if (!text) {
        hd_sim_reply(r, 500, "text/plain", "out of memory\n", 14);
        return;
    }
    fingerprint(r, fp);
    json_object_set_new(idem->keys, key,
                        json_pack("{s:s,s:i,s:s,s:I}", "fp", fp, "status", status, "body", text,
                                  "at_ms", (json_int_t)hd_sim_now_ms(idem->sim)));
    hd_sim_reply(r, status, "application/json", text, strlen(text));
    free(text);
}
