/*
 * WeChat's message encryption (wx_crypt.h) on OpenSSL's libcrypto.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/sha.h>

#include "wx_crypt.h"

#define BLOCK 32 /* WeChat pads to 32 bytes, not AES's 16 */

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Standard base64 without whitespace; the decoded bytes (malloc'd) and their number, or NULL. */
static unsigned char *b64_decode(const char *in, size_t len, size_t *out_len)
{
    if (len == 0 || len % 4 != 0)
        return NULL;
    for (size_t i = 0; i < len; i++) {
        char c = in[i];
        int ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                 c == '+' || c == '/' || (c == '=' && i >= len - 2);
        if (!ok || (i == len - 2 && c == '=' && in[len - 1] != '='))
            return NULL;
    }
    unsigned char *out = malloc(len / 4 * 3 + 1);
    if (!out)
        return NULL;
    int n = EVP_DecodeBlock(out, (const unsigned char *)in, (int)len);
    if (n < 0) {
        free(out);
        return NULL;
    }
    /* EVP_DecodeBlock counts the padding's zero bytes */
    n -= (in[len - 1] == '=') + (in[len - 2] == '=');
    *out_len = (size_t)n;
    return out;
}

void wx_wipe(void *p, size_t len)
{
    OPENSSL_cleanse(p, len);
}

int wx_aes_key(const char *encoding_key, size_t len, unsigned char key[32])
{
    if (!encoding_key || len != WX_AES_KEY_CHARS)
        return -1;
    char padded[WX_AES_KEY_CHARS + 2];
    memcpy(padded, encoding_key, WX_AES_KEY_CHARS);
    padded[WX_AES_KEY_CHARS] = '=';
    padded[WX_AES_KEY_CHARS + 1] = '\0';
    size_t n = 0;
    unsigned char *k = b64_decode(padded, WX_AES_KEY_CHARS + 1, &n);
    int rc = k && n == 32 ? 0 : -1;
    if (rc == 0)
        memcpy(key, k, 32);
    if (k) {
        OPENSSL_cleanse(k, n);
        free(k);
    }
    OPENSSL_cleanse(padded, sizeof(padded));
    return rc;
}

void wx_msg_signature(const char *token, const char *timestamp, const char *nonce,
                      const char *encrypt, char out[41])
{
    const char *parts[4] = {token ? token : "", timestamp ? timestamp : "", nonce ? nonce : "",
                            encrypt ? encrypt : ""};
    qsort(parts, 4, sizeof(parts[0]), cmp_str);
    unsigned char md[SHA_DIGEST_LENGTH];
    EVP_MD_CTX *c = EVP_MD_CTX_new();
    out[0] = '\0';
    if (!c)
        return;
    int ok = EVP_DigestInit_ex(c, EVP_sha1(), NULL) == 1;
    for (int i = 0; i < 4 && ok; i++)
        ok = EVP_DigestUpdate(c, parts[i], strlen(parts[i])) == 1;
    ok = ok && EVP_DigestFinal_ex(c, md, NULL) == 1;
    EVP_MD_CTX_free(c);
    if (!ok)
        return;
    for (int i = 0; i < SHA_DIGEST_LENGTH; i++)
        snprintf(out + 2 * i, 3, "%02x", md[i]);
}

int wx_signature_equal(const char *got, const char computed[41])
{
    if (!got || strlen(got) != 40 || strlen(computed) != 40)
        return 0;
    unsigned diff = 0;
    for (size_t i = 0; i < 40; i++) {
        char c = got[i];
        if (c >= 'A' && c <= 'F')
            c = (char)(c - 'A' + 'a');
        diff |= (unsigned)(c ^ computed[i]);
    }
    return diff == 0;
}

/* AES-256-CBC without OpenSSL's padding (WeChat's is to 32 bytes): out has room for len. */
static int aes_cbc(const unsigned char key[32], int enc, const unsigned char *in, size_t len,
                   unsigned char *out)
{
    EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
    int n1 = 0, n2 = 0;
    int ok = c && EVP_CipherInit_ex(c, EVP_aes_256_cbc(), NULL, key, key, enc) == 1 &&
             EVP_CIPHER_CTX_set_padding(c, 0) == 1 &&
             EVP_CipherUpdate(c, out, &n1, in, (int)len) == 1 &&
             EVP_CipherFinal_ex(c, out + n1, &n2) == 1 && (size_t)(n1 + n2) == len;
    EVP_CIPHER_CTX_free(c);
    return ok ? 0 : -1;
}

char *wx_decrypt(const unsigned char key[32], const char *encrypt, char **appid, const char **why)
{
    *appid = NULL;
    size_t len = 0;
    unsigned char *ct = encrypt ? b64_decode(encrypt, strlen(encrypt), &len) : NULL;
    if (!ct) {
        *why = "Encrypt is not base64";
        return NULL;
    }
    char *msg = NULL;
    unsigned char *pt = malloc(len + 1);
    if (!pt || len == 0 || len % BLOCK != 0) {
        *why = "Encrypt is not whole 32-byte blocks";
        goto done;
    }
    if (aes_cbc(key, 0, ct, len, pt) != 0) {
        *why = "AES decryption failed";
        goto done;
    }
    unsigned pad = pt[len - 1];
    int pad_ok = pad >= 1 && pad <= BLOCK;
    for (unsigned i = 1; pad_ok && i <= pad; i++)
        pad_ok = pt[len - i] == pad;
    if (!pad_ok) {
        *why = "bad padding (another EncodingAESKey?)";
        goto done;
    }
    size_t body = len - pad;
    if (body < 20) {
        *why = "too short";
        goto done;
    }
    uint32_t n = (uint32_t)pt[16] << 24 | (uint32_t)pt[17] << 16 | (uint32_t)pt[18] << 8 | pt[19];
    if (n > body - 20) {
        *why = "the message length is past the end (another EncodingAESKey?)";
        goto done;
    }
    msg = malloc((size_t)n + 1);
    *appid = malloc(body - 20 - n + 1);
    if (!msg || !*appid) {
        free(msg);
        free(*appid);
        msg = NULL;
        *appid = NULL;
        *why = "out of memory";
        goto done;
    }
    memcpy(msg, pt + 20, n);
    msg[n] = '\0';
    memcpy(*appid, pt + 20 + n, body - 20 - n);
    (*appid)[body - 20 - n] = '\0';
    if (strlen(msg) != n) {
        free(msg);
        free(*appid);
        msg = NULL;
        *appid = NULL;
        *why = "a NUL byte inside the message";
    }
done:
    if (pt) {
        OPENSSL_cleanse(pt, len);
        free(pt);
    }
    free(ct);
    return msg;
}

char *wx_encrypt(const unsigned char key[32], const char *msg, const char *appid)
{
    size_t ml = strlen(msg), al = strlen(appid);
    size_t body = 20 + ml + al, pad = BLOCK - body % BLOCK, len = body + pad;
    unsigned char *pt = malloc(len), *ct = malloc(len);
    char *out = malloc(4 * ((len + 2) / 3) + 1);
    if (!pt || !ct || !out || RAND_bytes(pt, 16) != 1)
        goto fail;
    pt[16] = (unsigned char)(ml >> 24);
    pt[17] = (unsigned char)(ml >> 16);
    pt[18] = (unsigned char)(ml >> 8);
    pt[19] = (unsigned char)ml;
    memcpy(pt + 20, msg, ml);
    memcpy(pt + 20 + ml, appid, al);
    memset(pt + body, (int)pad, pad);
    if (aes_cbc(key, 1, pt, len, ct) != 0)
        goto fail;
    EVP_EncodeBlock((unsigned char *)out, ct, (int)len);
    free(pt);
    free(ct);
    return out;
fail:
    free(pt);
    free(ct);
    free(out);
    return NULL;
}
