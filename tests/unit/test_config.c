// SPDX-License-Identifier: GPL-2.0-or-later
/* Option parsing: defaults, values, bad input, pass-through, fstab words. */
#include <CUnit/CUnit.h>
#include <stdarg.h>
#include <string.h>

#include "pfs_config.h"
#include "suites.h"

struct parsed {
	struct pfs_config cfg;
	struct fuse_args args;
	char err[512];
	int ret;
};

/* Parse a NULL-terminated argument list (argv[0] is added). */
static void do_parse(struct parsed *p, ...)
{
	va_list ap;
	const char *a;

	memset(p, 0, sizeof(*p));
	p->args = (struct fuse_args)FUSE_ARGS_INIT(0, NULL);
	fuse_opt_add_arg(&p->args, "preallocfs");
	va_start(ap, p);
	while ((a = va_arg(ap, const char *)))
		fuse_opt_add_arg(&p->args, a);
	va_end(ap);
	p->ret = pfs_config_parse(&p->args, &p->cfg, p->err, sizeof(p->err));
}

static void do_done(struct parsed *p)
{
	pfs_config_free(&p->cfg);
	fuse_opt_free_args(&p->args);
}

/* Is "-o..." text somewhere in what is left for libfuse? */
static bool do_left_has(const struct parsed *p, const char *what)
{
	for (int i = 0; i < p->args.argc; i++)
		if (strstr(p->args.argv[i], what))
			return true;
	return false;
}

static void test_defaults(void)
{
	struct parsed p;

	do_parse(&p, "/src", "/mnt", NULL);
	CU_ASSERT_EQUAL(p.ret, 0);
	CU_ASSERT_STRING_EQUAL(p.cfg.source, "/src");
	CU_ASSERT_STRING_EQUAL(p.cfg.mountpoint, "/mnt");
	CU_ASSERT_DOUBLE_EQUAL(p.cfg.timeout, 1.0, 1e-9);
	CU_ASSERT_FALSE(p.cfg.timeout_set);
	CU_ASSERT_FALSE(p.cfg.foreground);
	CU_ASSERT_FALSE(p.cfg.debug);
	CU_ASSERT_FALSE(p.cfg.singlethread);
	CU_ASSERT_FALSE(p.cfg.has_fsname);
	CU_ASSERT_EQUAL(p.cfg.max_threads, 0);
	do_done(&p);
}

static void test_flags(void)
{
	struct parsed p;

	do_parse(&p, "-f", "-s", "/src", "/mnt", "-o", "clone_fd", NULL);
	CU_ASSERT_EQUAL(p.ret, 0);
	CU_ASSERT_TRUE(p.cfg.foreground);
	CU_ASSERT_TRUE(p.cfg.singlethread);
	CU_ASSERT_TRUE(p.cfg.clone_fd);
	do_done(&p);

	/* -d implies -f and is kept for libfuse's request log */
	do_parse(&p, "-d", "/src", "/mnt", NULL);
	CU_ASSERT_EQUAL(p.ret, 0);
	CU_ASSERT_TRUE(p.cfg.debug);
	CU_ASSERT_TRUE(p.cfg.foreground);
	CU_ASSERT_TRUE(do_left_has(&p, "-d"));
	do_done(&p);

	do_parse(&p, "--help", NULL);
	CU_ASSERT_EQUAL(p.ret, 0);
	CU_ASSERT_TRUE(p.cfg.show_help);
	do_done(&p);

	do_parse(&p, "-V", NULL);
	CU_ASSERT_EQUAL(p.ret, 0);
	CU_ASSERT_TRUE(p.cfg.show_version);
	do_done(&p);
}

static void test_values(void)
{
	struct parsed p;

	do_parse(&p, "-o", "timeout=2.5,max_threads=8", "/s", "/m", NULL);
	CU_ASSERT_EQUAL(p.ret, 0);
	CU_ASSERT_DOUBLE_EQUAL(p.cfg.timeout, 2.5, 1e-9);
	CU_ASSERT_TRUE(p.cfg.timeout_set);
	CU_ASSERT_EQUAL(p.cfg.max_threads, 8);
	/* ours are consumed, not handed to libfuse */
	CU_ASSERT_FALSE(do_left_has(&p, "timeout"));
	CU_ASSERT_FALSE(do_left_has(&p, "max_threads"));
	do_done(&p);

	do_parse(&p, "-o", "timeout=0", "/s", "/m", NULL);
	CU_ASSERT_EQUAL(p.ret, 0);
	CU_ASSERT_DOUBLE_EQUAL(p.cfg.timeout, 0.0, 1e-9);
	do_done(&p);
}

/* The cache lifetimes: defaults, timeout=, each one, exclusive. */
static void test_timeouts(void)
{
	static const struct {
		const char *opts;	/* NULL: none */
		double attr, entry, negative;
	} rows[] = {
		{ NULL, 1, 1, 0 },
		{ "timeout=5", 5, 5, 0 },
		{ "timeout=0", 0, 0, 0 },
		{ "attr_timeout=7", 7, 1, 0 },
		{ "entry_timeout=0.5,negative_timeout=2", 1, 0.5, 2 },
		{ "timeout=5,attr_timeout=9", 9, 5, 0 },
		{ "attr_timeout=9,timeout=5", 9, 5, 0 },
		{ "exclusive", PFS_EXCLUSIVE_TIMEOUT, PFS_EXCLUSIVE_TIMEOUT,
		  PFS_EXCLUSIVE_TIMEOUT },
		{ "exclusive,timeout=30", 30, 30, 30 },
		{ "exclusive,negative_timeout=0", PFS_EXCLUSIVE_TIMEOUT,
		  PFS_EXCLUSIVE_TIMEOUT, 0 },
		{ "exclusive,no_exclusive", 1, 1, 0 },
	};
	struct parsed p;

	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (rows[i].opts)
			do_parse(&p, "-o", rows[i].opts, "/s", "/m", NULL);
		else
			do_parse(&p, "/s", "/m", NULL);
		CU_ASSERT_EQUAL(p.ret, 0);
		CU_ASSERT_DOUBLE_EQUAL(p.cfg.attr_timeout, rows[i].attr, 1e-9);
		CU_ASSERT_DOUBLE_EQUAL(p.cfg.entry_timeout, rows[i].entry, 1e-9);
		CU_ASSERT_DOUBLE_EQUAL(p.cfg.negative_timeout,
				       rows[i].negative, 1e-9);
		/* ours are consumed, not handed to libfuse */
		CU_ASSERT_FALSE(do_left_has(&p, "timeout"));
		CU_ASSERT_FALSE(do_left_has(&p, "exclusive"));
		do_done(&p);
	}
}

static void test_bad_values(void)
{
	static const char *const bad[] = {
		"timeout=", "timeout=-1", "timeout=abc", "timeout=1x",
		"timeout=inf", "max_threads=0", "max_threads=-3",
		"max_threads=many", "attr_timeout=-1", "entry_timeout=x",
		"negative_timeout=nan",
	};
	struct parsed p;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		do_parse(&p, "-o", bad[i], "/s", "/m", NULL);
		CU_ASSERT_EQUAL(p.ret, -1);
		CU_ASSERT_PTR_NOT_NULL(strstr(p.err, bad[i]));
		do_done(&p);
	}
	/* every bad option is reported, not just the first */
	do_parse(&p, "-o", "timeout=x,max_threads=y", "/s", "/m", NULL);
	CU_ASSERT_EQUAL(p.ret, -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(p.err, "timeout=x"));
	CU_ASSERT_PTR_NOT_NULL(strstr(p.err, "max_threads=y"));
	do_done(&p);
}

static void test_positionals(void)
{
	struct parsed p;

	do_parse(&p, NULL);
	CU_ASSERT_EQUAL(p.ret, -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(p.err, "BACKING"));
	do_done(&p);

	do_parse(&p, "/s", NULL);
	CU_ASSERT_EQUAL(p.ret, -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(p.err, "MOUNTPOINT"));
	do_done(&p);

	do_parse(&p, "/s", "/m", "/extra", NULL);
	CU_ASSERT_EQUAL(p.ret, -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(p.err, "/extra"));
	do_done(&p);
}

static void test_passthrough_and_fstab_words(void)
{
	struct parsed p;

	do_parse(&p, "-o",
		 "allow_other,defaults,noauto,nofail,_netdev,users,"
		 "x-systemd.requires-mounts-for=/data,X-mount.mkdir,"
		 "fsname=data,subtype=pfs",
		 "/s", "/m", NULL);
	CU_ASSERT_EQUAL(p.ret, 0);
	/* standard FUSE options stay for libfuse */
	CU_ASSERT_TRUE(do_left_has(&p, "allow_other"));
	CU_ASSERT_TRUE(do_left_has(&p, "fsname=data"));
	CU_ASSERT_TRUE(p.cfg.has_fsname);
	CU_ASSERT_TRUE(p.cfg.has_subtype);
	/* words for mount(8), fstab and systemd are dropped */
	CU_ASSERT_FALSE(do_left_has(&p, "defaults"));
	CU_ASSERT_FALSE(do_left_has(&p, "noauto"));
	CU_ASSERT_FALSE(do_left_has(&p, "nofail"));
	CU_ASSERT_FALSE(do_left_has(&p, "_netdev"));
	CU_ASSERT_FALSE(do_left_has(&p, "users"));
	CU_ASSERT_FALSE(do_left_has(&p, "x-systemd"));
	CU_ASSERT_FALSE(do_left_has(&p, "X-mount"));
	do_done(&p);

	/* generic VFS words libfuse does not know are dropped too */
	do_parse(&p, "-o", "relatime,lazytime,nodiratime", "/s", "/m", NULL);
	CU_ASSERT_EQUAL(p.ret, 0);
	CU_ASSERT_FALSE(do_left_has(&p, "relatime"));
	CU_ASSERT_FALSE(do_left_has(&p, "lazytime"));
	CU_ASSERT_FALSE(do_left_has(&p, "nodiratime"));
	do_done(&p);

	/* an unknown word is left for libfuse, which rejects it */
	do_parse(&p, "-o", "bogus_option", "/s", "/m", NULL);
	CU_ASSERT_EQUAL(p.ret, 0);
	CU_ASSERT_TRUE(do_left_has(&p, "bogus_option"));
	do_done(&p);
}

static void test_default_permissions(void)
{
	struct parsed p;

	/* allow_other alone: the kernel must check permissions */
	do_parse(&p, "-o", "allow_other", "/s", "/m", NULL);
	CU_ASSERT_EQUAL(p.ret, 0);
	CU_ASSERT_TRUE(p.cfg.default_permissions);
	CU_ASSERT_TRUE(do_left_has(&p, "default_permissions"));
	do_done(&p);

	/* explicitly off */
	do_parse(&p, "-o", "allow_other,no_default_permissions", "/s", "/m",
		 NULL);
	CU_ASSERT_EQUAL(p.ret, 0);
	CU_ASSERT_FALSE(p.cfg.default_permissions);
	CU_ASSERT_FALSE(do_left_has(&p, "default_permissions"));
	do_done(&p);

	/* added before a "--", which ends the options */
	do_parse(&p, "-o", "allow_other", "--", "/s", "/m", NULL);
	CU_ASSERT_EQUAL(p.ret, 0);
	for (int i = 0; i < p.args.argc; i++) {
		if (!strcmp(p.args.argv[i], "--")) {
			for (int j = i; j < p.args.argc; j++)
				CU_ASSERT_PTR_NULL(strstr(p.args.argv[j],
							  "default_permissions"));
		}
	}
	do_done(&p);

	/* without allow_other nothing is added */
	do_parse(&p, "/s", "/m", NULL);
	CU_ASSERT_FALSE(do_left_has(&p, "default_permissions"));
	do_done(&p);
}

static void test_rules(void)
{
	struct parsed p;

	/* defaults */
	do_parse(&p, "/s", "/m", NULL);
	CU_ASSERT_EQUAL(p.cfg.rules.holes, PFS_HOLES_FILL);
	CU_ASSERT_EQUAL(p.cfg.rules.punch, PFS_PUNCH_ZERO);
	CU_ASSERT_EQUAL(p.cfg.rules.fallback, PFS_FALLBACK_ZERO);
	CU_ASSERT_FALSE(p.cfg.rules.allow_cow);
	CU_ASSERT_EQUAL(p.cfg.rules.nsparse, 0);
	do_done(&p);

	do_parse(&p, "-o", "holes=keep,punch_hole=deny,fallback=refuse,allow_cow",
		 "-o", "sparse=*.img:vm/*.raw", "-o", "sparse=dl/*", "/s", "/m",
		 NULL);
	CU_ASSERT_EQUAL(p.ret, 0);
	CU_ASSERT_EQUAL(p.cfg.rules.holes, PFS_HOLES_KEEP);
	CU_ASSERT_EQUAL(p.cfg.rules.punch, PFS_PUNCH_DENY);
	CU_ASSERT_EQUAL(p.cfg.rules.fallback, PFS_FALLBACK_REFUSE);
	CU_ASSERT_TRUE(p.cfg.rules.allow_cow);
	/* sparse= accumulates over several options */
	CU_ASSERT_EQUAL_FATAL(p.cfg.rules.nsparse, 3);
	CU_ASSERT_STRING_EQUAL(p.cfg.rules.sparse[0], "*.img");
	CU_ASSERT_STRING_EQUAL(p.cfg.rules.sparse[1], "vm/*.raw");
	CU_ASSERT_STRING_EQUAL(p.cfg.rules.sparse[2], "dl/*");
	/* ours, not libfuse's */
	CU_ASSERT_FALSE(do_left_has(&p, "holes"));
	CU_ASSERT_FALSE(do_left_has(&p, "sparse"));
	CU_ASSERT_FALSE(do_left_has(&p, "allow_cow"));
	do_done(&p);

	do_parse(&p, "-o", "allow_cow,no_allow_cow,punch_hole=allow", "/s",
		 "/m", NULL);
	CU_ASSERT_FALSE(p.cfg.rules.allow_cow);
	CU_ASSERT_EQUAL(p.cfg.rules.punch, PFS_PUNCH_ALLOW);
	do_done(&p);

	/* bad values name the option and the valid words */
	do_parse(&p, "-o", "holes=maybe", "/s", "/m", NULL);
	CU_ASSERT_EQUAL(p.ret, -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(p.err, "holes=maybe"));
	CU_ASSERT_PTR_NOT_NULL(strstr(p.err, "fill|keep"));
	do_done(&p);
	do_parse(&p, "-o", "punch_hole=,fallback=x,sparse=", "/s", "/m",
		 NULL);
	CU_ASSERT_EQUAL(p.ret, -1);
	CU_ASSERT_PTR_NOT_NULL(strstr(p.err, "punch_hole="));
	CU_ASSERT_PTR_NOT_NULL(strstr(p.err, "fallback=x"));
	CU_ASSERT_PTR_NOT_NULL(strstr(p.err, "sparse="));
	do_done(&p);
}

/* -o passthrough: off by default, ours (not libfuse's), last word wins. */
static void test_passthrough(void)
{
	struct parsed p;

	do_parse(&p, "/s", "/m", NULL);
	CU_ASSERT_FALSE(p.cfg.passthrough);
	do_done(&p);
	do_parse(&p, "-o", "passthrough", "/s", "/m", NULL);
	CU_ASSERT_EQUAL(p.ret, 0);
	CU_ASSERT_TRUE(p.cfg.passthrough);
	CU_ASSERT_FALSE(do_left_has(&p, "passthrough"));
	do_done(&p);
	do_parse(&p, "-o", "passthrough,no_passthrough", "/s", "/m", NULL);
	CU_ASSERT_FALSE(p.cfg.passthrough);
	CU_ASSERT_FALSE(do_left_has(&p, "passthrough"));
	do_done(&p);
}

int pfs_register_config_suite(void)
{
	CU_pSuite s = CU_add_suite("config", NULL, NULL);

	return !s || !CU_add_test(s, "defaults", test_defaults) ||
	       !CU_add_test(s, "flags", test_flags) ||
	       !CU_add_test(s, "values", test_values) ||
	       !CU_add_test(s, "cache timeouts", test_timeouts) ||
	       !CU_add_test(s, "bad values", test_bad_values) ||
	       !CU_add_test(s, "positionals", test_positionals) ||
	       !CU_add_test(s, "passthrough", test_passthrough) ||
	       !CU_add_test(s, "default_permissions with allow_other",
			    test_default_permissions) ||
	       !CU_add_test(s, "holes, punch_hole, fallback, allow_cow, sparse",
			    test_rules) ||
	       !CU_add_test(s, "pass-through and fstab words",
			    test_passthrough_and_fstab_words);
}
