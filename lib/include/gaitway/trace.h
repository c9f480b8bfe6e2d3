/* SPDX-License-Identifier: MIT */
#pragma once

/* CSV traces: the gaitway trace format (docs/trace-format.md) and foreign CSV
 * recordings described by options.  Parsing is line by line with every error
 * naming the file and line; the line parser works on memory so it can be
 * fuzzed.  The reader allocates at open and never after, but for a read
 * buffer opened smaller than 8 KiB (gw_trace_options.buffer_size), which
 * grows once, to 8 KiB, at the first line that does not fit. */

#include <stdio.h>
#include "gaitway/model.h"

#ifdef __cplusplus
extern "C" {
#endif

#define GW_TRACE_MAX_CHANNELS GW_MAX_INPUTS
#define GW_TRACE_MAX_LINE     4096

typedef enum {
        GW_BAD_ROW_FATAL = 0,     /* the first bad row stops the trace with an error */
        GW_BAD_ROW_SKIP,          /* bad rows are reported (counted, first ones kept) and skipped */
} gw_bad_row_policy;

/* How to read a foreign CSV file.  Columns are 0-based, as in error
 * messages.  A zeroed layout plus n_channels, column[] and channel[] is a
 * comma/semicolon/tab/space file with the time in seconds in column 0. */
typedef struct {
        char delimiter;               /* 0 = auto-detect from the first data line:
                                       * tab, else ';', else ',', else blanks */
        int skip_rows;                /* lines to skip before data (headers) */
        int time_column;              /* -1: no time column, timestamps from rate_hz */
        double time_unit_s;           /* seconds per time unit (1, 1e-3, 1e-6, 1e-9); 0 = 1 */
        double rate_hz;               /* nominal rate; required without a time column;
                                       * 0 with a time column: estimated at open from
                                       * the steps of the first rows (docs/trace-format.md) */
        int n_channels;
        int column[GW_TRACE_MAX_CHANNELS];            /* source column of each channel */
        gw_channel_desc channel[GW_TRACE_MAX_CHANNELS]; /* name and unit of each channel */
        double scale[GW_TRACE_MAX_CHANNELS];          /* multiply after parsing (0 = 1) */
} gw_csv_layout;

typedef struct {
        gw_bad_row_policy bad_rows;
        /* Foreign files: NULL layout = the gaitway trace format. */
        const gw_csv_layout *layout;
        /* Optional second foreign file (e.g. gyroscope) merged by timestamp
         * with linear interpolation onto the first file's timestamps. */
        const char *second_path;
        const gw_csv_layout *second_layout;
        /* Read buffer per file in bytes: 0 = 8 KiB, at least 256.  A paced
         * replay of thousands of files at once, reading a few rows per
         * wake-up, saves memory with 1 KiB; a line longer than the buffer
         * grows it to 8 KiB (lines are cut at GW_TRACE_MAX_LINE as with the
         * default). */
        size_t buffer_size;
} gw_trace_options;

typedef struct gw_trace_reader gw_trace_reader;

typedef struct {
        uint64_t rows;            /* data rows delivered */
        uint64_t bad_rows;        /* rows skipped under GW_BAD_ROW_SKIP (both files) */
        uint64_t first_bad_line;  /* line number of the first bad row, 0 if none;
                                   * gw_trace_first_error() names its file */
        uint64_t merge_dropped;   /* first-file rows outside the second file's time span */
        uint64_t second_unordered;/* second-file rows whose time did not increase: ignored */
} gw_trace_stats;

int gw_trace_open(const char *path, const gw_trace_options *opt, gw_trace_reader **ret,
                  char *err, size_t errlen);
gw_trace_reader *gw_trace_close(gw_trace_reader *r);

/* Reads the next sample.  Returns 1 with *t_ns and values (n_channels floats)
 * filled, 0 at end of file, or a negative errno with err naming file, line
 * and column (bad row under GW_BAD_ROW_FATAL, I/O error).  Under
 * GW_BAD_ROW_SKIP a bad row is counted, its message is kept in
 * gw_trace_last_error(), and reading continues. */
int gw_trace_read(gw_trace_reader *r, int64_t *t_ns, float *values, char *err, size_t errlen);

/* Back to the first sample (looped replay); clears a fatal error.
 * Statistics and the first error accumulate over passes.  Fails with
 * -ESPIPE on a pipe. */
int gw_trace_rewind(gw_trace_reader *r, char *err, size_t errlen);

int gw_trace_channels(const gw_trace_reader *r, const gw_channel_desc **ret);
double gw_trace_rate(const gw_trace_reader *r);
const char *gw_trace_meta(const gw_trace_reader *r, const char *key);   /* "# key: value" lines */
/* Frees the header's metadata lines: gw_trace_meta() finds none afterwards.
 * A gateway replaying thousands of traces has read what it needs of them
 * once open (about 1 KB per trace). */
void gw_trace_drop_meta(gw_trace_reader *r);
/* A hint, changes nothing: asks the processor for the memory the next
 * gw_trace_read() touches (a gateway reading thousands of traces one row
 * each in turn calls it a reader ahead). */
void gw_trace_prefetch(const gw_trace_reader *r);
const gw_trace_stats *gw_trace_stats_get(const gw_trace_reader *r);
/* Message of the most recent error, and of the first bad row ("" when
 * none). */
const char *gw_trace_last_error(const gw_trace_reader *r);
const char *gw_trace_first_error(const gw_trace_reader *r);

/* Writer of the gaitway trace format.  Rows go through a buffer of its own
 * (allocated at open) to a file descriptor: a row is either accepted whole
 * or refused, so a full disk never leaves half a row behind what follows. */
typedef struct gw_trace_writer gw_trace_writer;

/* Creates (truncates) path and writes the preamble and header row into the
 * buffer.  Names and units must be non-empty, at most GW_NAME_MAX - 1 bytes
 * and free of ',', '[', ']', blanks and control characters; meta keys are
 * [A-Za-z0-9_.-]+ other than rate_hz, values one line. */
int gw_trace_writer_open(const char *path, int n, const gw_channel_desc *ch, double rate_hz,
                         const char *const *meta_kv /* key, value, ..., NULL */,
                         gw_trace_writer **ret, char *err, size_t errlen);
/* Returns the bytes of the row (accepted into the buffer), -EINVAL for a
 * non-finite value, or the negative errno of a failed flush (-ENOSPC, -EIO):
 * then the row is refused, the buffered rows are kept, and the caller may go
 * on writing (the flush is retried on the next call). */
int gw_trace_write(gw_trace_writer *w, int64_t t_ns, const float *values);
int gw_trace_writer_flush(gw_trace_writer *w);   /* 0 or -errno */
/* Flushes, closes and frees (always); returns 0 or the first -errno. */
int gw_trace_writer_close(gw_trace_writer *w);

#ifdef __cplusplus
}
#endif
