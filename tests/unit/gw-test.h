/* SPDX-License-Identifier: MIT */
#pragma once

/* Every CUnit suite binary links gw-test.c, which owns main(): it calls
 * gw_test_register() (defined once per binary), runs the registry verbosely,
 * prints "gaitway-test: <binary>: N passed, N failed" (read by
 * scripts/test) and exits non-zero when anything failed, which CUnit's
 * CU_basic_run_tests() does not do by itself. */

#include <CUnit/CUnit.h>

void gw_test_register(void);

/* Adds a suite or aborts the run (a registry error is a bug in the test). */
CU_pSuite gw_test_suite(const char *name);
void gw_test_add(CU_pSuite s, const char *name, CU_TestFunc fn);

/* Path of a file under tests/data (GW_TEST_DATA overrides the directory). */
const char *gw_test_data(const char *name);
