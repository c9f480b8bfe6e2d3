/* SPDX-License-Identifier: MIT */
#pragma once

/* libiio, loaded when the first IIO source opens rather than at start-up:
 * linked in, libiio and what it pulls in (libxml2, ICU, libusb, avahi)
 * cost every gaitwayd some 2.5 MB of resident memory, IIO devices or not.
 * The IIO source calls the functions through the table below; the macros
 * keep its calls written as plain libiio calls. */

#include <iio.h>
#include <stddef.h>

#define GW_IIO_FUNCTIONS(X) \
        X(iio_buffer_cancel) X(iio_buffer_destroy) X(iio_buffer_first) X(iio_buffer_get_poll_fd) \
        X(iio_buffer_refill) X(iio_buffer_set_blocking_mode) X(iio_buffer_start) X(iio_buffer_step) \
        X(iio_channel_attr_read) X(iio_channel_attr_read_double) X(iio_channel_attr_write_double) \
        X(iio_channel_convert) X(iio_channel_disable) X(iio_channel_enable) X(iio_channel_find_attr) \
        X(iio_channel_get_data_format) X(iio_channel_get_id) X(iio_channel_get_modifier) \
        X(iio_channel_get_type) X(iio_channel_is_scan_element) X(iio_context_destroy) \
        X(iio_context_find_device) X(iio_context_set_timeout) X(iio_create_context_from_uri) \
        X(iio_device_attr_read) X(iio_device_attr_read_double) X(iio_device_attr_write_double) \
        X(iio_device_create_buffer) X(iio_device_find_attr) X(iio_device_find_channel) \
        X(iio_device_get_channel) X(iio_device_get_channels_count)

typedef struct {
#define GW_IIO_MEMBER(f) __typeof__(f) *f;
        GW_IIO_FUNCTIONS(GW_IIO_MEMBER)
#undef GW_IIO_MEMBER
} IioFunctions;

extern IioFunctions iio_functions;

/* Loads libiio.so.0 once.  Returns 0, or -ENOENT/-ENOSYS with a message
 * naming the library or the missing function. */
int iio_functions_load(char *err, size_t errlen);

#ifndef IIO_LOADER_IMPLEMENTATION
#define iio_buffer_cancel (*iio_functions.iio_buffer_cancel)
#define iio_buffer_destroy (*iio_functions.iio_buffer_destroy)
#define iio_buffer_first (*iio_functions.iio_buffer_first)
#define iio_buffer_get_poll_fd (*iio_functions.iio_buffer_get_poll_fd)
#define iio_buffer_refill (*iio_functions.iio_buffer_refill)
#define iio_buffer_set_blocking_mode (*iio_functions.iio_buffer_set_blocking_mode)
#define iio_buffer_start (*iio_functions.iio_buffer_start)
#define iio_buffer_step (*iio_functions.iio_buffer_step)
#define iio_channel_attr_read (*iio_functions.iio_channel_attr_read)
#define iio_channel_attr_read_double (*iio_functions.iio_channel_attr_read_double)
#define iio_channel_attr_write_double (*iio_functions.iio_channel_attr_write_double)
#define iio_channel_convert (*iio_functions.iio_channel_convert)
#define iio_channel_disable (*iio_functions.iio_channel_disable)
#define iio_channel_enable (*iio_functions.iio_channel_enable)
#define iio_channel_find_attr (*iio_functions.iio_channel_find_attr)
#define iio_channel_get_data_format (*iio_functions.iio_channel_get_data_format)
#define iio_channel_get_id (*iio_functions.iio_channel_get_id)
#define iio_channel_get_modifier (*iio_functions.iio_channel_get_modifier)
#define iio_channel_get_type (*iio_functions.iio_channel_get_type)
#define iio_channel_is_scan_element (*iio_functions.iio_channel_is_scan_element)
#define iio_context_destroy (*iio_functions.iio_context_destroy)
#define iio_context_find_device (*iio_functions.iio_context_find_device)
#define iio_context_set_timeout (*iio_functions.iio_context_set_timeout)
#define iio_create_context_from_uri (*iio_functions.iio_create_context_from_uri)
#define iio_device_attr_read (*iio_functions.iio_device_attr_read)
#define iio_device_attr_read_double (*iio_functions.iio_device_attr_read_double)
#define iio_device_attr_write_double (*iio_functions.iio_device_attr_write_double)
#define iio_device_create_buffer (*iio_functions.iio_device_create_buffer)
#define iio_device_find_attr (*iio_functions.iio_device_find_attr)
#define iio_device_find_channel (*iio_functions.iio_device_find_channel)
#define iio_device_get_channel (*iio_functions.iio_device_get_channel)
#define iio_device_get_channels_count (*iio_functions.iio_device_get_channels_count)
#endif
