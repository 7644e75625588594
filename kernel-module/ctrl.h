/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * virtio-loopback, layer 4: the control channel, /dev/virtio-loopback.
 */
#ifndef VL_CTRL_H
#define VL_CTRL_H

#include <linux/fs.h>
#include <linux/miscdevice.h>

extern const struct file_operations vl_ctrl_fops;
extern struct miscdevice vl_misc;

#endif /* VL_CTRL_H */
