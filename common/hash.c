/*
 * hash.c: SHA-256 through OpenSSL's libcrypto. The store keeps the hash of
 * each raw harvested record (to make re-harvesting an unchanged record a
 * no-op), and PDFs are fetched once per content hash.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#include "common.h"

#include <openssl/evp.h>

void ps_sha256_hex(const void *data, size_t len, char out[65])
{
    static const char hex[] = "0123456789abcdef";
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (!EVP_Digest(data, len, md, &n, EVP_sha256(), NULL))
        n = 0;
    for (unsigned int i = 0; i < 32; i++) {
        out[2 * i] = i < n ? hex[md[i] >> 4] : '0';
        out[2 * i + 1] = i < n ? hex[md[i] & 15] : '0';
    }
    out[64] = '\0';
}
