/* UTF-8 helpers shared by the exposition writer and the human-facing output (logs, -explain). */
#ifndef PROCTRACK_UTIL_UTF8_H
#define PROCTRACK_UTIL_UTF8_H

#include <stddef.h>
#include <stdint.h>

#include "util/strbuf.h"

/* Length of the well-formed UTF-8 sequence that starts at s[0] (a byte >= 0x80), or 0 when s[0]
 * does not start one within `avail` bytes. */
size_t utf8_seq_len(const unsigned char *s, size_t avail);

/* Appends s[0..n) so that it reads safely on one terminal line: printable ASCII and well-formed
 * UTF-8 are copied; a backslash becomes "\\", newline, carriage return and tab become "\n", "\r"
 * and "\t", any other control character (C0, DEL, C1) and every byte outside a well-formed
 * sequence becomes "\xNN" (one per byte). A process name or command line can hold any of them. */
void utf8_put_printable(struct strbuf *out, const char *s, size_t n);

/* Number of code points in the valid UTF-8 string s[0..n). */
size_t utf8_count(const char *s, size_t n);

/* Byte length of the first `chars` code points of the valid UTF-8 string s[0..n). */
size_t utf8_prefix(const char *s, size_t n, size_t chars);

/* Appends code point `r` as UTF-8; a surrogate or a value past U+10FFFF becomes U+FFFD, as
 * Go's utf8.EncodeRune writes them. */
void utf8_put_rune(struct strbuf *out, uint64_t r);

#endif /* PROCTRACK_UTIL_UTF8_H */
