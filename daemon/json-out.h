/* SPDX-License-Identifier: MIT */
#pragma once

/* JSON text written straight into a buffer, byte for byte as jansson's
 * json_dumps(JSON_COMPACT | JSON_REAL_PRECISION(6)) writes the same object
 * built as a tree, without the tree: the payloads gaitwayd publishes for
 * every window, and the stats of thousands of devices, cost a dozen
 * allocations per value as trees.  What jansson would refuse (a string that
 * is not UTF-8, a real that is not finite) is left out with its key, as
 * json_object_set_new() leaves it out.  Keys are written as given (callers
 * pass plain identifiers and valid UTF-8). */

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
        char *buf;
        size_t len, cap;
        bool grows;             /* buf is malloc'ed and grows; else the caller's */
        bool failed;            /* out of room or memory: the text is incomplete */
        bool comma;             /* a member was written at this level */
} JsonOut;

/* Into the caller's buffer of cap bytes (the text and its NUL). */
void json_out_fixed(JsonOut *o, char *buf, size_t cap);
/* Into a malloc'ed buffer that grows, starting at cap bytes. */
void json_out_growing(JsonOut *o, size_t cap);

void json_out_open(JsonOut *o);                         /* { */
void json_out_close(JsonOut *o);                        /* } */
/* "key": then an object; json_out_close() ends it. */
void json_out_object(JsonOut *o, const char *key);
void json_out_string(JsonOut *o, const char *key, const char *v);   /* NULL: left out */
void json_out_int(JsonOut *o, const char *key, long long v);
void json_out_real(JsonOut *o, const char *key, double v);
void json_out_bool(JsonOut *o, const char *key, bool v);
void json_out_null(JsonOut *o, const char *key);

/* jansson's text of a real (precision 6) into buf (32 bytes at least);
 * returns its length, or -1 for a value jansson refuses. */
int json_real_text(char *buf, size_t n, double v);
/* True when jansson would take s as a string (UTF-8). */
bool json_utf8_valid(const char *s);

/* The text: buf (fixed) or a malloc'ed string the caller frees (growing);
 * NULL when it failed (a growing buffer is then freed). */
char *json_out_finish(JsonOut *o);
