/*
 * WeChat's message encryption (消息加解密, 兼容模式 and 安全模式) for the event push: the
 * platform encrypts what it pushes to the account's server URL with the account's
 * EncodingAESKey and signs the ciphertext. Used by the adapter (decrypt) and by its simulator
 * (encrypt); the tests check both against the openssl command line, independently of this file.
 *
 *   AESKey      = Base64_Decode(EncodingAESKey + "=")       43 characters -> 32 bytes
 *   plaintext   = random(16) | msg_len (4 bytes, network order) | msg | appid
 *   Encrypt     = Base64(AES-256-CBC(AESKey, IV = AESKey[0..16], PKCS#7 padded to 32 bytes))
 *   msg_signature = sha1 hex of the sorted, concatenated token, timestamp, nonce and Encrypt
 *
 * Sources: developers.weixin.qq.com "消息加解密说明" (doc/subscription/guide/dev/push/
 * encryption) and the open platform's "Technical Plan" of message encryption.
 */
#ifndef WX_CRYPT_H
#define WX_CRYPT_H

#include <stddef.h>

#define WX_AES_KEY_CHARS 43

/* Zeroes memory that held a key (not optimised away). */
void wx_wipe(void *p, size_t len);
/* The 32-byte AES key of a 43-character EncodingAESKey; 0, or -1 when it is not one. */
int wx_aes_key(const char *encoding_key, size_t len, unsigned char key[32]);
/* msg_signature: sha1 hex of the four strings sorted and joined. */
void wx_msg_signature(const char *token, const char *timestamp, const char *nonce,
                      const char *encrypt, char out[41]);
/* Constant-time comparison of a signature received (hex, either case) with one computed. */
int wx_signature_equal(const char *got, const char computed[41]);
/* The message inside Encrypt (malloc'd, NUL-terminated) and the appid it names (malloc'd into
 * *appid); NULL with *why set when it is not base64, not whole blocks, or not laid out as above
 * (a wrong key shows as bad padding or a bad length). */
char *wx_decrypt(const unsigned char key[32], const char *encrypt, char **appid, const char **why);
/* Encrypt for msg and appid (malloc'd base64), with 16 random bytes from OpenSSL; NULL on
 * failure. */
char *wx_encrypt(const unsigned char key[32], const char *msg, const char *appid);

#endif
