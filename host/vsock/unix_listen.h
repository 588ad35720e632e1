/* Listening unix sockets that appear atomically and replace stale ones. */
#ifndef VSOCK_UNIX_LISTEN_H
#define VSOCK_UNIX_LISTEN_H

/* Binds a temporary name next to path, listens, then renames it to path, so
 * that whoever waits for path can connect as soon as it exists. A stale
 * socket at path (nobody accepting) is replaced; a live one is an error
 * (-EADDRINUSE). Returns a non-blocking CLOEXEC fd or a negative errno. */
int unix_listen(const char *path, int backlog);

#endif
