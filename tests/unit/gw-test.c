/* SPDX-License-Identifier: MIT */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <CUnit/Basic.h>

#include "gw-test.h"

CU_pSuite gw_test_suite(const char *name)
{
        CU_pSuite s = CU_add_suite(name, NULL, NULL);
        if (!s) {
                fprintf(stderr, "CUnit: cannot add suite %s: %s\n", name, CU_get_error_msg());
                exit(2);
        }
        return s;
}

void gw_test_add(CU_pSuite s, const char *name, CU_TestFunc fn)
{
        if (!CU_add_test(s, name, fn)) {
                fprintf(stderr, "CUnit: cannot add test %s: %s\n", name, CU_get_error_msg());
                exit(2);
        }
}

const char *gw_test_data(const char *name)
{
        static char path[4096];
        const char *dir = getenv("GW_TEST_DATA");
        snprintf(path, sizeof path, "%s/%s", dir && *dir ? dir : GW_TEST_DATA_DIR, name);
        return path;
}

int main(int argc, char **argv)
{
        const char *self = strrchr(argv[0], '/');
        self = self ? self + 1 : argv[0];

        if (CU_initialize_registry() != CUE_SUCCESS)
                return 2;
        gw_test_register();
        CU_basic_set_mode(CU_BRM_VERBOSE);
        CU_basic_run_tests();

        unsigned run = CU_get_number_of_tests_run();
        unsigned failed = CU_get_number_of_tests_failed() + CU_get_number_of_suites_failed();
        unsigned asserts_failed = CU_get_number_of_failures();
        if (asserts_failed && !failed)
                failed = 1;
        printf("\ngaitway-test: %s: %u passed, %u failed\n", self,
               run >= CU_get_number_of_tests_failed() ? run - CU_get_number_of_tests_failed() : 0,
               failed);
        CU_cleanup_registry();
        (void) argc;
        return failed ? 1 : 0;
}
