/* SPDX-License-Identifier: MIT */
/* The model container loader (docs/model-format.md), the model description
 * and the INT8 input quantiser (docs/int8.md §1).
 *
 * Corrupt files are made here from a valid one: the header is re-encoded
 * with jansson and, unless the test is about the checksum, the checksum is
 * recomputed, so each test breaks exactly one rule. */

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <jansson.h>

#include "crc32-private.h"
#include "gw-test.h"
#include "model-private.h"

#define UCI   "model/uci-9x6x128.gwm"
#define TINY  "model/tiny-1x2x4.gwm"
#define WIDE  "model/wide-128x64x8-int8.gwm"
#define FP32  "model/fp32-9x2x64.gwm"

typedef struct {
        uint8_t *buf;
        size_t len;
} blob;

typedef struct {
        json_t *header;
        uint8_t *data;
        size_t data_len;
} parts;

static blob blob_read(const char *name)
{
        blob b = { NULL, 0 };
        FILE *f = fopen(gw_test_data(name), "rb");
        long n;

        if (!f) {
                fprintf(stderr, "cannot open %s\n", gw_test_data(name));
                exit(2);
        }
        fseek(f, 0, SEEK_END);
        n = ftell(f);
        fseek(f, 0, SEEK_SET);
        b.buf = malloc((size_t) n);
        b.len = (size_t) n;
        if (!b.buf || fread(b.buf, 1, b.len, f) != b.len) {
                fprintf(stderr, "cannot read %s\n", name);
                exit(2);
        }
        fclose(f);
        return b;
}

static void blob_free(blob *b)
{
        free(b->buf);
        b->buf = NULL;
}

static uint64_t le64(const uint8_t *p)
{
        uint64_t v = 0;
        for (int i = 7; i >= 0; i--)
                v = (v << 8) | p[i];
        return v;
}

static void put_le64(uint8_t *p, uint64_t v)
{
        for (int i = 0; i < 8; i++)
                p[i] = (uint8_t) (v >> (8 * i));
}

static parts split_file(const char *name)
{
        blob b = blob_read(name);
        uint64_t n = le64(b.buf);
        json_error_t jerr;
        parts p;

        p.header = json_loadb((const char *) b.buf + 8, n, 0, &jerr);
        if (!p.header) {
                fprintf(stderr, "%s: %s\n", name, jerr.text);
                exit(2);
        }
        p.data_len = b.len - 8 - n;
        p.data = malloc(p.data_len + 64);
        memcpy(p.data, b.buf + 8 + n, p.data_len);
        blob_free(&b);
        return p;
}

static void parts_free(parts *p)
{
        json_decref(p->header);
        free(p->data);
}

static json_t *meta(parts *p)
{
        return json_object_get(p->header, "__metadata__");
}

static void fix_checksum(parts *p)
{
        const char *desc = json_string_value(json_object_get(meta(p), "gaitway"));
        char sum[16];
        uint32_t crc;

        if (!desc)
                return;
        crc = gw_crc32(gw_crc32(0, desc, strlen(desc)), p->data, p->data_len);
        snprintf(sum, sizeof sum, "crc32:%08x", (unsigned) crc);
        json_object_set_new(meta(p), "checksum", json_string(sum));
}

/* A container from raw header text and a data section. */
static blob raw_blob(const char *header, size_t hlen, const uint8_t *data, size_t data_len)
{
        size_t padded = (hlen + 7) / 8 * 8;
        blob b;

        b.len = 8 + padded + data_len;
        b.buf = malloc(b.len);
        put_le64(b.buf, padded);
        memcpy(b.buf + 8, header, hlen);
        memset(b.buf + 8 + hlen, ' ', padded - hlen);
        if (data_len)
                memcpy(b.buf + 8 + padded, data, data_len);
        return b;
}

static blob join_raw(parts *p)
{
        char *h = json_dumps(p->header, JSON_COMPACT);
        blob b = raw_blob(h, strlen(h), p->data, p->data_len);
        free(h);
        return b;
}

static blob join(parts *p)
{
        fix_checksum(p);
        return join_raw(p);
}

static json_t *desc_get(parts *p)
{
        const char *s = json_string_value(json_object_get(meta(p), "gaitway"));
        json_t *d = json_loads(s, 0, NULL);
        if (!d) {
                fprintf(stderr, "test model description is not JSON\n");
                exit(2);
        }
        return d;
}

static void desc_set(parts *p, json_t *d)
{
        char *s = json_dumps(d, JSON_COMPACT);
        json_object_set_new(meta(p), "gaitway", json_string(s));
        free(s);
        json_decref(d);
}

static json_t *entry(parts *p, const char *tensor)
{
        json_t *e = json_object_get(p->header, tensor);
        if (!e) {
                fprintf(stderr, "test model lacks %s\n", tensor);
                exit(2);
        }
        return e;
}

static size_t tensor_begin(parts *p, const char *tensor)
{
        return (size_t) json_integer_value(json_array_get(json_object_get(entry(p, tensor), "data_offsets"), 0));
}

static size_t tensor_end(parts *p, const char *tensor)
{
        return (size_t) json_integer_value(json_array_get(json_object_get(entry(p, tensor), "data_offsets"), 1));
}

static void set_offsets(parts *p, const char *tensor, long long b, long long e)
{
        json_object_set_new(entry(p, tensor), "data_offsets", json_pack("[I, I]", b, e));
}

static void put_f32(parts *p, const char *tensor, size_t i, float v)
{
        uint32_t u;
        memcpy(&u, &v, 4);
        for (int k = 0; k < 4; k++)
                p->data[tensor_begin(p, tensor) + 4 * i + k] = (uint8_t) (u >> (8 * k));
}

static void put_i32(parts *p, const char *tensor, size_t i, int32_t v)
{
        uint32_t u = (uint32_t) v;
        for (int k = 0; k < 4; k++)
                p->data[tensor_begin(p, tensor) + 4 * i + k] = (uint8_t) (u >> (8 * k));
}

static float get_f32(parts *p, const char *tensor, size_t i)
{
        const uint8_t *b = p->data + tensor_begin(p, tensor) + 4 * i;
        uint32_t u = (uint32_t) b[0] | (uint32_t) b[1] << 8 | (uint32_t) b[2] << 16 | (uint32_t) b[3] << 24;
        float v;
        memcpy(&v, &u, 4);
        return v;
}

/* Inserts n zero bytes into the data section at pos and shifts every
 * tensor at or after pos. */
static void insert_bytes(parts *p, size_t pos, size_t n)
{
        const char *key;
        json_t *v;

        p->data = realloc(p->data, p->data_len + n + 64);
        memmove(p->data + pos + n, p->data + pos, p->data_len - pos);
        memset(p->data + pos, 0, n);
        p->data_len += n;
        json_object_foreach(p->header, key, v) {
                json_t *off = json_object_get(v, "data_offsets");
                if (!off)
                        continue;
                for (size_t i = 0; i < 2; i++) {
                        json_int_t o = json_integer_value(json_array_get(off, i));
                        if ((size_t) o > pos || ((size_t) o == pos && i == 0))
                                json_array_set_new(off, i, json_integer(o + (json_int_t) n));
                }
        }
}

static void expect_refused(const blob *b, int code, const char *needle)
{
        char err[GW_ERR_MAX] = "";
        gw_model *m = (gw_model *) 1;
        int r = gw_model_load_buffer(b->buf, b->len, &m, err, sizeof err);

        CU_ASSERT_EQUAL(r, -code);
        CU_ASSERT_PTR_NULL(m);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, needle));
        CU_ASSERT_PTR_NULL(strchr(err, '\n'));
        if (r != -code || !strstr(err, needle))
                fprintf(stderr, "\n  got %d \"%s\", wanted %d and \"%s\"\n", r, err, -code, needle);
        if (r == 0)
                gw_model_free(m);
}

/* Re-encodes p (checksum fixed), expects the refusal, frees p. */
static void refuse(parts *p, int code, const char *needle)
{
        blob b = join(p);
        expect_refused(&b, code, needle);
        blob_free(&b);
        parts_free(p);
}

static void refuse_desc(const char *file, const char *path, json_t *value, const char *needle)
{
        parts p = split_file(file);
        json_t *d = desc_get(&p), *obj = d;
        char key[128], *dot, *k = key;

        snprintf(key, sizeof key, "%s", path);
        while ((dot = strchr(k, '.'))) {
                *dot = '\0';
                obj = json_object_get(obj, k);
                k = dot + 1;
        }
        if (value)
                json_object_set_new(obj, k, value);
        else
                json_object_del(obj, k);
        desc_set(&p, d);
        refuse(&p, EINVAL, needle);
}

static gw_model *load_ok(const char *name)
{
        char err[GW_ERR_MAX] = "";
        gw_model *m = NULL;
        int r = gw_model_load_file(gw_test_data(name), &m, err, sizeof err);

        if (r < 0)
                fprintf(stderr, "\n  %s: %s\n", name, err);
        CU_ASSERT_EQUAL_FATAL(r, 0);
        CU_ASSERT_PTR_NOT_NULL_FATAL(m);
        return m;
}

/* ---- valid files ---- */

static void test_uci_shape_loads_with_every_info_field(void)
{
        static const char *const ch[] = {
                "body_acc_x", "body_acc_y", "body_acc_z", "body_gyro_x", "body_gyro_y", "body_gyro_z",
                "total_acc_x", "total_acc_y", "total_acc_z",
        };
        static const char *const cls[] = {
                "WALKING", "WALKING_UPSTAIRS", "WALKING_DOWNSTAIRS", "SITTING", "STANDING", "LAYING",
        };
        gw_model *m = load_ok(UCI);
        const gw_model_info *i = gw_model_info_get(m);

        CU_ASSERT_STRING_EQUAL(i->model_id, "test-9x6x128");
        CU_ASSERT_STRING_EQUAL(i->model_version, "0.0.1");
        CU_ASSERT_STRING_EQUAL(i->task, "activity");
        CU_ASSERT_EQUAL(i->format_version, 1);
        CU_ASSERT_EQUAL(i->channels, 9);
        CU_ASSERT_EQUAL(i->classes, 6);
        CU_ASSERT_EQUAL(i->window, 128);
        CU_ASSERT_EQUAL(i->hop, 64);
        CU_ASSERT_EQUAL(i->filters, 16);
        CU_ASSERT_EQUAL(i->kernel, 5);
        CU_ASSERT_EQUAL(i->hidden, 24);
        CU_ASSERT_DOUBLE_EQUAL(i->sample_rate_hz, 50.0, 0.0);
        for (int c = 0; c < 9; c++) {
                CU_ASSERT_STRING_EQUAL(i->channel[c].name, ch[c]);
                CU_ASSERT_STRING_EQUAL(i->channel[c].unit, c >= 3 && c < 6 ? "rad/s" : "g");
        }
        for (int k = 0; k < 6; k++)
                CU_ASSERT_STRING_EQUAL(i->class_name[k], cls[k]);
        CU_ASSERT_TRUE(i->has_fp32);
        CU_ASSERT_TRUE(i->has_int8);
        /* model.md: P = 80C + 49K + 9440 and 420.1K MACs for UCI-HAR. */
        CU_ASSERT_EQUAL(i->params, 10454);
        CU_ASSERT_EQUAL(i->macs, 420128);
        CU_ASSERT_EQUAL(i->weight_bytes_fp32,
                        4 * (16 * 9 * 5 + 16 + 16 * 16 * 5 + 16 + 96 * 16 + 96 * 24 + 96 + 96 * 16 + 96 + 6 * 48 + 6));
        CU_ASSERT_EQUAL(i->weight_bytes_int8,
                        4 * 9 + 16 * 9 * 5 + 4 * 16 + 8 * 16 + 16 * 16 * 5 + 4 * 16 + 8 * 16 +
                        96 * 16 + 8 * 96 + 96 * 24 + 8 * 96 + 4 * 96 + 96 * 16 + 8 * 96 + 4 * 96 +
                        6 * 48 + 8 * 6 + 4 * 6);
        gw_model_free(m);
}

static void test_uci_front_end_is_parsed_into_info(void)
{
        gw_model *m = load_ok(UCI);
        const gw_frontend_spec *fe = &gw_model_info_get(m)->frontend;

        CU_ASSERT_DOUBLE_EQUAL(fe->rate_hz, 50.0, 0.0);
        CU_ASSERT_EQUAL(fe->n_inputs, 6);
        CU_ASSERT_STRING_EQUAL(fe->inputs[3].name, "gyro_x");
        CU_ASSERT_STRING_EQUAL(fe->inputs[3].unit, "rad/s");
        CU_ASSERT_EQUAL(fe->median, 3);
        CU_ASSERT_EQUAL(fe->lowpass.order, 3);
        CU_ASSERT_DOUBLE_EQUAL(fe->lowpass.cutoff_hz, 20.0, 1e-12);
        CU_ASSERT_EQUAL(fe->highpass.order, 0);
        CU_ASSERT_EQUAL(fe->gravity.order, 3);
        CU_ASSERT_DOUBLE_EQUAL(fe->gravity.cutoff_hz, 0.3, 1e-12);
        CU_ASSERT_EQUAL(fe->n_outputs, 9);
        CU_ASSERT_STRING_EQUAL(fe->outputs[0].name, "body_acc_x");
        CU_ASSERT_EQUAL(fe->outputs[0].input, 0);
        CU_ASSERT_EQUAL(fe->outputs[0].signal, GW_SIGNAL_BODY);
        CU_ASSERT_EQUAL(fe->outputs[4].input, 4);
        CU_ASSERT_EQUAL(fe->outputs[4].signal, GW_SIGNAL_FILTERED);
        CU_ASSERT_EQUAL(fe->outputs[8].input, 2);
        gw_model_free(m);
}

static void test_checksum_in_info_is_crc32_of_description_and_data(void)
{
        parts p = split_file(UCI);
        const char *desc = json_string_value(json_object_get(meta(&p), "gaitway"));
        uint32_t crc = gw_crc32(gw_crc32(0, desc, strlen(desc)), p.data, p.data_len);
        gw_model *m = load_ok(UCI);
        char want[16];

        snprintf(want, sizeof want, "crc32:%08x", (unsigned) gw_model_info_get(m)->crc32);
        CU_ASSERT_EQUAL(gw_model_info_get(m)->crc32, crc);
        CU_ASSERT_STRING_EQUAL(json_string_value(json_object_get(meta(&p), "checksum")), want);
        gw_model_free(m);
        parts_free(&p);
}

static void test_tensors_are_copied_aligned_in_host_order(void)
{
        parts p = split_file(UCI);
        gw_model *m = load_ok(UCI);
        const uint8_t *lo = m->arena, *hi = lo + m->arena_bytes;
        const void *ptrs[] = {
                m->mean, m->std, m->f.conv1_w, m->f.conv1_b, m->f.conv2_w, m->f.conv2_b,
                m->f.fwd_wih, m->f.fwd_whh, m->f.fwd_b, m->f.bwd_wih, m->f.bwd_b, m->f.head_w,
                m->f.head_b, m->q.in_scale, m->q.conv1_w, m->q.conv1_b, m->q.conv1_rq, m->q.conv2_w,
                m->q.conv2_b, m->q.conv2_rq, m->q.fwd_wih, m->q.fwd_rq_ih, m->q.fwd_whh,
                m->q.fwd_rq_hh, m->q.fwd_b, m->q.bwd_wih, m->q.bwd_rq_ih, m->q.bwd_b, m->q.head_w,
                m->q.head_rq, m->q.head_b,
        };

        for (size_t i = 0; i < sizeof ptrs / sizeof ptrs[0]; i++) {
                CU_ASSERT_PTR_NOT_NULL(ptrs[i]);
                CU_ASSERT_TRUE((const uint8_t *) ptrs[i] >= lo && (const uint8_t *) ptrs[i] < hi);
                CU_ASSERT_EQUAL((uintptr_t) ptrs[i] % 16, 0);
        }
        CU_ASSERT_EQUAL(m->mean[8], get_f32(&p, "input.mean", 8));
        CU_ASSERT_EQUAL(m->f.head_b[5], get_f32(&p, "head.bias", 5));
        CU_ASSERT_EQUAL(m->f.conv1_w[16 * 9 * 5 - 1], get_f32(&p, "conv1.weight", 16 * 9 * 5 - 1));
        CU_ASSERT_EQUAL(m->q.conv1_rq[0], 0);   /* testmodel.py zeroes row 0 */
        CU_ASSERT_TRUE(m->q.conv1_rq[2] >= (1 << 30));
        CU_ASSERT_EQUAL((int8_t) p.data[tensor_begin(&p, "q.head.weight") + 7], m->q.head_w[7]);
        gw_model_free(m);
        parts_free(&p);
}

static void test_input_multiplier_is_reciprocal_of_std_times_scale_in_float32(void)
{
        gw_model *m = load_ok(UCI);

        for (int c = 0; c < 9; c++) {
                float denom = m->std[c] * m->q.in_scale[c];
                CU_ASSERT_EQUAL(m->q.in_mul[c], 1.0f / denom);
        }
        gw_model_free(m);
}

static void test_misaligned_buffer_loads_the_same_model(void)
{
        blob b = blob_read(UCI);
        uint8_t *shifted = malloc(b.len + 3);
        gw_model *a = load_ok(UCI), *m = NULL;
        char err[GW_ERR_MAX];

        memcpy(shifted + 3, b.buf, b.len);
        CU_ASSERT_EQUAL_FATAL(gw_model_load_buffer(shifted + 3, b.len, &m, err, sizeof err), 0);
        CU_ASSERT_EQUAL(m->arena_bytes, a->arena_bytes);
        CU_ASSERT_EQUAL(memcmp(m->arena, a->arena, a->arena_bytes), 0);
        CU_ASSERT_EQUAL(m->f.fwd_whh[100], a->f.fwd_whh[100]);
        gw_model_free(m);
        gw_model_free(a);
        free(shifted);
        blob_free(&b);
}

static void test_tiny_model_at_minimum_dimensions_loads(void)
{
        gw_model *m = load_ok(TINY);
        const gw_model_info *i = gw_model_info_get(m);

        CU_ASSERT_EQUAL(i->channels, 1);
        CU_ASSERT_EQUAL(i->classes, 2);
        CU_ASSERT_EQUAL(i->window, 4);
        CU_ASSERT_EQUAL(i->hop, 4);
        CU_ASSERT_EQUAL(i->filters, 1);
        CU_ASSERT_EQUAL(i->kernel, 1);
        CU_ASSERT_EQUAL(i->hidden, 1);
        /* conv1 2 + BN 2 + conv2 2 + BN 2 + BiLSTM 2*(4+4+8) + head 4+2 */
        CU_ASSERT_EQUAL(i->params, 46);
        /* 4*1*1*1 + 2*1*1*1 + 1*2*4*(1+1) + 2*2 */
        CU_ASSERT_EQUAL(i->macs, 26);
        CU_ASSERT_STRING_EQUAL(i->class_name[1], "class01");
        CU_ASSERT_STRING_EQUAL(i->channel[0].name, "ch000");
        gw_model_free(m);
}

static void test_int8_only_wide_model_loads_without_fp32_pointers(void)
{
        gw_model *m = load_ok(WIDE);
        const gw_model_info *i = gw_model_info_get(m);

        CU_ASSERT_EQUAL(i->channels, 128);
        CU_ASSERT_EQUAL(i->classes, 64);
        CU_ASSERT_EQUAL(i->window, 8);
        CU_ASSERT_FALSE(i->has_fp32);
        CU_ASSERT_TRUE(i->has_int8);
        CU_ASSERT_EQUAL(i->weight_bytes_fp32, 0);
        CU_ASSERT_EQUAL(i->params, (size_t) 80 * 128 + 49 * 64 + 9440);
        CU_ASSERT_PTR_NULL(m->f.conv1_w);
        CU_ASSERT_PTR_NULL(m->f.head_b);
        CU_ASSERT_PTR_NOT_NULL(m->q.conv1_w);
        CU_ASSERT_EQUAL(i->frontend.n_inputs, 32);
        CU_ASSERT_EQUAL(i->frontend.n_outputs, 128);
        CU_ASSERT_EQUAL(i->frontend.outputs[127].input, 127 % 32);
        gw_model_free(m);
}

static void test_fp32_only_model_loads_without_int8_pointers(void)
{
        gw_model *m = load_ok(FP32);
        const gw_model_info *i = gw_model_info_get(m);

        CU_ASSERT_TRUE(i->has_fp32);
        CU_ASSERT_FALSE(i->has_int8);
        CU_ASSERT_EQUAL(i->weight_bytes_int8, 0);
        CU_ASSERT_DOUBLE_EQUAL(i->sample_rate_hz, 32.0, 0.0);
        /* model.md's Daphnet row: 10,258 parameters.  Its formula gives
         * 64*720 + 32*1280 + 16*7680 + 96 MACs (the table's 245.4K does not
         * follow from it). */
        CU_ASSERT_EQUAL(i->params, 10258);
        CU_ASSERT_EQUAL(i->macs, 210016);
        CU_ASSERT_PTR_NULL(m->q.in_scale);
        CU_ASSERT_PTR_NULL(m->q.head_b);
        gw_model_free(m);
}

static void test_class_and_channel_index_by_name(void)
{
        gw_model *m = load_ok(UCI);

        CU_ASSERT_EQUAL(gw_model_class_index(m, "WALKING"), 0);
        CU_ASSERT_EQUAL(gw_model_class_index(m, "LAYING"), 5);
        CU_ASSERT_EQUAL(gw_model_class_index(m, "walking"), -1);
        CU_ASSERT_EQUAL(gw_model_class_index(m, NULL), -1);
        CU_ASSERT_EQUAL(gw_model_channel_index(m, "body_gyro_z"), 5);
        CU_ASSERT_EQUAL(gw_model_channel_index(m, "total_acc_z"), 8);
        CU_ASSERT_EQUAL(gw_model_channel_index(m, "acc_x"), -1);
        CU_ASSERT_EQUAL(gw_model_class_index(NULL, "WALKING"), -1);
        CU_ASSERT_PTR_NULL(gw_model_info_get(NULL));
        gw_model_free(m);
}

static void test_free_accepts_null(void)
{
        CU_ASSERT_PTR_NULL(gw_model_free(NULL));
}

static void test_loading_and_freeing_1000_times_leaks_nothing(void)
{
        blob b = blob_read(UCI);
        char err[GW_ERR_MAX];
        int fails = 0;

        for (int i = 0; i < 1000; i++) {
                gw_model *m = NULL;
                if (gw_model_load_buffer(b.buf, b.len, &m, err, sizeof err) < 0)
                        fails++;
                CU_ASSERT_PTR_NULL(gw_model_free(m));
        }
        CU_ASSERT_EQUAL(fails, 0);
        blob_free(&b);
}

static void test_refusing_1000_times_leaks_nothing(void)
{
        parts p = split_file(UCI);
        char err[GW_ERR_MAX];
        blob b;
        int refused = 0;

        put_f32(&p, "lstm.bwd.bias", 3, NAN);   /* refused after the arena exists */
        b = join(&p);
        for (int i = 0; i < 1000; i++) {
                gw_model *m = NULL;
                refused += gw_model_load_buffer(b.buf, b.len, &m, err, sizeof err) == -EINVAL;
        }
        CU_ASSERT_EQUAL(refused, 1000);
        blob_free(&b);
        parts_free(&p);
}

/* ---- the file: length, header, metadata ---- */

static void test_refuses_truncation_inside_the_header_length(void)
{
        blob b = blob_read(UCI);

        for (size_t n = 0; n < 8; n++) {
                blob t = { b.buf, n };
                expect_refused(&t, EINVAL, "header length");
        }
        blob_free(&b);
}

static void test_refuses_truncation_inside_the_header(void)
{
        blob b = blob_read(UCI);
        uint64_t n = le64(b.buf);
        size_t cuts[] = { 8, 9, 8 + (size_t) n / 2, 8 + (size_t) n - 1 };

        for (size_t i = 0; i < sizeof cuts / sizeof cuts[0]; i++) {
                blob t = { b.buf, cuts[i] };
                expect_refused(&t, EINVAL, "header length");
        }
        blob_free(&b);
}

static void test_refuses_truncation_at_every_tensor(void)
{
        parts p = split_file(UCI);
        blob b = blob_read(UCI);
        size_t data_at = 8 + (size_t) le64(b.buf);
        const char *key;
        json_t *v;
        int n = 0;

        json_object_foreach(p.header, key, v) {
                char needle[64];
                size_t end;

                if (!strcmp(key, "__metadata__"))
                        continue;
                end = tensor_end(&p, key);
                snprintf(needle, sizeof needle, "tensor \"%s\": data_offsets", key);
                /* Cut at the tensor's first byte, inside it, and one byte short. */
                size_t cuts[] = { tensor_begin(&p, key), (tensor_begin(&p, key) + end) / 2, end - 1 };
                for (size_t i = 0; i < 3; i++) {
                        blob t = { b.buf, data_at + cuts[i] };
                        expect_refused(&t, EINVAL, needle);
                }
                n++;
        }
        CU_ASSERT_EQUAL(n, 31);
        blob_free(&b);
        parts_free(&p);
}

static void test_refuses_header_length_beyond_the_file(void)
{
        blob b = blob_read(TINY);

        put_le64(b.buf, le64(b.buf) + b.len);
        expect_refused(&b, EINVAL, "header length");
        put_le64(b.buf, UINT64_C(1) << 63);
        expect_refused(&b, EINVAL, "header length: 9223372036854775808 bytes");
        put_le64(b.buf, UINT64_MAX);
        expect_refused(&b, EINVAL, "header length");
        blob_free(&b);
}

static void test_refuses_header_length_not_multiple_of_8(void)
{
        blob b = blob_read(TINY);

        put_le64(b.buf, le64(b.buf) - 1);
        expect_refused(&b, EINVAL, "header length: ");
        blob_free(&b);
}

static void test_refuses_header_that_is_not_json(void)
{
        static const char h[] = "{\"__metadata__\": {\"format\": \"gaitway-model\",";
        blob b = raw_blob(h, sizeof h - 1, NULL, 0);

        expect_refused(&b, EINVAL, "header: not JSON");
        blob_free(&b);
}

static void test_refuses_header_with_nul_byte(void)
{
        blob b = blob_read(TINY);

        b.buf[8 + 3] = '\0';
        expect_refused(&b, EINVAL, "header: NUL byte at offset 11");
        blob_free(&b);
}

static void test_refuses_header_that_is_not_an_object(void)
{
        static const char h[] = "[{\"__metadata__\": {}}]";
        blob b = raw_blob(h, sizeof h - 1, NULL, 0);

        expect_refused(&b, EINVAL, "header: not a JSON object");
        blob_free(&b);
}

static void test_refuses_duplicate_keys_in_header(void)
{
        parts p = split_file(TINY);
        char *h = json_dumps(p.header, JSON_COMPACT), *dup;
        const char *ent = "\"input.mean\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},";
        blob b;

        size_t n = strlen(h) + strlen(ent) + 1;

        dup = malloc(n);
        CU_ASSERT_FATAL(dup != NULL);
        snprintf(dup, n, "{%s%s", ent, h + 1);
        b = raw_blob(dup, strlen(dup), p.data, p.data_len);
        expect_refused(&b, EINVAL, "duplicate object key");
        blob_free(&b);
        free(dup);
        free(h);
        parts_free(&p);
}

static void test_refuses_missing_metadata(void)
{
        parts p = split_file(TINY);

        json_object_del(p.header, "__metadata__");
        refuse(&p, EINVAL, "\"__metadata__\" missing");
}

static void test_refuses_metadata_value_that_is_not_a_string(void)
{
        parts p = split_file(TINY);

        json_object_set_new(meta(&p), "format_version", json_integer(1));
        refuse(&p, EINVAL, "metadata \"format_version\": not a string");
}

static void test_refuses_wrong_format(void)
{
        parts p = split_file(TINY);

        json_object_set_new(meta(&p), "format", json_string("pytorch"));
        refuse(&p, EINVAL, "metadata \"format\": \"pytorch\"");
}

static void test_refuses_unsupported_format_version(void)
{
        parts p = split_file(TINY);

        json_object_set_new(meta(&p), "format_version", json_string("2"));
        refuse(&p, ENOTSUP, "metadata \"format_version\": \"2\"");
}

static void test_refuses_missing_description(void)
{
        parts p = split_file(TINY);

        json_object_del(meta(&p), "gaitway");
        refuse(&p, EINVAL, "metadata \"gaitway\": missing");
}

static void test_refuses_description_that_is_not_json(void)
{
        parts p = split_file(TINY);

        json_object_set_new(meta(&p), "gaitway", json_string("{\"model_id\": "));
        refuse(&p, EINVAL, "metadata \"gaitway\": not JSON");
}

static void test_refuses_description_that_is_not_an_object(void)
{
        parts p = split_file(TINY);

        json_object_set_new(meta(&p), "gaitway", json_string("[1, 2]"));
        refuse(&p, EINVAL, "metadata \"gaitway\": not a JSON object");
}

static void test_refuses_wrong_checksum(void)
{
        parts p = split_file(TINY);
        blob b;
        char want[64];

        fix_checksum(&p);
        snprintf(want, sizeof want, "file has %s", json_string_value(json_object_get(meta(&p), "checksum")));
        json_object_set_new(meta(&p), "checksum", json_string("crc32:1234abcd"));
        b = join_raw(&p);
        expect_refused(&b, EBADMSG, "metadata \"checksum\": expected crc32:1234abcd, ");
        expect_refused(&b, EBADMSG, want);
        blob_free(&b);
        parts_free(&p);
}

static void test_refuses_a_flipped_data_bit_by_checksum(void)
{
        blob b = blob_read(UCI);

        b.buf[b.len - 1] ^= 0x10;   /* last byte of q.head.bias: still a valid value */
        expect_refused(&b, EBADMSG, "metadata \"checksum\"");
        blob_free(&b);
}

static void test_refuses_malformed_checksum(void)
{
        static const char *const bad[] = { "crc32:1234ABCD", "crc32:1234abc", "md5:1234abcd", "crc32:1234abcdz",
                                           "crc32: 234abcd" };

        for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
                parts p = split_file(TINY);
                blob b;

                json_object_set_new(meta(&p), "checksum", json_string(bad[i]));
                b = join_raw(&p);
                expect_refused(&b, EINVAL, "metadata \"checksum\": \"");
                blob_free(&b);
                parts_free(&p);
        }
}

/* ---- the tensor table ---- */

static void test_refuses_unknown_dtype(void)
{
        parts p = split_file(UCI);

        json_object_set_new(entry(&p, "conv1.weight"), "dtype", json_string("F16"));
        refuse(&p, EINVAL, "tensor \"conv1.weight\": dtype \"F16\" not allowed");
}

static void test_refuses_dtype_other_than_the_format_says(void)
{
        parts p = split_file(UCI);

        json_object_set_new(entry(&p, "q.conv1.bias"), "dtype", json_string("F32"));
        refuse(&p, EINVAL, "tensor \"q.conv1.bias\": dtype F32, expected I32");
}

static void test_refuses_shape_that_contradicts_the_architecture(void)
{
        parts p = split_file(UCI);

        json_object_set_new(entry(&p, "conv2.weight"), "shape", json_pack("[i, i, i]", 16, 16, 3));
        refuse(&p, EINVAL, "tensor \"conv2.weight\": shape [16, 16, 3], expected [16, 16, 5] (filters, filters, kernel)");
}

static void test_refuses_shape_of_wrong_rank(void)
{
        parts p = split_file(UCI);

        json_object_set_new(entry(&p, "head.bias"), "shape", json_pack("[i, i]", 6, 1));
        refuse(&p, EINVAL, "tensor \"head.bias\": shape [6, 1], expected [6] (classes)");
}

static void test_refuses_negative_offsets(void)
{
        parts p = split_file(UCI);

        set_offsets(&p, "conv1.bias", -64, 0);
        refuse(&p, EINVAL, "tensor \"conv1.bias\": data_offsets [-64, 0] negative");
}

static void test_refuses_huge_offsets(void)
{
        parts p = split_file(UCI);

        set_offsets(&p, "conv1.bias", INT64_MAX - 64, INT64_MAX);
        refuse(&p, EINVAL, "tensor \"conv1.bias\": data_offsets [9223372036854775743, 9223372036854775807] beyond");
}

static void test_refuses_reversed_offsets(void)
{
        parts p = split_file(UCI);
        size_t b = tensor_begin(&p, "conv1.bias"), e = tensor_end(&p, "conv1.bias");

        set_offsets(&p, "conv1.bias", (long long) e, (long long) b);
        refuse(&p, EINVAL, "tensor \"conv1.bias\": data_offsets [3016, 2952] reversed");
}

static void test_refuses_offsets_that_are_not_a_pair(void)
{
        parts p = split_file(UCI);

        json_object_set_new(entry(&p, "conv1.bias"), "data_offsets", json_pack("[i]", 0));
        refuse(&p, EINVAL, "tensor \"conv1.bias\": data_offsets is not [begin, end]");
}

static void test_refuses_size_that_is_not_shape_times_dtype(void)
{
        parts p = split_file(UCI);
        size_t b = tensor_begin(&p, "conv1.bias"), e = tensor_end(&p, "conv1.bias");

        set_offsets(&p, "conv1.bias", (long long) b, (long long) e - 4);
        refuse(&p, EINVAL, "tensor \"conv1.bias\": data_offsets [2952, 3012] hold 60 bytes, shape and F32 need 64");
}

static void test_refuses_overlapping_tensors(void)
{
        parts p = split_file(UCI);
        size_t b = tensor_begin(&p, "conv2.bias"), e = tensor_end(&p, "conv2.bias");

        set_offsets(&p, "conv2.bias", (long long) b - 4, (long long) e - 4);
        refuse(&p, EINVAL, "header: data_offsets of \"conv2.bias\" overlap \"conv2.weight\"");
}

static void test_refuses_two_tensors_at_the_same_offsets(void)
{
        parts p = split_file(UCI);
        size_t b = tensor_begin(&p, "conv1.bias"), e = tensor_end(&p, "conv1.bias");

        set_offsets(&p, "conv2.bias", (long long) b, (long long) e);
        refuse(&p, EINVAL, "overlap");
}

static void test_refuses_hole_between_tensors(void)
{
        parts p = split_file(UCI);

        insert_bytes(&p, tensor_end(&p, "conv2.weight"), 4);
        refuse(&p, EINVAL, "header: hole of 4 bytes between \"conv2.weight\" and \"conv2.bias\"");
}

static void test_refuses_hole_at_the_start_of_the_data(void)
{
        parts p = split_file(UCI);

        insert_bytes(&p, 0, 8);
        refuse(&p, EINVAL, "header: hole of 8 bytes before \"input.mean\"");
}

static void test_refuses_bytes_after_the_last_tensor(void)
{
        parts p = split_file(UCI);

        p.data_len += 4;
        memset(p.data + p.data_len - 4, 0, 4);
        refuse(&p, EINVAL, "header: 4 bytes at the end of the data section belong to no tensor");
}

static void test_refuses_unknown_tensor(void)
{
        parts p = split_file(UCI);

        json_object_set_new(p.header, "conv3.weight",
                            json_pack("{s:s, s:[i], s:[I, I]}", "dtype", "F32", "shape", 1, "data_offsets",
                                      (json_int_t) p.data_len, (json_int_t) p.data_len + 4));
        memset(p.data + p.data_len, 0, 4);
        p.data_len += 4;
        refuse(&p, EINVAL, "header: unknown tensor \"conv3.weight\"");
}

static void test_refuses_unknown_key_in_a_tensor_entry(void)
{
        parts p = split_file(UCI);

        json_object_set_new(entry(&p, "head.weight"), "scale", json_real(1.0));
        refuse(&p, EINVAL, "tensor \"head.weight\": unknown key \"scale\"");
}

static void test_refuses_missing_normalisation(void)
{
        parts p = split_file(UCI);

        json_object_del(p.header, "input.std");
        refuse(&p, EINVAL, "header: tensor \"input.std\" missing");
}

static void test_refuses_fp32_set_with_a_tensor_missing(void)
{
        parts p = split_file(UCI);

        json_object_del(p.header, "lstm.fwd.bias");
        refuse(&p, EINVAL, "header: tensor \"lstm.fwd.bias\" missing (FP32 set has 10 of 11");
}

static void test_refuses_int8_set_with_a_tensor_missing(void)
{
        parts p = split_file(UCI);

        json_object_del(p.header, "q.head.requant");
        refuse(&p, EINVAL, "header: tensor \"q.head.requant\" missing (INT8 set has 17 of 18");
}

static void test_refuses_file_with_neither_set(void)
{
        parts p = split_file(WIDE);
        const char *key;
        json_t *v;
        void *tmp;

        json_object_foreach_safe(p.header, tmp, key, v)
                if (!strncmp(key, "q.", 2))
                        json_object_del(p.header, key);
        refuse(&p, EINVAL, "header: neither the FP32 nor the INT8 tensor set");
}

/* ---- values ---- */

static void test_refuses_nan_weight(void)
{
        parts p = split_file(UCI);

        put_f32(&p, "conv2.weight", 77, NAN);
        refuse(&p, EINVAL, "tensor \"conv2.weight\": NaN at index 77");
}

static void test_refuses_infinite_weight(void)
{
        parts p = split_file(UCI);

        put_f32(&p, "lstm.fwd.weight_hh", 5, -INFINITY);
        refuse(&p, EINVAL, "tensor \"lstm.fwd.weight_hh\": Inf at index 5");
}

static void test_refuses_nan_mean(void)
{
        parts p = split_file(UCI);

        put_f32(&p, "input.mean", 2, NAN);
        refuse(&p, EINVAL, "tensor \"input.mean\": NaN at index 2");
}

static void test_refuses_zero_std(void)
{
        parts p = split_file(UCI);

        put_f32(&p, "input.std", 4, 0.0f);
        refuse(&p, EINVAL, "tensor \"input.std\": 0 at channel 4 is not > 0");
}

static void test_refuses_negative_std(void)
{
        parts p = split_file(UCI);

        put_f32(&p, "input.std", 0, -1.5f);
        refuse(&p, EINVAL, "tensor \"input.std\": -1.5 at channel 0 is not > 0");
}

static void test_refuses_zero_input_scale(void)
{
        parts p = split_file(UCI);

        put_f32(&p, "q.input.scale", 8, 0.0f);
        refuse(&p, EINVAL, "tensor \"q.input.scale\": 0 at channel 8 is not > 0");
}

static void test_refuses_input_scale_whose_reciprocal_overflows(void)
{
        parts p = split_file(UCI);

        put_f32(&p, "input.std", 1, 1e-30f);
        put_f32(&p, "q.input.scale", 1, 1e-30f);
        refuse(&p, EINVAL, "tensor \"q.input.scale\": 1 / (std * scale)");
}

static void test_refuses_requant_multiplier_below_2_pow_30(void)
{
        parts p = split_file(UCI);

        put_i32(&p, "q.conv2.requant", 2 * 3, (1 << 30) - 1);
        refuse(&p, EINVAL, "tensor \"q.conv2.requant\": multiplier 1073741823 out of range [2^30, 2^31) at row 3");
}

static void test_refuses_negative_requant_multiplier(void)
{
        parts p = split_file(UCI);

        put_i32(&p, "q.head.requant", 2 * 5, INT32_MIN);
        refuse(&p, EINVAL, "tensor \"q.head.requant\": multiplier -2147483648");
}

static void test_refuses_requant_shift_zero(void)
{
        parts p = split_file(UCI);

        put_i32(&p, "q.conv1.requant", 2 * 3 + 1, 0);
        refuse(&p, EINVAL, "tensor \"q.conv1.requant\": shift 0 out of range [1, 62] at row 3");
}

static void test_refuses_requant_shift_63(void)
{
        parts p = split_file(UCI);

        put_i32(&p, "q.lstm.fwd.requant_hh", 2 * 95 + 1, 63);
        refuse(&p, EINVAL, "tensor \"q.lstm.fwd.requant_hh\": shift 63 out of range [1, 62] at row 95");
}

static void test_refuses_int8_weight_minus_128(void)
{
        parts p = split_file(UCI);

        p.data[tensor_begin(&p, "q.lstm.bwd.weight_ih") + 10] = 0x80;
        refuse(&p, EINVAL, "tensor \"q.lstm.bwd.weight_ih\": -128 at index 10 outside [-127, 127]");
}

static void test_refuses_lstm_bias_outside_int16(void)
{
        parts p = split_file(UCI);

        put_i32(&p, "q.lstm.fwd.bias", 7, 32768);
        refuse(&p, EINVAL, "tensor \"q.lstm.fwd.bias\": 32768 at row 7 outside [-32768, 32767]");
}

static void test_accepts_lstm_bias_at_int16_limits(void)
{
        parts p = split_file(UCI);
        char err[GW_ERR_MAX];
        gw_model *m = NULL;
        blob b;

        put_i32(&p, "q.lstm.bwd.bias", 0, -32768);
        put_i32(&p, "q.lstm.bwd.bias", 1, 32767);
        b = join(&p);
        CU_ASSERT_EQUAL(gw_model_load_buffer(b.buf, b.len, &m, err, sizeof err), 0);
        CU_ASSERT_EQUAL(m->q.bwd_b[0], -32768);
        gw_model_free(m);
        blob_free(&b);
        parts_free(&p);
}

static void test_refuses_conv_bias_that_could_overflow_the_accumulator(void)
{
        parts p = split_file(UCI);

        put_i32(&p, "q.conv1.bias", 2, INT32_MAX - 1000);
        refuse(&p, EINVAL, "tensor \"q.conv1.bias\": 2147482647 at row 2");
}

/* ---- the description ---- */

static void test_refuses_zero_channels(void)
{
        refuse_desc(UCI, "arch.channels", json_integer(0), "description \"arch.channels\": 0 out of range [1, 128]");
}

static void test_refuses_129_channels(void)
{
        refuse_desc(UCI, "arch.channels", json_integer(129), "description \"arch.channels\": 129 out of range");
}

static void test_refuses_one_class(void)
{
        refuse_desc(UCI, "arch.classes", json_integer(1), "description \"arch.classes\": 1 out of range [2, 64]");
}

static void test_refuses_window_not_multiple_of_4(void)
{
        refuse_desc(UCI, "arch.window", json_integer(6), "description \"arch.window\": 6 is not a multiple of 4");
}

static void test_refuses_window_of_a_billion(void)
{
        refuse_desc(UCI, "arch.window", json_integer(1000000000),
                    "description \"arch.window\": 1000000000 out of range [4, 4096]");
}

static void test_refuses_even_kernel(void)
{
        refuse_desc(UCI, "arch.kernel", json_integer(4), "description \"arch.kernel\": 4 is not odd");
}

static void test_refuses_filters_and_hidden_out_of_range(void)
{
        refuse_desc(UCI, "arch.filters", json_integer(65), "description \"arch.filters\": 65 out of range");
        refuse_desc(UCI, "arch.hidden", json_integer(0), "description \"arch.hidden\": 0 out of range");
}

static void test_refuses_dimension_that_is_not_an_integer(void)
{
        refuse_desc(UCI, "arch.hidden", json_real(24.0), "description \"arch.hidden\": not an integer");
        refuse_desc(UCI, "arch.channels", json_string("9"), "description \"arch.channels\": not an integer");
}

static void test_refuses_other_architecture(void)
{
        refuse_desc(UCI, "arch.name", json_string("deepconvlstm"), "description \"arch.name\": \"deepconvlstm\"");
}

static void test_refuses_dims_that_contradict_tensor_shapes(void)
{
        refuse_desc(UCI, "arch.hidden", json_integer(23),
                    "tensor \"lstm.fwd.weight_ih\": shape [96, 16], expected [92, 16] (4*hidden, filters)");
}

static void test_refuses_duplicate_class_names(void)
{
        refuse_desc(UCI, "classes",
                    json_pack("[s, s, s, s, s, s]", "WALKING", "UP", "DOWN", "SITTING", "WALKING", "LAYING"),
                    "description \"classes[4]\": \"WALKING\" repeats classes[0]");
}

static void test_refuses_class_count_mismatch(void)
{
        refuse_desc(UCI, "classes", json_pack("[s, s, s, s, s]", "A", "B", "C", "D", "E"),
                    "description \"classes\": 5 names, arch.classes is 6");
}

static void test_refuses_empty_and_long_class_names(void)
{
        refuse_desc(UCI, "classes", json_pack("[s, s, s, s, s, s]", "A", "", "C", "D", "E", "F"),
                    "description \"classes[1]\": empty");
        refuse_desc(UCI, "classes",
                    json_pack("[s, s, s, s, s, s]", "A", "B", "C", "D", "E", "0123456789012345678901234567890123"),
                    "description \"classes[5]\": 34 bytes, at most 31 allowed");
}

static void test_refuses_duplicate_channel_names(void)
{
        parts p = split_file(UCI);
        json_t *d = desc_get(&p);

        json_object_set_new(json_array_get(json_object_get(d, "channels"), 2), "name", json_string("body_acc_x"));
        desc_set(&p, d);
        refuse(&p, EINVAL, "description \"channels[2].name\": \"body_acc_x\" repeats channels[0]");
}

static void test_refuses_channel_without_unit(void)
{
        parts p = split_file(UCI);
        json_t *d = desc_get(&p);

        json_object_del(json_array_get(json_object_get(d, "channels"), 6), "unit");
        desc_set(&p, d);
        refuse(&p, EINVAL, "description \"channels[6].unit\": missing");
}

static void test_refuses_channel_count_mismatch(void)
{
        parts p = split_file(UCI);
        json_t *d = desc_get(&p);

        json_array_remove(json_object_get(d, "channels"), 8);
        desc_set(&p, d);
        refuse(&p, EINVAL, "description \"channels\": 8 entries, arch.channels is 9");
}

static void test_refuses_hop_longer_than_the_window(void)
{
        refuse_desc(UCI, "hop", json_integer(129), "description \"hop\": 129 out of range [1, 128]");
        refuse_desc(UCI, "hop", json_integer(0), "description \"hop\": 0 out of range [1, 128]");
}

static void test_refuses_sample_rate_out_of_range(void)
{
        refuse_desc(UCI, "sample_rate_hz", json_real(0.0), "description \"sample_rate_hz\": 0 out of range");
        refuse_desc(UCI, "sample_rate_hz", json_integer(20000), "description \"sample_rate_hz\": 20000 out of range");
        refuse_desc(UCI, "sample_rate_hz", NULL, "description \"sample_rate_hz\": missing");
}

static void test_refuses_unknown_task(void)
{
        refuse_desc(UCI, "task", json_string("sleep"), "description \"task\": \"sleep\"");
}

static void test_refuses_missing_or_long_model_id(void)
{
        refuse_desc(UCI, "model_id", NULL, "description \"model_id\": missing");
        refuse_desc(UCI, "model_id",
                    json_string("0123456789012345678901234567890123456789012345678901234567890123"),
                    "description \"model_id\": 64 bytes, at most 63 allowed");
}

static void test_refuses_int8_model_without_quant_scheme(void)
{
        refuse_desc(UCI, "quant.scheme", json_string("tflite-int8"),
                    "description \"quant.scheme\": \"tflite-int8\" is not \"gw-int8-v1\"");
        refuse_desc(UCI, "quant", NULL, "description \"quant\": missing");
}

static void test_accepts_fp32_model_without_quant(void)
{
        parts p = split_file(FP32);
        json_t *d = desc_get(&p);
        char err[GW_ERR_MAX];
        gw_model *m = NULL;
        blob b;

        CU_ASSERT_PTR_NULL(json_object_get(d, "quant"));
        json_object_set_new(d, "future_key", json_string("ignored"));
        desc_set(&p, d);
        b = join(&p);
        CU_ASSERT_EQUAL(gw_model_load_buffer(b.buf, b.len, &m, err, sizeof err), 0);
        gw_model_free(m);
        blob_free(&b);
        parts_free(&p);
}

static void test_refuses_front_end_outputs_that_differ_from_channels(void)
{
        parts p = split_file(UCI);
        json_t *d = desc_get(&p);
        json_t *out = json_object_get(json_object_get(d, "frontend"), "outputs");

        json_object_set_new(json_array_get(out, 3), "name", json_string("gyro_x"));
        desc_set(&p, d);
        refuse(&p, EINVAL, "description \"frontend.outputs[3].name\": \"gyro_x\" is not channels[3] \"body_gyro_x\"");
}

static void test_refuses_front_end_output_count_mismatch(void)
{
        parts p = split_file(UCI);
        json_t *d = desc_get(&p);

        json_array_remove(json_object_get(json_object_get(d, "frontend"), "outputs"), 8);
        desc_set(&p, d);
        refuse(&p, EINVAL, "description \"frontend.outputs\": 8 outputs, arch.channels is 9");
}

static void test_refuses_front_end_error_naming_its_field(void)
{
        parts p = split_file(UCI);
        json_t *d = desc_get(&p);

        json_object_set_new(json_object_get(json_object_get(d, "frontend"), "lowpass"), "cutoff_hz",
                            json_real(30.0));
        desc_set(&p, d);
        refuse(&p, EINVAL, "description: frontend.lowpass.cutoff_hz");
}

static void test_refuses_missing_front_end(void)
{
        refuse_desc(UCI, "frontend", NULL, "description \"frontend\": missing");
}

/* ---- robustness ---- */

static uint32_t lcg(uint32_t *state)
{
        *state = *state * 1664525u + 1013904223u;
        return *state >> 8;
}

static int load_quietly(const uint8_t *buf, size_t len, char *err, size_t errlen)
{
        gw_model *m = NULL;
        int r;

        err[0] = '\0';
        r = gw_model_load_buffer(buf, len, &m, err, errlen);
        gw_model_free(m);
        return r;
}

static void test_every_truncation_is_refused(void)
{
        blob b = blob_read(TINY);
        char err[GW_ERR_MAX];
        size_t refused = 0;

        for (size_t n = 0; n < b.len; n++)
                if (load_quietly(b.buf, n, err, sizeof err) < 0 && err[0])
                        refused++;
        CU_ASSERT_EQUAL(refused, b.len);
        CU_ASSERT_EQUAL(load_quietly(b.buf, b.len, err, sizeof err), 0);
        blob_free(&b);
}

static void test_random_byte_corruption_is_refused_or_harmless(void)
{
        blob b = blob_read(TINY);
        uint8_t *buf = malloc(b.len);
        uint32_t seed = 12345;
        char err[GW_ERR_MAX];
        int bad = 0;

        for (int i = 0; i < 3000; i++) {
                int flips = 1 + (int) (lcg(&seed) % 8);

                memcpy(buf, b.buf, b.len);
                for (int f = 0; f < flips; f++)
                        buf[lcg(&seed) % b.len] = (uint8_t) lcg(&seed);
                int r = load_quietly(buf, b.len, err, sizeof err);
                if (r != 0 && (r >= 0 || !err[0]))
                        bad++;
        }
        CU_ASSERT_EQUAL(bad, 0);
        free(buf);
        blob_free(&b);
}

/* With the checksum recomputed the corruption reaches the value checks. */
static void test_random_data_corruption_with_valid_checksum_is_refused_or_loads(void)
{
        parts p = split_file(UCI);
        uint8_t *orig = malloc(p.data_len);
        uint32_t seed = 777;
        char err[GW_ERR_MAX];
        int bad = 0, refused = 0;

        memcpy(orig, p.data, p.data_len);
        for (int i = 0; i < 300; i++) {
                blob b;
                int r;

                memcpy(p.data, orig, p.data_len);
                for (int f = 0; f < 4; f++)
                        p.data[lcg(&seed) % p.data_len] = (uint8_t) lcg(&seed);
                b = join(&p);
                r = load_quietly(b.buf, b.len, err, sizeof err);
                if (r != 0 && (r != -EINVAL || strncmp(err, "tensor \"", 8) != 0))
                        bad++;
                refused += r < 0;
                blob_free(&b);
        }
        CU_ASSERT_EQUAL(bad, 0);
        CU_ASSERT_TRUE(refused > 0);
        free(orig);
        parts_free(&p);
}

/* ---- gw_model_load_file ---- */

static void test_load_file_names_a_missing_file(void)
{
        char err[GW_ERR_MAX];
        gw_model *m = NULL;

        CU_ASSERT_EQUAL(gw_model_load_file("/nonexistent/model.gwm", &m, err, sizeof err), -ENOENT);
        CU_ASSERT_PTR_NULL(m);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/model.gwm"));
}

static void test_load_file_refuses_a_directory(void)
{
        char err[GW_ERR_MAX];
        gw_model *m = NULL;

        CU_ASSERT_EQUAL(gw_model_load_file(gw_test_data("model"), &m, err, sizeof err), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "not a regular file"));
}

static void test_load_file_prefixes_the_path_to_the_field(void)
{
        parts p = split_file(TINY);
        char path[] = "/tmp/gw-test-model-XXXXXX", err[GW_ERR_MAX], want[128];
        gw_model *m = NULL;
        blob b;
        FILE *f;
        int fd;

        put_f32(&p, "input.std", 0, 0.0f);
        b = join(&p);
        fd = mkstemp(path);
        CU_ASSERT_FATAL(fd >= 0);
        f = fdopen(fd, "wb");
        fwrite(b.buf, 1, b.len, f);
        fclose(f);
        snprintf(want, sizeof want, "%s: tensor \"input.std\"", path);
        CU_ASSERT_EQUAL(gw_model_load_file(path, &m, err, sizeof err), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, want));
        unlink(path);
        blob_free(&b);
        parts_free(&p);
}

/* ---- CRC-32 ---- */

static void test_crc32_matches_the_standard_check_values(void)
{
        static const char fox[] = "The quick brown fox jumps over the lazy dog";

        CU_ASSERT_EQUAL(gw_crc32(0, "123456789", 9), 0xcbf43926u);
        CU_ASSERT_EQUAL(gw_crc32(0, fox, sizeof fox - 1), 0x414fa339u);
        CU_ASSERT_EQUAL(gw_crc32(0, "", 0), 0);
        CU_ASSERT_EQUAL(gw_crc32(0x414fa339u, "", 0), 0x414fa339u);
}

static void test_crc32_continues_across_buffers_like_zlib(void)
{
        uint8_t buf[1024];
        uint32_t whole;
        int bad = 0;

        for (size_t i = 0; i < sizeof buf; i++)
                buf[i] = (uint8_t) i;
        whole = gw_crc32(0, buf, sizeof buf);
        /* python3 -c "import zlib; print(hex(zlib.crc32(bytes(range(256))*4)))" */
        CU_ASSERT_EQUAL(whole, 0xb70b4c26u);
        for (size_t cut = 0; cut <= sizeof buf; cut++)
                bad += gw_crc32(gw_crc32(0, buf, cut), buf + cut, sizeof buf - cut) != whole;
        CU_ASSERT_EQUAL(bad, 0);
}

/* ---- the quantiser (docs/int8.md §1) ---- */

/* The tiny model with mean 1, std 2, input scale 0.25: in_mul = 2 exactly,
 * so q = rint_half_even((x - 1) * 2). */
static gw_model *tiny_with_unit_steps(void)
{
        parts p = split_file(TINY);
        char err[GW_ERR_MAX];
        gw_model *m = NULL;
        blob b;

        put_f32(&p, "input.mean", 0, 1.0f);
        put_f32(&p, "input.std", 0, 2.0f);
        put_f32(&p, "q.input.scale", 0, 0.25f);
        b = join(&p);
        CU_ASSERT_EQUAL(gw_model_load_buffer(b.buf, b.len, &m, err, sizeof err), 0);
        blob_free(&b);
        parts_free(&p);
        return m;
}

static void test_quantize_rounds_half_to_even(void)
{
        gw_model *m = tiny_with_unit_steps();
        const float x[] = { 1.25f, 1.75f, 2.25f, 0.75f, 0.25f, -0.25f, 1.0f, 1.3f };
        const int8_t want[] = { 0, 2, 2, 0, -2, -2, 0, 1 };
        int8_t q[8];

        CU_ASSERT_PTR_NOT_NULL_FATAL(m);
        CU_ASSERT_EQUAL(m->q.in_mul[0], 2.0f);
        gw_model_quantize(m, x, q, 8);
        CU_ASSERT_EQUAL(memcmp(q, want, sizeof want), 0);
        for (int i = 0; i < 8; i++)
                if (q[i] != want[i])
                        fprintf(stderr, "\n  x=%g: q=%d, wanted %d\n", (double) x[i], q[i], want[i]);
        gw_model_free(m);
}

static void test_quantize_clamps_to_plus_minus_127(void)
{
        gw_model *m = tiny_with_unit_steps();
        /* (x - 1) * 2: 126.5 -> 126 (even), 127.5 -> 127, 200, -127.5 -> -127, -1e30 */
        const float x[] = { 64.25f, 64.75f, 101.0f, -62.75f, -1e30f, 3e38f, 64.5f };
        const int8_t want[] = { 126, 127, 127, -127, -127, 127, 127 };
        int8_t q[7];

        CU_ASSERT_PTR_NOT_NULL_FATAL(m);
        gw_model_quantize(m, x, q, 7);
        CU_ASSERT_EQUAL(memcmp(q, want, sizeof want), 0);
        gw_model_free(m);
}

static void test_quantize_maps_non_finite_to_zero(void)
{
        gw_model *m = tiny_with_unit_steps();
        const float x[] = { NAN, INFINITY, -INFINITY, 3.0f };
        const int8_t want[] = { 0, 0, 0, 4 };
        int8_t q[4];

        CU_ASSERT_PTR_NOT_NULL_FATAL(m);
        gw_model_quantize(m, x, q, 4);
        CU_ASSERT_EQUAL(memcmp(q, want, sizeof want), 0);
        gw_model_free(m);
}

static void test_quantize_is_time_major_over_channels(void)
{
        gw_model *m = load_ok(UCI);
        float x[3 * 9];
        int8_t q[3 * 9];

        for (int t = 0; t < 3; t++)
                for (int c = 0; c < 9; c++)
                        x[t * 9 + c] = m->mean[c] + (float) (t - 1) * 5.0f * m->std[c] * m->q.in_scale[c];
        gw_model_quantize(m, x, q, 3);
        for (int t = 0; t < 3; t++)
                for (int c = 0; c < 9; c++) {
                        float d = x[t * 9 + c] - m->mean[c];
                        float v = d * m->q.in_mul[c];
                        CU_ASSERT_EQUAL(q[t * 9 + c], (int8_t) lrintf(v));
                        CU_ASSERT_TRUE(abs(q[t * 9 + c] - (t - 1) * 5) <= 1);
                }
        gw_model_free(m);
}

void gw_test_register(void)
{
        CU_pSuite s;

        s = gw_test_suite("model: valid files");
        gw_test_add(s, "the UCI-shaped model loads with every info field", test_uci_shape_loads_with_every_info_field);
        gw_test_add(s, "the front end is parsed into info", test_uci_front_end_is_parsed_into_info);
        gw_test_add(s, "info.crc32 is the CRC-32 of description and data", test_checksum_in_info_is_crc32_of_description_and_data);
        gw_test_add(s, "tensors are copied, aligned, in host order", test_tensors_are_copied_aligned_in_host_order);
        gw_test_add(s, "in_mul is 1/(std*scale) in float32", test_input_multiplier_is_reciprocal_of_std_times_scale_in_float32);
        gw_test_add(s, "a misaligned buffer loads the same model", test_misaligned_buffer_loads_the_same_model);
        gw_test_add(s, "a model at minimum dimensions loads", test_tiny_model_at_minimum_dimensions_loads);
        gw_test_add(s, "an INT8-only wide model has no FP32 pointers", test_int8_only_wide_model_loads_without_fp32_pointers);
        gw_test_add(s, "an FP32-only model has no INT8 pointers", test_fp32_only_model_loads_without_int8_pointers);
        gw_test_add(s, "classes and channels are found by name", test_class_and_channel_index_by_name);
        gw_test_add(s, "gw_model_free accepts NULL", test_free_accepts_null);
        gw_test_add(s, "loading and freeing 1000 times leaks nothing", test_loading_and_freeing_1000_times_leaks_nothing);
        gw_test_add(s, "refusing 1000 times leaks nothing", test_refusing_1000_times_leaks_nothing);

        s = gw_test_suite("model: header and metadata");
        gw_test_add(s, "truncation inside the header length", test_refuses_truncation_inside_the_header_length);
        gw_test_add(s, "truncation inside the header", test_refuses_truncation_inside_the_header);
        gw_test_add(s, "truncation at every tensor names the tensor", test_refuses_truncation_at_every_tensor);
        gw_test_add(s, "header length beyond the file, 2^63, 2^64-1", test_refuses_header_length_beyond_the_file);
        gw_test_add(s, "header length not a multiple of 8", test_refuses_header_length_not_multiple_of_8);
        gw_test_add(s, "header that is not JSON", test_refuses_header_that_is_not_json);
        gw_test_add(s, "header with a NUL byte", test_refuses_header_with_nul_byte);
        gw_test_add(s, "header that is not an object", test_refuses_header_that_is_not_an_object);
        gw_test_add(s, "duplicate keys in the header", test_refuses_duplicate_keys_in_header);
        gw_test_add(s, "missing __metadata__", test_refuses_missing_metadata);
        gw_test_add(s, "metadata value that is not a string", test_refuses_metadata_value_that_is_not_a_string);
        gw_test_add(s, "wrong format", test_refuses_wrong_format);
        gw_test_add(s, "unsupported format_version is ENOTSUP", test_refuses_unsupported_format_version);
        gw_test_add(s, "missing description", test_refuses_missing_description);
        gw_test_add(s, "description that is not JSON", test_refuses_description_that_is_not_json);
        gw_test_add(s, "description that is not an object", test_refuses_description_that_is_not_an_object);
        gw_test_add(s, "wrong checksum is EBADMSG", test_refuses_wrong_checksum);
        gw_test_add(s, "a flipped data bit fails the checksum", test_refuses_a_flipped_data_bit_by_checksum);
        gw_test_add(s, "malformed checksum", test_refuses_malformed_checksum);

        s = gw_test_suite("model: tensor table");
        gw_test_add(s, "unknown dtype", test_refuses_unknown_dtype);
        gw_test_add(s, "dtype other than the format's", test_refuses_dtype_other_than_the_format_says);
        gw_test_add(s, "shape contradicting the architecture", test_refuses_shape_that_contradicts_the_architecture);
        gw_test_add(s, "shape of the wrong rank", test_refuses_shape_of_wrong_rank);
        gw_test_add(s, "negative offsets", test_refuses_negative_offsets);
        gw_test_add(s, "huge offsets", test_refuses_huge_offsets);
        gw_test_add(s, "reversed offsets", test_refuses_reversed_offsets);
        gw_test_add(s, "offsets that are not a pair", test_refuses_offsets_that_are_not_a_pair);
        gw_test_add(s, "size other than shape times dtype", test_refuses_size_that_is_not_shape_times_dtype);
        gw_test_add(s, "overlapping tensors", test_refuses_overlapping_tensors);
        gw_test_add(s, "two tensors at the same offsets", test_refuses_two_tensors_at_the_same_offsets);
        gw_test_add(s, "a hole between tensors", test_refuses_hole_between_tensors);
        gw_test_add(s, "a hole at the start of the data", test_refuses_hole_at_the_start_of_the_data);
        gw_test_add(s, "bytes after the last tensor", test_refuses_bytes_after_the_last_tensor);
        gw_test_add(s, "unknown tensor", test_refuses_unknown_tensor);
        gw_test_add(s, "unknown key in a tensor entry", test_refuses_unknown_key_in_a_tensor_entry);
        gw_test_add(s, "missing normalisation tensor", test_refuses_missing_normalisation);
        gw_test_add(s, "FP32 set with a tensor missing", test_refuses_fp32_set_with_a_tensor_missing);
        gw_test_add(s, "INT8 set with a tensor missing", test_refuses_int8_set_with_a_tensor_missing);
        gw_test_add(s, "neither tensor set", test_refuses_file_with_neither_set);

        s = gw_test_suite("model: tensor values");
        gw_test_add(s, "NaN weight", test_refuses_nan_weight);
        gw_test_add(s, "infinite weight", test_refuses_infinite_weight);
        gw_test_add(s, "NaN mean", test_refuses_nan_mean);
        gw_test_add(s, "zero std", test_refuses_zero_std);
        gw_test_add(s, "negative std", test_refuses_negative_std);
        gw_test_add(s, "zero input scale", test_refuses_zero_input_scale);
        gw_test_add(s, "input scale whose reciprocal overflows", test_refuses_input_scale_whose_reciprocal_overflows);
        gw_test_add(s, "requant multiplier below 2^30", test_refuses_requant_multiplier_below_2_pow_30);
        gw_test_add(s, "negative requant multiplier", test_refuses_negative_requant_multiplier);
        gw_test_add(s, "requant shift 0", test_refuses_requant_shift_zero);
        gw_test_add(s, "requant shift 63", test_refuses_requant_shift_63);
        gw_test_add(s, "int8 weight -128", test_refuses_int8_weight_minus_128);
        gw_test_add(s, "LSTM bias outside int16", test_refuses_lstm_bias_outside_int16);
        gw_test_add(s, "LSTM bias at the int16 limits is accepted", test_accepts_lstm_bias_at_int16_limits);
        gw_test_add(s, "conv bias that could overflow the accumulator", test_refuses_conv_bias_that_could_overflow_the_accumulator);

        s = gw_test_suite("model: description");
        gw_test_add(s, "zero channels", test_refuses_zero_channels);
        gw_test_add(s, "129 channels", test_refuses_129_channels);
        gw_test_add(s, "one class", test_refuses_one_class);
        gw_test_add(s, "window not a multiple of 4", test_refuses_window_not_multiple_of_4);
        gw_test_add(s, "window of a billion samples", test_refuses_window_of_a_billion);
        gw_test_add(s, "even kernel", test_refuses_even_kernel);
        gw_test_add(s, "filters and hidden out of range", test_refuses_filters_and_hidden_out_of_range);
        gw_test_add(s, "dimension that is not an integer", test_refuses_dimension_that_is_not_an_integer);
        gw_test_add(s, "other architecture", test_refuses_other_architecture);
        gw_test_add(s, "dims contradicting tensor shapes", test_refuses_dims_that_contradict_tensor_shapes);
        gw_test_add(s, "duplicate class names", test_refuses_duplicate_class_names);
        gw_test_add(s, "class count mismatch", test_refuses_class_count_mismatch);
        gw_test_add(s, "empty and over-long class names", test_refuses_empty_and_long_class_names);
        gw_test_add(s, "duplicate channel names", test_refuses_duplicate_channel_names);
        gw_test_add(s, "channel without a unit", test_refuses_channel_without_unit);
        gw_test_add(s, "channel count mismatch", test_refuses_channel_count_mismatch);
        gw_test_add(s, "hop longer than the window, or 0", test_refuses_hop_longer_than_the_window);
        gw_test_add(s, "sample rate out of range or missing", test_refuses_sample_rate_out_of_range);
        gw_test_add(s, "unknown task", test_refuses_unknown_task);
        gw_test_add(s, "missing or over-long model_id", test_refuses_missing_or_long_model_id);
        gw_test_add(s, "INT8 model without quant.scheme gw-int8-v1", test_refuses_int8_model_without_quant_scheme);
        gw_test_add(s, "FP32 model without quant, unknown keys ignored", test_accepts_fp32_model_without_quant);
        gw_test_add(s, "front-end outputs differing from channels", test_refuses_front_end_outputs_that_differ_from_channels);
        gw_test_add(s, "front-end output count mismatch", test_refuses_front_end_output_count_mismatch);
        gw_test_add(s, "front-end errors name their field", test_refuses_front_end_error_naming_its_field);
        gw_test_add(s, "missing front end", test_refuses_missing_front_end);

        s = gw_test_suite("model: robustness");
        gw_test_add(s, "every truncation of a valid file is refused", test_every_truncation_is_refused);
        gw_test_add(s, "random byte corruption is refused or harmless", test_random_byte_corruption_is_refused_or_harmless);
        gw_test_add(s, "random data corruption with a valid checksum is refused by value or loads",
                    test_random_data_corruption_with_valid_checksum_is_refused_or_loads);

        s = gw_test_suite("model: files");
        gw_test_add(s, "a missing file is ENOENT naming the path", test_load_file_names_a_missing_file);
        gw_test_add(s, "a directory is refused", test_load_file_refuses_a_directory);
        gw_test_add(s, "errors name the path and the field", test_load_file_prefixes_the_path_to_the_field);

        s = gw_test_suite("model: CRC-32");
        gw_test_add(s, "matches the standard check values", test_crc32_matches_the_standard_check_values);
        gw_test_add(s, "continues across buffers like zlib", test_crc32_continues_across_buffers_like_zlib);

        s = gw_test_suite("model: input quantiser");
        gw_test_add(s, "rounds half to even", test_quantize_rounds_half_to_even);
        gw_test_add(s, "clamps to [-127, 127]", test_quantize_clamps_to_plus_minus_127);
        gw_test_add(s, "maps non-finite values to 0", test_quantize_maps_non_finite_to_zero);
        gw_test_add(s, "is time-major over channels", test_quantize_is_time_major_over_channels);
}
