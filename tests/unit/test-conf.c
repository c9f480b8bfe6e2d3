/* SPDX-License-Identifier: MIT */
/* gaitway.conf parsing (daemon/conf.c): defaults, drop-ins, and errors that
 * name the file, the line, the section and the key. */

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf-value.h"
#include "conf.h"
#include "gw-test.h"

static char tmpdir[64];
static char err[1024];

static const char *trace_path(void)
{
        return gw_test_data("trace/hapt_acc_exp03_user02.txt");
}

/* Parses text as file "test.conf"; returns the result code. */
static int parse(const char *text, Config **ret)
{
        ConfigLoader *l = config_loader_new();
        int r = config_loader_add_string(l, "test.conf", text, NULL, err, sizeof err);
        if (r == 0)
                r = config_loader_finish(l, ret, err, sizeof err);
        config_loader_free(l);
        return r;
}

static int parse_fails(const char *text)
{
        Config *c = NULL;
        err[0] = 0;
        int r = parse(text, &c);
        config_free(c);
        return r;
}

static void write_file(const char *path, const char *text)
{
        FILE *f = fopen(path, "w");
        CU_ASSERT_FATAL(f != NULL);
        fputs(text, f);
        fclose(f);
}

static void make_tmpdir(void)
{
        strcpy(tmpdir, "/tmp/gw-test-conf-XXXXXX");
        CU_ASSERT_FATAL(mkdtemp(tmpdir) != NULL);
}

static void remove_tree(const char *dir)
{
        char cmd[256];
        snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
        CU_ASSERT(system(cmd) == 0);
}

static char *device_text(const char *extra)
{
        static char buf[4096];
        snprintf(buf, sizeof buf,
                 "[gateway]\nactivity_model = /m/a.gwm\nfog_model = /m/f.gwm\n"
                 "[device d1]\nsource = replay\npath = %s\nformat = csv\ntime_column = none\n"
                 "delimiter = space\nsample_rate = 50\ncolumns = acc_x:1:g acc_y:2:g acc_z:3:g\n%s",
                 trace_path(), extra);
        return buf;
}

static void test_defaults(void)
{
        Config *c = NULL;
        CU_ASSERT_EQUAL_FATAL(parse("[gateway]\nid = gw-1\n", &c), 0);
        CU_ASSERT_STRING_EQUAL(c->gateway.id, "gw-1");
        CU_ASSERT_TRUE(c->mqtt.enabled);
        CU_ASSERT_STRING_EQUAL(c->mqtt.host, "localhost");
        CU_ASSERT_EQUAL(c->mqtt.port, 1883);
        CU_ASSERT_STRING_EQUAL(c->mqtt.base_topic, "gaitway");
        CU_ASSERT_EQUAL(c->mqtt.qos, 1);
        CU_ASSERT_EQUAL(c->mqtt.queue_limit, 1000);
        CU_ASSERT_FALSE(c->mqtt.probabilities);
        CU_ASSERT_TRUE(c->mqtt.ha_discovery);
        CU_ASSERT_STRING_EQUAL(c->mqtt.ha_prefix, "homeassistant");
        CU_ASSERT_EQUAL(c->dbus.bus, BUS_SYSTEM);
        CU_ASSERT_EQUAL(c->n_devices, 0);
        config_free(c);
}

static void test_default_model_not_installed_disables_task(void)
{
        Config *c = NULL;
        CU_ASSERT_EQUAL_FATAL(parse("", &c), 0);
        for (int t = 0; t < _MODEL_TASK_MAX; t++) {
                const char *want = t == MODEL_ACTIVITY ? CONF_ACTIVITY_MODEL_DEFAULT : CONF_FOG_MODEL_DEFAULT;
                if (access(want, F_OK) == 0) {
                        CU_ASSERT_STRING_EQUAL(c->gateway.model[t], want);
                } else {
                        CU_ASSERT_PTR_NULL(c->gateway.model[t]);
                        CU_ASSERT_STRING_EQUAL(c->gateway.model_not_installed[t], want);
                }
        }
        config_free(c);
}

static void test_configured_model_kept_even_if_missing(void)
{
        Config *c = NULL;
        CU_ASSERT_EQUAL_FATAL(parse("[gateway]\nfog_model = /nonexistent/fog.gwm\n", &c), 0);
        CU_ASSERT_STRING_EQUAL(c->gateway.model[MODEL_FOG], "/nonexistent/fog.gwm");
        CU_ASSERT_PTR_NULL(c->gateway.model_not_installed[MODEL_FOG]);
        config_free(c);
}

static void test_default_id_is_a_valid_id(void)
{
        Config *c = NULL;
        CU_ASSERT_EQUAL_FATAL(parse("", &c), 0);
        CU_ASSERT_TRUE(conf_id_valid(c->gateway.id));
        config_free(c);
}

static void test_unknown_key_named(void)
{
        CU_ASSERT_EQUAL(parse_fails("[mqtt]\nhost = x\nprot = 1\n"), -EINVAL);
        CU_ASSERT_STRING_EQUAL(err, "test.conf:3: [mqtt] prot: unknown key");
}

static void test_bad_value_named(void)
{
        CU_ASSERT_EQUAL(parse_fails("\n[mqtt]\nport = 70000\n"), -EINVAL);
        CU_ASSERT_STRING_EQUAL(err, "test.conf:3: [mqtt] port: expected an integer in 1..65535, got '70000'");
}

static void test_bad_bool_named(void)
{
        CU_ASSERT_EQUAL(parse_fails("[mqtt]\nprobabilities = maybe\n"), -EINVAL);
        CU_ASSERT_STRING_EQUAL(err, "test.conf:2: [mqtt] probabilities: expected yes or no, got 'maybe'");
}

static void test_unknown_section_named(void)
{
        CU_ASSERT_EQUAL(parse_fails("[gateway]\nid = a\n[mqt]\nhost = b\n"), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "test.conf:4: unknown section"));
}

static void test_key_outside_section(void)
{
        CU_ASSERT_EQUAL(parse_fails("id = a\n"), -EINVAL);
        CU_ASSERT_STRING_EQUAL(err, "test.conf:1: key outside of any section");
}

static void test_syntax_error_names_line(void)
{
        CU_ASSERT_EQUAL(parse_fails("[gateway]\nid = a\nthis line has no equals sign\n"), -EINVAL);
        CU_ASSERT_STRING_EQUAL(err, "test.conf:3: syntax error (expected [section] or key = value)");
}

static void test_long_line_refused(void)
{
        char *text = malloc(6000);
        strcpy(text, "[mqtt]\nhost = ");
        memset(text + strlen(text), 'h', 5000);
        strcpy(text + 14 + 5000, "\n");
        CU_ASSERT_EQUAL(parse_fails(text), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "test.conf:2: [mqtt] host: line longer than 4096 bytes"));
        free(text);
}

static void test_values_may_hold_semicolons(void)
{
        Config *c = NULL;
        CU_ASSERT_EQUAL_FATAL(parse("[mqtt]\nusername = a;b#c\n", &c), 0);
        CU_ASSERT_STRING_EQUAL(c->mqtt.username, "a;b#c");
        config_free(c);
}

static void test_later_assignment_wins(void)
{
        Config *c = NULL;
        CU_ASSERT_EQUAL_FATAL(parse("[mqtt]\nport = 1000\n[mqtt]\nport = 2000\n", &c), 0);
        CU_ASSERT_EQUAL(c->mqtt.port, 2000);
        config_free(c);
}

static void test_topic_with_wildcard_refused(void)
{
        CU_ASSERT_EQUAL(parse_fails("[mqtt]\nbase_topic = a/+/b\n"), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "test.conf:2: [mqtt] base_topic:"));
        CU_ASSERT_EQUAL(parse_fails("[mqtt]\nbase_topic = a/\n"), -EINVAL);
}

static void test_bus_values(void)
{
        Config *c = NULL;
        CU_ASSERT_EQUAL_FATAL(parse("[dbus]\nbus = unix:path=/run/x\n", &c), 0);
        CU_ASSERT_EQUAL(c->dbus.bus, BUS_ADDRESS);
        CU_ASSERT_STRING_EQUAL(c->dbus.address, "unix:path=/run/x");
        config_free(c);
        c = NULL;
        CU_ASSERT_EQUAL_FATAL(parse("[dbus]\nbus = none\n", &c), 0);
        CU_ASSERT_EQUAL(c->dbus.bus, BUS_NONE);
        config_free(c);
        CU_ASSERT_EQUAL(parse_fails("[dbus]\nbus = systen\n"), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "test.conf:2: [dbus] bus: expected system, session, none"));
}

static void test_tls_cert_needs_key(void)
{
        CU_ASSERT_EQUAL(parse_fails("[mqtt]\ntls_cert = /c.pem\n"), -EINVAL);
        CU_ASSERT_STRING_EQUAL(err, "test.conf:2: [mqtt] tls_cert and tls_key: set both or neither");
}

static void test_unreadable_tls_file_named(void)
{
        CU_ASSERT_EQUAL(parse_fails("[mqtt]\ntls_ca = /nonexistent/ca.pem\n"), -ENOENT);
        CU_ASSERT_STRING_EQUAL(err, "test.conf:2: [mqtt] tls_ca: /nonexistent/ca.pem: No such file or directory");
}

static void test_reconnect_bounds_ordered(void)
{
        CU_ASSERT_EQUAL(parse_fails("[mqtt]\nreconnect_min = 10\nreconnect_max = 2\n"), -EINVAL);
        CU_ASSERT_STRING_EQUAL(err, "test.conf:3: [mqtt] reconnect_max: 2 is less than reconnect_min 10");
}

static void test_device_parsed(void)
{
        Config *c = NULL;
        CU_ASSERT_EQUAL_FATAL(parse(device_text("smoothing = majority\nsmoothing_length = 7\n"
                                                "mount_matrix = 0 1 0 -1 0 0 0 0 1\nmodels = activity\n"), &c), 0);
        CU_ASSERT_EQUAL_FATAL(c->n_devices, 1);
        const DeviceConf *d = config_device(c, "d1");
        CU_ASSERT_PTR_NOT_NULL_FATAL(d);
        CU_ASSERT_STRING_EQUAL(d->source->name, "replay");
        CU_ASSERT_EQUAL(d->sample_rate, 50);
        CU_ASSERT_EQUAL(d->activity.mode, GW_SMOOTH_MAJORITY);
        CU_ASSERT_EQUAL(d->activity.length, 7);
        CU_ASSERT_TRUE(d->has_mount);
        CU_ASSERT_EQUAL(d->mount[1][0], -1);
        CU_ASSERT_EQUAL(device_conf_models(d, c), 1u << MODEL_ACTIVITY);
        CU_ASSERT_PTR_NULL(config_device(c, "d2"));
        config_free(c);
}

static void test_device_models_default_to_all(void)
{
        Config *c = NULL;
        CU_ASSERT_EQUAL_FATAL(parse(device_text(""), &c), 0);
        CU_ASSERT_EQUAL(device_conf_models(&c->devices[0], c), (1u << MODEL_ACTIVITY) | (1u << MODEL_FOG));
        config_free(c);
}

static void test_device_unknown_key_named(void)
{
        CU_ASSERT_EQUAL(parse_fails(device_text("smoothin = none\n")), -EINVAL);
        CU_ASSERT_STRING_EQUAL(err, "test.conf:12: [device d1] smoothin: unknown key");
}

/* The live sections as written, then what gaitway replay --device (or a
 * drop-in) adds: the same sections with source = replay. */
static const char live_sections[] =
        "[gateway]\nactivity_model = /m/a.gwm\nfog_model = /m/f.gwm\n"
        "[device shoe]\nsource = ble\naddress = C0:FF:EE:00:00:01\nprofile = gaitway\nsmoothing_length = 3\n"
        "[device wrist]\nsource = iio\nuri = ip:127.0.0.1\ndevice = lsm6dsx\nmount_matrix = no\n";

static int parse_replaced(const char *live, const char *extra, Config **ret)
{
        char replay[2048];
        snprintf(replay, sizeof replay,
                 "[device shoe]\nsource = replay\npath = %s\nformat = csv\ntime_column = none\n"
                 "delimiter = space\nsample_rate = 50\ncolumns = acc_x:1:g acc_y:2:g acc_z:3:g\n%s"
                 "[device wrist]\nsource = replay\npath = %s\nformat = csv\ntime_column = none\n"
                 "delimiter = space\nsample_rate = 50\ncolumns = acc_x:1:g acc_y:2:g acc_z:3:g\n",
                 trace_path(), extra, trace_path());
        ConfigLoader *l = config_loader_new();
        err[0] = 0;
        int r = config_loader_add_string(l, "live.conf", live, NULL, err, sizeof err);
        if (r == 0)
                r = config_loader_add_string(l, "replay.conf", replay, NULL, err, sizeof err);
        if (r == 0)
                r = config_loader_finish(l, ret, err, sizeof err);
        config_loader_free(l);
        return r;
}

static void test_replaced_source_ignores_other_kinds_keys(void)
{
        Config *c = NULL;
        /* Without libiio at build time iio is no known kind. */
        bool iio = source_kind_find("iio") != NULL;
        const char *live = iio ? live_sections : "[gateway]\nactivity_model = /m/a.gwm\nfog_model = /m/f.gwm\n"
                "[device shoe]\nsource = ble\naddress = C0:FF:EE:00:00:01\nprofile = gaitway\n"
                "smoothing_length = 3\n";
        CU_ASSERT_EQUAL_FATAL(parse_replaced(live, "", &c), 0);
        CU_ASSERT_EQUAL_FATAL(c->n_devices, 2);
        CU_ASSERT_STRING_EQUAL(c->devices[0].source->name, "replay");
        CU_ASSERT_STRING_EQUAL(c->devices[1].source->name, "replay");
        /* Common keys of the live section still apply. */
        CU_ASSERT_EQUAL(c->devices[0].activity.length, 3);
        CU_ASSERT_EQUAL_FATAL(c->n_ignored, iio ? 5u : 2u);
        CU_ASSERT_STRING_EQUAL(c->ignored[0], "live.conf:6: [device shoe] address: ignored, a key of the ble "
                               "source (source is replay since replay.conf:2)");
        CU_ASSERT_STRING_EQUAL(c->ignored[1], "live.conf:7: [device shoe] profile: ignored, a key of the ble "
                               "source (source is replay since replay.conf:2)");
        if (iio) {
                CU_ASSERT_STRING_EQUAL(c->ignored[2], "live.conf:11: [device wrist] uri: ignored, a key of the "
                                       "iio source (source is replay since replay.conf:10)");
                CU_ASSERT_STRING_EQUAL(c->ignored[3], "live.conf:12: [device wrist] device: ignored, a key of "
                                       "the iio source (source is replay since replay.conf:10)");
                /* iio's yes/no form, not the common nine numbers. */
                CU_ASSERT_STRING_EQUAL(c->ignored[4], "live.conf:13: [device wrist] mount_matrix: ignored, a "
                                       "key of the iio source (source is replay since replay.conf:10)");
                CU_ASSERT_FALSE(c->devices[1].has_mount);
        }
        config_free(c);
}

static void test_replaced_source_unknown_key_still_named(void)
{
        Config *c = NULL;
        CU_ASSERT_EQUAL(parse_replaced("[device shoe]\nsource = ble\nadress = C0:FF:EE:00:00:01\n", "", &c),
                        -EINVAL);
        config_free(c);
        CU_ASSERT_STRING_EQUAL(err, "live.conf:3: [device shoe] adress: unknown key");
        c = NULL;
        CU_ASSERT_EQUAL(parse_replaced("[device shoe]\nsource = ble\n", "mount_matrix = no\n", &c), -EINVAL);
        config_free(c);
        /* Set after the replacement, a key is the new kind's: another
         * kind taking the value does not excuse it. */
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "replay.conf:9: [device shoe] mount_matrix: expected 9 numbers"));
        c = NULL;
        CU_ASSERT_EQUAL(parse_replaced("[device shoe]\nsource = ble\n", "address = C0:FF:EE:00:00:01\n", &c),
                        -EINVAL);
        config_free(c);
        CU_ASSERT_STRING_EQUAL(err, "replay.conf:9: [device shoe] address: unknown key (a key of the ble source; "
                               "this device's source is replay)");
}

static void test_other_kinds_key_refused_without_replacement(void)
{
        CU_ASSERT_EQUAL(parse_fails(device_text("address = C0:FF:EE:00:00:01\n")), -EINVAL);
        CU_ASSERT_STRING_EQUAL(err, "test.conf:12: [device d1] address: unknown key (a key of the ble source; "
                               "this device's source is replay)");
}

static void test_device_bad_value_named(void)
{
        CU_ASSERT_EQUAL(parse_fails(device_text("\nsmoothing_enter = 1.5\n")), -EINVAL);
        CU_ASSERT_STRING_EQUAL(err, "test.conf:13: [device d1] smoothing_enter: expected a number in 0..1, got '1.5'");
}

static void test_device_source_key_checked(void)
{
        CU_ASSERT_EQUAL(parse_fails(device_text("speed = fast\n")), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "test.conf:12: [device d1] speed: expected realtime, max or a factor"));
}

static void test_device_without_source(void)
{
        CU_ASSERT_EQUAL(parse_fails("[device d1]\npath = /x\n"), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "test.conf:2: [device d1] source: missing"));
}

static void test_device_unknown_source_lists_kinds(void)
{
        CU_ASSERT_EQUAL(parse_fails("[device d1]\nsource = serial\n"), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "test.conf:2: [device d1] source: unknown kind 'serial' (one of: replay"));
}

static void test_device_bad_id(void)
{
        CU_ASSERT_EQUAL(parse_fails("[device a/b]\nsource = replay\n"), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "test.conf:2: device id must be"));
}

static void test_replay_needs_path(void)
{
        CU_ASSERT_EQUAL(parse_fails("[device d1]\nsource = replay\n"), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "[device d1] path: missing"));
}

static void test_csv_keys_need_csv_format(void)
{
        CU_ASSERT_EQUAL(parse_fails("[device d1]\nsource = replay\npath = /t.csv\ntime_column = 2\n"), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "need format = csv"));
}

static void test_csv_columns_validated(void)
{
        CU_ASSERT_EQUAL(parse_fails(device_text("columns = acc_x:0:g\n")), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "[device d1] columns: item 1 (acc_x): column must be 1..1000"));
        CU_ASSERT_EQUAL(parse_fails(device_text("columns = acc_x:1:furlong\n")), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "unknown unit 'furlong'"));
}

static void test_csv_without_time_needs_rate(void)
{
        CU_ASSERT_EQUAL(parse_fails("[device d1]\nsource = replay\npath = /t.csv\nformat = csv\n"
                                    "time_column = none\ncolumns = a:1:g\n"), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "sample_rate: needed with time_column = none"));
}

static void test_mount_matrix_needs_nine(void)
{
        CU_ASSERT_EQUAL(parse_fails(device_text("mount_matrix = 1 0 0\n")), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "[device d1] mount_matrix: expected 9 numbers"));
}

static void test_units_checked(void)
{
        CU_ASSERT_EQUAL(parse_fails(device_text("units = g g parsec\n")), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "[device d1] units: unknown unit 'parsec'"));
}

static void test_fog_thresholds_checked_by_library(void)
{
        CU_ASSERT_EQUAL(parse_fails(device_text("fog_on_threshold = 0.3\nfog_off_threshold = 0.8\n")), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "[device d1] fog."));
}

static void test_library_check_message_not_prefixed_twice(void)
{
        /* gw_fog_config_check names "fog.off_threshold" itself (the key
         * ranges leave the activity checker nothing to refuse). */
        CU_ASSERT_EQUAL(parse_fails(device_text("fog_on_threshold = 0.3\nfog_off_threshold = 0.8\n")), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "] fog.off_threshold: "));
        CU_ASSERT_PTR_NULL(strstr(err, "fog: fog"));
}

static void test_model_task_without_model_refused(void)
{
        CU_ASSERT_EQUAL(parse_fails("[gateway]\nfog_model =\n"
                                    "[device d1]\nsource = replay\npath = /t.csv\nmodels = fog\n"), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "[device d1] models: fog requested but [gateway] fog_model is empty"));
}

static void test_relative_paths_resolve_against_file(void)
{
        Config *c = NULL;
        char path[256];
        make_tmpdir();
        snprintf(path, sizeof path, "%s/main.conf", tmpdir);
        write_file(path, "[gateway]\nactivity_model = models/a.gwm\n");
        CU_ASSERT_EQUAL_FATAL(config_load(path, true, NULL, &c, err, sizeof err), 0);
        snprintf(path, sizeof path, "%s/models/a.gwm", tmpdir);
        CU_ASSERT_STRING_EQUAL(c->gateway.model[MODEL_ACTIVITY], path);
        config_free(c);
        remove_tree(tmpdir);
}

static void test_dropins_sorted_and_override(void)
{
        Config *c = NULL;
        char main_path[256], dir[256], p[300];
        make_tmpdir();
        snprintf(main_path, sizeof main_path, "%s/gaitway.conf", tmpdir);
        snprintf(dir, sizeof dir, "%s/gaitway.conf.d", tmpdir);
        write_file(main_path, "[mqtt]\nport = 1\nhost = main\n");
        CU_ASSERT_FATAL(mkdir(dir, 0755) == 0);
        snprintf(p, sizeof p, "%s/20-b.conf", dir);
        write_file(p, "[mqtt]\nport = 20\n");
        snprintf(p, sizeof p, "%s/10-a.conf", dir);
        write_file(p, "[mqtt]\nport = 10\nqos = 0\n");
        snprintf(p, sizeof p, "%s/30-ignored.conf.bak", dir);
        write_file(p, "[mqtt]\nport = 30\n");
        CU_ASSERT_EQUAL_FATAL(config_load(main_path, true, dir, &c, err, sizeof err), 0);
        CU_ASSERT_EQUAL(c->mqtt.port, 20);
        CU_ASSERT_EQUAL(c->mqtt.qos, 0);
        CU_ASSERT_STRING_EQUAL(c->mqtt.host, "main");
        config_free(c);
        remove_tree(tmpdir);
}

static void test_dropin_error_names_dropin(void)
{
        Config *c = NULL;
        char main_path[256], dir[256], p[300], want[400];
        make_tmpdir();
        snprintf(main_path, sizeof main_path, "%s/gaitway.conf", tmpdir);
        snprintf(dir, sizeof dir, "%s/d", tmpdir);
        write_file(main_path, device_text(""));
        CU_ASSERT_FATAL(mkdir(dir, 0755) == 0);
        snprintf(p, sizeof p, "%s/50-x.conf", dir);
        write_file(p, "# tune the device\n[device d1]\nsmoothing_dwell = 0\n");
        CU_ASSERT_EQUAL(config_load(main_path, true, dir, &c, err, sizeof err), -EINVAL);
        snprintf(want, sizeof want, "%s:3: [device d1] smoothing_dwell: expected an integer in 1..32, got '0'", p);
        CU_ASSERT_STRING_EQUAL(err, want);
        config_free(c);
        remove_tree(tmpdir);
}

static void test_missing_file_required_or_not(void)
{
        Config *c = NULL;
        CU_ASSERT_EQUAL(config_load("/nonexistent/gaitway.conf", false, "/nonexistent/d", &c, err, sizeof err), 0);
        config_free(c);
        c = NULL;
        CU_ASSERT_EQUAL(config_load("/nonexistent/gaitway.conf", true, NULL, &c, err, sizeof err), -ENOENT);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "/nonexistent/gaitway.conf: No such file or directory"));
}

static void test_password_read_from_file(void)
{
        Config *c = NULL;
        char p[256], text[400];
        make_tmpdir();
        snprintf(p, sizeof p, "%s/pw", tmpdir);
        write_file(p, "s3cret;#\n");
        CU_ASSERT_FATAL(chmod(p, 0600) == 0);
        snprintf(text, sizeof text, "[mqtt]\nusername = u\npassword_file = %s\n", p);
        CU_ASSERT_EQUAL_FATAL(parse(text, &c), 0);
        CU_ASSERT_STRING_EQUAL(c->mqtt.password, "s3cret;#");
        config_free(c);
        remove_tree(tmpdir);
}

static void test_missing_password_file_named(void)
{
        CU_ASSERT_EQUAL(parse_fails("[mqtt]\npassword_file = /nonexistent/pw\n"), -ENOENT);
        CU_ASSERT_STRING_EQUAL(err, "test.conf:2: [mqtt] password_file: /nonexistent/pw: No such file or directory");
}

/* ---- credentials, secrets and permissions -------------------------------- */

static void write_mode(const char *path, const char *text, mode_t mode)
{
        write_file(path, text);
        CU_ASSERT_FATAL(chmod(path, mode) == 0);
}

static void test_credentials_directory_expanded(void)
{
        Config *c = NULL;
        char p[256];
        make_tmpdir();
        snprintf(p, sizeof p, "%s/mqtt-password", tmpdir);
        write_mode(p, "from-systemd\n", 0400);
        setenv("CREDENTIALS_DIRECTORY", tmpdir, 1);
        CU_ASSERT_EQUAL(parse("[mqtt]\nusername = u\npassword_file = $CREDENTIALS_DIRECTORY/mqtt-password\n", &c), 0);
        CU_ASSERT_STRING_EQUAL(c ? c->mqtt.password_file : "", p);
        CU_ASSERT_STRING_EQUAL(c && c->mqtt.password ? c->mqtt.password : "", "from-systemd");
        config_free(c);
        c = NULL;
        CU_ASSERT_EQUAL(parse("[mqtt]\nusername = u\npassword_file = %d/mqtt-password\n", &c), 0);
        CU_ASSERT_STRING_EQUAL(c ? c->mqtt.password_file : "", p);
        config_free(c);
        c = NULL;
        CU_ASSERT_EQUAL(parse("[mqtt]\nusername = u\npassword_file = ${CREDENTIALS_DIRECTORY}/mqtt-password\n", &c), 0);
        config_free(c);
        unsetenv("CREDENTIALS_DIRECTORY");
        remove_tree(tmpdir);
}

static void test_unset_credentials_directory_names_key(void)
{
        unsetenv("CREDENTIALS_DIRECTORY");
        CU_ASSERT_EQUAL(parse_fails("[mqtt]\n\ntls_key = $CREDENTIALS_DIRECTORY/key\n"), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "test.conf:3: [mqtt] tls_key: $CREDENTIALS_DIRECTORY/key: "
                                      "$CREDENTIALS_DIRECTORY is not set"));
}

static void test_check_only_lists_unresolved_credentials(void)
{
        Config *c = NULL;
        unsetenv("CREDENTIALS_DIRECTORY");
        ConfigLoader *l = config_loader_new();
        config_loader_set_check(l, true);
        int r = config_loader_add_string(l, "test.conf", "[mqtt]\nusername = u\n"
                                         "password_file = $CREDENTIALS_DIRECTORY/pw\n", NULL, err, sizeof err);
        if (r == 0)
                r = config_loader_finish(l, &c, err, sizeof err);
        config_loader_free(l);
        CU_ASSERT_EQUAL_FATAL(r, 0);
        CU_ASSERT_EQUAL(c->n_unchecked, 1);
        CU_ASSERT_PTR_NOT_NULL(c->n_unchecked ? strstr(c->unchecked[0], "test.conf:3: [mqtt] password_file:") : NULL);
        CU_ASSERT_PTR_NULL(c->mqtt.password);
        config_free(c);
}

static void test_world_readable_password_refused(void)
{
        char p[256], text[400];
        make_tmpdir();
        snprintf(p, sizeof p, "%s/pw", tmpdir);
        write_mode(p, "s3cret\n", 0644);
        snprintf(text, sizeof text, "[mqtt]\nusername = u\npassword_file = %s\n", p);
        CU_ASSERT_EQUAL(parse_fails(text), -EPERM);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "[mqtt] password_file: "));
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "is readable by every user (mode 0644): refused"));
        CU_ASSERT_PTR_NULL(strstr(err, "s3cret"));
        CU_ASSERT_FATAL(chmod(p, 0640) == 0);
        Config *c = NULL;
        CU_ASSERT_EQUAL(parse(text, &c), 0);
        config_free(c);
        remove_tree(tmpdir);
}

static void test_world_readable_tls_key_refused(void)
{
        char cert[256], key[256], text[700];
        make_tmpdir();
        snprintf(cert, sizeof cert, "%s/c.pem", tmpdir);
        snprintf(key, sizeof key, "%s/k.pem", tmpdir);
        write_mode(cert, "cert\n", 0644);
        write_mode(key, "key\n", 0604);
        snprintf(text, sizeof text, "[mqtt]\ntls_cert = %s\ntls_key = %s\n", cert, key);
        CU_ASSERT_EQUAL(parse_fails(text), -EPERM);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "test.conf:3: [mqtt] tls_key: "));
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "(mode 0604)"));
        CU_ASSERT_FATAL(chmod(key, 0600) == 0);
        Config *c = NULL;
        CU_ASSERT_EQUAL(parse(text, &c), 0);
        config_free(c);
        remove_tree(tmpdir);
}

static void test_world_writable_config_refused(void)
{
        char p[256], d[256];
        Config *c = NULL;
        make_tmpdir();
        snprintf(p, sizeof p, "%s/gaitway.conf", tmpdir);
        snprintf(d, sizeof d, "%s/gaitway.conf.d", tmpdir);
        write_mode(p, "[gateway]\nid = x\n", 0666);
        CU_ASSERT_EQUAL(config_load(p, true, NULL, &c, err, sizeof err), -EPERM);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "writable by every user (mode 0666): refused"));
        CU_ASSERT_FATAL(chmod(p, 0664) == 0);
        CU_ASSERT_EQUAL(config_load(p, true, NULL, &c, err, sizeof err), 0);
        config_free(c);
        c = NULL;
        CU_ASSERT_FATAL(mkdir(d, 0777) == 0 && chmod(d, 0777) == 0);
        CU_ASSERT_EQUAL(config_load(p, true, d, &c, err, sizeof err), -EPERM);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "gaitway.conf.d: writable by every user"));
        remove_tree(tmpdir);
}

static void test_device_count_bounded(void)
{
        size_t cap = 8200 * 40, n = 0;
        char *text = malloc(cap);
        CU_ASSERT_FATAL(text != NULL);
        for (int i = 0; i < 8193; i++)
                n += (size_t) snprintf(text + n, cap - n, "[device d%d]\nsource = replay\n", i);
        CU_ASSERT_EQUAL(parse_fails(text), -EINVAL);
        CU_ASSERT_STRING_EQUAL(err, "test.conf:16386: [device d8192]: more than 8192 devices");
        free(text);
}

static void test_device_keys_bounded(void)
{
        size_t cap = 200 * 32, n = 0;
        char *text = malloc(cap);
        CU_ASSERT_FATAL(text != NULL);
        n += (size_t) snprintf(text + n, cap - n, "[device d]\n");
        for (int i = 0; i < 129; i++)
                n += (size_t) snprintf(text + n, cap - n, "k%d = 1\n", i);
        CU_ASSERT_EQUAL(parse_fails(text), -EINVAL);
        CU_ASSERT_STRING_EQUAL(err, "test.conf:130: [device d] k128: more than 128 keys in one device section");
        free(text);
}

static void test_admin_group_values(void)
{
        Config *c = NULL;
        CU_ASSERT_EQUAL_FATAL(parse("", &c), 0);
        CU_ASSERT_STRING_EQUAL(c->dbus.admin_group, "gaitway");
        config_free(c);
        c = NULL;
        CU_ASSERT_EQUAL_FATAL(parse("[dbus]\nadmin_group =\n", &c), 0);
        CU_ASSERT_PTR_NULL(c->dbus.admin_group);
        config_free(c);
        CU_ASSERT_EQUAL(parse_fails("[dbus]\nadmin_group = wheel:x\n"), -EINVAL);
        CU_ASSERT_PTR_NOT_NULL(strstr(err, "test.conf:2: [dbus] admin_group: expected a group name"));
}

static void test_fingerprint_tracks_device_keys(void)
{
        Config *a = NULL, *b = NULL, *c = NULL;
        CU_ASSERT_EQUAL_FATAL(parse(device_text("smoothing = none\n"), &a), 0);
        CU_ASSERT_EQUAL_FATAL(parse(device_text("smoothing = none\n"), &b), 0);
        CU_ASSERT_EQUAL_FATAL(parse(device_text("smoothing = majority\n"), &c), 0);
        CU_ASSERT_STRING_EQUAL(a->devices[0].fingerprint, b->devices[0].fingerprint);
        CU_ASSERT_STRING_NOT_EQUAL(a->devices[0].fingerprint, c->devices[0].fingerprint);
        CU_ASSERT_STRING_EQUAL(a->mqtt_fingerprint, c->mqtt_fingerprint);
        config_free(a);
        config_free(b);
        config_free(c);
}

void gw_test_register(void)
{
        CU_pSuite s = gw_test_suite("configuration");
        gw_test_add(s, "an empty configuration gets the documented defaults", test_defaults);
        gw_test_add(s, "the default gateway id is a valid id", test_default_id_is_a_valid_id);
        gw_test_add(s, "a default model that is not installed turns its task off",
                    test_default_model_not_installed_disables_task);
        gw_test_add(s, "a configured model path is kept even if missing (an error at load)",
                    test_configured_model_kept_even_if_missing);
        gw_test_add(s, "an unknown key is refused naming file, line, section and key", test_unknown_key_named);
        gw_test_add(s, "a value out of range is refused naming file, line and key", test_bad_value_named);
        gw_test_add(s, "a bad boolean is refused naming the key", test_bad_bool_named);
        gw_test_add(s, "an unknown section is refused with its line", test_unknown_section_named);
        gw_test_add(s, "a key outside any section is refused", test_key_outside_section);
        gw_test_add(s, "a line without '=' is a syntax error naming the line", test_syntax_error_names_line);
        gw_test_add(s, "a line longer than 4096 bytes is refused, not split", test_long_line_refused);
        gw_test_add(s, "values may contain ';' and '#'", test_values_may_hold_semicolons);
        gw_test_add(s, "a later assignment overrides an earlier one", test_later_assignment_wins);
        gw_test_add(s, "a base topic with wildcards or empty levels is refused", test_topic_with_wildcard_refused);
        gw_test_add(s, "the bus is system, session, none or an address", test_bus_values);
        gw_test_add(s, "a client certificate needs its key", test_tls_cert_needs_key);
        gw_test_add(s, "reconnect_max may not be below reconnect_min", test_reconnect_bounds_ordered);
        gw_test_add(s, "a TLS file that cannot be read is named with its key", test_unreadable_tls_file_named);
        gw_test_add(s, "password_file is read at load", test_password_read_from_file);
        gw_test_add(s, "a missing password_file names the key and path", test_missing_password_file_named);
        gw_test_add(s, "a library check's message is not prefixed with the key twice",
                    test_library_check_message_not_prefixed_twice);
        gw_test_add(s, "$CREDENTIALS_DIRECTORY/, ${CREDENTIALS_DIRECTORY}/ and %d/ expand from the environment",
                    test_credentials_directory_expanded);
        gw_test_add(s, "a credential path without $CREDENTIALS_DIRECTORY set names the key",
                    test_unset_credentials_directory_names_key);
        gw_test_add(s, "a check-only load lists unresolved credentials instead of failing",
                    test_check_only_lists_unresolved_credentials);
        gw_test_add(s, "a world-readable password file is refused, group-readable is not",
                    test_world_readable_password_refused);
        gw_test_add(s, "a world-readable TLS key is refused naming the key", test_world_readable_tls_key_refused);
        gw_test_add(s, "a world-writable configuration file or drop-in directory is refused",
                    test_world_writable_config_refused);
        gw_test_add(s, "[dbus] admin_group defaults to gaitway, may be empty, must be a group name",
                    test_admin_group_values);
        gw_test_add(s, "more than 8192 device sections are refused at the first one too many",
                    test_device_count_bounded);
        gw_test_add(s, "more than 128 keys in one device section are refused", test_device_keys_bounded);

        s = gw_test_suite("files");
        gw_test_add(s, "relative paths resolve against the file's directory", test_relative_paths_resolve_against_file);
        gw_test_add(s, "drop-ins are read in lexical order after the main file, *.conf only",
                    test_dropins_sorted_and_override);
        gw_test_add(s, "an error in a drop-in names the drop-in and its line", test_dropin_error_names_dropin);
        gw_test_add(s, "a missing main file is fine unless required", test_missing_file_required_or_not);

        s = gw_test_suite("devices");
        gw_test_add(s, "a device section is parsed with its source's keys", test_device_parsed);
        gw_test_add(s, "a device runs every gateway model by default", test_device_models_default_to_all);
        gw_test_add(s, "an unknown device key is refused naming file and line", test_device_unknown_key_named);
        gw_test_add(s, "a source replaced by a later file ignores and lists the keys of other source kinds",
                    test_replaced_source_ignores_other_kinds_keys);
        gw_test_add(s, "an unknown key, or another kind's key set after the source was replaced, is refused naming file and line",
                    test_replaced_source_unknown_key_still_named);
        gw_test_add(s, "a key of another source kind is refused naming that kind while the source is not replaced",
                    test_other_kinds_key_refused_without_replacement);
        gw_test_add(s, "a bad device value is refused naming file and line", test_device_bad_value_named);
        gw_test_add(s, "a source kind's own keys are validated", test_device_source_key_checked);
        gw_test_add(s, "a device needs a source", test_device_without_source);
        gw_test_add(s, "an unknown source kind lists the known kinds", test_device_unknown_source_lists_kinds);
        gw_test_add(s, "a device id with '/' is refused", test_device_bad_id);
        gw_test_add(s, "a replay needs a path", test_replay_needs_path);
        gw_test_add(s, "CSV layout keys need format = csv", test_csv_keys_need_csv_format);
        gw_test_add(s, "CSV columns name a column from 1 and a known unit", test_csv_columns_validated);
        gw_test_add(s, "a CSV without a time column needs sample_rate", test_csv_without_time_needs_rate);
        gw_test_add(s, "a mount matrix has 9 numbers", test_mount_matrix_needs_nine);
        gw_test_add(s, "unit overrides must be units the front end knows", test_units_checked);
        gw_test_add(s, "FoG thresholds are cross-checked by libgaitway", test_fog_thresholds_checked_by_library);
        gw_test_add(s, "a task whose model is disabled cannot be requested", test_model_task_without_model_refused);
        gw_test_add(s, "a device's fingerprint changes with its keys only", test_fingerprint_tracks_device_keys);
}
