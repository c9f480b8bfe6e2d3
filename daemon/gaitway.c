/* SPDX-License-Identifier: MIT */
/* gaitway: the command-line tool (not the daemon).  Dispatches to one
 * sub-command per file through the table below. */

#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "gaitway/common.h"

static const cli_command commands[] = {
        { "model", "validate and describe a model file", cli_model },
        { "bench", "time the FP32 and INT8 engines per window", cli_bench },
        { "infer", "classify windows given as CSV rows", cli_infer },
        { "replay", "run a recorded trace through gaitwayd's pipeline", cli_replay },
        { "eval", "score a model on labelled windows or recordings", cli_eval },
        { "record", "record a live device to the gaitway trace format", cli_record },
        /* other sub-commands register here, one line each */
};

static void usage(FILE *f)
{
        fprintf(f, "Usage: gaitway COMMAND [ARGS...]\n\nCommands:\n");
        for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
                fprintf(f, "  %-8s %s\n", commands[i].name, commands[i].summary);
        fprintf(f, "\nOptions:\n  -h, --help     show this help\n  -V, --version  show the version\n"
                   "\nEvery command accepts --help.\n");
}

int main(int argc, char **argv)
{
        if (argc < 2) {
                usage(stderr);
                return 2;
        }
        if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
                usage(stdout);
                return 0;
        }
        if (!strcmp(argv[1], "--version") || !strcmp(argv[1], "-V")) {
                printf("gaitway %s\n", gw_version());
                return 0;
        }
        for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
                if (!strcmp(argv[1], commands[i].name))
                        return commands[i].run(argc - 1, argv + 1);
        fprintf(stderr, "gaitway: unknown command '%s'\nTry 'gaitway --help'.\n", argv[1]);
        return 2;
}
