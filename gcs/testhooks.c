/* TEST BUILD ONLY: linked into gcs-testhooks, never into gcs (gcs/gcs.mk
 * keeps it out of every archive and of the gcs binary).
 *
 * Container notifications are produced by container exits, which arrive with
 * a later issue. To test the notification path of the bridge now (queueing
 * while disconnected, sending after negotiation) this hook reads lines
 * "<container id> [<type>]" from the fd named by GCS_TEST_NOTIFY_FD and calls
 * bridge_notify_container() for each, exactly as the container code will.
 * A line "!stderr <text>" writes <text> raw to fd 2 instead, as a library or
 * an inherited child could: the log stream must still be JSON lines. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bridge/bridge.h"
#include "gcs.h"
#include "core/log.h"
#include "core/loop.h"

struct hook {
	struct gcs *gcs;
	struct loop_watch *watch;
	char line[512];
	size_t len;
};

static struct hook hook;

static void notify_line(struct hook *h, char *line)
{
	char *type = strchr(line, ' ');
	struct error err;

	if (strncmp(line, "!stderr ", 8) == 0) {
		size_t n = strlen(line + 8);

		line[8 + n] = '\n';
		if (write(2, line + 8, n + 1) < 0)
			log_error("testhooks: write to fd 2: %s", strerror(errno));
		return;
	}
	if (type)
		*type++ = '\0';
	if (!*line)
		return;
	if (bridge_notify_container(h->gcs->bridge, line, NULL, type ? type : "UnexpectedExit", 0,
				    &err) < 0)
		log_error("testhooks: %s", err.msg);
}

static void on_input(struct loop *l, int fd, uint32_t events, void *data)
{
	struct hook *h = data;
	ssize_t n = read(fd, h->line + h->len, sizeof(h->line) - 1 - h->len);
	char *nl;

	if (n <= 0) {
		if (n < 0 && errno == EAGAIN)
			return;
		loop_watch_remove(h->watch);
		h->watch = NULL;
		return;
	}
	h->len += (size_t)n;
	h->line[h->len] = '\0';
	while ((nl = strchr(h->line, '\n'))) {
		*nl = '\0';
		notify_line(h, h->line);
		h->len -= (size_t)(nl + 1 - h->line);
		memmove(h->line, nl + 1, h->len + 1);
	}
	if (h->len == sizeof(h->line) - 1)
		h->len = 0; /* an overlong line is dropped */
}

int gcs_testhooks_start(struct gcs *g, struct error *err)
{
	const char *s = getenv("GCS_TEST_NOTIFY_FD");

	if (!s)
		return 0;
	hook.gcs = g;
	hook.watch = loop_watch_add(g->loop, atoi(s), EPOLLIN, on_input, &hook, err);
	if (!hook.watch)
		return error_prefix(err, "testhooks");
	log_warn("test hooks active: notifications from fd %s", s);
	return 0;
}
