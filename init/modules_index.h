/* What depmod wrote about a kernel's modules, as /init needs it:
 * modules.dep ("path.ko: dep.ko dep2.ko", every dependency listed, direct or
 * not) and modules.alias ("alias <glob> <module>", the device ids each
 * module drives). Both are parsed in place. Plus modules.lcow, which is
 * not depmod's: one module name a line ('#' comments), the modules LCOW
 * needs at boot whatever devices are present (make check-kernel writes it
 * for a vendor kernel whose filesystems, device-mapper, netfilter, ... are
 * modules: nothing else would load them in time). */
#ifndef LCOW_INIT_MODULES_INDEX_H
#define LCOW_INIT_MODULES_INDEX_H

#include <stdbool.h>
#include <stddef.h>

struct mod_entry {
	const char *path; /* as in modules.dep: relative to the modules dir */
	const char *deps; /* space-separated paths, "" for none */
};

struct mod_alias {
	const char *pattern; /* a glob (glob.h) over a device's modalias */
	const char *module;  /* module name */
};

struct mod_index {
	struct mod_entry *mods;
	size_t n_mods;
	struct mod_alias *aliases;
	size_t n_aliases;
	const char **boot; /* modules.lcow's names */
	size_t n_boot;
	/* Allocation sizes, and the text mod_index_load read. */
	size_t mods_size, aliases_size, boot_size, text_size[3];
	char *text[3];
};

/* Reads dir/modules.dep, dir/modules.alias and dir/modules.lcow. -ENOENT
 * when modules.dep is missing (no modules at all); a missing modules.alias
 * or modules.lcow only leaves none. Other failures: a negative errno. ix is
 * freed on failure. */
int mod_index_load(struct mod_index *ix, const char *dir);

/* The parsers behind mod_index_load, in place: text (NUL-terminated) is cut
 * into the strings ix points to, so it must outlive ix. Malformed lines are
 * skipped. Start from a zeroed ix; each is called at most once. 0 or
 * -ENOMEM. */
int mod_index_parse_dep(struct mod_index *ix, char *text);
int mod_index_parse_alias(struct mod_index *ix, char *text);
int mod_index_parse_boot(struct mod_index *ix, char *text);

void mod_index_free(struct mod_index *ix);

/* The module called name (its first len bytes; '-' and '_' are the same,
 * as in the kernel's module names): its index in ix->mods, or -ENOENT. */
int mod_index_find(const struct mod_index *ix, const char *name, size_t len);

/* Writes the name of the module at path ("kernel/x/a-b.ko.xz" -> "a-b")
 * into buf; returns buf. */
const char *mod_name(const char *path, char *buf, size_t len);

#endif
