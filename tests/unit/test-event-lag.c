/* SPDX-License-Identifier: MIT */
#include <CUnit/CUnit.h>
#include <stdint.h>

#include "event-lag.h"
#include "gw-test.h"

static EventLag h;

static void test_empty_histogram_reads_zero(void)
{
        event_lag_reset(&h);
        CU_ASSERT_EQUAL(event_lag_quantile(&h, 0.5), 0);
        CU_ASSERT_EQUAL(event_lag_quantile(&h, 0.99), 0);
        CU_ASSERT_EQUAL(h.max_ns, 0);
}

static void test_quantiles_bound_the_true_value_within_an_eighth(void)
{
        /* 1..1000 ms: the true p50 is 500 ms, p99 990 ms. */
        event_lag_reset(&h);
        for (int i = 1; i <= 1000; i++)
                event_lag_add(&h, (int64_t) i * 1000000);
        int64_t p50 = event_lag_quantile(&h, 0.5), p99 = event_lag_quantile(&h, 0.99);
        CU_ASSERT(p50 >= 500000000 && p50 <= 562500000);
        CU_ASSERT(p99 >= 990000000 && p99 <= 1000000000);       /* capped by the max */
        CU_ASSERT_EQUAL(event_lag_quantile(&h, 1.0), 1000000000);
        CU_ASSERT_EQUAL(h.n, 1000);
}

static void test_small_lags_resolve_to_the_microsecond(void)
{
        event_lag_reset(&h);
        for (int i = 0; i < 99; i++)
                event_lag_add(&h, 3000);        /* 3 us */
        event_lag_add(&h, 12345);
        CU_ASSERT_EQUAL(event_lag_quantile(&h, 0.5), 4000);
        CU_ASSERT_EQUAL(event_lag_quantile(&h, 0.99), 4000);
        CU_ASSERT_EQUAL(event_lag_quantile(&h, 1.0), 12345);
}

static void test_negative_and_huge_lags_are_kept_in_range(void)
{
        event_lag_reset(&h);
        event_lag_add(&h, -5000000);
        CU_ASSERT_EQUAL(event_lag_quantile(&h, 0.5), 0);      /* counted as 0 */
        event_lag_add(&h, INT64_MAX);
        CU_ASSERT_EQUAL(event_lag_quantile(&h, 1.0), INT64_MAX);
        CU_ASSERT_EQUAL(h.n, 2);
}

static void test_reset_forgets_everything(void)
{
        event_lag_add(&h, 7000000);
        event_lag_reset(&h);
        CU_ASSERT_EQUAL(h.n, 0);
        CU_ASSERT_EQUAL(event_lag_quantile(&h, 0.99), 0);
}

void gw_test_register(void)
{
        CU_pSuite s = gw_test_suite("event lag");
        gw_test_add(s, "an empty histogram reads zero", test_empty_histogram_reads_zero);
        gw_test_add(s, "quantiles bound the true value within an eighth",
                    test_quantiles_bound_the_true_value_within_an_eighth);
        gw_test_add(s, "small lags resolve to the microsecond", test_small_lags_resolve_to_the_microsecond);
        gw_test_add(s, "negative and huge lags are kept in range",
                    test_negative_and_huge_lags_are_kept_in_range);
        gw_test_add(s, "reset forgets everything", test_reset_forgets_everything);
}
