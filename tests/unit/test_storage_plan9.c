/* MappedDirectory: the 9p mount data, dialling through the transport (a
 * unix socket "<prefix>_<port>" here, never vsock), and on kernels with 9p
 * a real mount served by a minimal 9P2000.L server in a child process,
 * which reports the msize, version and aname the kernel sent. */
#include "storage_fixture.h"

#include <signal.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "storage/plan9.h"

TEST(plan9_mount_data_matches_the_reference)
{
	char data[256];
	struct error e;

	CHECK_OK(plan9_mount_data(data, sizeof(data), 7, "3", false, &e));
	CHECK_STREQ(data, "trans=fd,rfdno=7,wfdno=7,msize=65536,aname=3");
	CHECK_OK(plan9_mount_data(data, sizeof(data), 12, "3", true, &e));
	CHECK_STREQ(data, "trans=fd,rfdno=12,wfdno=12,msize=65536,noload,aname=3");
	CHECK_OK(plan9_mount_data(data, sizeof(data), 5, "", false, &e));
	CHECK_STREQ(data, "trans=fd,rfdno=5,wfdno=5,msize=65536");
	CHECK_EQ(plan9_mount_data(data, sizeof(data), 5, "3,access=any", false, &e), -EINVAL);
	CHECK_EQ(e.kind, ERR_INVALID_ARG);
	CHECK_EQ(plan9_mount_data(data, sizeof(data), 5, "a b", false, &e), -EINVAL);
}

static bool kernel_has_9p(void)
{
	char buf[4096];
	const char *p = fx_read("/proc/filesystems", buf, sizeof(buf));

	return p && strstr(p, "\t9p\n");
}

static struct transport unix_transport(void)
{
	struct transport t;
	char spec[PATH_MAX];

	fx_fmt(spec, "unix:%s/p9", fx.dir);
	if (transport_parse(spec, &t) < 0)
		unit_fail(__FILE__, __LINE__, "transport %s", spec);
	return t;
}

static int listen_on(unsigned port)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/p9_%u", fx.dir, port);
	CHECK(fd >= 0);
	CHECK(bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
	CHECK(listen(fd, 4) == 0);
	return fd;
}

/* --- a 9P2000.L server just big enough for mount, stat and unmount --- */

enum {
	Rlerror = 7,
	Tstatfs = 8,
	Tgetattr = 24,
	Tversion = 100,
	Tattach = 104,
	Tflush = 108,
	Twalk = 110,
	Tclunk = 120,
};

struct msg {
	unsigned char b[8192];
	size_t n;
};

static void put(struct msg *m, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		m->b[m->n++] = (unsigned char)(v >> (8 * i));
}

static void put_str(struct msg *m, const char *s)
{
	size_t len = strlen(s);

	put(m, len, 2);
	memcpy(m->b + m->n, s, len);
	m->n += len;
}

static void put_qid(struct msg *m)
{
	put(m, 0x80, 1); /* QTDIR */
	put(m, 0, 4);
	put(m, 1, 8);
}

static uint64_t get(const unsigned char *p, int bytes)
{
	uint64_t v = 0;

	for (int i = bytes - 1; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* A 9P string at p: copied into out. Returns the bytes it took. */
static size_t get_str(const unsigned char *p, char *out, size_t size)
{
	size_t len = get(p, 2);

	snprintf(out, size, "%.*s", (int)len, (const char *)p + 2);
	return 2 + len;
}

static bool read_full(int fd, unsigned char *p, size_t n)
{
	while (n) {
		ssize_t r = read(fd, p, n);

		if (r <= 0)
			return false;
		p += r;
		n -= (size_t)r;
	}
	return true;
}

static void reply_body(struct msg *out, int type, const unsigned char *req, char *report,
		       size_t size)
{
	char version[32], uname[64], aname[64];
	const unsigned char *body = req + 7;

	switch (type) {
	case Tversion:
		get_str(body + 4, version, sizeof(version));
		snprintf(report + strlen(report), size - strlen(report), "msize=%u version=%s ",
			 (unsigned)get(body, 4), version);
		put(out, get(body, 4), 4);
		put_str(out, "9P2000.L");
		break;
	case Tattach:
		body += 8 + get_str(body + 8, uname, sizeof(uname));
		get_str(body, aname, sizeof(aname));
		snprintf(report + strlen(report), size - strlen(report), "aname=%s ", aname);
		put_qid(out);
		break;
	case Tgetattr:
		put(out, 0x7ff, 8); /* P9_STATS_BASIC */
		put_qid(out);
		put(out, S_IFDIR | 0755, 4);
		put(out, 0, 4);
		put(out, 0, 4);
		put(out, 2, 8);
		for (int i = 0; i < 14; i++) /* rdev, size, blksize, ... data_version */
			put(out, i == 2 ? 4096 : 0, 8);
		break;
	case Twalk:
		if (get(body + 8, 2) != 0) {
			out->b[4] = Rlerror;
			put(out, ENOENT, 4);
			return;
		}
		put(out, 0, 2); /* a clone: no qids */
		break;
	case Tstatfs:
		put(out, 0x01021997, 4);
		put(out, 4096, 4);
		for (int i = 0; i < 6; i++)
			put(out, 1000, 8);
		put(out, 255, 4);
		break;
	case Tclunk:
	case Tflush:
		break;
	default:
		out->b[4] = Rlerror;
		put(out, EOPNOTSUPP, 4);
	}
}

/* Serves one connection until it closes, then writes what it saw to
 * report_fd. */
static void serve_9p(int listener, int report_fd)
{
	char report[512] = "";
	int fd = accept(listener, NULL, NULL);
	unsigned char req[8192];

	if (fd < 0)
		_exit(1);
	strcat(report, "connected ");
	for (;;) {
		struct msg out = {.n = 0};
		size_t len;

		if (!read_full(fd, req, 4))
			break;
		len = get(req, 4);
		if (len < 7 || len > sizeof(req) || !read_full(fd, req + 4, len - 4))
			break;
		put(&out, 0, 4);
		put(&out, req[4] + 1u, 1);
		put(&out, get(req + 5, 2), 2);
		reply_body(&out, req[4], req, report, sizeof(report));
		for (int i = 0; i < 4; i++)
			out.b[i] = (unsigned char)(out.n >> (8 * i));
		if (write(fd, out.b, out.n) != (ssize_t)out.n)
			break;
	}
	if (write(report_fd, report, strlen(report)) < 0)
		_exit(1);
	_exit(0);
}

/* Starts the server on port; the parent reads the report from *report. */
static pid_t start_server(unsigned port, int *report)
{
	int listener = listen_on(port), fds[2];
	pid_t pid;

	CHECK(pipe(fds) == 0);
	pid = fork();
	CHECK(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		alarm(20);
		serve_9p(listener, fds[1]);
	}
	close(fds[1]);
	close(listener);
	*report = fds[0];
	return pid;
}

static void server_report(pid_t pid, int fd, char *buf, size_t size)
{
	ssize_t n = read(fd, buf, size - 1);
	int status;

	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	waitpid(pid, &status, 0);
}

TEST(plan9_mounts_a_share_through_the_transport)
{
	char mp[PATH_MAX], report[512];
	struct transport t;
	struct plan9_mount_req req = {.port = 5640, .share_name = "3", .read_only = true};
	struct statvfs sv;
	struct stat st;
	struct error e;
	int report_fd;
	pid_t pid;

	fx_init(true);
	if (!kernel_has_9p())
		SKIP("the kernel has no 9p filesystem: runs in the VM test");
	alarm(30);
	t = unix_transport();
	fx.cfg.transport = &t;
	fx_fmt(mp, "%s/gcs/c/busybox1/mounts/m0", fx.run);
	req.mount_path = mp;
	pid = start_server(5640, &report_fd);
	int r = storage_plan9_mount(&fx.cfg, &req, &e);
	if (r < 0)
		kill(pid, SIGKILL);
	CHECK_STORAGE(r, &e);
	CHECK(stat(mp, &st) == 0 && S_ISDIR(st.st_mode));
	CHECK(statvfs(mp, &sv) == 0 && (sv.f_flag & ST_RDONLY));
	char src[PATH_MAX];
	CHECK(fx_mountinfo(mp, src, NULL, NULL));
	CHECK_STREQ(src, mp);
	CHECK_STORAGE(storage_plan9_unmount(&fx.cfg, &req, &e), &e);
	CHECK(!fx_exists(mp));
	server_report(pid, report_fd, report, sizeof(report));
	CHECK_CONTAINS(report, "connected");
	CHECK_CONTAINS(report, "msize=65536");
	CHECK_CONTAINS(report, "version=9P2000.L");
	CHECK_CONTAINS(report, "aname=3 ");
}

TEST(plan9_without_9p_fails_after_dialling_and_cleans_up)
{
	char mp[PATH_MAX], report[512];
	struct transport t;
	struct plan9_mount_req req = {.port = 5641, .share_name = "7"};
	struct error e;
	int report_fd;
	pid_t pid;

	fx_init(true);
	if (kernel_has_9p())
		SKIP("the kernel has 9p (plan9_mounts_a_share_through_the_transport covers it)");
	alarm(30);
	t = unix_transport();
	fx.cfg.transport = &t;
	fx_fmt(mp, "%s/gcs/c/c1/mounts/m1", fx.run);
	req.mount_path = mp;
	pid = start_server(5641, &report_fd);
	CHECK_EQ(storage_plan9_mount(&fx.cfg, &req, &e), -ENODEV);
	CHECK_CONTAINS(e.msg, "Plan 9 share \"7\"");
	CHECK_CONTAINS(e.msg, "no 9p filesystem");
	CHECK(!fx_exists(mp));
	server_report(pid, report_fd, report, sizeof(report)); /* our fd closed: EOF */
	CHECK_STREQ(report, "connected ");
}

TEST(plan9_dial_failure_names_the_endpoint)
{
	char mp[PATH_MAX], where[PATH_MAX];
	struct transport t;
	struct plan9_mount_req req = {.share_name = "1"}; /* port 0: 564 */
	struct error e;

	fx_init(false);
	t = unix_transport();
	fx.cfg.transport = &t;
	fx_fmt(mp, "%s/gcs/c/c2/mounts/m0", fx.run);
	req.mount_path = mp;
	CHECK(storage_plan9_mount(&fx.cfg, &req, &e) < 0);
	fx_fmt(where, "%s/p9_564", fx.dir);
	CHECK_CONTAINS(e.msg, where);
	CHECK_CONTAINS(e.msg, "connect to the 9P server");
	CHECK(!fx_exists(mp));
}

TEST(plan9_default_transport_is_vsock_and_tests_forbid_it)
{
	char mp[PATH_MAX];
	struct plan9_mount_req req = {.share_name = "2"};
	struct error e;

	fx_init(false);
	setenv(TRANSPORT_FORBID_VSOCK_ENV, "1", 1); /* never reach a real vsock */
	fx_fmt(mp, "%s/gcs/c/c3/mounts/m0", fx.run);
	req.mount_path = mp;
	CHECK_EQ(storage_plan9_mount(&fx.cfg, &req, &e), -EPERM);
	CHECK_CONTAINS(e.msg, "vsock:2:564");
	CHECK(!fx_exists(mp));
}
