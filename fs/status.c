// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * --stats in text, JSON and Prometheus' text exposition format, and the
 * JSON string quoting --check --json uses (see pfs_status.h).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/xattr.h>

#include "pfs_stats.h"
#include "pfs_status.h"

void pfs_json_str(FILE *out, const char *s)
{
	if (!s) {
		fputs("null", out);
		return;
	}
	fputc('"', out);
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			fprintf(out, "\\%c", c);
		else if (c == '\n')
			fputs("\\n", out);
		else if (c < 0x20 || c == 0x7f)
			fprintf(out, "\\u%04x", c);
		else
			fputc(c, out);	/* UTF-8 passes as is */
	}
	fputc('"', out);
}

/* A label value: backslash, double quote and newline escaped. */
static void do_prom_label(FILE *out, const char *s)
{
	fputc('"', out);
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			fprintf(out, "\\%c", *s);
		else if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
	fputc('"', out);
}

/*
 * The "name value" lines of the attribute, in the order of
 * pfs_stats_fields; a name this build does not know (a newer daemon) is
 * left out of the JSON and Prometheus outputs, a missing one is 0.
 */
static void do_parse(const char *buf, unsigned long long *values)
{
	const char *p = buf;

	memset(values, 0, pfs_stats_nfields * sizeof(*values));
	while (*p) {
		const char *sp = strchr(p, ' '), *nl = strchr(p, '\n');
		const struct pfs_stats_field *f;

		if (!nl)
			nl = p + strlen(p);
		if (sp && sp < nl) {
			f = pfs_stats_field_find(p, (size_t)(sp - p));
			if (f)
				values[f - pfs_stats_fields] =
					strtoull(sp + 1, NULL, 10);
		}
		p = *nl ? nl + 1 : nl;
	}
}

int pfs_status_stats(const char *mnt, enum pfs_format f)
{
	unsigned long long values[64];
	char buf[2048], *abs;
	ssize_t n = getxattr(mnt, PFS_STATS_XATTR, buf, sizeof(buf) - 1);

	if (n < 0) {
		fprintf(stderr,
			"preallocfs: cannot read the counters of '%s': %s (is it a preallocfs mount?)\n",
			mnt, strerror(errno));
		return 1;
	}
	buf[n] = '\0';
	if (f == PFS_FORMAT_TEXT) {
		fwrite(buf, 1, (size_t)n, stdout);
		return 0;
	}
	_Static_assert(sizeof(values) / sizeof(values[0]) >= 9,
		       "room for every counter");
	do_parse(buf, values);
	/* The mount point as the kernel names it (label, field). */
	abs = realpath(mnt, NULL);
	if (f == PFS_FORMAT_JSON) {
		printf("{\"mountpoint\": ");
		pfs_json_str(stdout, abs ? abs : mnt);
		for (size_t i = 0; i < pfs_stats_nfields; i++)
			printf(", \"%s\": %llu", pfs_stats_fields[i].name,
			       values[i]);
		printf("}\n");
	} else {
		for (size_t i = 0; i < pfs_stats_nfields; i++) {
			const struct pfs_stats_field *fl = &pfs_stats_fields[i];

			printf("# HELP preallocfs_%s_total %s\n", fl->name,
			       fl->help);
			printf("# TYPE preallocfs_%s_total counter\n",
			       fl->name);
			printf("preallocfs_%s_total{mountpoint=", fl->name);
			do_prom_label(stdout, abs ? abs : mnt);
			printf("} %llu\n", values[i]);
		}
	}
	free(abs);
	return fflush(stdout) == 0 ? 0 : 1;
}
