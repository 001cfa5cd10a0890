/*
 * score-private.h: the pieces of relevance scoring's term extraction
 * (score-text.c, porter.c) that are not public but that the unit tests
 * check one by one: the Porter stemmer in NLTK's variant, English number
 * words in num2words' spelling and the English stop word list. The public
 * side (ps_score_query_terms, ps_score_item_terms) is in index.h.
 * SPDX-License-Identifier: GPL-2.0-or-later
 */
#ifndef PS_SCORE_PRIVATE_H
#define PS_SCORE_PRIVATE_H

#include "index.h"

#include <stddef.h>
#include <stdint.h>

/* UTF-8 to code points and back. Bytes that are not valid UTF-8 decode to
 * PSI_RAW_BYTE + the byte, above Unicode's range, and encode back to the
 * same byte. decode writes at most len code points; encode writes at most
 * 4 bytes per code point and a NUL. Both return the count written. */
#define PSI_RAW_BYTE 0x110000u
size_t psi_utf8_decode(const char *s, size_t len, uint32_t *out);
size_t psi_utf8_encode(const uint32_t *w, size_t n, char *out);

/* Stem the word w[0..n) (Unicode code points, already lower case) the way
 * NLTK's PorterStemmer does in its default mode (NLTK_EXTENSIONS): the
 * original algorithm plus Martin Porter's later changes and NLTK's own
 * (irregular forms, "ies"/"ied" in four-letter words, "y" to "i" only
 * after a consonant, "alli", "fulli", "logi", words of one or two letters
 * left alone). out must hold n + 1 code points (a stem grows by at most
 * one letter); returns the stem's length. */
size_t psi_porter_stem(const uint32_t *w, size_t n, uint32_t *out);

/* The same on a UTF-8 word; a new string (ps_free), NULL when out of
 * memory. Invalid UTF-8 bytes are kept as they are, one code point each. */
char *psi_porter_stem_utf8(const char *word);

/* The English words of the non-negative integer written in decimal digits
 * (leading zeros allowed), as num2words 0.5.10 spells it: "one hundred and
 * twenty-three", "one thousand, two hundred and thirty-four", "zero".
 * NULL when the number has more than 306 digits (num2words refuses numbers
 * of 10^306 and more) or when out of memory; else a new string
 * (ps_free). */
char *psi_num2words(const char *digits, size_t len);

/* Is word (len bytes) one of NLTK's 179 English stop words? */
int psi_stopword(const char *word, size_t len);
/* The number of stop words in the list (179). */
size_t psi_stopword_count(void);

#endif /* PS_SCORE_PRIVATE_H */
