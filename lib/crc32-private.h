/* SPDX-License-Identifier: MIT */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* CRC-32 (IEEE) with zlib's crc32() conventions: start from 0 and feed the
 * previous result back in to continue over several buffers, so
 * gw_crc32(gw_crc32(0, a, n), b, m) is the CRC of a followed by b. */
uint32_t gw_crc32(uint32_t crc, const void *buf, size_t len);
