// SPDX-License-Identifier: GPL-2.0-or-later
/* /proc/self/mountinfo lookups (pfs_mountinfo.h). */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/sysmacros.h>

#include "pfs_mountinfo.h"

void pfs_mountinfo_unescape(char *s)
{
	char *out = s;

	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' &&
		    s[2] >= '0' && s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
			*out++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 +
					(s[3] - '0'));
			s += 3;
		} else {
			*out++ = *s;
		}
	}
	*out = '\0';
}

int pfs_mountinfo_fuse(const char *mnt, dev_t *dev, uint64_t *mnt_id)
{
	char *line = NULL;
	size_t len = 0;
	int ret = -ENOENT;
	FILE *f = fopen("/proc/self/mountinfo", "re");

	if (!f)
		return -errno;
	/*
	 * "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTIONS [TAGS...] - TYPE ...";
	 * later lines are newer mounts, so the last match is on top.
	 */
	while (getline(&line, &len, f) != -1) {
		char *save = NULL, *id, *devs, *point, *tok;
		unsigned int maj, min;
		uint64_t n;

		id = strtok_r(line, " \n", &save);
		strtok_r(NULL, " \n", &save);
		devs = strtok_r(NULL, " \n", &save);
		strtok_r(NULL, " \n", &save);
		point = strtok_r(NULL, " \n", &save);
		if (!id || !devs || !point)
			continue;
		while ((tok = strtok_r(NULL, " \n", &save)) &&
		       strcmp(tok, "-") != 0)
			;
		tok = tok ? strtok_r(NULL, " \n", &save) : NULL;
		if (!tok || strncmp(tok, "fuse", 4) != 0)
			continue;
		pfs_mountinfo_unescape(point);
		if (strcmp(point, mnt) != 0 ||
		    sscanf(devs, "%u:%u", &maj, &min) != 2 ||
		    sscanf(id, "%" SCNu64, &n) != 1)
			continue;
		*dev = makedev(maj, min);
		*mnt_id = n;
		ret = 0;
	}
	free(line);
	fclose(f);
	return ret;
}
