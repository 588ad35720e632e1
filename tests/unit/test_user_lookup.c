/* user_lookup(): "name", "uid", "name:group", ... resolved in a temporary
 * rootfs's own /etc/passwd and /etc/group. */
#include "unit.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "containers/user_lookup.h"

static char root[64];

static void write_file(const char *rel, const char *text)
{
	char path[256];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	f = fopen(path, "w");
	CHECK(f != NULL);
	fputs(text, f);
	fclose(f);
}

/* Runs after unit_tmpdir()'s removal of root (registered before it): a
 * rootfs left behind fails the test. */
static void check_removed(void)
{
	struct stat st;

	if (root[0])
		CHECK(lstat(root, &st) < 0 && errno == ENOENT);
}

static void make_rootfs(void)
{
	static bool checked;
	char etc[128];

	if (!checked) {
		CHECK_EQ(atexit(check_removed), 0);
		checked = true;
	}
	unit_tmpdir(root, sizeof(root), "user");
	snprintf(etc, sizeof(etc), "%s/etc", root);
	CHECK_EQ(mkdir(etc, 0755), 0);
	write_file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n"
				 "# a comment\n"
				 "broken line without fields\n"
				 "alice:x:1000:1000::/home/alice:/bin/sh\n"
				 "bob:x:1001:1002::/home/bob:/bin/sh\n"
				 "alice:x:3000:3000:shadowed duplicate:/:/bin/sh\n");
	write_file("etc/group", "root:x:0:\n"
				"alice:x:1000:\n"
				"staff:x:50:alice,bob\n"
				"wheel:x:10:carol,alice\n"
				"bobs:x:1002:bob\n"
				"audio:x:29:bob\n"
				"staff:x:51:alice\n");
}

static void expect(const char *user, uint32_t uid, uint32_t gid, const uint32_t *add, size_t n)
{
	struct user_ids ids;
	struct error e;
	int rc = user_lookup(root, user, &ids, &e);

	if (rc < 0)
		unit_fail(__FILE__, __LINE__, "%s: %s", user, e.msg);
	if (ids.uid != uid || ids.gid != gid || ids.n_additional != n)
		unit_fail(__FILE__, __LINE__, "%s: got %u:%u +%zu, want %u:%u +%zu", user, ids.uid,
			  ids.gid, ids.n_additional, uid, gid, n);
	for (size_t i = 0; i < n; i++)
		CHECK_EQ(ids.additional_gids[i], add[i]);
	user_ids_free(&ids);
}

static void expect_error(const char *user, enum error_kind kind, const char *needle)
{
	struct user_ids ids;
	struct error e;

	CHECK(user_lookup(root, user, &ids, &e) < 0);
	CHECK_EQ(e.kind, kind);
	if (!strstr(e.msg, needle))
		unit_fail(__FILE__, __LINE__, "\"%s\" lacks \"%s\"", e.msg, needle);
	CHECK(ids.additional_gids == NULL);
}

TEST(name_gives_passwd_ids_and_member_groups)
{
	/* The first alice wins; staff 51 is a second group alice is in. */
	const uint32_t alice[] = {10, 50, 51}, bob[] = {29, 50};

	make_rootfs();
	expect("alice", 1000, 1000, alice, 3);
	/* bob's primary group 1002 lists him too: not repeated. */
	expect("bob", 1001, 1002, bob, 2);
	expect("root", 0, 0, NULL, 0);
}

TEST(numeric_uid_known_and_unknown)
{
	const uint32_t alice[] = {10, 50, 51};

	make_rootfs();
	expect("1000", 1000, 1000, alice, 3);
	/* Not in passwd: the uid is used as is with gid 0. */
	expect("4242", 4242, 0, NULL, 0);
}

TEST(explicit_group_replaces_primary)
{
	const uint32_t alice_wo_50[] = {10, 51}, alice[] = {10, 50, 51};

	make_rootfs();
	expect("alice:staff", 1000, 50, alice_wo_50, 2);
	expect("alice:77", 1000, 77, alice, 3);
	expect("4242:audio", 4242, 29, NULL, 0);
	expect("0:0", 0, 0, NULL, 0);
}

TEST(unknown_names_are_clear_errors)
{
	make_rootfs();
	expect_error("nobody", ERR_INVALID_ARG, "user \"nobody\" not found in");
	expect_error("nobody", ERR_INVALID_ARG, "/etc/passwd");
	expect_error("alice:nogroup", ERR_INVALID_ARG, "group \"nogroup\" not found in");
	expect_error("", ERR_INVALID_ARG, "invalid user");
	expect_error("a:b:c", ERR_INVALID_ARG, "invalid user");
	expect_error(":50", ERR_INVALID_ARG, "invalid user");
	expect_error("alice:", ERR_INVALID_ARG, "invalid user");
	/* 2^32-1 is not a usable id. */
	expect_error("4294967295x", ERR_INVALID_ARG, "not found");
}

TEST(missing_files)
{
	char p[128];

	make_rootfs();
	snprintf(p, sizeof(p), "%s/etc/group", root);
	CHECK_EQ(unlink(p), 0);
	/* Without /etc/group a user still resolves, without extra groups. */
	expect("alice", 1000, 1000, NULL, 0);
	expect_error("alice:staff", ERR_INVALID_ARG, "etc/group");
	snprintf(p, sizeof(p), "%s/etc/passwd", root);
	CHECK_EQ(unlink(p), 0);
	expect("123", 123, 0, NULL, 0);
	expect_error("alice", ERR_INVALID_ARG, "etc/passwd");
}

TEST(absolute_symlink_resolves_inside_rootfs)
{
	char p[128], q[128];

	make_rootfs();
	/* etc/passwd -> /lcow-elsewhere/passwd must mean <rootfs>/lcow-elsewhere,
	 * never the UVM's own /lcow-elsewhere. */
	snprintf(p, sizeof(p), "%s/lcow-elsewhere", root);
	CHECK_EQ(mkdir(p, 0755), 0);
	write_file("lcow-elsewhere/passwd", "eve:x:7:8::/:/bin/sh\n");
	snprintf(q, sizeof(q), "%s/etc/passwd", root);
	CHECK_EQ(unlink(q), 0);
	CHECK_EQ(symlink("/lcow-elsewhere/passwd", q), 0);
	expect("eve", 7, 8, NULL, 0);
	/* A relative escape is clamped at the rootfs too. */
	CHECK_EQ(unlink(q), 0);
	CHECK_EQ(symlink("../../../../../../lcow-elsewhere/passwd", q), 0);
	expect("eve", 7, 8, NULL, 0);
	expect_error("root", ERR_INVALID_ARG, "not found");
}

/* What a container can plant at /etc/passwd: the lookup must neither block
 * nor read without end, and says what it found instead. */
TEST(a_fifo_is_refused_without_blocking)
{
	char p[128];

	make_rootfs();
	snprintf(p, sizeof(p), "%s/etc/passwd", root);
	CHECK_EQ(unlink(p), 0);
	CHECK_EQ(mkfifo(p, 0644), 0);
	expect_error("alice", ERR_INVALID_ARG, "etc/passwd is not a regular file");
	/* A numeric uid still needs passwd when the file is there. */
	expect_error("1000", ERR_INVALID_ARG, "not a regular file");
	CHECK_EQ(unlink(p), 0);
	write_file("etc/passwd", "root:x:0:0:root:/root:/bin/sh\n");
	snprintf(p, sizeof(p), "%s/etc/group", root);
	CHECK_EQ(unlink(p), 0);
	CHECK_EQ(mkfifo(p, 0644), 0);
	expect_error("0:wheel", ERR_INVALID_ARG, "etc/group is not a regular file");
}

TEST(a_sparse_file_without_newlines_is_refused)
{
	char p[128];
	int fd;

	make_rootfs();
	snprintf(p, sizeof(p), "%s/etc/passwd", root);
	fd = open(p, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0);
	/* 8 MiB of NULs: below the size bound, one endless line. */
	CHECK_EQ(ftruncate(fd, 8 << 20), 0);
	close(fd);
	expect_error("alice", ERR_INVALID_ARG, "line longer than 64 KiB");
	fd = open(p, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0);
	CHECK_EQ(ftruncate(fd, (off_t)64 << 30), 0); /* 64 GiB, sparse */
	close(fd);
	expect_error("alice", ERR_INVALID_ARG, "larger than 16 MiB");
}

TEST(long_lines_up_to_the_bound_are_read)
{
	char p[128], *big;
	FILE *f;

	make_rootfs();
	snprintf(p, sizeof(p), "%s/etc/group", root);
	f = fopen(p, "a");
	CHECK(f != NULL);
	/* A group line of exactly 64 KiB, newline excluded, listing alice. */
	big = malloc(64 * 1024 + 1);
	CHECK(big != NULL);
	memset(big, 'x', 64 * 1024);
	memcpy(big, "big:x:77:", 9);
	memcpy(big + 64 * 1024 - 6, ",alice", 6);
	big[64 * 1024] = '\0';
	fprintf(f, "%s\n", big);
	fclose(f);
	free(big);
	expect("alice", 1000, 1000, (const uint32_t[]){10, 50, 51, 77}, 4);
}
