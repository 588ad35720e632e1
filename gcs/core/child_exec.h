/* What every process the gcs forks needs between fork and exec, shared by
 * the UVM-process spawner (process/spawn.c) and the runc launcher
 * (runc/run.c). All of it is async-signal-safe. */
#ifndef GCS_CORE_CHILD_EXEC_H
#define GCS_CORE_CHILD_EXEC_H

/* Every signal disposition back to the default and an empty signal mask:
 * the gcs ignores SIGPIPE and blocks the signals its loop reads, and ignored
 * signals would stay ignored across exec. */
void child_reset_signals(void);

/* The soft open-file limit the gcs was started with (see
 * child_fd_limit_raise); a no-op when the gcs never raised it. */
void child_restore_fd_limit(void);

/* dup2 of fds[i] onto i for i = 0..2, first moving sources that sit in 0..2
 * out of the way so that no dup2 overwrites a source still needed. Returns 0
 * or -1 with errno set. */
int child_setup_stdio(const int fds[3]);

/* Closes fds lo..hi (close_range, or one by one below maxfd where the
 * kernel lacks it). */
void child_close_range(unsigned lo, unsigned hi, int maxfd);

/* In the gcs itself (loop thread, before the first fork): raises the soft
 * RLIMIT_NOFILE to the hard limit, since every relayed stream costs the gcs
 * two fds (200 processes with three streams need 1200; the kernel's default
 * soft limit is 1024). Children get the original back before exec, as Go does
 * for the reference GCS. Later calls do nothing. */
void child_fd_limit_raise(void);

#endif
