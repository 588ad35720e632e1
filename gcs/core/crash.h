/* Fatal signals (SIGSEGV, SIGBUS, SIGILL, SIGFPE, SIGABRT, SIGSYS, SIGTRAP)
 * become one last log line in the configured format (a JSON object in json
 * mode) before the process dies of the same signal: the host's log parser
 * must never see a plain-text crash trace. Not installed in sanitizer builds,
 * whose reports are the point there. */
#ifndef GCS_CORE_CRASH_H
#define GCS_CORE_CRASH_H

void crash_install(void);

#endif
