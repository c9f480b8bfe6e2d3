/* SPDX-License-Identifier: MIT */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "iiod-responder.h"

#define MAX_CLIENTS 16
#define LINE_MAX_LEN 1024
#define N_CHANNELS 7            /* accel x y z, anglvel x y z, timestamp */

typedef struct {
        int fd;
        char line[LINE_MAX_LEN];
        size_t len;
        /* WRITE: bytes of value still to read, then the reply */
        size_t write_left;
        char write_attr[64];
        char write_val[64];
        size_t write_got;
        /* buffer connection */
        bool open;
        uint32_t mask;
        size_t sample_size;
        size_t readbuf;         /* bytes requested and not yet served */
        uint64_t next_sample;   /* index of the next sample this buffer sends */
} Client;

struct IiodResponder {
        IiodResponderOptions o;
        int listen_fd, port;
        int wake[2];
        pthread_t thread;
        pthread_mutex_t lock;
        bool stalled, gone, quit;
        char rate[32];
        char *xml;
        size_t xml_len;
        Client c[MAX_CLIENTS];
        int64_t t0_ns;          /* production time of sample 0 */
        uint64_t sent;
        unsigned opens;
};

static const char *const chan_id[N_CHANNELS] = {
        "accel_x", "accel_y", "accel_z", "anglvel_x", "anglvel_y", "anglvel_z", "timestamp",
};

static int64_t mono_ns(void)
{
        struct timespec ts;
        clock_gettime(CLOCK_MONOTONIC, &ts);
        return (int64_t) ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int16_t iiod_responder_raw(uint64_t i, int channel)
{
        switch (channel) {
        case 0: return (int16_t) ((int) (i % 2000) - 1000);
        case 1: return 1638;
        case 2: return (int16_t) -16384;
        case 3: return (int16_t) ((int) ((i * 7) % 3000) - 1500);
        case 4: return 100;
        default: return -100;
        }
}

static bool chan_present(const IiodResponder *r, int c)
{
        if (c >= 3 && c < 6)
                return r->o.gyro;
        if (c == 6)
                return r->o.timestamp;
        return true;
}

/* libiio validates the context description against its document type. */
static const char dtd[] =
        "<!DOCTYPE context ["
        "<!ELEMENT context (device | context-attribute)*>"
        "<!ELEMENT context-attribute EMPTY>"
        "<!ELEMENT device (channel | attribute | debug-attribute | buffer-attribute)*>"
        "<!ELEMENT channel (scan-element?, attribute*)>"
        "<!ELEMENT attribute EMPTY>"
        "<!ELEMENT scan-element EMPTY>"
        "<!ELEMENT debug-attribute EMPTY>"
        "<!ELEMENT buffer-attribute EMPTY>"
        "<!ATTLIST context name CDATA #REQUIRED version-major CDATA #REQUIRED "
        "version-minor CDATA #REQUIRED version-git CDATA #REQUIRED description CDATA #IMPLIED>"
        "<!ATTLIST context-attribute name CDATA #REQUIRED value CDATA #REQUIRED>"
        "<!ATTLIST device id CDATA #REQUIRED name CDATA #IMPLIED label CDATA #IMPLIED>"
        "<!ATTLIST channel id CDATA #REQUIRED type (input|output) #REQUIRED name CDATA #IMPLIED>"
        "<!ATTLIST scan-element index CDATA #REQUIRED format CDATA #REQUIRED scale CDATA #IMPLIED>"
        "<!ATTLIST attribute name CDATA #REQUIRED filename CDATA #IMPLIED>"
        "<!ATTLIST debug-attribute name CDATA #REQUIRED>"
        "<!ATTLIST buffer-attribute name CDATA #REQUIRED>"
        "]>";

static char *build_xml(const IiodResponder *r, size_t *len)
{
        char *buf = malloc(16384);
        size_t n = 0;

        if (!buf)
                return NULL;
        n += (size_t) snprintf(buf + n, 16384 - n,
                "<?xml version=\"1.0\" encoding=\"utf-8\"?>%s"
                "<context name=\"network\" version-major=\"0\" version-minor=\"24\" "
                "version-git=\"gwtest\" description=\"gaitway iiod responder\" >"
                "<device id=\"iio:device0\" name=\"gw-net-imu\" label=\"net\" >", dtd);
        for (int c = 0; c < N_CHANNELS; c++) {
                bool ts = c == 6, gyro = c >= 3 && c < 6;
                const char *type = gyro ? "anglvel" : "accel";
                if (!chan_present(r, c))
                        continue;
                n += (size_t) snprintf(buf + n, 16384 - n,
                        "<channel id=\"%s\" type=\"input\" >"
                        "<scan-element index=\"%d\" format=\"%s\" />",
                        chan_id[c], c, ts ? "le:S64/64&gt;&gt;0" : "le:S16/16&gt;&gt;0");
                if (!ts)
                        n += (size_t) snprintf(buf + n, 16384 - n,
                                "<attribute name=\"raw\" filename=\"in_%s_raw\" />"
                                "<attribute name=\"scale\" filename=\"in_%s_scale\" />"
                                "<attribute name=\"mount_matrix\" filename=\"in_%s_mount_matrix\" />",
                                chan_id[c], type, type);
                n += (size_t) snprintf(buf + n, 16384 - n, "</channel>");
        }
        n += (size_t) snprintf(buf + n, 16384 - n,
                "<attribute name=\"sampling_frequency\" />"
                "<attribute name=\"sampling_frequency_available\" />"
                "</device></context>");
        *len = n;
        return buf;
}

static void client_close(Client *c)
{
        if (c->fd >= 0)
                close(c->fd);
        memset(c, 0, sizeof *c);
        c->fd = -1;
}

static void send_all(Client *c, const void *buf, size_t len)
{
        const char *p = buf;

        while (len > 0) {
                ssize_t k = send(c->fd, p, len, MSG_NOSIGNAL);
                if (k < 0 && errno == EINTR)
                        continue;
                if (k < 0 && errno == EAGAIN) {
                        struct pollfd pf = { .fd = c->fd, .events = POLLOUT };
                        poll(&pf, 1, 1000);
                        continue;
                }
                if (k <= 0) {
                        client_close(c);
                        return;
                }
                p += k;
                len -= (size_t) k;
        }
}

static void reply_int(Client *c, long v)
{
        char s[32];
        int n = snprintf(s, sizeof s, "%ld\n", v);
        send_all(c, s, (size_t) n);
}

static void reply_value(Client *c, const char *v)
{
        size_t n = strlen(v) + 1;       /* the value travels with its NUL */
        reply_int(c, (long) n);
        if (c->fd >= 0)
                send_all(c, v, n);
        if (c->fd >= 0)
                send_all(c, "\n", 1);
}

static const char *attr_value(IiodResponder *r, const char *chan, const char *attr)
{
        if (!chan) {
                if (!strcmp(attr, "sampling_frequency"))
                        return r->rate;
                if (!strcmp(attr, "sampling_frequency_available"))
                        return r->o.available ? r->o.available : "100";
                return NULL;
        }
        if (!strcmp(attr, "raw"))
                return "0";
        if (!strcmp(attr, "scale"))
                return strncmp(chan, "anglvel", 7) ? IIOD_RESP_ACCEL_SCALE : IIOD_RESP_GYRO_SCALE;
        if (!strcmp(attr, "mount_matrix"))
                return "1, 0, 0; 0, 1, 0; 0, 0, 1";
        return NULL;
}

static size_t sample_size(uint32_t mask)
{
        size_t off = 0, largest = 1;

        for (int c = 0; c < N_CHANNELS; c++) {
                size_t sz = c == 6 ? 8 : 2;
                if (!(mask & (1u << c)))
                        continue;
                off = (off + sz - 1) / sz * sz + sz;
                if (sz > largest)
                        largest = sz;
        }
        return (off + largest - 1) / largest * largest;
}

static void pack(IiodResponder *r, const Client *c, uint64_t i, uint8_t *out)
{
        size_t off = 0;

        memset(out, 0, c->sample_size);
        for (int ch = 0; ch < N_CHANNELS; ch++) {
                size_t sz = ch == 6 ? 8 : 2;
                if (!(c->mask & (1u << ch)))
                        continue;
                off = (off + sz - 1) / sz * sz;
                if (ch == 6) {
                        double rate = atof(r->rate);
                        int64_t t = r->t0_ns + (int64_t) llround((double) i * 1e9 / rate);
                        memcpy(out + off, &t, 8);
                } else {
                        int16_t v = iiod_responder_raw(i, ch);
                        memcpy(out + off, &v, 2);
                }
                off += sz;
        }
}

/* Serves a pending READBUF once the samples it asks for have been produced
 * (real time at the current rate); a stalled device produces nothing. */
static void serve_buffer(IiodResponder *r, Client *c, int64_t now)
{
        uint64_t produced, n;
        uint8_t *data;
        char head[64];
        int k;

        if (!c->readbuf || r->stalled || !c->sample_size)
                return;
        produced = (uint64_t) ((double) (now - r->t0_ns) * atof(r->rate) / 1e9);
        n = c->readbuf / c->sample_size;
        if (c->next_sample < produced - (produced > 4096 ? 4096 : produced))
                c->next_sample = produced - (produced > 4096 ? 4096 : produced);  /* overrun: newest kept */
        if (c->next_sample + n > produced)
                return;
        data = malloc(n * c->sample_size);
        if (!data)
                return;
        for (uint64_t i = 0; i < n; i++)
                pack(r, c, c->next_sample + i, data + i * c->sample_size);
        k = snprintf(head, sizeof head, "%zu\n%08x\n", (size_t) (n * c->sample_size), c->mask);
        send_all(c, head, (size_t) k);
        if (c->fd >= 0)
                send_all(c, data, n * c->sample_size);
        free(data);
        c->next_sample += n;
        c->readbuf = 0;
        r->sent += n;
}

static void command(IiodResponder *r, Client *c, char *line)
{
        char *argv[8];
        int argc = 0;

        for (char *tok = strtok(line, " \t"); tok && argc < 8; tok = strtok(NULL, " \t"))
                argv[argc++] = tok;
        if (argc == 0)
                return;

        if (!strcmp(argv[0], "PRINT")) {
                reply_int(c, (long) r->xml_len);
                if (c->fd >= 0)
                        send_all(c, r->xml, r->xml_len);
                if (c->fd >= 0)
                        send_all(c, "\n", 1);
        } else if (!strcmp(argv[0], "VERSION")) {
                send_all(c, "0.24 gwtest\n", 12);
        } else if (!strcmp(argv[0], "TIMEOUT")) {
                reply_int(c, 0);
        } else if (!strcmp(argv[0], "EXIT")) {
                client_close(c);
        } else if (!strcmp(argv[0], "READ") && argc >= 3) {
                const char *v = NULL;
                if (strcmp(argv[1], "iio:device0"))
                        reply_int(c, -ENODEV);
                else {
                        if (argc == 3)
                                v = attr_value(r, NULL, argv[2]);
                        else if (argc == 5 && !strcmp(argv[2], "INPUT"))
                                v = attr_value(r, argv[3], argv[4]);
                        if (v)
                                reply_value(c, v);
                        else
                                reply_int(c, -ENOENT);
                }
        } else if (!strcmp(argv[0], "WRITE") && argc == 4) {
                c->write_left = (size_t) strtoul(argv[3], NULL, 10);
                c->write_got = 0;
                snprintf(c->write_attr, sizeof c->write_attr, "%s", argv[2]);
                if (c->write_left == 0 || c->write_left >= sizeof c->write_val)
                        reply_int(c, -EINVAL);
        } else if (!strcmp(argv[0], "OPEN") && argc >= 4) {
                c->mask = (uint32_t) strtoul(argv[3], NULL, 16);
                c->sample_size = sample_size(c->mask);
                c->open = true;
                c->next_sample = (uint64_t) ((double) (mono_ns() - r->t0_ns) * atof(r->rate) / 1e9);
                r->opens++;
                reply_int(c, c->sample_size ? 0 : -EINVAL);
        } else if (!strcmp(argv[0], "CLOSE")) {
                c->open = false;
                c->readbuf = 0;
                reply_int(c, 0);
        } else if (!strcmp(argv[0], "READBUF") && argc >= 3) {
                if (!c->open)
                        reply_int(c, -EBADF);
                else
                        c->readbuf = (size_t) strtoul(argv[2], NULL, 10);
        } else if (!strcmp(argv[0], "GETTRIG")) {
                reply_int(c, -ENOENT);
        } else
                reply_int(c, -EINVAL);
}

static void finish_write(IiodResponder *r, Client *c)
{
        c->write_val[c->write_got] = 0;
        if (!strcmp(c->write_attr, "sampling_frequency")) {
                double v = atof(c->write_val);
                if (v > 0) {
                        /* Keep the sample index continuous across the rate change. */
                        int64_t now = mono_ns();
                        double old = atof(r->rate);
                        double done = (double) (now - r->t0_ns) * old / 1e9;
                        snprintf(r->rate, sizeof r->rate, "%g", v);
                        r->t0_ns = now - (int64_t) (done / v * 1e9);
                }
        }
        reply_int(c, (long) c->write_got);
        c->write_left = 0;
}

static void client_input(IiodResponder *r, Client *c)
{
        char buf[4096];
        ssize_t k = recv(c->fd, buf, sizeof buf, 0);

        if (k <= 0) {
                client_close(c);
                return;
        }
        for (ssize_t i = 0; i < k && c->fd >= 0; i++) {
                char ch = buf[i];
                if (c->write_left) {
                        c->write_val[c->write_got++] = ch;
                        if (--c->write_left == 0)
                                finish_write(r, c);
                        continue;
                }
                if (ch == '\r')
                        continue;
                if (ch == '\n') {
                        c->line[c->len] = 0;
                        c->len = 0;
                        command(r, c, c->line);
                        continue;
                }
                if (c->len + 1 < sizeof c->line)
                        c->line[c->len++] = ch;
        }
}

static int listen_on(IiodResponder *r)
{
        struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t) r->port),
                                 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        socklen_t al = sizeof a;
        int one = 1, fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

        if (fd < 0)
                return -errno;
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
        if (bind(fd, (struct sockaddr *) &a, sizeof a) < 0 || listen(fd, 8) < 0 ||
            getsockname(fd, (struct sockaddr *) &a, &al) < 0) {
                int e = errno;
                close(fd);
                return -e;
        }
        r->port = ntohs(a.sin_port);
        r->listen_fd = fd;
        return 0;
}

static void *run(void *userdata)
{
        IiodResponder *r = userdata;

        for (;;) {
                struct pollfd pf[MAX_CLIENTS + 2];
                int who[MAX_CLIENTS + 2];       /* pf index -> client, -1 wake, -2 listen */
                int n = 0, timeout = -1;
                int64_t now;

                pthread_mutex_lock(&r->lock);
                if (r->quit) {
                        pthread_mutex_unlock(&r->lock);
                        break;
                }
                if (r->gone) {
                        for (int i = 0; i < MAX_CLIENTS; i++)
                                if (r->c[i].fd >= 0)
                                        client_close(&r->c[i]);
                        if (r->listen_fd >= 0) {
                                close(r->listen_fd);
                                r->listen_fd = -1;
                        }
                } else if (r->listen_fd < 0)
                        listen_on(r);
                now = mono_ns();
                for (int i = 0; i < MAX_CLIENTS; i++) {
                        Client *c = &r->c[i];
                        if (c->fd < 0)
                                continue;
                        serve_buffer(r, c, now);
                        if (c->fd >= 0 && c->readbuf && !r->stalled)
                                timeout = 2;    /* the next samples are due within a period */
                }
                who[n] = -1;
                pf[n++] = (struct pollfd) { .fd = r->wake[0], .events = POLLIN };
                if (r->listen_fd >= 0) {
                        who[n] = -2;
                        pf[n++] = (struct pollfd) { .fd = r->listen_fd, .events = POLLIN };
                }
                for (int i = 0; i < MAX_CLIENTS; i++)
                        if (r->c[i].fd >= 0) {
                                who[n] = i;
                                pf[n++] = (struct pollfd) { .fd = r->c[i].fd, .events = POLLIN };
                        }
                pthread_mutex_unlock(&r->lock);

                if (poll(pf, (nfds_t) n, timeout) < 0 && errno != EINTR)
                        break;

                pthread_mutex_lock(&r->lock);
                for (int k = 0; k < n; k++) {
                        if (!(pf[k].revents & (POLLIN | POLLHUP | POLLERR)))
                                continue;
                        if (who[k] == -1) {
                                char b[64];
                                while (read(r->wake[0], b, sizeof b) > 0)
                                        ;
                        } else if (who[k] == -2) {
                                if (r->listen_fd != pf[k].fd)
                                        continue;
                                int fd = accept4(r->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
                                int slot = -1;
                                if (fd < 0)
                                        continue;
                                for (int i = 0; i < MAX_CLIENTS && slot < 0; i++)
                                        if (r->c[i].fd < 0)
                                                slot = i;
                                if (slot < 0) {
                                        close(fd);
                                        continue;
                                }
                                client_close(&r->c[slot]);
                                r->c[slot].fd = fd;
                        } else if (r->c[who[k]].fd == pf[k].fd)
                                client_input(r, &r->c[who[k]]);
                }
                pthread_mutex_unlock(&r->lock);
        }
        return NULL;
}

static void wake(IiodResponder *r)
{
        (void) !write(r->wake[1], "x", 1);
}

int iiod_responder_start(const IiodResponderOptions *o, int port, IiodResponder **ret)
{
        IiodResponder *r = calloc(1, sizeof *r);
        int e;

        if (!r)
                return -ENOMEM;
        r->o = *o;
        snprintf(r->rate, sizeof r->rate, "%s", o->rate ? o->rate : "100");
        r->port = port;
        r->listen_fd = -1;
        for (int i = 0; i < MAX_CLIENTS; i++)
                r->c[i].fd = -1;
        r->xml = build_xml(r, &r->xml_len);
        r->t0_ns = mono_ns();
        if (!r->xml || pipe2(r->wake, O_CLOEXEC | O_NONBLOCK) < 0) {
                free(r->xml);
                free(r);
                return -ENOMEM;
        }
        if ((e = listen_on(r)) < 0) {
                free(r->xml);
                free(r);
                return e;
        }
        pthread_mutex_init(&r->lock, NULL);
        if ((e = pthread_create(&r->thread, NULL, run, r)) != 0) {
                close(r->listen_fd);
                free(r->xml);
                free(r);
                return -e;
        }
        *ret = r;
        return 0;
}

int iiod_responder_port(const IiodResponder *r)
{
        return r->port;
}

void iiod_responder_stall(IiodResponder *r, bool stalled)
{
        pthread_mutex_lock(&r->lock);
        r->stalled = stalled;
        pthread_mutex_unlock(&r->lock);
        wake(r);
}

void iiod_responder_vanish(IiodResponder *r, bool gone)
{
        pthread_mutex_lock(&r->lock);
        r->gone = gone;
        pthread_mutex_unlock(&r->lock);
        wake(r);
}

uint64_t iiod_responder_samples_sent(IiodResponder *r)
{
        uint64_t n;
        pthread_mutex_lock(&r->lock);
        n = r->sent;
        pthread_mutex_unlock(&r->lock);
        return n;
}

unsigned iiod_responder_opens(IiodResponder *r)
{
        unsigned n;
        pthread_mutex_lock(&r->lock);
        n = r->opens;
        pthread_mutex_unlock(&r->lock);
        return n;
}

void iiod_responder_stop(IiodResponder *r)
{
        if (!r)
                return;
        pthread_mutex_lock(&r->lock);
        r->quit = true;
        pthread_mutex_unlock(&r->lock);
        wake(r);
        pthread_join(r->thread, NULL);
        for (int i = 0; i < MAX_CLIENTS; i++)
                client_close(&r->c[i]);
        if (r->listen_fd >= 0)
                close(r->listen_fd);
        close(r->wake[0]);
        close(r->wake[1]);
        pthread_mutex_destroy(&r->lock);
        free(r->xml);
        free(r);
}
