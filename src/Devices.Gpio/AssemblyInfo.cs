// SPDX-License-Identifier: MIT
using System.Runtime.CompilerServices;

[assembly: InternalsVisibleTo("VirtioLoopback.Devices.Tests")]
