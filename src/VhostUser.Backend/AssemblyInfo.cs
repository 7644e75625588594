// SPDX-License-Identifier: MIT
using System.Runtime.CompilerServices;

// The tests check ring state and the inflight layout directly, not only through a device.
[assembly: InternalsVisibleTo("VirtioLoopback.Backend.Tests")]
