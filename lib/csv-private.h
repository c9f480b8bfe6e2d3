/* SPDX-License-Identifier: MIT */
#pragma once

/* The line tokenizer and number parsers under the trace reader.  They work
 * on memory (a line without its newline), never allocate, never read past
 * the given length and never depend on the process locale, so they can be
 * fuzzed on their own. */

#include <locale.h>
#include <stddef.h>
#include <stdint.h>

#define GW_CSV_MAX_FIELDS 256     /* fields a row may have */
#define GW_CSV_NUMBER_MAX 128     /* longest number field accepted, in bytes */

typedef struct {
        const char *p;
        size_t n;
} gw_csv_field;

typedef enum {
        GW_CSV_OK = 0,
        GW_CSV_EMPTY,             /* nothing between the delimiters */
        GW_CSV_SYNTAX,            /* not a decimal number (trailing garbage included) */
        GW_CSV_NON_FINITE,        /* inf, nan */
        GW_CSV_RANGE,             /* finite text whose value overflows */
        GW_CSV_TOO_LONG,          /* longer than GW_CSV_NUMBER_MAX */
} gw_csv_status;

/* Length of the line once a trailing '\r' (CRLF files) is removed. */
size_t gw_csv_chomp(const char *line, size_t len);

/* Whether the line holds only blanks. */
int gw_csv_blank(const char *line, size_t len);

/* Guesses the delimiter of a data line: tab, else ';', else ',', else ' '
 * (blank-separated).  Semicolons and tabs never occur in numbers, commas do
 * in decimal-comma exports, which then use ';'. */
char gw_csv_detect(const char *line, size_t len);

/* Splits a line into fields with surrounding blanks removed.  With ' ' as
 * delimiter any run of spaces and tabs separates fields and leading or
 * trailing blanks make no field; any other delimiter separates exactly (two
 * in a row make an empty field).  Fills at most max fields and returns the
 * number found, which may exceed max. */
int gw_csv_split(const char *line, size_t len, char delim, gw_csv_field *f, int max);

/* Parses a whole field as a finite decimal number:
 * [+-]?(digits[.digits]|.digits)([eE][+-]?digits)?, correctly rounded
 * (strtod_l in the C locale loc). */
gw_csv_status gw_csv_number(const char *s, size_t n, locale_t loc, double *ret);

/* Parses a whole field as a time in units of unit_ns nanoseconds and
 * converts it to nanoseconds.  Plain decimals with a power-of-ten unit
 * (s, ms, us, ns) are converted exactly (digits beyond 1 ns rounded half
 * away from zero); exponents and other units go through double. */
gw_csv_status gw_csv_time(const char *s, size_t n, double unit_ns, locale_t loc, int64_t *ret);

/* "is not a number", ... for messages. */
const char *gw_csv_status_str(gw_csv_status st);

/* Writes a printable excerpt of s for an error message: non-printable bytes
 * as \xNN, '"' and '\' escaped, cut after 40 bytes with "...".  Returns out. */
char *gw_csv_excerpt(char *out, size_t outlen, const char *s, size_t n);
