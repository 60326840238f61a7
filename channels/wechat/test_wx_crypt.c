/*
 * wx_crypt.c (WeChat's message encryption) against vectors made outside herald: a ciphertext
 * from the openssl command and a signature from Python's hashlib (values in the comments'
 * commands), round trips over every padding length, and what must be refused.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "wx_crypt.h"

#define AES_KEY "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG"
#define APPID   "wxd5f4a3b2c1e0f9a8"

/* random "0123456789abcdef" | len | msg | appid, PKCS#7 to 32, then
 * openssl enc -aes-256-cbc -nopad -K <key> -iv <key[:16]> | base64 */
#define VECTOR                                                                                     \
    "Q3stYC6hdFzMh9T8HCvyDJ2eCOZaqYCz0WahH8ulsDpQ+9/eAcPxeFBU/Jj3aKETgCb7oC0zToBmWnUGZyfyALa/bfJN" \
    "6AhojOsuIz8KnDtB6wiJG5AR8cnuJPgZyofO"

static void key(unsigned char k[32])
{
    assert_int_equal(wx_aes_key(AES_KEY, strlen(AES_KEY), k), 0);
}

static void test_key(void **state)
{
    unsigned char k[32];
    key(k);
    /* Base64_Decode("abcd...EFG=") starts with the bytes of "abc" in base64: 69 b7 1d */
    assert_int_equal(k[0], 0x69);
    assert_int_equal(k[1], 0xb7);
    assert_int_equal(k[2], 0x1d);
    assert_int_equal(wx_aes_key(AES_KEY, 42, k), -1);
    assert_int_equal(wx_aes_key(AES_KEY "A", 44, k), -1);
    assert_int_equal(wx_aes_key("abcdefghijklmnopqrstuvwxyz0123456789ABCDE-G", 43, k), -1);
    assert_int_equal(wx_aes_key("abcdefghijklmnopqrstuvwxyz0123456789ABCDE=", 43, k), -1);
    assert_int_equal(wx_aes_key(NULL, 43, k), -1);
}

static void test_decrypts_the_openssl_vector(void **state)
{
    unsigned char k[32];
    key(k);
    char *appid = NULL;
    const char *why = NULL;
    char *msg = wx_decrypt(k, VECTOR, &appid, &why);
    assert_non_null(msg);
    assert_string_equal(msg, "<xml><Event>PUBLISHJOBFINISH</Event></xml>");
    assert_string_equal(appid, APPID);
    free(msg);
    free(appid);
}

static void test_signature(void **state)
{
    /* python3 -c "import hashlib; print(hashlib.sha1(''.join(sorted(['tok','1700000000',
     * '12345','ENC+/='])).encode()).hexdigest())" */
    char sig[41];
    wx_msg_signature("tok", "1700000000", "12345", "ENC+/=", sig);
    assert_string_equal(sig, "7b896d07030026c4ff02e63e3610bff3b879c87f");
    assert_true(wx_signature_equal("7B896D07030026C4FF02E63E3610BFF3B879C87F", sig));
    assert_false(wx_signature_equal("7b896d07030026c4ff02e63e3610bff3b879c87e", sig));
    assert_false(wx_signature_equal("7b896d07", sig));
    assert_false(wx_signature_equal(NULL, sig));
}

static void test_round_trip_every_padding(void **state)
{
    unsigned char k[32];
    key(k);
    char msg[200];
    for (size_t n = 0; n < 80; n++) { /* 20 + n + 18 covers every remainder mod 32 */
        memset(msg, 'x', n);
        msg[n] = '\0';
        char *enc = wx_encrypt(k, msg, APPID);
        assert_non_null(enc);
        char *appid = NULL;
        const char *why = NULL;
        char *back = wx_decrypt(k, enc, &appid, &why);
        assert_non_null(back);
        assert_string_equal(back, msg);
        assert_string_equal(appid, APPID);
        /* the random prefix: the same message twice is two ciphertexts */
        char *again = wx_encrypt(k, msg, APPID);
        assert_string_not_equal(again, enc);
        free(again);
        free(back);
        free(appid);
        free(enc);
    }
}

static void refused(const unsigned char k[32], const char *enc)
{
    char *appid = (char *)"untouched";
    const char *why = NULL;
    assert_null(wx_decrypt(k, enc, &appid, &why));
    assert_null(appid);
    assert_non_null(why);
}

static void test_refusals(void **state)
{
    unsigned char k[32], other[32];
    key(k);
    assert_int_equal(wx_aes_key("ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210zyxwvut", 43, other), 0);
    refused(other, VECTOR);    /* another key: padding or length wrong */
    refused(k, "not base64!"); /* not base64 */
    refused(k, "QUJD");        /* 3 bytes: not whole blocks */
    refused(k, VECTOR "A");    /* not a multiple of 4 */
    refused(k, "");            /* empty */
    refused(k, NULL);          /* absent */
    /* CBC has no integrity of its own (msg_signature over the ciphertext is what protects it,
     * and the adapter checks it first): a changed byte in the first block garbles the random
     * prefix and flips a bit of the length, so what comes out is never the same message for
     * the same appid */
    char tampered[sizeof(VECTOR)];
    memcpy(tampered, VECTOR, sizeof(VECTOR));
    tampered[5] = tampered[5] == 'A' ? 'B' : 'A';
    char *appid = NULL;
    const char *why = NULL;
    char *msg = wx_decrypt(k, tampered, &appid, &why);
    assert_true(!msg || strcmp(appid, APPID) != 0 ||
                strcmp(msg, "<xml><Event>PUBLISHJOBFINISH</Event></xml>") != 0);
    free(msg);
    free(appid);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_key),       cmocka_unit_test(test_decrypts_the_openssl_vector),
        cmocka_unit_test(test_signature), cmocka_unit_test(test_round_trip_every_padding),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
