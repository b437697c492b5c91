/* SPDX-License-Identifier: GPL-2.0-or-later */
/* The one place that picks the libfuse API version. */
#ifndef PFS_FUSE_H
#define PFS_FUSE_H

#define FUSE_USE_VERSION 314
#include <fuse_lowlevel.h>

#endif /* PFS_FUSE_H */
