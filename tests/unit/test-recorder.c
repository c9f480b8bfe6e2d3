/* SPDX-License-Identifier: MIT */
/* Recording of live streams (daemon/recorder.c): the files read back as
 * gaitway traces, rotate by size, are named per device in a directory, and a
 * full disk stops the recording without stopping anyone else. */

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gw-test.h"
#include "gaitway/trace.h"
#include "log.h"
#include "recorder.h"

static char dir[] = "/tmp/gw-recorder-XXXXXX";
static char err[GW_ERR_MAX];

static gw_source_desc desc(void)
{
        gw_source_desc d = { .n = 3, .rate_hz = 100 };
        strcpy(d.ch[0].name, "acc_x");
        strcpy(d.ch[0].unit, "g");
        strcpy(d.ch[1].name, "acc_y");
        strcpy(d.ch[1].unit, "g");
        strcpy(d.ch[2].name, "gyro_z");
        strcpy(d.ch[2].unit, "deg/s");
        return d;
}

static void feed(Recorder *r, int from, int n)
{
        for (int i = from; i < from + n; i++) {
                int64_t t = INT64_C(1000000000) + (int64_t) i * 10000000;
                float v[3] = { (float) i * 0.5f, -1.25f, (float) i / 3.0f };
                recorder_samples(r, 1, &t, v);
        }
}

static RecorderConf conf(const char *key, const char *value, const char *key2, const char *value2)
{
        RecorderConf c = { 0 };
        CU_ASSERT_EQUAL(recorder_conf_key(&c, key, value, NULL, err, sizeof err), 1);
        if (key2)
                CU_ASSERT_EQUAL(recorder_conf_key(&c, key2, value2, NULL, err, sizeof err), 1);
        return c;
}

static int count_rows(const char *path, int *first)
{
        gw_trace_reader *tr;
        gw_trace_options opt = { 0 };
        int64_t t;
        float v[GW_TRACE_MAX_CHANNELS];
        int n = 0, r;

        if (gw_trace_open(path, &opt, &tr, err, sizeof err) < 0)
                return -1;
        while ((r = gw_trace_read(tr, &t, v, err, sizeof err)) == 1) {
                if (n == 0 && first)
                        *first = (int) (v[0] * 2);
                n++;
        }
        gw_trace_close(tr);
        return r < 0 ? -1 : n;
}

static void test_a_recording_reads_back_as_the_same_samples(void)
{
        char path[256];
        RecorderConf c;
        Recorder *r = NULL;
        gw_source_desc d = desc();
        gw_trace_reader *tr;
        gw_trace_options opt = { 0 };
        const gw_channel_desc *ch;
        int64_t t;
        float v[3];

        snprintf(path, sizeof path, "%s/one.csv", dir);
        c = conf("record", path, NULL, NULL);
        CU_ASSERT_EQUAL_FATAL(recorder_new(&c, NULL, "wrist", "ble:C0:FF:EE:00:00:01/gaitway", &d, &r,
                                           err, sizeof err), 0);
        feed(r, 0, 250);
        CU_ASSERT_EQUAL(recorder_rows(r), 250);
        recorder_free(r);
        recorder_conf_done(&c);

        CU_ASSERT_EQUAL_FATAL(gw_trace_open(path, &opt, &tr, err, sizeof err), 0);
        CU_ASSERT_EQUAL(gw_trace_channels(tr, &ch), 3);
        CU_ASSERT_STRING_EQUAL(ch[2].name, "gyro_z");
        CU_ASSERT_STRING_EQUAL(ch[2].unit, "deg/s");
        CU_ASSERT_DOUBLE_EQUAL(gw_trace_rate(tr), 100, 1e-12);
        CU_ASSERT_STRING_EQUAL(gw_trace_meta(tr, "device"), "wrist");
        CU_ASSERT_STRING_EQUAL(gw_trace_meta(tr, "source"), "ble:C0:FF:EE:00:00:01/gaitway");
        for (int i = 0; i < 250; i++) {
                CU_ASSERT_EQUAL_FATAL(gw_trace_read(tr, &t, v, err, sizeof err), 1);
                CU_ASSERT_EQUAL(t, INT64_C(1000000000) + (int64_t) i * 10000000);
                CU_ASSERT_EQUAL(v[0], (float) i * 0.5f);
                CU_ASSERT_EQUAL(v[2], (float) i / 3.0f);
        }
        CU_ASSERT_EQUAL(gw_trace_read(tr, &t, v, err, sizeof err), 0);
        gw_trace_close(tr);
}

static void test_files_rotate_by_size_with_numbered_names(void)
{
        char path[256], p1[256];
        RecorderConf c;
        Recorder *r = NULL;
        gw_source_desc d = desc();
        int first = -1, n0, total;
        unsigned files;

        snprintf(path, sizeof path, "%s/rot.csv", dir);
        c = conf("record", path, "record_max_size", "4k");
        CU_ASSERT_EQUAL_FATAL(recorder_new(&c, NULL, "wrist", "test", &d, &r, err, sizeof err), 0);
        feed(r, 0, 1000);       /* 20 to 40 bytes a row: five to ten files */
        files = recorder_files(r);
        CU_ASSERT(files >= 5);
        recorder_free(r);
        recorder_conf_done(&c);
        n0 = count_rows(path, NULL);
        snprintf(p1, sizeof p1, "%s/rot-1.csv", dir);
        CU_ASSERT(count_rows(p1, &first) > 0);
        CU_ASSERT_EQUAL(first, n0);     /* the next file starts where the last stopped */
        total = n0;
        for (unsigned k = 1; k < files; k++) {
                int n;
                snprintf(p1, sizeof p1, "%s/rot-%u.csv", dir, k);
                n = count_rows(p1, NULL);
                CU_ASSERT(n > 0);
                total += n;
        }
        CU_ASSERT_EQUAL(total, 1000);
}

static void test_a_directory_gets_one_file_per_device_and_start(void)
{
        char sub[256];
        RecorderConf c;
        Recorder *a = NULL, *b = NULL;
        gw_source_desc d = desc();
        DIR *dd;
        struct dirent *e;
        int wrist = 0, ankle = 0;

        snprintf(sub, sizeof sub, "%s/dir", dir);
        CU_ASSERT_EQUAL_FATAL(mkdir(sub, 0755), 0);
        c = conf("record", sub, NULL, NULL);
        CU_ASSERT_EQUAL_FATAL(recorder_new(&c, NULL, "wrist", "test", &d, &a, err, sizeof err), 0);
        CU_ASSERT_EQUAL_FATAL(recorder_new(&c, NULL, "ankle", "test", &d, &b, err, sizeof err), 0);
        feed(a, 0, 10);
        feed(b, 0, 10);
        recorder_free(a);
        recorder_free(b);
        recorder_conf_done(&c);
        dd = opendir(sub);
        CU_ASSERT_PTR_NOT_NULL_FATAL(dd);
        while ((e = readdir(dd))) {
                wrist += !strncmp(e->d_name, "wrist-", 6) && strstr(e->d_name, "Z.csv");
                ankle += !strncmp(e->d_name, "ankle-", 6) && strstr(e->d_name, "Z.csv");
        }
        closedir(dd);
        CU_ASSERT_EQUAL(wrist, 1);
        CU_ASSERT_EQUAL(ankle, 1);
}

static void test_a_full_disk_stops_the_recording_and_nothing_else(void)
{
        RecorderConf c;
        Recorder *r = NULL;
        gw_source_desc d = desc();

        c = conf("record", "/dev/full", NULL, NULL);
        CU_ASSERT_EQUAL_FATAL(recorder_new(&c, NULL, "wrist", "test", &d, &r, err, sizeof err), 0);
        CU_ASSERT(recorder_active(r));
        feed(r, 0, 5000);       /* more than the 64 KiB buffer: the flush meets ENOSPC */
        CU_ASSERT_FALSE(recorder_active(r));
        CU_ASSERT(recorder_rows(r) < 5000);
        feed(r, 5000, 10);      /* later samples are ignored quietly */
        recorder_free(r);
        recorder_conf_done(&c);
}

static void test_bad_recording_keys_are_refused_with_a_reason(void)
{
        RecorderConf c = { 0 };

        CU_ASSERT_EQUAL(recorder_conf_key(&c, "record_max_size", "lots", NULL, err, sizeof err), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "64M"));
        CU_ASSERT_EQUAL(recorder_conf_key(&c, "record_max_size", "100", NULL, err, sizeof err), -EINVAL);
        CU_ASSERT_EQUAL(recorder_conf_key(&c, "record_max_size", "1.5G", NULL, err, sizeof err), 1);
        CU_ASSERT_EQUAL(c.max_bytes, 1610612736LL);
        CU_ASSERT_EQUAL(recorder_conf_key(&c, "record_max_time", "-1", NULL, err, sizeof err), -EINVAL);
        CU_ASSERT_EQUAL(recorder_conf_key(&c, "record", "rec", "/var/lib/gaitway", err, sizeof err), 1);
        CU_ASSERT_STRING_EQUAL(c.path, "/var/lib/gaitway/rec");
        CU_ASSERT_EQUAL(recorder_conf_key(&c, "record", "no", NULL, err, sizeof err), 1);
        CU_ASSERT_PTR_NULL(c.path);
        CU_ASSERT_EQUAL(recorder_conf_key(&c, "address", "x", NULL, err, sizeof err), 0);
        recorder_conf_done(&c);
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
        return remove(path);
}

static void cleanup(void)
{
        nftw(dir, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

void gw_test_register(void)
{
        if (!mkdtemp(dir)) {
                perror("mkdtemp");
                exit(1);
        }
        atexit(cleanup);
        log_set_max_level(LOG_CRIT);
        CU_pSuite s = gw_test_suite("recording of live streams");
        gw_test_add(s, "a recording reads back as the same samples", test_a_recording_reads_back_as_the_same_samples);
        gw_test_add(s, "files rotate by size with numbered names", test_files_rotate_by_size_with_numbered_names);
        gw_test_add(s, "a directory gets one file per device and start", test_a_directory_gets_one_file_per_device_and_start);
        gw_test_add(s, "a full disk stops the recording and nothing else", test_a_full_disk_stops_the_recording_and_nothing_else);
        gw_test_add(s, "bad recording keys are refused with a reason", test_bad_recording_keys_are_refused_with_a_reason);
}
