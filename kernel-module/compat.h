/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * virtio-loopback: shims for the kernel versions the module builds against
 * (5.10 to 6.12). Everything LINUX_VERSION_CODE-dependent that is not an ops
 * signature lives here.
 */
#ifndef VL_COMPAT_H
#define VL_COMPAT_H

#include <linux/eventfd.h>
#include <linux/highmem.h>
#include <linux/mm.h>
#include <linux/version.h>
#include <linux/virtio.h>

#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 8, 0)
#define vl_eventfd_signal(ctx)	eventfd_signal(ctx)
#else
#define vl_eventfd_signal(ctx)	eventfd_signal(ctx, 1)
#endif

/*
 * Before 5.17 the recursion check reads a per-CPU counter that is not
 * exported to modules. Nesting needs an in-kernel signaller of the call
 * eventfd (user-space writes never nest), so those kernels signal directly.
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 17, 0)
#define vl_eventfd_signal_allowed()	eventfd_signal_allowed()
#else
#define vl_eventfd_signal_allowed()	true
#endif

#if LINUX_VERSION_CODE >= KERNEL_VERSION(5, 11, 0)
#define vl_kmap(page)		kmap_local_page(page)
#define vl_kunmap(addr)		kunmap_local(addr)
#else
#define vl_kmap(page)		kmap_atomic(page)
#define vl_kunmap(addr)		kunmap_atomic(addr)
#endif

/* 6.3 made vm_flags read-only outside the accessors. */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 3, 0)
#define vl_vm_flags_set(vma, flags)	vm_flags_set(vma, flags)
#else
#define vl_vm_flags_set(vma, flags)	((vma)->vm_flags |= (flags))
#endif

/*
 * One virtqueue broken or unbroken (for a failed device). Before 6.0 the
 * module breaks nothing (vl_dev_break()).
 */
#if LINUX_VERSION_CODE >= KERNEL_VERSION(6, 0, 0)
#define vl_virtqueue_break(vq)		__virtqueue_break(vq)
#define vl_virtqueue_unbreak(vq)	__virtqueue_unbreak(vq)
#else
#define vl_virtqueue_break(vq)		do { } while (0)
#define vl_virtqueue_unbreak(vq)	do { } while (0)
#endif

#endif /* VL_COMPAT_H */
