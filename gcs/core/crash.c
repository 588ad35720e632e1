#include "core/crash.h"

#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cleanup.h"
#include "core/log.h"

#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
#define CRASH_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer) || __has_feature(undefined_behavior_sanitizer)
#define CRASH_SANITIZED 1
#endif
#endif

static const struct {
	int signo;
	const char *name;
} fatal[] = {
	{SIGSEGV, "SIGSEGV"}, {SIGBUS, "SIGBUS"}, {SIGILL, "SIGILL"},	{SIGFPE, "SIGFPE"},
	{SIGABRT, "SIGABRT"}, {SIGSYS, "SIGSYS"}, {SIGTRAP, "SIGTRAP"},
};

/* A tiny async-signal-safe string builder. */
struct line {
	char buf[512];
	size_t len;
};

static void put(struct line *l, const char *s)
{
	while (*s && l->len < sizeof(l->buf) - 2)
		l->buf[l->len++] = *s++;
}

static void put_num(struct line *l, uint64_t v, unsigned base)
{
	char tmp[24];
	int n = 0;

	do {
		tmp[n++] = "0123456789abcdef"[v % base];
		v /= base;
	} while (v);
	while (n > 0 && l->len < sizeof(l->buf) - 2)
		l->buf[l->len++] = tmp[--n];
}

static const char *sig_name(int signo)
{
	for (size_t i = 0; i < ARRAY_SIZE(fatal); i++)
		if (fatal[i].signo == signo)
			return fatal[i].name;
	return "signal";
}

static __attribute__((unused)) void on_fatal(int signo, siginfo_t *si, void *uc)
{
	struct line l = {.len = 0};
	char time[LOG_TIME_LEN + 1];
	struct timespec ts;
	bool json = log_get_format() == LOG_FORMAT_JSON;

	clock_gettime(CLOCK_REALTIME, &ts);
	log_format_time(time, ts.tv_sec, ts.tv_nsec);
	if (json) {
		put(&l, "{\"time\":\"");
		put(&l, time);
		put(&l, "\",\"level\":\"fatal\",\"msg\":\"gcs crashed: fatal signal ");
		put(&l, sig_name(signo));
		put(&l, "\",\"signal\":");
		put_num(&l, (uint64_t)signo, 10);
		put(&l, ",\"code\":");
		put_num(&l, (uint64_t)(unsigned)si->si_code, 10);
		put(&l, ",\"addr\":\"0x");
		put_num(&l, (uint64_t)(uintptr_t)si->si_addr, 16);
		put(&l, "\",\"pid\":");
		put_num(&l, (uint64_t)getpid(), 10);
		put(&l, "}");
	} else {
		put(&l, "time=\"");
		put(&l, time);
		put(&l, "\" level=fatal msg=\"gcs crashed: fatal signal ");
		put(&l, sig_name(signo));
		put(&l, "\" signal=");
		put_num(&l, (uint64_t)signo, 10);
		put(&l, " addr=0x");
		put_num(&l, (uint64_t)(uintptr_t)si->si_addr, 16);
	}
	l.buf[l.len++] = '\n';
	log_emergency_write(l.buf, l.len);
	/* SA_RESETHAND restored the default action: die of the same signal
	 * (the faulting instruction runs again, or the raised one is
	 * delivered on return). */
	raise(signo);
}

void crash_install(void)
{
#ifndef CRASH_SANITIZED
	static char altstack[32 * 1024];
	stack_t ss = {.ss_sp = altstack, .ss_size = sizeof(altstack)};
	struct sigaction sa = {.sa_sigaction = on_fatal,
			       .sa_flags = SA_SIGINFO | SA_RESETHAND | SA_ONSTACK};

	/* A stack overflow needs a stack to report on. */
	sigaltstack(&ss, NULL);
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < ARRAY_SIZE(fatal); i++)
		sigaction(fatal[i].signo, &sa, NULL);
#endif
}
