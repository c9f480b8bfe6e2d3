/* SPDX-License-Identifier: MIT */
#pragma once

/* Sub-commands of the `gaitway` tool, one file each (cli-<name>.c).  Each
 * receives argv starting at its own name, handles --help itself, prints
 * results to stdout and errors to stderr, and returns the process exit
 * status. */

#include <stdio.h>

typedef struct {
        const char *name;                 /* first word, e.g. "model" */
        const char *summary;              /* one line for `gaitway --help` */
        int (*run)(int argc, char **argv);
} cli_command;

/* Sub-commands, one per file (cli-<name>.c). */
int cli_model(int argc, char **argv);
int cli_bench(int argc, char **argv);
int cli_infer(int argc, char **argv);
int cli_replay(int argc, char **argv);
int cli_eval(int argc, char **argv);
int cli_record(int argc, char **argv);

/* Shared helpers (cli-util.c). */
void cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
