/* SPDX-License-Identifier: MIT */
/* Loading and validating a model container (docs/model-format.md).
 *
 * The file is outside input: every length, offset and value is checked
 * before use, with overflow-safe arithmetic, and the first problem found is
 * reported naming the field.  Tensors are copied into one aligned arena in
 * host byte order, so the engine never touches the (possibly misaligned)
 * file buffer. */

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>

#include "crc32-private.h"
#include "model-desc-private.h"
#include "model-private.h"

#define FORMAT_NAME     "gaitway-model"
#define FORMAT_VERSION  1
#define META_KEY        "__metadata__"
#define ARENA_ALIGN     64
/* Far above any valid model (about 2 MB at the largest dimensions); keeps a
 * wrong path (a disk image, /dev/zero) from being read into memory. */
#define MODEL_MAX_BYTES ((size_t) 64 << 20)

enum dtype { DT_F32, DT_I8, DT_I32 };
enum tset { SET_BASE, SET_FP32, SET_INT8 };
enum dim { D_END, D_C, D_K, D_F, D_KER, D_H, D_4H, D_2H, D_TWO };
enum check {
        CK_NONE,
        CK_FINITE,        /* every F32 value finite */
        CK_POSITIVE,      /* finite and > 0 */
        CK_INT8,          /* in [-127, 127] */
        CK_REQUANT,       /* rows of (multiplier, shift) */
        CK_INT16,         /* within int16 */
        CK_ACC_C,         /* bias + a conv1 sum cannot overflow int32 */
        CK_ACC_F,         /* bias + a conv2 sum cannot overflow int32 */
};

enum {
        T_INPUT_MEAN, T_INPUT_STD,
        T_CONV1_W, T_CONV1_B, T_CONV2_W, T_CONV2_B,
        T_FWD_WIH, T_FWD_WHH, T_FWD_B, T_BWD_WIH, T_BWD_B, T_HEAD_W, T_HEAD_B,
        T_Q_IN_SCALE,
        T_Q_CONV1_W, T_Q_CONV1_B, T_Q_CONV1_RQ, T_Q_CONV2_W, T_Q_CONV2_B, T_Q_CONV2_RQ,
        T_Q_FWD_WIH, T_Q_FWD_RQ_IH, T_Q_FWD_WHH, T_Q_FWD_RQ_HH, T_Q_FWD_B,
        T_Q_BWD_WIH, T_Q_BWD_RQ_IH, T_Q_BWD_B,
        T_Q_HEAD_W, T_Q_HEAD_RQ, T_Q_HEAD_B,
        T_COUNT
};

typedef struct {
        const char *name;
        uint8_t set;
        uint8_t dtype;
        uint8_t check;
        uint8_t dim[3];
} tensor_spec;

static const tensor_spec specs[T_COUNT] = {
        [T_INPUT_MEAN]  = { "input.mean",           SET_BASE, DT_F32, CK_FINITE,   { D_C } },
        [T_INPUT_STD]   = { "input.std",            SET_BASE, DT_F32, CK_POSITIVE, { D_C } },
        [T_CONV1_W]     = { "conv1.weight",         SET_FP32, DT_F32, CK_FINITE,   { D_F, D_C, D_KER } },
        [T_CONV1_B]     = { "conv1.bias",           SET_FP32, DT_F32, CK_FINITE,   { D_F } },
        [T_CONV2_W]     = { "conv2.weight",         SET_FP32, DT_F32, CK_FINITE,   { D_F, D_F, D_KER } },
        [T_CONV2_B]     = { "conv2.bias",           SET_FP32, DT_F32, CK_FINITE,   { D_F } },
        [T_FWD_WIH]     = { "lstm.fwd.weight_ih",   SET_FP32, DT_F32, CK_FINITE,   { D_4H, D_F } },
        [T_FWD_WHH]     = { "lstm.fwd.weight_hh",   SET_FP32, DT_F32, CK_FINITE,   { D_4H, D_H } },
        [T_FWD_B]       = { "lstm.fwd.bias",        SET_FP32, DT_F32, CK_FINITE,   { D_4H } },
        [T_BWD_WIH]     = { "lstm.bwd.weight_ih",   SET_FP32, DT_F32, CK_FINITE,   { D_4H, D_F } },
        [T_BWD_B]       = { "lstm.bwd.bias",        SET_FP32, DT_F32, CK_FINITE,   { D_4H } },
        [T_HEAD_W]      = { "head.weight",          SET_FP32, DT_F32, CK_FINITE,   { D_K, D_2H } },
        [T_HEAD_B]      = { "head.bias",            SET_FP32, DT_F32, CK_FINITE,   { D_K } },
        [T_Q_IN_SCALE]  = { "q.input.scale",        SET_INT8, DT_F32, CK_POSITIVE, { D_C } },
        [T_Q_CONV1_W]   = { "q.conv1.weight",       SET_INT8, DT_I8,  CK_INT8,     { D_F, D_C, D_KER } },
        [T_Q_CONV1_B]   = { "q.conv1.bias",         SET_INT8, DT_I32, CK_ACC_C,    { D_F } },
        [T_Q_CONV1_RQ]  = { "q.conv1.requant",      SET_INT8, DT_I32, CK_REQUANT,  { D_F, D_TWO } },
        [T_Q_CONV2_W]   = { "q.conv2.weight",       SET_INT8, DT_I8,  CK_INT8,     { D_F, D_F, D_KER } },
        [T_Q_CONV2_B]   = { "q.conv2.bias",         SET_INT8, DT_I32, CK_ACC_F,    { D_F } },
        [T_Q_CONV2_RQ]  = { "q.conv2.requant",      SET_INT8, DT_I32, CK_REQUANT,  { D_F, D_TWO } },
        [T_Q_FWD_WIH]   = { "q.lstm.fwd.weight_ih", SET_INT8, DT_I8,  CK_INT8,     { D_4H, D_F } },
        [T_Q_FWD_RQ_IH] = { "q.lstm.fwd.requant_ih",SET_INT8, DT_I32, CK_REQUANT,  { D_4H, D_TWO } },
        [T_Q_FWD_WHH]   = { "q.lstm.fwd.weight_hh", SET_INT8, DT_I8,  CK_INT8,     { D_4H, D_H } },
        [T_Q_FWD_RQ_HH] = { "q.lstm.fwd.requant_hh",SET_INT8, DT_I32, CK_REQUANT,  { D_4H, D_TWO } },
        [T_Q_FWD_B]     = { "q.lstm.fwd.bias",      SET_INT8, DT_I32, CK_INT16,    { D_4H } },
        [T_Q_BWD_WIH]   = { "q.lstm.bwd.weight_ih", SET_INT8, DT_I8,  CK_INT8,     { D_4H, D_F } },
        [T_Q_BWD_RQ_IH] = { "q.lstm.bwd.requant_ih",SET_INT8, DT_I32, CK_REQUANT,  { D_4H, D_TWO } },
        [T_Q_BWD_B]     = { "q.lstm.bwd.bias",      SET_INT8, DT_I32, CK_INT16,    { D_4H } },
        [T_Q_HEAD_W]    = { "q.head.weight",        SET_INT8, DT_I8,  CK_INT8,     { D_K, D_2H } },
        [T_Q_HEAD_RQ]   = { "q.head.requant",       SET_INT8, DT_I32, CK_REQUANT,  { D_K, D_TWO } },
        [T_Q_HEAD_B]    = { "q.head.bias",          SET_INT8, DT_I32, CK_NONE,     { D_K } },
};

static const char *const dtype_name[] = { [DT_F32] = "F32", [DT_I8] = "I8", [DT_I32] = "I32" };
static const size_t dtype_size[] = { [DT_F32] = 4, [DT_I8] = 1, [DT_I32] = 4 };
static const char *const set_name[] = { [SET_BASE] = "base", [SET_FP32] = "FP32", [SET_INT8] = "INT8" };
static const char *const dim_name[] = {
        [D_C] = "channels", [D_K] = "classes", [D_F] = "filters", [D_KER] = "kernel",
        [D_H] = "hidden", [D_4H] = "4*hidden", [D_2H] = "2*hidden", [D_TWO] = "2",
};

typedef struct {
        const uint8_t *data;         /* data section inside the caller's buffer */
        size_t data_len;
        json_t *header;
        const char *desc;            /* the `gaitway` string */
        size_t desc_len;
        uint32_t crc32;              /* from metadata "checksum" */
        bool present[T_COUNT];
        size_t begin[T_COUNT], end[T_COUNT];
        size_t arena_off[T_COUNT];
} loader;

static size_t dim_value(const gw_model_info *info, int d)
{
        switch (d) {
        case D_C:   return (size_t) info->channels;
        case D_K:   return (size_t) info->classes;
        case D_F:   return (size_t) info->filters;
        case D_KER: return (size_t) info->kernel;
        case D_H:   return (size_t) info->hidden;
        case D_4H:  return 4 * (size_t) info->hidden;
        case D_2H:  return 2 * (size_t) info->hidden;
        case D_TWO: return 2;
        default:    return 0;
        }
}

static size_t spec_elems(const tensor_spec *s, const gw_model_info *info)
{
        size_t n = 1;

        for (int i = 0; i < 3 && s->dim[i] != D_END; i++)
                n *= dim_value(info, s->dim[i]);
        return n;
}

static int find_spec(const char *name)
{
        for (int i = 0; i < T_COUNT; i++)
                if (!strcmp(specs[i].name, name))
                        return i;
        return -1;
}

static uint64_t read_le64(const uint8_t *p)
{
        uint64_t v = 0;

        for (int i = 7; i >= 0; i--)
                v = (v << 8) | p[i];
        return v;
}

static int parse_header_json(loader *ld, const uint8_t *buf, size_t len, char *err, size_t errlen)
{
        json_error_t jerr;
        uint64_t n;
        const char *text, *nul;

        if (len < 8)
                return gw_error(err, errlen, EINVAL,
                                "header length: file is %zu bytes, shorter than the 8-byte header length", len);
        n = read_le64(buf);
        if (n > len - 8)
                return gw_error(err, errlen, EINVAL,
                                "header length: %llu bytes, but only %zu bytes follow it",
                                (unsigned long long) n, len - 8);
        if (n % 8 != 0)
                return gw_error(err, errlen, EINVAL, "header length: %llu is not a multiple of 8",
                                (unsigned long long) n);

        text = (const char *) buf + 8;
        nul = memchr(text, '\0', n);
        if (nul)
                return gw_error(err, errlen, EINVAL, "header: NUL byte at offset %zu",
                                (size_t) (nul - text) + 8);
        ld->header = json_loadb(text, n, JSON_REJECT_DUPLICATES, &jerr);
        if (!ld->header)
                return gw_error(err, errlen, EINVAL, "header: not JSON: %s at line %d column %d",
                                jerr.text, jerr.line, jerr.column);
        if (!json_is_object(ld->header))
                return gw_error(err, errlen, EINVAL, "header: not a JSON object");

        ld->data = buf + 8 + n;
        ld->data_len = len - 8 - n;
        return 0;
}

static int meta_string(const json_t *meta, const char *key, const char **ret, char *err, size_t errlen)
{
        const json_t *v = json_object_get(meta, key);

        if (!v)
                return gw_error(err, errlen, EINVAL, "metadata \"%s\": missing", key);
        *ret = json_string_value(v);
        return 0;
}

static int parse_metadata(loader *ld, gw_model_info *info, char *err, size_t errlen)
{
        const json_t *meta = json_object_get(ld->header, META_KEY);
        const char *key, *format = NULL, *version = NULL, *checksum = NULL;
        const json_t *v;
        int r;

        if (!meta)
                return gw_error(err, errlen, EINVAL, "header: \"" META_KEY "\" missing");
        if (!json_is_object(meta))
                return gw_error(err, errlen, EINVAL, "header: \"" META_KEY "\" is not an object");
        json_object_foreach((json_t *) meta, key, v)
                if (!json_is_string(v))
                        return gw_error(err, errlen, EINVAL, "metadata \"%s\": not a string", key);

        if ((r = meta_string(meta, "format", &format, err, errlen)) < 0)
                return r;
        if (strcmp(format, FORMAT_NAME) != 0)
                return gw_error(err, errlen, EINVAL, "metadata \"format\": \"%s\" is not \"" FORMAT_NAME "\"",
                                format);
        if ((r = meta_string(meta, "format_version", &version, err, errlen)) < 0)
                return r;
        if (strcmp(version, "1") != 0)
                return gw_error(err, errlen, ENOTSUP,
                                "metadata \"format_version\": \"%s\" is not supported (this loader reads 1)",
                                version);
        info->format_version = FORMAT_VERSION;

        if ((r = meta_string(meta, "gaitway", &ld->desc, err, errlen)) < 0)
                return r;
        ld->desc_len = json_string_length(json_object_get(meta, "gaitway"));

        if ((r = meta_string(meta, "checksum", &checksum, err, errlen)) < 0)
                return r;
        if (strlen(checksum) != 14 || strncmp(checksum, "crc32:", 6) != 0 ||
            strspn(checksum + 6, "0123456789abcdef") != 8)
                return gw_error(err, errlen, EINVAL,
                                "metadata \"checksum\": \"%s\" is not crc32: and 8 lower-case hex digits",
                                checksum);
        ld->crc32 = (uint32_t) strtoul(checksum + 6, NULL, 16);
        return 0;
}

/* Which tensors the header lists; names alone decide the sets, which the
 * description needs (quant.scheme) before shapes can be checked. */
static int classify_tensors(loader *ld, gw_model_info *info, char *err, size_t errlen)
{
        const char *key;
        const json_t *v;
        int count[3] = { 0, 0, 0 }, total[3] = { 0, 0, 0 };

        json_object_foreach(ld->header, key, v) {
                int i;

                if (!strcmp(key, META_KEY))
                        continue;
                i = find_spec(key);
                if (i < 0)
                        return gw_error(err, errlen, EINVAL, "header: unknown tensor \"%s\"", key);
                ld->present[i] = true;
        }
        for (int i = 0; i < T_COUNT; i++) {
                total[specs[i].set]++;
                count[specs[i].set] += ld->present[i];
        }
        for (int i = 0; i < T_COUNT; i++) {
                int s = specs[i].set;

                if (ld->present[i] || (s != SET_BASE && count[s] == 0))
                        continue;
                if (s == SET_BASE)
                        return gw_error(err, errlen, EINVAL, "header: tensor \"%s\" missing", specs[i].name);
                return gw_error(err, errlen, EINVAL,
                                "header: tensor \"%s\" missing (%s set has %d of %d tensors; all or none)",
                                specs[i].name, set_name[s], count[s], total[s]);
        }
        if (count[SET_FP32] == 0 && count[SET_INT8] == 0)
                return gw_error(err, errlen, EINVAL, "header: neither the FP32 nor the INT8 tensor set");
        info->has_fp32 = count[SET_FP32] > 0;
        info->has_int8 = count[SET_INT8] > 0;
        return 0;
}

static void format_shape_expected(const tensor_spec *s, const gw_model_info *info, char *buf, size_t len)
{
        size_t o = 0;

        o += (size_t) snprintf(buf + o, len - o, "[");
        for (int i = 0; i < 3 && s->dim[i] != D_END && o < len; i++)
                o += (size_t) snprintf(buf + o, len - o, "%s%zu", i ? ", " : "", dim_value(info, s->dim[i]));
        if (o < len)
                o += (size_t) snprintf(buf + o, len - o, "] (");
        for (int i = 0; i < 3 && s->dim[i] != D_END && o < len; i++)
                o += (size_t) snprintf(buf + o, len - o, "%s%s", i ? ", " : "", dim_name[s->dim[i]]);
        if (o < len)
                snprintf(buf + o, len - o, ")");
}

static void format_shape_json(const json_t *shape, char *buf, size_t len)
{
        size_t o = 0;

        o += (size_t) snprintf(buf + o, len - o, "[");
        for (size_t i = 0; i < json_array_size(shape) && o < len; i++)
                o += (size_t) snprintf(buf + o, len - o, "%s%lld", i ? ", " : "",
                                       (long long) json_integer_value(json_array_get(shape, i)));
        if (o < len)
                snprintf(buf + o, len - o, "]");
}

static int check_shape(const json_t *shape, const tensor_spec *s, const gw_model_info *info,
                       char *err, size_t errlen)
{
        char got[96], want[128];
        size_t rank = 0;
        bool match;

        if (!json_is_array(shape))
                return gw_error(err, errlen, EINVAL, "tensor \"%s\": shape is not an array", s->name);
        for (size_t i = 0; i < json_array_size(shape); i++)
                if (!json_is_integer(json_array_get(shape, i)))
                        return gw_error(err, errlen, EINVAL, "tensor \"%s\": shape[%zu] is not an integer",
                                        s->name, i);
        while (rank < 3 && s->dim[rank] != D_END)
                rank++;
        match = json_array_size(shape) == rank;
        for (size_t i = 0; match && i < rank; i++) {
                json_int_t d = json_integer_value(json_array_get(shape, i));
                match = d >= 0 && (unsigned long long) d == dim_value(info, s->dim[i]);
        }
        if (match)
                return 0;
        format_shape_json(shape, got, sizeof got);
        format_shape_expected(s, info, want, sizeof want);
        return gw_error(err, errlen, EINVAL, "tensor \"%s\": shape %s, expected %s", s->name, got, want);
}

static int check_offsets(loader *ld, int t, const json_t *off, const gw_model_info *info,
                         char *err, size_t errlen)
{
        const tensor_spec *s = &specs[t];
        json_int_t b, e;
        size_t need;

        if (!json_is_array(off) || json_array_size(off) != 2 ||
            !json_is_integer(json_array_get(off, 0)) || !json_is_integer(json_array_get(off, 1)))
                return gw_error(err, errlen, EINVAL, "tensor \"%s\": data_offsets is not [begin, end]", s->name);
        b = json_integer_value(json_array_get(off, 0));
        e = json_integer_value(json_array_get(off, 1));
        if (b < 0 || e < 0)
                return gw_error(err, errlen, EINVAL, "tensor \"%s\": data_offsets [%lld, %lld] negative",
                                s->name, (long long) b, (long long) e);
        if (b > e)
                return gw_error(err, errlen, EINVAL, "tensor \"%s\": data_offsets [%lld, %lld] reversed",
                                s->name, (long long) b, (long long) e);
        if ((unsigned long long) e > ld->data_len)
                return gw_error(err, errlen, EINVAL,
                                "tensor \"%s\": data_offsets [%lld, %lld] beyond the %zu-byte data section",
                                s->name, (long long) b, (long long) e, ld->data_len);
        /* Bounded by the data section, so no overflow below. */
        ld->begin[t] = (size_t) b;
        ld->end[t] = (size_t) e;
        need = spec_elems(s, info) * dtype_size[s->dtype];
        if (ld->end[t] - ld->begin[t] != need)
                return gw_error(err, errlen, EINVAL,
                                "tensor \"%s\": data_offsets [%zu, %zu] hold %zu bytes, shape and %s need %zu",
                                s->name, ld->begin[t], ld->end[t], ld->end[t] - ld->begin[t],
                                dtype_name[s->dtype], need);
        return 0;
}

static int check_entry(loader *ld, int t, const json_t *entry, const gw_model_info *info,
                       char *err, size_t errlen)
{
        const tensor_spec *s = &specs[t];
        const json_t *dtype, *v;
        const char *key;
        int r;

        if (!json_is_object(entry))
                return gw_error(err, errlen, EINVAL, "tensor \"%s\": header entry is not an object", s->name);
        json_object_foreach((json_t *) entry, key, v)
                if (strcmp(key, "dtype") && strcmp(key, "shape") && strcmp(key, "data_offsets"))
                        return gw_error(err, errlen, EINVAL, "tensor \"%s\": unknown key \"%s\"", s->name, key);

        dtype = json_object_get(entry, "dtype");
        if (!json_is_string(dtype))
                return gw_error(err, errlen, EINVAL, "tensor \"%s\": dtype missing or not a string", s->name);
        if (strcmp(json_string_value(dtype), "F32") && strcmp(json_string_value(dtype), "I8") &&
            strcmp(json_string_value(dtype), "I32"))
                return gw_error(err, errlen, EINVAL, "tensor \"%s\": dtype \"%s\" not allowed (F32, I8, I32)",
                                s->name, json_string_value(dtype));
        if (strcmp(json_string_value(dtype), dtype_name[s->dtype]) != 0)
                return gw_error(err, errlen, EINVAL, "tensor \"%s\": dtype %s, expected %s",
                                s->name, json_string_value(dtype), dtype_name[s->dtype]);

        if (!json_object_get(entry, "shape"))
                return gw_error(err, errlen, EINVAL, "tensor \"%s\": shape missing", s->name);
        if ((r = check_shape(json_object_get(entry, "shape"), s, info, err, errlen)) < 0)
                return r;
        if (!json_object_get(entry, "data_offsets"))
                return gw_error(err, errlen, EINVAL, "tensor \"%s\": data_offsets missing", s->name);
        return check_offsets(ld, t, json_object_get(entry, "data_offsets"), info, err, errlen);
}

static int check_entries(loader *ld, const gw_model_info *info, char *err, size_t errlen)
{
        const char *key;
        const json_t *v;
        int r;

        /* Header order, which is file order for our writer: a file cut short
         * is reported at the first tensor it cuts. */
        json_object_foreach(ld->header, key, v) {
                if (!strcmp(key, META_KEY))
                        continue;
                if ((r = check_entry(ld, find_spec(key), v, info, err, errlen)) < 0)
                        return r;
        }
        return 0;
}

/* Tensors must tile the data section exactly: sorted by offset, each begins
 * where the previous one ends. */
static int check_layout(const loader *ld, char *err, size_t errlen)
{
        int order[T_COUNT], n = 0;
        size_t pos = 0;

        for (int t = 0; t < T_COUNT; t++) {
                int j;

                if (!ld->present[t])
                        continue;
                for (j = n; j > 0; j--) {
                        int p = order[j - 1];
                        if (ld->begin[p] < ld->begin[t] ||
                            (ld->begin[p] == ld->begin[t] && ld->end[p] <= ld->end[t]))
                                break;
                        order[j] = p;
                }
                order[j] = t;
                n++;
        }
        for (int i = 0; i < n; i++) {
                int t = order[i];

                if (ld->begin[t] < pos)
                        return gw_error(err, errlen, EINVAL, "header: data_offsets of \"%s\" overlap \"%s\"",
                                        specs[t].name, specs[order[i - 1]].name);
                if (ld->begin[t] > pos) {
                        if (i == 0)
                                return gw_error(err, errlen, EINVAL,
                                                "header: hole of %zu bytes before \"%s\" at the start of the data section",
                                                ld->begin[t], specs[t].name);
                        return gw_error(err, errlen, EINVAL, "header: hole of %zu bytes between \"%s\" and \"%s\"",
                                        ld->begin[t] - pos, specs[order[i - 1]].name, specs[t].name);
                }
                pos = ld->end[t];
        }
        if (pos != ld->data_len)
                return gw_error(err, errlen, EINVAL,
                                "header: %zu bytes at the end of the data section belong to no tensor",
                                ld->data_len - pos);
        return 0;
}

static int check_checksum(const loader *ld, gw_model_info *info, char *err, size_t errlen)
{
        uint32_t crc = gw_crc32(0, ld->desc, ld->desc_len);

        crc = gw_crc32(crc, ld->data, ld->data_len);
        if (crc != ld->crc32)
                return gw_error(err, errlen, EBADMSG, "metadata \"checksum\": expected crc32:%08x, file has crc32:%08x",
                                (unsigned) ld->crc32, (unsigned) crc);
        info->crc32 = crc;
        return 0;
}

static void copy_le(void *dst, const uint8_t *src, size_t bytes, size_t elem)
{
#if __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
        if (elem == 4) {
                uint8_t *d = dst;
                for (size_t i = 0; i < bytes; i += 4) {
                        d[i] = src[i + 3];
                        d[i + 1] = src[i + 2];
                        d[i + 2] = src[i + 1];
                        d[i + 3] = src[i];
                }
                return;
        }
#endif
        (void) elem;
        memcpy(dst, src, bytes);
}

static int build_arena(loader *ld, gw_model *m, char *err, size_t errlen)
{
        size_t total = 0;

        for (int t = 0; t < T_COUNT; t++) {
                if (!ld->present[t])
                        continue;
                ld->arena_off[t] = total;
                /* Each tensor is at most the file size (checked), so no overflow. */
                total += (ld->end[t] - ld->begin[t] + ARENA_ALIGN - 1) / ARENA_ALIGN * ARENA_ALIGN;
        }
        m->arena = aligned_alloc(ARENA_ALIGN, total);
        if (!m->arena)
                return gw_error(err, errlen, ENOMEM, "model: cannot allocate %zu bytes for tensors", total);
        m->arena_bytes = total;
        memset(m->arena, 0, total);
        for (int t = 0; t < T_COUNT; t++)
                if (ld->present[t])
                        copy_le((uint8_t *) m->arena + ld->arena_off[t], ld->data + ld->begin[t],
                                ld->end[t] - ld->begin[t], dtype_size[specs[t].dtype]);
        return 0;
}

static int check_f32(const tensor_spec *s, const float *v, size_t n, char *err, size_t errlen)
{
        for (size_t i = 0; i < n; i++) {
                if (!isfinite(v[i]))
                        return gw_error(err, errlen, EINVAL, "tensor \"%s\": %s at index %zu",
                                        s->name, isnan(v[i]) ? "NaN" : "Inf", i);
                if (s->check == CK_POSITIVE && !(v[i] > 0.0f))
                        return gw_error(err, errlen, EINVAL, "tensor \"%s\": %g at channel %zu is not > 0",
                                        s->name, (double) v[i], i);
        }
        return 0;
}

static int check_i8(const tensor_spec *s, const int8_t *v, size_t n, char *err, size_t errlen)
{
        for (size_t i = 0; i < n; i++)
                if (v[i] < -127)
                        return gw_error(err, errlen, EINVAL, "tensor \"%s\": %d at index %zu outside [-127, 127]",
                                        s->name, v[i], i);
        return 0;
}

static int check_i32(const tensor_spec *s, const int32_t *v, size_t n, const gw_model_info *info,
                     char *err, size_t errlen)
{
        int64_t lo, hi;
        const char *why;

        if (s->check == CK_REQUANT) {
                for (size_t r = 0; r < n / 2; r++) {
                        int32_t mul = v[2 * r], shift = v[2 * r + 1];

                        if (mul != 0 && mul < (INT32_C(1) << 30))
                                return gw_error(err, errlen, EINVAL,
                                                "tensor \"%s\": multiplier %ld out of range [2^30, 2^31) at row %zu",
                                                s->name, (long) mul, r);
                        if (shift < 1 || shift > 62)
                                return gw_error(err, errlen, EINVAL,
                                                "tensor \"%s\": shift %ld out of range [1, 62] at row %zu",
                                                s->name, (long) shift, r);
                }
                return 0;
        }
        if (s->check == CK_INT16) {
                lo = INT16_MIN;
                hi = INT16_MAX;
                why = "";
        } else {
                /* |bias| + 127 * 127 * Cin * k must fit in int32. */
                int cin = s->check == CK_ACC_C ? info->channels : info->filters;
                hi = INT32_MAX - (int64_t) 127 * 127 * info->kernel * cin;
                lo = -hi;
                why = " (the int32 accumulator could overflow)";
        }
        for (size_t r = 0; r < n; r++)
                if (v[r] < lo || v[r] > hi)
                        return gw_error(err, errlen, EINVAL, "tensor \"%s\": %ld at row %zu outside [%lld, %lld]%s",
                                        s->name, (long) v[r], r, (long long) lo, (long long) hi, why);
        return 0;
}

static int check_values(const loader *ld, const gw_model *m, char *err, size_t errlen)
{
        for (int t = 0; t < T_COUNT; t++) {
                const tensor_spec *s = &specs[t];
                const void *p = (const uint8_t *) m->arena + ld->arena_off[t];
                size_t n = spec_elems(s, &m->info);
                int r = 0;

                if (!ld->present[t] || s->check == CK_NONE)
                        continue;
                switch (s->dtype) {
                case DT_F32: r = check_f32(s, p, n, err, errlen); break;
                case DT_I8:  r = check_i8(s, p, n, err, errlen); break;
                case DT_I32: r = check_i32(s, p, n, &m->info, err, errlen); break;
                }
                if (r < 0)
                        return r;
        }
        return 0;
}

static const void *tensor(const loader *ld, const gw_model *m, int t)
{
        return ld->present[t] ? (const uint8_t *) m->arena + ld->arena_off[t] : NULL;
}

static void bind_tensors(const loader *ld, gw_model *m)
{
        m->mean = tensor(ld, m, T_INPUT_MEAN);
        m->std = tensor(ld, m, T_INPUT_STD);

        m->f.conv1_w = tensor(ld, m, T_CONV1_W);
        m->f.conv1_b = tensor(ld, m, T_CONV1_B);
        m->f.conv2_w = tensor(ld, m, T_CONV2_W);
        m->f.conv2_b = tensor(ld, m, T_CONV2_B);
        m->f.fwd_wih = tensor(ld, m, T_FWD_WIH);
        m->f.fwd_whh = tensor(ld, m, T_FWD_WHH);
        m->f.fwd_b = tensor(ld, m, T_FWD_B);
        m->f.bwd_wih = tensor(ld, m, T_BWD_WIH);
        m->f.bwd_b = tensor(ld, m, T_BWD_B);
        m->f.head_w = tensor(ld, m, T_HEAD_W);
        m->f.head_b = tensor(ld, m, T_HEAD_B);

        m->q.in_scale = tensor(ld, m, T_Q_IN_SCALE);
        m->q.conv1_w = tensor(ld, m, T_Q_CONV1_W);
        m->q.conv1_b = tensor(ld, m, T_Q_CONV1_B);
        m->q.conv1_rq = tensor(ld, m, T_Q_CONV1_RQ);
        m->q.conv2_w = tensor(ld, m, T_Q_CONV2_W);
        m->q.conv2_b = tensor(ld, m, T_Q_CONV2_B);
        m->q.conv2_rq = tensor(ld, m, T_Q_CONV2_RQ);
        m->q.fwd_wih = tensor(ld, m, T_Q_FWD_WIH);
        m->q.fwd_rq_ih = tensor(ld, m, T_Q_FWD_RQ_IH);
        m->q.fwd_whh = tensor(ld, m, T_Q_FWD_WHH);
        m->q.fwd_rq_hh = tensor(ld, m, T_Q_FWD_RQ_HH);
        m->q.fwd_b = tensor(ld, m, T_Q_FWD_B);
        m->q.bwd_wih = tensor(ld, m, T_Q_BWD_WIH);
        m->q.bwd_rq_ih = tensor(ld, m, T_Q_BWD_RQ_IH);
        m->q.bwd_b = tensor(ld, m, T_Q_BWD_B);
        m->q.head_w = tensor(ld, m, T_Q_HEAD_W);
        m->q.head_rq = tensor(ld, m, T_Q_HEAD_RQ);
        m->q.head_b = tensor(ld, m, T_Q_HEAD_B);
}

/* The per-sample quantiser multiplies by 1 / (std * scale) precomputed here
 * in float32, exactly as docs/int8.md §1 and the Python reference do. */
static int compute_input_mul(gw_model *m, char *err, size_t errlen)
{
        if (!m->info.has_int8)
                return 0;
        for (int c = 0; c < m->info.channels; c++) {
                float denom = m->std[c] * m->q.in_scale[c];
                float mul = 1.0f / denom;

                if (!isfinite(mul) || !(mul > 0.0f))
                        return gw_error(err, errlen, EINVAL,
                                        "tensor \"q.input.scale\": 1 / (std * scale) = %g at channel %d is not finite",
                                        (double) mul, c);
                m->q.in_mul[c] = mul;
        }
        return 0;
}

static void compute_sizes(const loader *ld, gw_model_info *info)
{
        size_t C = (size_t) info->channels, K = (size_t) info->classes, T = (size_t) info->window;
        size_t F = (size_t) info->filters, k = (size_t) info->kernel, H = (size_t) info->hidden;

        /* model.md's formula with the dimensions as parameters; the BiLSTM
         * counts both PyTorch biases and the reverse weight_hh, which the file
         * does not store. */
        info->params = (F * C * k + F) + 2 * F + (F * F * k + F) + 2 * F +
                       2 * (4 * H * F + 4 * H * H + 8 * H) + 2 * H * K + K;
        info->macs = T * F * C * k + (T / 2) * F * F * k + (T / 4) * 2 * 4 * H * (F + H) + 2 * H * K;

        info->weight_bytes_fp32 = info->weight_bytes_int8 = 0;
        for (int t = 0; t < T_COUNT; t++) {
                if (!ld->present[t])
                        continue;
                if (specs[t].set == SET_FP32)
                        info->weight_bytes_fp32 += ld->end[t] - ld->begin[t];
                else if (specs[t].set == SET_INT8)
                        info->weight_bytes_int8 += ld->end[t] - ld->begin[t];
        }
}

int gw_model_load_buffer(const void *buf, size_t len, gw_model **ret, char *err, size_t errlen)
{
        loader ld = { 0 };
        gw_model *m = NULL;
        int r;

        if (!ret || (!buf && len > 0))
                return gw_error(err, errlen, EINVAL, "model: invalid arguments");
        *ret = NULL;
        if (!buf)
                buf = "";

        m = calloc(1, sizeof *m);
        if (!m)
                return gw_error(err, errlen, ENOMEM, "model: out of memory");

        if ((r = parse_header_json(&ld, buf, len, err, errlen)) < 0 ||
            (r = parse_metadata(&ld, &m->info, err, errlen)) < 0 ||
            (r = classify_tensors(&ld, &m->info, err, errlen)) < 0 ||
            (r = gw_model_desc_parse(ld.desc, ld.desc_len, m->info.has_int8, &m->info, err, errlen)) < 0 ||
            (r = check_entries(&ld, &m->info, err, errlen)) < 0 ||
            (r = check_layout(&ld, err, errlen)) < 0 ||
            (r = check_checksum(&ld, &m->info, err, errlen)) < 0 ||
            (r = build_arena(&ld, m, err, errlen)) < 0 ||
            (r = check_values(&ld, m, err, errlen)) < 0)
                goto fail;
        bind_tensors(&ld, m);
        if ((r = compute_input_mul(m, err, errlen)) < 0)
                goto fail;
        compute_sizes(&ld, &m->info);

        json_decref(ld.header);
        *ret = m;
        return 0;

fail:
        json_decref(ld.header);
        gw_model_free(m);
        return r;
}

static int read_file(const char *path, uint8_t **ret, size_t *ret_len, char *err, size_t errlen)
{
        struct stat st;
        uint8_t *buf;
        size_t len, got = 0;
        int fd, r;

        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return gw_error(err, errlen, errno, "%s: %s", path, strerror(errno));
        if (fstat(fd, &st) < 0) {
                r = gw_error(err, errlen, errno, "%s: %s", path, strerror(errno));
                goto out;
        }
        if (!S_ISREG(st.st_mode)) {
                r = gw_error(err, errlen, EINVAL, "%s: not a regular file", path);
                goto out;
        }
        if ((uint64_t) st.st_size > MODEL_MAX_BYTES) {
                r = gw_error(err, errlen, EFBIG, "%s: %lld bytes, larger than any model (%zu)",
                             path, (long long) st.st_size, MODEL_MAX_BYTES);
                goto out;
        }
        len = (size_t) st.st_size;
        buf = malloc(len ? len : 1);
        if (!buf) {
                r = gw_error(err, errlen, ENOMEM, "%s: out of memory", path);
                goto out;
        }
        while (got < len) {
                ssize_t n = read(fd, buf + got, len - got);
                if (n < 0 && errno == EINTR)
                        continue;
                if (n < 0) {
                        r = gw_error(err, errlen, errno, "%s: %s", path, strerror(errno));
                        free(buf);
                        goto out;
                }
                if (n == 0)
                        break;
                got += (size_t) n;
        }
        *ret = buf;
        *ret_len = got;
        r = 0;
out:
        close(fd);
        return r;
}

int gw_model_load_file(const char *path, gw_model **ret, char *err, size_t errlen)
{
        char sub[GW_ERR_MAX];
        uint8_t *buf = NULL;
        size_t len = 0;
        int r;

        if (!path || !ret)
                return gw_error(err, errlen, EINVAL, "model: invalid arguments");
        *ret = NULL;
        if ((r = read_file(path, &buf, &len, err, errlen)) < 0)
                return r;
        r = gw_model_load_buffer(buf, len, ret, sub, sizeof sub);
        free(buf);
        if (r < 0)
                return gw_error(err, errlen, -r, "%s: %s", path, sub);
        return 0;
}

gw_model *gw_model_free(gw_model *m)
{
        if (m) {
                free(m->arena);
                free(m);
        }
        return NULL;
}

const gw_model_info *gw_model_info_get(const gw_model *m)
{
        return m ? &m->info : NULL;
}

int gw_model_class_index(const gw_model *m, const char *name)
{
        if (!m || !name)
                return -1;
        for (int i = 0; i < m->info.classes; i++)
                if (!strcmp(m->info.class_name[i], name))
                        return i;
        return -1;
}

int gw_model_channel_index(const gw_model *m, const char *name)
{
        if (!m || !name)
                return -1;
        for (int i = 0; i < m->info.channels; i++)
                if (!strcmp(m->info.channel[i].name, name))
                        return i;
        return -1;
}
