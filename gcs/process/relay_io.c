/* Moving bytes for a relay: splice(2) when one end is a pipe and the other
 * is no vsock socket, else read and write through the relay's buffer. Each
 * call makes one attempt and says which side to wait for when nothing could
 * move. */
#include "process/relay_internal.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static int fd_mode(int fd, mode_t *mode, struct error *err)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return error_errno(err, errno, "relay: fstat fd %d", fd);
	*mode = st.st_mode & S_IFMT;
	return 0;
}

/* AF_VSOCK has neither sendpage nor splice_read (Linux 6.1): splicing into
 * it sends one page per packet, and out of it goes through a page-sized
 * generic read. One 64 KiB send is one 64 KiB virtio-vsock packet, several
 * times faster under a hypervisor, so these sockets go through the buffer. */
static bool is_vsock(int fd, mode_t mode)
{
	struct sockaddr_storage sa;
	socklen_t len = sizeof(sa);

	if (mode != S_IFSOCK || getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
		return false;
	return sa.ss_family == AF_VSOCK;
}

int relay_io_classify(struct relay *r, struct error *err)
{
	mode_t src_mode = 0, dst_mode = 0;
	int rc;

	rc = fd_mode(r->src, &src_mode, err);
	if (rc == 0 && r->dst != RELAY_DISCARD)
		rc = fd_mode(r->dst, &dst_mode, err);
	if (rc < 0)
		return rc;
	r->src_tty = src_mode == S_IFCHR && isatty(r->src);
	r->dst_socket = dst_mode == S_IFSOCK;
	r->splice = r->dst != RELAY_DISCARD && (src_mode == S_IFIFO || dst_mode == S_IFIFO) &&
		    !is_vsock(r->src, src_mode) && !is_vsock(r->dst, dst_mode);
	return 0;
}

/* After EAGAIN nothing tells which side refused: a source with something
 * to report (bytes, end of file, an error) means the destination is full. */
static int blocked_side(int src)
{
	struct pollfd p = {.fd = src, .events = POLLIN};

	if (poll(&p, 1, 0) > 0 && (p.revents & (POLLIN | POLLHUP | POLLERR)))
		return RELAY_WAIT_DST;
	return RELAY_WAIT_SRC;
}

/* A pty master reads EIO once every slave fd is closed: that is its end of
 * file (the slave's last output has been read by then). */
static int read_error(const struct relay *r, int e)
{
	if (e == EAGAIN || e == EWOULDBLOCK)
		return RELAY_WAIT_SRC;
	if (e == EIO && r->src_tty)
		return RELAY_EOF;
	return -e;
}

static int splice_step(struct relay *r)
{
	ssize_t n;

	do {
		n = splice(r->src, NULL, r->dst, NULL, RELAY_SPLICE_MAX,
			   SPLICE_F_NONBLOCK | SPLICE_F_MOVE);
	} while (n < 0 && errno == EINTR);
	if (n > 0) {
		r->bytes += (uint64_t)n;
		return RELAY_MOVED;
	}
	if (n == 0)
		return RELAY_EOF;
	if (errno == EAGAIN)
		return blocked_side(r->src);
	if (errno == EINVAL && r->bytes == 0) {
		/* This pair of file types cannot splice: copy instead. */
		r->splice = false;
		return RELAY_MOVED;
	}
	return read_error(r, errno);
}

static ssize_t write_dst(struct relay *r)
{
	const char *p = r->buf + r->off;
	size_t left = r->len - r->off;
	ssize_t n;

	do {
		if (r->dst_socket)
			n = send(r->dst, p, left, MSG_NOSIGNAL);
		else
			n = write(r->dst, p, left);
	} while (n < 0 && errno == EINTR);
	return n;
}

static int fill_buffer(struct relay *r)
{
	ssize_t n;

	if (!r->buf) {
		r->buf = malloc(RELAY_BUF_SIZE);
		if (!r->buf)
			return -ENOMEM;
	}
	do {
		n = read(r->src, r->buf, RELAY_BUF_SIZE);
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return read_error(r, errno);
	if (n == 0)
		return RELAY_EOF;
	r->len = (size_t)n;
	r->off = 0;
	return RELAY_MOVED;
}

static int copy_step(struct relay *r)
{
	ssize_t n;

	if (r->off == r->len) {
		int rc = fill_buffer(r);

		if (rc != RELAY_MOVED || r->dst != RELAY_DISCARD)
			return rc;
		r->bytes += r->len;
		r->off = r->len;
		return RELAY_MOVED;
	}
	n = write_dst(r);
	if (n < 0)
		return errno == EAGAIN || errno == EWOULDBLOCK ? RELAY_WAIT_DST : -errno;
	r->off += (size_t)n;
	r->bytes += (uint64_t)n;
	return RELAY_MOVED;
}

int relay_io_step(struct relay *r)
{
	return r->splice ? splice_step(r) : copy_step(r);
}
