// SPDX-License-Identifier: GPL-2.0-only
/*
 * virtio-loopback: a virtio transport served from user space. Each open fd
 * of /dev/virtio-loopback creates and owns virtio devices that the host's
 * own drivers bind to; a vhost-user back end serves their queues through a
 * per-device pool and eventfds, and never sees the driver's own rings or any
 * other kernel memory.
 *
 * The files are layers; each calls only the ones below it:
 *   1. pool.c, dma.c   the pool and the DMA ops that bounce into it;
 *      events.c        a control fd's event queue
 *   2. vq.c            virtqueues: private driver rings, shadow rings, kicks
 *                      and calls, the checks on what the back end returns
 *   3. sync.c          events and requests that wait for the adapter
 *      device.c        the lifecycle: create, fail, remove
 *      config.c        virtio_config_ops
 *   4. ctrl.c          the control fd: ioctls, events, close;
 *      and here        the misc device, module init and exit
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/build_bug.h>
#include <linux/module.h>

#include "ctrl.h"
#include "dev.h"

struct miscdevice vl_misc = {
	.minor	= MISC_DYNAMIC_MINOR,
	.name	= VIRTIO_LOOPBACK_DEV_NAME,
	.fops	= &vl_ctrl_fops,
	.mode	= 0600,
};

static int __init vl_init(void)
{
	int ret;

	/* The UAPI layouts are fixed; see the header. */
	BUILD_BUG_ON(sizeof(struct virtio_loopback_api_info) != 64);
	BUILD_BUG_ON(sizeof(struct virtio_loopback_api_select) != 16);
	BUILD_BUG_ON(sizeof(struct virtio_loopback_create) != 96);
	BUILD_BUG_ON(sizeof(struct virtio_loopback_handle) != 16);
	BUILD_BUG_ON(sizeof(struct virtio_loopback_queue_fds) != 32);
	BUILD_BUG_ON(sizeof(struct virtio_loopback_queue_info) != 64);
	BUILD_BUG_ON(sizeof(struct virtio_loopback_config) != 32);
	BUILD_BUG_ON(sizeof(struct virtio_loopback_event_done) != 24);
	BUILD_BUG_ON(sizeof(struct virtio_loopback_event) != 128);
	BUILD_BUG_ON(sizeof(struct virtio_loopback_fail) != 16);
	ret = vl_dev_init();
	if (ret)
		return ret;
	ret = misc_register(&vl_misc);
	if (ret)
		vl_dev_exit();
	return ret;
}

static void __exit vl_exit(void)
{
	misc_deregister(&vl_misc);
	vl_dev_exit();
}

module_init(vl_init);
module_exit(vl_exit);

MODULE_DESCRIPTION("virtio transport served by user-space back ends");
MODULE_LICENSE("GPL");
