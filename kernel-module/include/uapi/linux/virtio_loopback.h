/* SPDX-License-Identifier: GPL-2.0-only WITH Linux-syscall-note */
/*
 * virtio-loopback: user-space API of /dev/virtio-loopback.
 *
 * A process (the "adapter") opens /dev/virtio-loopback and creates virtio
 * devices on that file descriptor (the "control fd"). The host kernel's own
 * virtio drivers bind to them. The data plane never passes through the
 * adapter: every device has one shared memory pool (an mmap-able fd) that
 * holds all rings and all buffers, and one kick and one call eventfd per
 * queue, which the adapter hands to a vhost-user back end unchanged.
 *
 * All structures use fixed-width little/native-endian fields, are naturally
 * aligned and have no implicit padding, so their layout is the same for
 * 32-bit and 64-bit callers. Every "reserved" field must be zero on input
 * (the module returns -EINVAL otherwise) and is zero on output. A future
 * extension adds a _v2 structure (embedding v1 at its start) under a new
 * ioctl number; existing structures never change layout.
 *
 * The back end is untrusted. The rings the driver uses stay in kernel
 * memory; the pool holds shadow copies that the module keeps in step: it
 * forwards the driver's new buffers when the driver kicks, and takes back
 * used entries only after checking them. A back end that breaks a rule
 * (VIRTIO_LOOPBACK_RULE_*) loses its pool and its device fails its I/O.
 *
 * Lifecycle (see kernel-module/docs/virtio-loopback.rst):
 *
 *  1. open("/dev/virtio-loopback", O_RDWR | O_CLOEXEC), then
 *     VIRTIO_LOOPBACK_IOC_GET_API_VERSION; an adapter that knows API
 *     version 2 selects it with VIRTIO_LOOPBACK_IOC_SET_API_VERSION.
 *  2. VIRTIO_LOOPBACK_IOC_CREATE_DEVICE returns a handle, a pool fd and the
 *     pool's DMA base. mmap the pool fd (MAP_SHARED) and give it to the back
 *     end as one memory region whose guest address is pool_dma_base.
 *  3. VIRTIO_LOOPBACK_IOC_SET_QUEUE_FDS for every queue (kick and call
 *     eventfds, the same fds sent with VHOST_USER_SET_VRING_KICK/CALL).
 *  4. The device registers with the virtio bus asynchronously, right after
 *     CREATE_DEVICE returns; the driver probes. Serve events from read() on
 *     the control fd: RESET and CONFIG_WRITE need an EVENT_DONE reply;
 *     FEATURES_OK carries the negotiated features; DRIVER_OK means the queues
 *     are live: ask VIRTIO_LOOPBACK_IOC_GET_QUEUE_INFO per queue and start
 *     the back end's rings.
 *  5. VIRTIO_LOOPBACK_IOC_SET_CONFIG pushes new config space bytes (for
 *     example after VHOST_USER_SLAVE_CONFIG_CHANGE_MSG), optionally
 *     notifying the driver.
 *  6. VIRTIO_LOOPBACK_IOC_FAIL_DEVICE: the back end cannot run the device;
 *     the driver's requests fail instead of waiting.
 *  7. VIRTIO_LOOPBACK_IOC_DESTROY_DEVICE, or close() of the control fd,
 *     removes the device(s): in-flight requests fail, nothing leaks. The pool
 *     memory lives until the last pool fd and mapping is gone.
 */
#ifndef _UAPI_LINUX_VIRTIO_LOOPBACK_H
#define _UAPI_LINUX_VIRTIO_LOOPBACK_H

#include <linux/types.h>
#include <linux/ioctl.h>

/* Name of the misc device node. */
#define VIRTIO_LOOPBACK_DEV_NAME	"virtio-loopback"

/*
 * The newest API this header describes. Version 1 is what a control fd speaks
 * until it selects another with VIRTIO_LOOPBACK_IOC_SET_API_VERSION; no
 * structure changed layout between versions. Version 2 adds:
 *  - the BROKEN event (VIRTIO_LOOPBACK_EVENT_BROKEN);
 *  - virtio_loopback_create.offered_features.
 */
#define VIRTIO_LOOPBACK_API_VERSION	2

/* virtio_loopback_api_info.capabilities: what this module does. */
/* VIRTIO_LOOPBACK_IOC_FAIL_DEVICE exists. */
#define VIRTIO_LOOPBACK_CAP_FAIL_DEVICE		(1ULL << 0)
/*
 * The driver's rings stay private; GET_QUEUE_INFO gives the shadow rings in
 * the pool, and used entries are checked before the driver sees them.
 */
#define VIRTIO_LOOPBACK_CAP_PRIVATE_RINGS	(1ULL << 1)
/*
 * CREATE_DEVICE refuses device types outside the module's allow-list (the
 * parameter allowed_device_ids) with -EPERM and filters the feature bits to
 * what the transport implements and the type may use.
 */
#define VIRTIO_LOOPBACK_CAP_DEVICE_FILTER	(1ULL << 2)
/* A control fd on API version 2 gets VIRTIO_LOOPBACK_EVENT_BROKEN. */
#define VIRTIO_LOOPBACK_CAP_BROKEN_EVENT	(1ULL << 3)

/* Fixed limits of API version 1 (the module reports its own in api_info). */
#define VIRTIO_LOOPBACK_CONFIG_MAX	256	/* config space bytes */
#define VIRTIO_LOOPBACK_CONFIG_WRITE_MAX 64	/* bytes per CONFIG_WRITE event */

/**
 * struct virtio_loopback_api_info - what the module supports
 * @api_version: the API version this control fd speaks: 1 until
 *	SET_API_VERSION selected another.
 * @max_queues: the largest num_queues CREATE_DEVICE accepts.
 * @max_queue_size: the largest max_queue_size (a power of two).
 * @max_config_size: the largest config_size (VIRTIO_LOOPBACK_CONFIG_MAX).
 * @event_size: sizeof(struct virtio_loopback_event), the read() record size.
 * @max_devices: the largest number of devices one control fd may own.
 * @max_pool_size: the largest pool_size in bytes.
 * @min_pool_size: the smallest pool_size in bytes.
 * @capabilities: VIRTIO_LOOPBACK_CAP_* (0 from modules before version 2).
 * @max_api_version: the newest API version the module speaks (0 from
 *	modules before version 2, which speak only version 1).
 * @reserved32: zero.
 * @reserved: zero.
 *
 * All fields are output. Struct size: 64 bytes.
 */
struct virtio_loopback_api_info {
	__u32 api_version;
	__u32 max_queues;
	__u32 max_queue_size;
	__u32 max_config_size;
	__u32 event_size;
	__u32 max_devices;
	__u64 max_pool_size;
	__u64 min_pool_size;
	__u64 capabilities;
	__u32 max_api_version;
	__u32 reserved32;
	__u64 reserved;
};

/**
 * struct virtio_loopback_api_select - VIRTIO_LOOPBACK_IOC_SET_API_VERSION
 * @api_version: in: the version the caller speaks, 1..max_api_version.
 * @flags: in: must be zero.
 * @reserved: in: must be zero.
 *
 * Struct size: 16 bytes.
 */
struct virtio_loopback_api_select {
	__u32 api_version;
	__u32 flags;
	__u64 reserved;
};

/**
 * struct virtio_loopback_create - VIRTIO_LOOPBACK_IOC_CREATE_DEVICE argument
 * @device_id: in: virtio device ID (VIRTIO_ID_*), non-zero, and one the
 *	module allows (module parameter allowed_device_ids; device types that
 *	expose memory, virtio-pmem and virtio-mem, never).
 * @vendor_id: in: virtio vendor ID reported to the driver.
 * @device_features: in: the device's feature bits as a back end reports
 *	them (VHOST_USER_GET_FEATURES), minus VHOST_USER_F_PROTOCOL_FEATURES.
 *	The module keeps the transport bits it implements
 *	(VIRTIO_RING_F_INDIRECT_DESC, VIRTIO_RING_F_EVENT_IDX), always adds
 *	VIRTIO_F_VERSION_1 and VIRTIO_F_ACCESS_PLATFORM, and clears device bits
 *	the type may not use (virtio-net: the control queue and what needs it,
 *	since the driver waits on it with locks held); the driver may accept
 *	any subset.
 * @num_queues: in: number of virtqueues, 1..api_info.max_queues.
 * @max_queue_size: in: the largest ring size the back end supports; a power
 *	of two, 2..api_info.max_queue_size. The driver may choose a smaller
 *	size; GET_QUEUE_INFO reports it.
 * @pool_size: in: bytes of shared memory for rings and bounce buffers; a
 *	multiple of the page size, in [min_pool_size, max_pool_size]. When the
 *	pool is full the driver sees back-pressure, never data loss. The pool
 *	is charged to the caller's memory cgroup; a pool larger than half of
 *	the memory available (MemAvailable) is refused with -ENOMEM.
 * @config_size: in: bytes of config space, 0..VIRTIO_LOOPBACK_CONFIG_MAX.
 * @flags: in: must be zero.
 * @config_addr: in: user address of @config_size bytes of initial config
 *	space (ignored when @config_size is 0).
 * @reserved_in: in: must be zero.
 * @handle: out: the device's handle on this control fd (non-zero).
 * @pool_fd: out: a new O_CLOEXEC fd for the pool; mmap it with MAP_SHARED,
 *	offset 0, length pool_size. Close it when done; the pool memory is
 *	freed when the device, this fd and all mappings are gone.
 * @pool_dma_base: out: the DMA address of pool byte 0. Every ring and
 *	descriptor address the driver uses lies in
 *	[pool_dma_base, pool_dma_base + pool_size).
 * @offered_features: out (API version 2; zero in version 1): the feature
 *	bits the driver is offered after the module's filter.
 * @reserved_out: out: zero.
 *
 * Struct size: 96 bytes.
 */
struct virtio_loopback_create {
	__u32 device_id;
	__u32 vendor_id;
	__u64 device_features;
	__u32 num_queues;
	__u32 max_queue_size;
	__u64 pool_size;
	__u32 config_size;
	__u32 flags;
	__u64 config_addr;
	__u64 reserved_in[2];
	__u32 handle;
	__s32 pool_fd;
	__u64 pool_dma_base;
	__u64 offered_features;
	__u64 reserved_out;
};

/**
 * struct virtio_loopback_handle - argument naming one device
 * @handle: in: a handle from CREATE_DEVICE on this control fd.
 * @flags: in: must be zero.
 * @reserved: in: must be zero.
 *
 * Struct size: 16 bytes.
 */
struct virtio_loopback_handle {
	__u32 handle;
	__u32 flags;
	__u64 reserved;
};

/**
 * struct virtio_loopback_queue_fds - VIRTIO_LOOPBACK_IOC_SET_QUEUE_FDS argument
 * @handle: in: the device.
 * @queue: in: queue index, < num_queues.
 * @kick_fd: in: an eventfd the module signals when the driver notifies the
 *	queue, or -1 to detach. A kick while no fd is attached is remembered
 *	and signalled as soon as one is attached.
 * @call_fd: in: an eventfd the back end signals for a used-buffer
 *	notification, or -1 to detach. The module consumes its counter and
 *	interrupts the driver's virtqueue directly. A count pending at attach
 *	time is handled at once.
 * @flags: in: must be zero.
 * @reserved: in: must be zero.
 *
 * One eventfd must not be both a kick fd and a call fd of the same device
 * (the module's call handler runs the driver, which may kick). The module
 * holds its own references; the caller may close its copies. Struct size:
 * 32 bytes.
 */
struct virtio_loopback_queue_fds {
	__u32 handle;
	__u32 queue;
	__s32 kick_fd;
	__s32 call_fd;
	__u32 flags;
	__u32 reserved[3];
};

/* virtio_loopback_queue_info.ready */
#define VIRTIO_LOOPBACK_QUEUE_READY	(1U << 0)	/* rings exist */
#define VIRTIO_LOOPBACK_QUEUE_PACKED	(1U << 1)	/* packed layout */

/**
 * struct virtio_loopback_queue_info - VIRTIO_LOOPBACK_IOC_GET_QUEUE_INFO
 * @handle: in: the device.
 * @queue: in: queue index, < num_queues.
 * @reserved_in: in: must be zero.
 * @size: out: ring size chosen by the driver (0 if the queue is not ready).
 * @ready: out: VIRTIO_LOOPBACK_QUEUE_* flags.
 * @desc_addr: out: DMA address of the descriptor table (packed: the ring).
 * @avail_addr: out: DMA address of the available ring (packed: the driver
 *	event suppression area).
 * @used_addr: out: DMA address of the used ring (packed: the device event
 *	suppression area).
 * @reserved_out: out: zero.
 *
 * The addresses are what VHOST_USER_SET_VRING_ADDR carries (with the pool
 * region's guest address being pool_dma_base). Struct size: 64 bytes.
 */
struct virtio_loopback_queue_info {
	__u32 handle;
	__u32 queue;
	__u64 reserved_in;
	__u32 size;
	__u32 ready;
	__u64 desc_addr;
	__u64 avail_addr;
	__u64 used_addr;
	__u64 reserved_out[2];
};

/* virtio_loopback_config.flags */
#define VIRTIO_LOOPBACK_CONFIG_F_NOTIFY	(1U << 0)	/* tell the driver */

/**
 * struct virtio_loopback_config - VIRTIO_LOOPBACK_IOC_SET_CONFIG argument
 * @handle: in: the device.
 * @offset: in: first config byte to replace.
 * @size: in: number of bytes; offset + size <= the device's config_size.
 * @flags: in: VIRTIO_LOOPBACK_CONFIG_F_* (NOTIFY: the driver gets a config
 *	change interrupt, virtio_config_changed()).
 * @config_addr: in: user address of @size bytes.
 * @reserved: in: must be zero.
 *
 * Struct size: 32 bytes.
 */
struct virtio_loopback_config {
	__u32 handle;
	__u32 offset;
	__u32 size;
	__u32 flags;
	__u64 config_addr;
	__u64 reserved;
};

/**
 * struct virtio_loopback_event_done - VIRTIO_LOOPBACK_IOC_EVENT_DONE argument
 * @handle: in: the device named by the event.
 * @status: in: 0 on success, or a positive errno value when the back end
 *	failed; the module logs a failure and continues.
 * @seq: in: the event's seq.
 * @reserved: in: must be zero.
 *
 * Struct size: 24 bytes.
 */
struct virtio_loopback_event_done {
	__u32 handle;
	__u32 status;
	__u64 seq;
	__u64 reserved;
};

/**
 * struct virtio_loopback_fail - VIRTIO_LOOPBACK_IOC_FAIL_DEVICE argument
 * @handle: in: the device.
 * @status: in: why, as a positive errno value (for example EIO); logged.
 * @reserved: in: must be zero.
 *
 * Struct size: 16 bytes.
 */
struct virtio_loopback_fail {
	__u32 handle;
	__u32 status;
	__u64 reserved;
};

/* virtio_loopback_event.type */
#define VIRTIO_LOOPBACK_EVENT_FEATURES_OK	1
#define VIRTIO_LOOPBACK_EVENT_DRIVER_OK		2
#define VIRTIO_LOOPBACK_EVENT_RESET		3
#define VIRTIO_LOOPBACK_EVENT_CONFIG_WRITE	4
#define VIRTIO_LOOPBACK_EVENT_BROKEN		5	/* API version 2 */

/* virtio_loopback_event.u.broken.rule: what the back end did. */
#define VIRTIO_LOOPBACK_RULE_USED_ID		1	/* used a head not outstanding */
#define VIRTIO_LOOPBACK_RULE_USED_LENGTH	2	/* length beyond the writable bytes */
#define VIRTIO_LOOPBACK_RULE_USED_INDEX		3	/* used index moved too far */

/* virtio_loopback_event.flags */
#define VIRTIO_LOOPBACK_EVENT_F_NEED_REPLY	(1U << 0)	/* send EVENT_DONE */

/**
 * struct virtio_loopback_event - one record read() from the control fd
 * @type: VIRTIO_LOOPBACK_EVENT_*.
 * @handle: the device.
 * @seq: per-control-fd sequence number, increasing by one per event.
 * @flags: VIRTIO_LOOPBACK_EVENT_F_*.
 * @reserved0: zero.
 * @u: the payload, by @type:
 * @u.features_ok: FEATURES_OK: @u.features_ok.features are the features the
 *	driver accepted (send them to the back end with SET_FEATURES, minus
 *	VIRTIO_F_ACCESS_PLATFORM).
 * @u.driver_ok: DRIVER_OK: @u.driver_ok.num_queues is the device's queue
 *	count; call GET_QUEUE_INFO for each and start the ready ones.
 * @u.config_write: CONFIG_WRITE: the driver wrote @u.config_write.size
 *	bytes (1..VIRTIO_LOOPBACK_CONFIG_WRITE_MAX) of @u.config_write.data at
 *	@u.config_write.offset. Forward it (VHOST_USER_SET_CONFIG), fetch the
 *	fresh config (VHOST_USER_GET_CONFIG), push it with SET_CONFIG, then
 *	reply with EVENT_DONE. The driver waits, bounded by the module
 *	parameter sync_timeout_ms (default 2000); after a timeout later config
 *	writes do not wait, until a reset is answered in time.
 * @u.broken: BROKEN (API version 2): the back end broke
 *	@u.broken.rule (VIRTIO_LOOPBACK_RULE_*) on queue @u.broken.queue. The
 *	module has revoked the pool, failed the device's requests
 *	(NEEDS_RESET) and will not run it again; destroy it, and create a new
 *	one for a new back end.
 * @u.raw: the payload as raw words.
 *
 * DRIVER_OK needs no reply. A back end that cannot run the device (it
 * refused the features or the rings) says so with
 * VIRTIO_LOOPBACK_IOC_FAIL_DEVICE rather than by silence, which would leave
 * the driver's requests waiting.
 *
 * RESET: the driver reset the device; stop the back end's rings
 * (VHOST_USER_GET_VRING_BASE), then reply with EVENT_DONE. The driver waits
 * for the reply (bounded as above) before it frees the rings. RESET also
 * arrives once before the first FEATURES_OK.
 *
 * Lifecycle events (FEATURES_OK, DRIVER_OK, RESET, BROKEN) are never
 * dropped; a RESET replaces the device's RESET, FEATURES_OK and DRIVER_OK
 * events that were not read yet. A CONFIG_WRITE that finds the queue full
 * (the adapter stopped reading) is dropped and its driver does not wait.
 *
 * read() returns whole records only: a buffer smaller than one record gets
 * -EINVAL; with no event pending it blocks, or returns -EAGAIN on a
 * O_NONBLOCK fd. poll() reports EPOLLIN while events are pending. Struct
 * size: 128 bytes.
 */
struct virtio_loopback_event {
	__u32 type;
	__u32 handle;
	__u64 seq;
	__u32 flags;
	__u32 reserved0;
	union {
		struct {
			__u64 features;
		} features_ok;
		struct {
			__u32 num_queues;
			__u32 reserved;
		} driver_ok;
		struct {
			__u32 offset;
			__u32 size;
			__u8 data[VIRTIO_LOOPBACK_CONFIG_WRITE_MAX];
		} config_write;
		struct {
			__u32 queue;
			__u32 rule;
		} broken;
		__u64 raw[13];
	} u;
};

/*
 * Other calls on the control fd: an unknown ioctl fails with -ENOTTY;
 * write() with -EINVAL, mmap() with -ENODEV, lseek() with -ESPIPE. On a pool
 * fd, mmap() needs MAP_SHARED and a page-aligned range inside the pool
 * (-EINVAL otherwise); read(), write() and ioctls are not supported. When
 * the device is destroyed (DESTROY_DEVICE or its control fd closed) or its
 * back end broke a rule, the pool is revoked: existing mappings then show a
 * zeroed page at every offset, and mmap() fails with -ENODEV.
 */

/*
 * 0xB6..0xB8 are taken in Documentation/userspace-api/ioctl/ioctl-number.rst
 * (fpga-dfl, remoteproc/nsfs, mrvl-dpi/mshv); 0xBE is unlisted there.
 */
#define VIRTIO_LOOPBACK_IOC_MAGIC	0xBE

/*
 * GET_API_VERSION: fills struct virtio_loopback_api_info. Call it first.
 * Errors: -EFAULT.
 */
#define VIRTIO_LOOPBACK_IOC_GET_API_VERSION \
	_IOR(VIRTIO_LOOPBACK_IOC_MAGIC, 0x00, struct virtio_loopback_api_info)

/*
 * SET_API_VERSION: caller fills struct virtio_loopback_api_select. Selects
 * the API version this control fd speaks; only before its first
 * CREATE_DEVICE. Added with API version 2 (older modules: -ENOTTY).
 * Errors: -EFAULT, -EINVAL (unknown version, flags or reserved not zero),
 * -EBUSY (the fd already created a device).
 */
#define VIRTIO_LOOPBACK_IOC_SET_API_VERSION \
	_IOW(VIRTIO_LOOPBACK_IOC_MAGIC, 0x08, struct virtio_loopback_api_select)

/*
 * CREATE_DEVICE: caller fills device_id, vendor_id, device_features,
 * num_queues, max_queue_size, pool_size, config_size, config_addr, flags = 0
 * and reserved_in = 0; the module returns handle, pool_fd and pool_dma_base.
 * The virtio device registers (and the driver probes) asynchronously after
 * the call returns, so the caller must serve events to let probing finish.
 * Errors: -EFAULT (bad pointer), -EINVAL (a field out of range or reserved
 * not zero), -EPERM (a device type the module does not allow; logged),
 * -ENOSPC (max_devices reached), -ENOMEM (also: the pool would take more
 * than half of the available memory), -EMFILE (no free fd), -EOPNOTSUPP
 * (this kernel ignores the module's DMA operations, see the README; logged).
 * Handles are not reused while others are free: a stale handle gets
 * -ENOENT rather than a new device.
 */
#define VIRTIO_LOOPBACK_IOC_CREATE_DEVICE \
	_IOWR(VIRTIO_LOOPBACK_IOC_MAGIC, 0x01, struct virtio_loopback_create)

/*
 * DESTROY_DEVICE: caller fills struct virtio_loopback_handle. The driver is
 * unbound (in-flight requests fail), the device unregistered and its queue
 * fds released. The handle is invalid afterwards. Nothing waits for this
 * control fd any more; if the driver's probe is still running (it may wait
 * elsewhere, e.g. virtio-rng in the hwrng core), the call returns at once
 * and the removal completes when the probe returns. close() of the control
 * fd does the same for all its devices.
 * Errors: -EFAULT, -EINVAL (reserved not zero), -ENOENT (unknown handle).
 */
#define VIRTIO_LOOPBACK_IOC_DESTROY_DEVICE \
	_IOW(VIRTIO_LOOPBACK_IOC_MAGIC, 0x02, struct virtio_loopback_handle)

/*
 * SET_QUEUE_FDS: caller fills all fields. Replaces the queue's kick and call
 * eventfds (each independently; -1 detaches). Allowed at any time.
 * Errors: -EFAULT, -EINVAL (queue out of range, reserved not zero, an
 * eventfd used as both kick and call fd of the device, fd not an eventfd),
 * -EBADF (fd not open), -ENOENT (unknown handle).
 */
#define VIRTIO_LOOPBACK_IOC_SET_QUEUE_FDS \
	_IOW(VIRTIO_LOOPBACK_IOC_MAGIC, 0x03, struct virtio_loopback_queue_fds)

/*
 * GET_QUEUE_INFO: caller fills handle, queue, reserved_in = 0; the module
 * returns size, ready and the ring addresses. Valid from DRIVER_OK until the
 * next RESET.
 * Errors: -EFAULT, -EINVAL (queue out of range, reserved not zero),
 * -ENOENT (unknown handle).
 */
#define VIRTIO_LOOPBACK_IOC_GET_QUEUE_INFO \
	_IOWR(VIRTIO_LOOPBACK_IOC_MAGIC, 0x04, struct virtio_loopback_queue_info)

/*
 * SET_CONFIG: caller fills all fields. Replaces config bytes, bumps the
 * config generation and, with VIRTIO_LOOPBACK_CONFIG_F_NOTIFY, signals a
 * config change to the driver (after DRIVER_OK).
 * Errors: -EFAULT, -EINVAL (range outside config_size, unknown flags,
 * reserved not zero), -ENOENT (unknown handle).
 */
#define VIRTIO_LOOPBACK_IOC_SET_CONFIG \
	_IOW(VIRTIO_LOOPBACK_IOC_MAGIC, 0x05, struct virtio_loopback_config)

/*
 * EVENT_DONE: caller fills all fields. Completes the event @seq of @handle
 * that carried VIRTIO_LOOPBACK_EVENT_F_NEED_REPLY (RESET, CONFIG_WRITE).
 * Errors: -EFAULT, -EINVAL (reserved not zero), -ENOENT (unknown handle, or
 * no such event waiting: already completed or timed out).
 */
#define VIRTIO_LOOPBACK_IOC_EVENT_DONE \
	_IOW(VIRTIO_LOOPBACK_IOC_MAGIC, 0x06, struct virtio_loopback_event_done)

/*
 * FAIL_DEVICE: caller fills all fields. The back end cannot run the device:
 * it refused the features or the rings at DRIVER_OK, or it is gone for good.
 * The module
 *  - sets VIRTIO_CONFIG_S_NEEDS_RESET in the device status and sends the
 *    driver a config-change interrupt (virtio_config_changed());
 *  - stops taking what the back end returns and no longer forwards kicks;
 *  - fails the outstanding requests as DESTROY_DEVICE does (used length 0,
 *    device-writable bytes 0xff; virtio-blk: VIRTIO_BLK_S_IOERR), so I/O in
 *    flight ends with an error instead of waiting; receive-only buffers stay
 *    queued;
 *  - breaks the virtqueues (virtio_break_device()): new requests fail at
 *    once. Kernels before 6.0, which cannot unbreak a device for its
 *    teardown, keep the virtqueues unbroken and fail each new request from
 *    the kick instead.
 * Before DRIVER_OK, the device enters that state when the driver sets
 * DRIVER_OK, and no DRIVER_OK event is sent. The state ends with the
 * driver's next reset (a RESET event): the driver may bring the device up
 * again. A second call while failed does nothing. Added after the first
 * release of API version 1: a module without it returns -ENOTTY.
 * Errors: -EFAULT, -EINVAL (reserved not zero), -ENOENT (unknown handle).
 */
#define VIRTIO_LOOPBACK_IOC_FAIL_DEVICE \
	_IOW(VIRTIO_LOOPBACK_IOC_MAGIC, 0x07, struct virtio_loopback_fail)

#endif /* _UAPI_LINUX_VIRTIO_LOOPBACK_H */
