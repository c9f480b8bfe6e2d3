/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fake-iio.h"

static char root[512];           /* the work dir */
static char tree[512];          /* <workdir>/sys: mounted on /sys/bus */
static char upper[512], work[512];
static int n_devices;

static int fail(char *err, size_t errlen, int e, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static int fail(char *err, size_t errlen, int e, const char *fmt, ...)
{
        va_list ap;
        int k;

        va_start(ap, fmt);
        k = vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
        if (k >= 0 && (size_t) k < errlen)
                snprintf(err + k, errlen - (size_t) k, ": %s", strerror(e));
        return -e;
}

int fake_iio_enter_namespace(void)
{
        if (unshare(CLONE_NEWNS) < 0)
                return errno == EPERM || errno == EACCES || errno == ENOSYS ? 77 : -errno;
        if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
                return errno == EPERM || errno == EACCES ? 77 : -errno;
        return 0;
}

/* libiio overwrites a file's last byte with its value's terminator, so every
 * file ends with a newline. */
static int put(const char *dir, const char *name, const char *value)
{
        char path[1024];
        FILE *f;

        snprintf(path, sizeof path, "%s/%s", dir, name);
        f = fopen(path, "we");
        if (!f)
                return -errno;
        fprintf(f, "%s\n", value);
        return fclose(f) == 0 ? 0 : -errno;
}

static int scan(const char *dir, const char *chan, int index, const char *type)
{
        char name[128], idx[16];
        int r;

        snprintf(name, sizeof name, "scan_elements/in_%s_en", chan);
        if ((r = put(dir, name, "0")) < 0)
                return r;
        snprintf(name, sizeof name, "scan_elements/in_%s_index", chan);
        snprintf(idx, sizeof idx, "%d", index);
        if ((r = put(dir, name, idx)) < 0)
                return r;
        snprintf(name, sizeof name, "scan_elements/in_%s_type", chan);
        return put(dir, name, type);
}

static int build_device(int i, const FakeIioDevice *d)
{
        char dir[768], sub[800], name[128];
        const char *axes = d->axes ? d->axes : "xyz";
        int index = 0, r = 0;

        snprintf(dir, sizeof dir, "%s/iio/devices/iio:device%d", tree, i);
        if (mkdir(dir, 0755) < 0)
                return -errno;
        snprintf(sub, sizeof sub, "%s/scan_elements", dir);
        if (mkdir(sub, 0755) < 0)
                return -errno;
        snprintf(sub, sizeof sub, "%s/buffer", dir);
        if (mkdir(sub, 0755) < 0)
                return -errno;

        r = put(dir, "name", d->name);
        if (!r && d->label)
                r = put(dir, "label", d->label);
        if (!r && d->sampling_frequency)
                r = put(dir, "sampling_frequency", d->sampling_frequency);
        if (!r && d->sampling_frequency_available)
                r = put(dir, "sampling_frequency_available", d->sampling_frequency_available);
        if (!r)
                r = put(dir, "buffer/enable", "0");
        if (!r)
                r = put(dir, "buffer/length", "0");
        if (!r)
                r = put(dir, "buffer/watermark", "1");

        for (int g = 0; g < 2 && !r; g++) {
                const char *type = g ? "anglvel" : "accel";
                if (!(g ? d->gyro : d->accel))
                        continue;
                for (const char *a = "xyz"; *a && !r; a++) {
                        char chan[32];
                        if (!strchr(axes, *a)) {
                                index++;        /* keep indices of the full set */
                                continue;
                        }
                        snprintf(chan, sizeof chan, "%s_%c", type, *a);
                        snprintf(name, sizeof name, "in_%s_raw", chan);
                        r = put(dir, name, "0");
                        if (!r)
                                r = scan(dir, chan, index++, "le:s16/16>>0");
                }
                snprintf(name, sizeof name, "in_%s_scale", type);
                if (!r)
                        r = put(dir, name, g ? d->gyro_scale : d->accel_scale);
                if (!r && !g && d->accel_offset)
                        r = put(dir, "in_accel_offset", d->accel_offset);
                snprintf(name, sizeof name, "in_%s_mount_matrix", type);
                if (!r && d->mount_matrix)
                        r = put(dir, name, d->mount_matrix);
        }
        if (!r && d->timestamp)
                r = scan(dir, "timestamp", 6, "le:s64/64>>0");
        return r;
}

static int make_fifo(int i)
{
        char path[64];

        snprintf(path, sizeof path, "/dev/iio:device%d", i);
        if (mkfifo(path, 0600) < 0 && errno != EEXIST)
                return -errno;
        return 0;
}

int fake_iio_setup(const char *workdir, const FakeIioDevice *devs, int n, char *err, size_t errlen)
{
        char path[768], opts[2048];
        int r;

        if (n < 1 || n > FAKE_IIO_MAX_DEVICES)
                return fail(err, errlen, EINVAL, "fake iio: %d devices", n);
        snprintf(root, sizeof root, "%s", workdir);
        snprintf(tree, sizeof tree, "%s/sys", workdir);
        snprintf(upper, sizeof upper, "%s/dev-upper", workdir);
        snprintf(work, sizeof work, "%s/dev-work", workdir);
        snprintf(path, sizeof path, "%s/iio", tree);
        if (mkdir(tree, 0755) < 0 || mkdir(path, 0755) < 0 || mkdir(upper, 0755) < 0 ||
            mkdir(work, 0755) < 0)
                return fail(err, errlen, errno, "fake iio: mkdir under %s", workdir);
        snprintf(path, sizeof path, "%s/iio/devices", tree);
        if (mkdir(path, 0755) < 0)
                return fail(err, errlen, errno, "fake iio: mkdir %s", path);
        for (int i = 0; i < n; i++)
                if ((r = build_device(i, &devs[i])) < 0)
                        return fail(err, errlen, -r, "fake iio: building iio:device%d", i);
        n_devices = n;

        if (mount(tree, "/sys/bus", NULL, MS_BIND, NULL) < 0)
                return fail(err, errlen, errno, "fake iio: bind %s on /sys/bus", tree);
        snprintf(opts, sizeof opts, "lowerdir=/dev,upperdir=%s,workdir=%s", upper, work);
        if (mount("overlay", "/dev", "overlay", 0, opts) < 0)
                return fail(err, errlen, errno, "fake iio: overlay on /dev");
        for (int i = 0; i < n; i++)
                if ((r = make_fifo(i)) < 0)
                        return fail(err, errlen, -r, "fake iio: mkfifo /dev/iio:device%d", i);
        return 0;
}

static int remove_one(const char *path, const struct stat *st, int flag, struct FTW *f)
{
        return remove(path);
}

void fake_iio_cleanup(void)
{
        if (!root[0])
                return;
        umount2("/dev", MNT_DETACH);
        umount2("/sys/bus", MNT_DETACH);
        nftw(root, remove_one, 16, FTW_DEPTH | FTW_PHYS);
        root[0] = 0;
}

int fake_iio_open_fifo(int i)
{
        char path[64];
        int fd;

        snprintf(path, sizeof path, "/dev/iio:device%d", i);
        fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
        return fd < 0 ? -errno : fd;
}

int fake_iio_read_attr(int i, const char *file, char *buf, size_t len)
{
        char path[1024];
        ssize_t k;
        int fd;

        snprintf(path, sizeof path, "/sys/bus/iio/devices/iio:device%d/%s", i, file);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return -errno;
        k = read(fd, buf, len - 1);
        close(fd);
        if (k < 0)
                return -errno;
        buf[k] = 0;
        buf[strcspn(buf, "\n")] = 0;
        return 0;
}

static int enabled(int i, const char *chan, int *index)
{
        char file[128], v[32];

        snprintf(file, sizeof file, "scan_elements/in_%s_en", chan);
        if (fake_iio_read_attr(i, file, v, sizeof v) < 0 || v[0] != '1')
                return 0;
        snprintf(file, sizeof file, "scan_elements/in_%s_index", chan);
        if (fake_iio_read_attr(i, file, v, sizeof v) < 0)
                return 0;
        *index = atoi(v);
        return 1;
}

int fake_iio_layout(int i, FakeIioLayout *l)
{
        static const char *const chans[7] = {
                "accel_x", "accel_y", "accel_z", "anglvel_x", "anglvel_y", "anglvel_z", "timestamp",
        };
        int order[7], idx[7], n = 0;
        size_t off = 0, largest = 1;

        memset(l, 0, sizeof *l);
        for (int c = 0; c < 3; c++)
                l->off_accel[c] = l->off_gyro[c] = -1;
        l->off_ts = -1;
        for (int c = 0; c < 7; c++)
                if (enabled(i, chans[c], &idx[c]))
                        order[n++] = c;
        /* insertion sort by scan index */
        for (int a = 1; a < n; a++)
                for (int b = a; b > 0 && idx[order[b]] < idx[order[b - 1]]; b--) {
                        int t = order[b];
                        order[b] = order[b - 1];
                        order[b - 1] = t;
                }
        for (int k = 0; k < n; k++) {
                int c = order[k];
                size_t sz = c == 6 ? 8 : 2;
                off = (off + sz - 1) / sz * sz;
                if (c < 3)
                        l->off_accel[c] = (int) off;
                else if (c < 6)
                        l->off_gyro[c - 3] = (int) off;
                else
                        l->off_ts = (int) off;
                off += sz;
                if (sz > largest)
                        largest = sz;
        }
        l->size = (off + largest - 1) / largest * largest;
        return n > 0 ? 0 : -ENODATA;
}

void fake_iio_pack(const FakeIioLayout *l, const int16_t acc[3], const int16_t gyro[3], int64_t ts,
                   uint8_t *out)
{
        memset(out, 0, l->size);
        for (int c = 0; c < 3; c++) {
                if (l->off_accel[c] >= 0)
                        memcpy(out + l->off_accel[c], &acc[c], 2);
                if (l->off_gyro[c] >= 0)
                        memcpy(out + l->off_gyro[c], &gyro[c], 2);
        }
        if (l->off_ts >= 0)
                memcpy(out + l->off_ts, &ts, 8);
}

int fake_iio_vanish(int i)
{
        char from[768], to[768], dev[64];

        snprintf(from, sizeof from, "%s/iio/devices/iio:device%d", tree, i);
        snprintf(to, sizeof to, "%s/iio/gone%d", tree, i);
        if (rename(from, to) < 0)
                return -errno;
        snprintf(dev, sizeof dev, "/dev/iio:device%d", i);
        if (unlink(dev) < 0)
                return -errno;
        return 0;
}

int fake_iio_reappear(int i)
{
        char from[768], to[768];

        snprintf(from, sizeof from, "%s/iio/gone%d", tree, i);
        snprintf(to, sizeof to, "%s/iio/devices/iio:device%d", tree, i);
        if (rename(from, to) < 0)
                return -errno;
        return make_fifo(i);
}
