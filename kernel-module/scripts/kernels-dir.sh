# SPDX-License-Identifier: GPL-2.0-only
#
# Sourced by the kernel scripts: where downloaded and built kernels are cached.
# Outside the work tree, so that clean clones and git clean keep them:
# /var/cache/virtio-loopback/kernels for root, ~/.cache/virtio-loopback/kernels
# otherwise. KERNELS_DIR overrides it.
if [[ -z ${KERNELS_DIR:-} ]]; then
	if [[ $(id -u) == 0 ]]; then
		KERNELS_DIR=/var/cache/virtio-loopback/kernels
	else
		KERNELS_DIR=${XDG_CACHE_HOME:-$HOME/.cache}/virtio-loopback/kernels
	fi
fi
export KERNELS_DIR
mkdir -p "$KERNELS_DIR"
