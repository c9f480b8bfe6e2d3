/* SPDX-License-Identifier: MIT */
/* iiod-responder: the test responder of libiio's network protocol as a
 * process, for tests that run gaitwayd against ip:127.0.0.1:PORT.  Prints
 * "port N" once listening, then reads commands on stdin, one per line:
 * stall, resume, vanish, return, stats (prints "sent N opens N"), quit. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iiod-responder.h"

int main(int argc, char **argv)
{
        IiodResponderOptions o = { .timestamp = true, .gyro = true, .rate = "100",
                                   .available = "25 50 100 200" };
        IiodResponder *r;
        char line[128];
        int port = 0;

        for (int i = 1; i < argc; i++) {
                if (!strcmp(argv[i], "--port") && i + 1 < argc)
                        port = atoi(argv[++i]);
                else if (!strcmp(argv[i], "--rate") && i + 1 < argc)
                        o.rate = argv[++i];
                else if (!strcmp(argv[i], "--no-timestamp"))
                        o.timestamp = false;
                else if (!strcmp(argv[i], "--no-gyro"))
                        o.gyro = false;
                else {
                        fprintf(stderr, "usage: iiod-responder [--port N] [--rate HZ] [--no-timestamp] [--no-gyro]\n");
                        return 2;
                }
        }
        if (iiod_responder_start(&o, port, &r) < 0) {
                perror("iiod-responder");
                return 1;
        }
        printf("port %d\n", iiod_responder_port(r));
        fflush(stdout);
        while (fgets(line, sizeof line, stdin)) {
                line[strcspn(line, "\n")] = 0;
                if (!strcmp(line, "stall"))
                        iiod_responder_stall(r, true);
                else if (!strcmp(line, "resume"))
                        iiod_responder_stall(r, false);
                else if (!strcmp(line, "vanish"))
                        iiod_responder_vanish(r, true);
                else if (!strcmp(line, "return"))
                        iiod_responder_vanish(r, false);
                else if (!strcmp(line, "stats"))
                        printf("sent %llu opens %u\n",
                               (unsigned long long) iiod_responder_samples_sent(r), iiod_responder_opens(r));
                else if (!strcmp(line, "quit"))
                        break;
                fflush(stdout);
        }
        iiod_responder_stop(r);
        return 0;
}
