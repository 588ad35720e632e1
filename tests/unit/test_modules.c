/* Unit tests of init's module loading (init/modules*.c, init/glob.c): the
 * modules.dep / modules.alias parsers, the glob matcher against the real
 * fnmatch(3), the plan over fake modules and sysfs trees in a temp dir, and
 * the coldplug passes with a loader that records instead of calling
 * finit_module(2) (the build machine's kernel is not ours to load into; the
 * VM tests load the real module). */
#include "unit.h"

#include <errno.h>
#include <fnmatch.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../../init/glob.h"
#include "../../init/klog.h"
#include "../../init/modules.h"
#include "../../init/modules_index.h"
#include "../../init/modules_plan.h"

#define VSOCK_DIR "kernel/net/vmw_vsock/"
#define VIRTIO_VSOCK VSOCK_DIR "vmw_vsock_virtio_transport.ko"
#define VIRTIO_VSOCK_COMMON VSOCK_DIR "vmw_vsock_virtio_transport_common.ko"
/* depmod's lines for our kernel's one module and its dependency. */
#define OUR_DEP VIRTIO_VSOCK ": " VIRTIO_VSOCK_COMMON "\n" VIRTIO_VSOCK_COMMON ":\n"
#define OUR_ALIAS                                                                                  \
	"# Aliases extracted from modules themselves.\n"                                           \
	"alias virtio:d00000013v* vmw_vsock_virtio_transport\n"
#define VSOCK_MODALIAS "virtio:d00000013v00001AF4\n"

static char tmp[64], mods[128], sys[128];

__attribute__((constructor)) static void quiet_kmsg(void)
{
	klog_set_kmsg(0);
}

/* <tmp>/mods is the modules dir, <tmp>/sys the sysfs root (both empty). */
static void make_tmp(void)
{
	unit_tmpdir(tmp, sizeof(tmp), "mod");
	snprintf(mods, sizeof(mods), "%s/mods", tmp);
	snprintf(sys, sizeof(sys), "%s/sys", tmp);
	CHECK_EQ(mkdir(mods, 0755), 0);
	CHECK_EQ(mkdir(sys, 0755), 0);
}

static void mkdirs(const char *path)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "mkdir -p '%s'", path);
	CHECK_EQ(system(cmd), 0);
}

static void __attribute__((format(printf, 2, 3))) put(const char *text, const char *fmt, ...)
{
	char path[512], dir[512];
	va_list ap;
	FILE *f;

	va_start(ap, fmt);
	vsnprintf(path, sizeof(path), fmt, ap);
	va_end(ap);
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	mkdirs(dir);
	f = fopen(path, "w");
	CHECK(f != NULL);
	fputs(text, f);
	CHECK_EQ(fclose(f), 0);
}

/* A device as sysfs shows it: /sys/devices/<path> with its modalias, and
 * the link /sys/bus/<bus>/devices/<last part of path> to it. */
static void device(const char *bus, const char *path, const char *modalias)
{
	const char *slash = strrchr(path, '/');
	char link[512], target[512];

	put(modalias, "%s/devices/%s/modalias", sys, path);
	snprintf(link, sizeof(link), "%s/bus/%s/devices", sys, bus);
	mkdirs(link);
	snprintf(link, sizeof(link), "%s/bus/%s/devices/%s", sys, bus, slash ? slash + 1 : path);
	snprintf(target, sizeof(target), "../../../devices/%s", path);
	CHECK_EQ(symlink(target, link), 0);
}

static void bind_driver(const char *name)
{
	char link[512];

	snprintf(link, sizeof(link), "%s/devices/%s/driver", sys, name);
	CHECK_EQ(symlink("../../bus/x/drivers/built-in", link), 0);
}

static void vmbus(void)
{
	char dir[512];

	snprintf(dir, sizeof(dir), "%s/bus/vmbus/devices/f8615163-df3e-46c5-913f-f2d2f965ed0e",
		 sys);
	mkdirs(dir);
}

static void modules(const char *dep, const char *alias)
{
	if (dep)
		put(dep, "%s/modules.dep", mods);
	if (alias)
		put(alias, "%s/modules.alias", mods);
}

/* The plan of one pass as "name name ..." (a skipped one as "!name"). */
static const char *plan_text(const char *sysfs)
{
	static char out[1024];
	unsigned char done[64] = {0};
	struct mod_index ix;
	struct mod_plan plan;
	char name[64];
	size_t len = 0;

	CHECK_OK(mod_index_load(&ix, mods));
	CHECK(ix.n_mods <= sizeof(done));
	CHECK_OK(mod_plan_pass(&ix, sysfs, done, &plan));
	out[0] = '\0';
	for (size_t i = 0; i < plan.n; i++)
		len += snprintf(out + len, sizeof(out) - len, "%s%s%s", i ? " " : "",
				plan.steps[i].action == MOD_SKIP_VMBUS ? "!" : "",
				mod_name(ix.mods[plan.steps[i].mod].path, name, sizeof(name)));
	mod_plan_free(&plan);
	mod_index_free(&ix);
	return out;
}

/* ---- parsers --------------------------------------------------------- */

TEST(parse_dep_lines_deps_and_malformed_lines)
{
	char text[] = "kernel/a.ko: kernel/b.ko  kernel/c.ko\n"
		      "no colon here\n"
		      ": kernel/nameless.ko\n"
		      "\n"
		      "kernel/b.ko: kernel/c.ko\n"
		      "kernel/c.ko:"; /* the last line without a newline */
	struct mod_index ix = {0};

	CHECK_OK(mod_index_parse_dep(&ix, text));
	CHECK_EQ(ix.n_mods, 3);
	CHECK_STREQ(ix.mods[0].path, "kernel/a.ko");
	CHECK_STREQ(ix.mods[0].deps, "kernel/b.ko  kernel/c.ko");
	CHECK_STREQ(ix.mods[1].deps, "kernel/c.ko");
	CHECK_STREQ(ix.mods[2].path, "kernel/c.ko");
	CHECK_STREQ(ix.mods[2].deps, "");
	mod_index_free(&ix);
}

TEST(parse_alias_skips_comments_and_short_lines)
{
	char text[] = "# Aliases extracted from modules themselves.\n"
		      "alias  pci:v00001AF4d*  virtio_pci\n"
		      "alias only-a-pattern\n"
		      "softdep x pre: y\n"
		      "alias\tvirtio:d00000013v*\tvmw_vsock_virtio_transport";
	struct mod_index ix = {0};

	CHECK_OK(mod_index_parse_alias(&ix, text));
	CHECK_EQ(ix.n_aliases, 2);
	CHECK_STREQ(ix.aliases[0].pattern, "pci:v00001AF4d*");
	CHECK_STREQ(ix.aliases[0].module, "virtio_pci");
	CHECK_STREQ(ix.aliases[1].pattern, "virtio:d00000013v*");
	CHECK_STREQ(ix.aliases[1].module, "vmw_vsock_virtio_transport");
	mod_index_free(&ix);
}

TEST(module_names_fold_dash_and_underscore)
{
	char text[] = "kernel/drivers/x/snd-hda-intel.ko.xz:\nkernel/y/virtio_pci.ko:\n";
	struct mod_index ix = {0};
	char name[64];

	CHECK_OK(mod_index_parse_dep(&ix, text));
	CHECK_STREQ(mod_name(ix.mods[0].path, name, sizeof(name)), "snd-hda-intel");
	CHECK_STREQ(mod_name("a/bcdef.ko", name, 4), "bcd");
	CHECK_EQ(mod_index_find(&ix, "snd_hda_intel", 13), 0);
	CHECK_EQ(mod_index_find(&ix, "snd-hda-intel", 13), 0);
	CHECK_EQ(mod_index_find(&ix, "virtio-pci", 10), 1);
	CHECK_EQ(mod_index_find(&ix, "virtio", 6), -ENOENT); /* a prefix is not a name */
	CHECK_EQ(mod_index_find(&ix, "virtio_pcix", 11), -ENOENT);
	mod_index_free(&ix);
}

TEST(index_load_missing_files)
{
	struct mod_index ix;

	make_tmp();
	CHECK_EQ(mod_index_load(&ix, mods), -ENOENT); /* no modules.dep: no modules */
	CHECK_EQ(mod_index_load(&ix, "/nonexistent/lcow"), -ENOENT);
	modules(OUR_DEP, NULL);
	CHECK_OK(mod_index_load(&ix, mods)); /* no modules.alias: no aliases */
	CHECK_EQ(ix.n_mods, 2);
	CHECK_EQ(ix.n_aliases, 0);
	mod_index_free(&ix);
	modules("", "");
	CHECK_OK(mod_index_load(&ix, mods)); /* empty files */
	CHECK_EQ(ix.n_mods, 0);
	mod_index_free(&ix);
}

/* ---- glob ------------------------------------------------------------ */

TEST(glob_modalias_patterns)
{
	CHECK(glob_match("virtio:d00000013v*", "virtio:d00000013v00001AF4"));
	CHECK(!glob_match("virtio:d00000013v*", "virtio:d00000008v00001AF4"));
	CHECK(glob_match("pci:v00001AF4d*sv*sd*bc*sc*i*",
			 "pci:v00001AF4d00001053sv00001AF4sd00001100bc05sc80i00"));
	CHECK(glob_match("usb:v046DpC52Bd[0-1]*dc*", "usb:v046DpC52Bd0120dc00"));
	CHECK(!glob_match("usb:v046DpC52Bd[0-1]*dc*", "usb:v046DpC52Bd2120dc00"));
	CHECK(glob_match("acpi*:PNP0A0[38]:*", "acpi:PNP0A08:PNP0A03:"));
	CHECK(glob_match("a?c", "abc"));
	CHECK(!glob_match("a?c", "ac"));
	CHECK(glob_match("*", ""));
	CHECK(!glob_match("x", ""));
	CHECK(glob_match("[!a]b", "xb"));
	CHECK(!glob_match("[^x]b", "xb"));
	CHECK(glob_match("[]]", "]"));
	CHECK(glob_match("a[", "a[")); /* unterminated: a plain '[' */
	CHECK(glob_match("\\*", "*")); /* quoted */
	CHECK(!glob_match("\\*", "x"));
}

static unsigned int rnd(unsigned int *seed, unsigned int n)
{
	*seed = *seed * 1103515245 + 12345;
	return (*seed >> 16) % n;
}

/* A random well-formed glob of the kinds modules.alias holds: literals,
 * '?', '*', and brackets with members, ranges and negation. */
static void random_glob(unsigned int *seed, char *out)
{
	int tokens = 1 + rnd(seed, 5);

	for (; tokens > 0; tokens--) {
		switch (rnd(seed, 5)) {
		case 0:
			*out++ = '*';
			break;
		case 1:
			*out++ = '?';
			break;
		case 2:
			*out++ = '[';
			if (rnd(seed, 3) == 0)
				*out++ = "!^"[rnd(seed, 2)];
			for (int m = 1 + rnd(seed, 2); m > 0; m--) {
				char lo = "abc"[rnd(seed, 3)];

				*out++ = lo;
				if (rnd(seed, 2)) {
					/* Never reversed ("c-a"): POSIX leaves
					 * those unspecified. */
					*out++ = '-';
					*out++ = lo + rnd(seed, 'c' - lo + 1);
				}
			}
			*out++ = ']';
			break;
		default:
			*out++ = "abc:"[rnd(seed, 4)];
		}
	}
	*out = '\0';
}

/* The same verdict as fnmatch(pattern, s, 0), on many random pairs. */
TEST(glob_agrees_with_fnmatch)
{
	char pattern[64], s[8];
	unsigned int seed = 12345, bad = 0, matched = 0;

	for (int round = 0; round < 100000; round++) {
		int slen = rnd(&seed, 7);

		random_glob(&seed, pattern);
		for (int i = 0; i < slen; i++)
			s[i] = "abc:"[rnd(&seed, 4)];
		s[slen] = '\0';
		matched += fnmatch(pattern, s, 0) == 0;
		if (glob_match(pattern, s) != (fnmatch(pattern, s, 0) == 0) && bad++ < 5)
			fprintf(stderr, "pattern '%s' string '%s': glob %d, fnmatch %d\n", pattern,
				s, glob_match(pattern, s), fnmatch(pattern, s, 0) == 0);
	}
	CHECK_EQ(bad, 0);
	CHECK(matched > 1000); /* the pairs are not all misses */
}

/* ---- the plan ---------------------------------------------------------- */

TEST(virtio_vsock_device_gets_common_then_transport)
{
	make_tmp();
	modules(OUR_DEP, OUR_ALIAS);
	device("virtio", "pci0000:00/0000:00:03.0/virtio0", VSOCK_MODALIAS);
	CHECK_STREQ(plan_text(sys), "vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport");
}

TEST(vmbus_present_skips_virtio_vsock)
{
	make_tmp();
	modules(OUR_DEP, OUR_ALIAS);
	device("virtio", "virtio0", VSOCK_MODALIAS);
	vmbus();
	/* Skipped, and its dependency not loaded for it either. */
	CHECK_STREQ(plan_text(sys), "!vmw_vsock_virtio_transport");
}

TEST(empty_vmbus_directory_is_not_hyperv)
{
	char dir[512];

	make_tmp();
	modules(OUR_DEP, OUR_ALIAS);
	device("virtio", "virtio0", VSOCK_MODALIAS);
	snprintf(dir, sizeof(dir), "%s/bus/vmbus/devices", sys);
	mkdirs(dir);
	CHECK(!mod_vmbus_present(sys));
	CHECK_STREQ(plan_text(sys), "vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport");
}

TEST(vmbus_wants_hv_sock_without_a_device)
{
	make_tmp();
	modules("kernel/net/vmw_vsock/hv_sock.ko: kernel/net/vmw_vsock/vsock.ko\n"
		"kernel/net/vmw_vsock/vsock.ko:\n" OUR_DEP,
		OUR_ALIAS);
	CHECK_STREQ(plan_text(sys), ""); /* not on QEMU */
	vmbus();
	CHECK(mod_vmbus_present(sys));
	CHECK_STREQ(plan_text(sys), "vsock hv_sock");
}

TEST(dependencies_come_first_whatever_the_listing_order)
{
	make_tmp();
	/* a needs b and c, b needs c; modules.dep's order is no guide. */
	modules("k/a.ko: k/c.ko k/b.ko\n"
		"k/b.ko: k/c.ko\n"
		"k/c.ko:\n"
		"k/d.ko: k/b.ko k/c.ko\n",
		"alias dev:a a\nalias dev:d d\n");
	device("x", "one", "dev:a\n");
	device("x", "two", "dev:d\n");
	/* d shares b and c with a: each is planned once. */
	const char *got = plan_text(sys);
	CHECK(strcmp(got, "c b a d") == 0 || strcmp(got, "c b d a") == 0);
}

TEST(glob_aliases_pick_their_module_only)
{
	make_tmp();
	modules("k/range.ko:\nk/any.ko:\nk/never.ko:\n", "alias usb:v1234p0001d[0-2]* range\n"
							 "alias pci:v*d00001000* any\n"
							 "alias pci:v00008086* never\n");
	device("usb", "1-1", "usb:v1234p0001d0100dc00\n");
	device("usb", "1-2", "usb:v1234p0001d0300dc00\n"); /* outside the range */
	device("pci", "0000:00:03.0", "pci:v00001AF4d00001000sv00001AF4\n");
	CHECK_STREQ(plan_text(sys), "range any");
}

TEST(devices_with_a_driver_or_no_modalias_are_left_alone)
{
	char dir[512];

	make_tmp();
	modules(OUR_DEP, OUR_ALIAS);
	device("virtio", "virtio0", VSOCK_MODALIAS);
	bind_driver("virtio0");
	snprintf(dir, sizeof(dir), "%s/bus/virtio/devices/nomodalias", sys);
	mkdirs(dir);
	device("virtio", "virtio1", "\n"); /* empty */
	CHECK_STREQ(plan_text(sys), "");
}

TEST(missing_sysfs_or_aliases_plan_nothing)
{
	make_tmp();
	modules(OUR_DEP, NULL);
	device("virtio", "virtio0", VSOCK_MODALIAS);
	CHECK_STREQ(plan_text(sys), ""); /* no modules.alias */
	modules(OUR_DEP, OUR_ALIAS);
	CHECK_STREQ(plan_text("/nonexistent/lcow-sys"), "");
}

/* ---- coldplug passes ------------------------------------------------- */

/* Records each load; loading "bus<k>.ko" makes device k+1 appear, whose
 * alias is bus<k+1>'s (a bus driver revealing the next level). */
struct fake_loader {
	char loaded[512];
	const char *fail; /* a module that fails with -ENOEXEC */
	int eexist;	  /* every load says "already loaded" */
};

static int fake_load(const char *path, void *ctx)
{
	struct fake_loader *f = ctx;
	const char *base = strrchr(path, '/') + 1;
	char dev[32], modalias[32];
	size_t len = strlen(f->loaded);
	int k;

	CHECK(strncmp(path, mods, strlen(mods)) == 0); /* a full path in the modules dir */
	if (f->fail && strncmp(base, f->fail, strlen(f->fail)) == 0)
		return -ENOEXEC;
	snprintf(f->loaded + len, sizeof(f->loaded) - len, "%s%.*s", len ? " " : "",
		 (int)strcspn(base, "."), base);
	if (sscanf(base, "bus%d.ko", &k) == 1) {
		snprintf(dev, sizeof(dev), "dev%d", k + 1);
		snprintf(modalias, sizeof(modalias), "level:%d\n", k + 1);
		device("chain", dev, modalias);
	}
	return f->eexist ? -EEXIST : 0;
}

static void chain_of(int levels)
{
	char dep[1024] = "", alias[1024] = "";
	size_t d = 0, a = 0;

	for (int k = 0; k < levels; k++) {
		d += snprintf(dep + d, sizeof(dep) - d, "k/bus%d.ko:\n", k);
		a += snprintf(alias + a, sizeof(alias) - a, "alias level:%d bus%d\n", k, k);
	}
	modules(dep, alias);
	device("chain", "dev0", "level:0\n");
}

TEST(coldplug_repeats_until_nothing_new)
{
	struct fake_loader f = {.fail = NULL};
	struct mod_coldplug_result res;

	make_tmp();
	chain_of(3); /* bus0 reveals dev1 (bus1), which reveals dev2 (bus2) */
	CHECK_OK(init_modules_coldplug(mods, sys, 5, fake_load, &f, &res));
	CHECK_STREQ(f.loaded, "bus0 bus1 bus2");
	CHECK_EQ(res.loaded, 3);
	CHECK_EQ(res.passes, 3);
	CHECK_EQ(res.unfinished, 0);
}

TEST(coldplug_stops_at_the_pass_bound)
{
	struct fake_loader f = {.fail = NULL};
	struct mod_coldplug_result res;

	make_tmp();
	chain_of(10);
	CHECK_OK(init_modules_coldplug(mods, sys, 3, fake_load, &f, &res));
	CHECK_STREQ(f.loaded, "bus0 bus1 bus2");
	CHECK_EQ(res.passes, 3);
	CHECK_EQ(res.unfinished, 1); /* bus3 was still wanted */
}

TEST(coldplug_virtio_vsock_loads_both_in_one_pass)
{
	struct fake_loader f = {.fail = NULL};
	struct mod_coldplug_result res;

	make_tmp();
	modules(OUR_DEP, OUR_ALIAS);
	device("virtio", "virtio0", VSOCK_MODALIAS);
	CHECK_OK(init_modules_coldplug(mods, sys, 5, fake_load, &f, &res));
	CHECK_STREQ(f.loaded, "vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport");
	CHECK_EQ(res.loaded, 2);
	CHECK_EQ(res.passes, 1); /* the device stays unbound here: done[] stops a reload */
}

TEST(coldplug_on_vmbus_loads_no_virtio_vsock)
{
	struct fake_loader f = {.fail = NULL};
	struct mod_coldplug_result res;

	make_tmp();
	modules(OUR_DEP, OUR_ALIAS);
	device("virtio", "virtio0", VSOCK_MODALIAS);
	vmbus();
	CHECK_OK(init_modules_coldplug(mods, sys, 5, fake_load, &f, &res));
	CHECK_STREQ(f.loaded, "");
	CHECK_EQ(res.loaded, 0);
	CHECK_EQ(res.skipped, 1);
}

TEST(coldplug_failure_is_counted_and_the_rest_goes_on)
{
	struct fake_loader f = {.fail = "vmw_vsock_virtio_transport_common"};
	struct mod_coldplug_result res;

	make_tmp();
	modules(OUR_DEP "k/other.ko:\n", OUR_ALIAS "alias dev:other other\n");
	device("virtio", "virtio0", VSOCK_MODALIAS);
	device("x", "o", "dev:other\n");
	CHECK_OK(init_modules_coldplug(mods, sys, 5, fake_load, &f, &res));
	CHECK_EQ(res.failed, 1);
	/* Its dependent is still tried (the kernel then names what is missing). */
	CHECK(strstr(f.loaded, "vmw_vsock_virtio_transport") != NULL);
	CHECK(strstr(f.loaded, "other") != NULL);
	CHECK_EQ(res.loaded, 2);
}

TEST(coldplug_counts_already_loaded_as_loaded)
{
	struct fake_loader f = {.eexist = 1};
	struct mod_coldplug_result res;

	make_tmp();
	modules(OUR_DEP, OUR_ALIAS);
	device("virtio", "virtio0", VSOCK_MODALIAS);
	CHECK_OK(init_modules_coldplug(mods, sys, 5, fake_load, &f, &res));
	CHECK_EQ(res.loaded, 2);
	CHECK_EQ(res.failed, 0);
}

TEST(coldplug_without_modules_dep_is_enoent)
{
	struct fake_loader f = {.fail = NULL};
	struct mod_coldplug_result res;

	make_tmp();
	device("virtio", "virtio0", VSOCK_MODALIAS);
	CHECK_EQ(init_modules_coldplug(mods, sys, 5, fake_load, &f, &res), -ENOENT);
	CHECK_STREQ(f.loaded, "");
}

TEST(finit_of_a_missing_file_fails_before_the_syscall)
{
	CHECK_EQ(init_module_finit("/nonexistent/lcow/x.ko", NULL), -ENOENT);
}

/* ---- modules.lcow: wanted at boot whatever the devices ---------------- */

TEST(boot_list_is_loaded_without_devices_dependencies_first)
{
	make_tmp();
	modules("kernel/fs/overlayfs/overlay.ko:\n"
		"kernel/drivers/md/dm-mod.ko:\n"
		"kernel/fs/9p/9p.ko: kernel/net/9p/9pnet.ko kernel/fs/netfs/netfs.ko\n"
		"kernel/net/9p/9pnet.ko:\n"
		"kernel/fs/netfs/netfs.ko:\n"
		"kernel/drivers/unused.ko:\n",
		"");
	CHECK_STREQ(plan_text(sys), ""); /* no list: nothing without a device */
	/* Comments, blank lines, '-' for '_', a name the tree lacks (built in). */
	put("# LCOW's modules\noverlay\n\ndm_mod\n9p\nbuilt_in_here\n", "%s/modules.lcow", mods);
	CHECK_STREQ(plan_text(sys), "overlay dm-mod 9pnet netfs 9p");
}

TEST(boot_list_and_devices_share_one_plan)
{
	unsigned char done[8] = {0};
	struct mod_index ix;
	struct mod_plan plan;

	make_tmp();
	modules("kernel/net/vmw_vsock/vsock.ko:\n" OUR_DEP, OUR_ALIAS);
	put("vsock\nvmw_vsock_virtio_transport_common\n", "%s/modules.lcow", mods);
	device("virtio", "virtio0", VSOCK_MODALIAS);
	/* Each module once, though both the list and the device want it. */
	CHECK_STREQ(plan_text(sys),
		    "vsock vmw_vsock_virtio_transport_common vmw_vsock_virtio_transport");
	/* A module an earlier pass handled is not planned again. */
	CHECK_OK(mod_index_load(&ix, mods));
	CHECK_EQ(ix.n_boot, 2);
	for (size_t i = 0; i < ix.n_mods; i++)
		done[i] = 1;
	CHECK_OK(mod_plan_pass(&ix, sys, done, &plan));
	CHECK_EQ(plan.n, 0);
	mod_plan_free(&plan);
	mod_index_free(&ix);
}

TEST(boot_list_virtio_vsock_is_still_skipped_on_vmbus)
{
	make_tmp();
	modules(OUR_DEP, OUR_ALIAS);
	put("vmw_vsock_virtio_transport\n", "%s/modules.lcow", mods);
	vmbus();
	CHECK_STREQ(plan_text(sys), "!vmw_vsock_virtio_transport");
}

TEST(coldplug_loads_the_boot_list_once)
{
	struct fake_loader f = {.fail = NULL};
	struct mod_coldplug_result res;

	make_tmp();
	modules("k/overlay.ko:\nk/veth.ko:\n", "");
	put("overlay\nveth\n", "%s/modules.lcow", mods);
	CHECK_OK(init_modules_coldplug(mods, sys, 5, fake_load, &f, &res));
	CHECK_STREQ(f.loaded, "overlay veth");
	CHECK_EQ(res.loaded, 2);
	CHECK_EQ(res.passes, 1);
}
