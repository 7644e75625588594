#!/bin/sh
# SPDX-License-Identifier: MIT
# (filled in below)
