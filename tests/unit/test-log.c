// SPDX-License-Identifier: GPL-2.0-only
/* log.c: syslog's priorities by name, the "stderr is the journal" test (JOURNAL_STREAM =
 * DEV:INODE of fd 2) and the "<N>" prefix that then starts every line; without it, lines
 * are as before. */
#include <fcntl.h>
#include <inttypes.h>
#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check.h"
#include "log.h"

static void test_level_names(void)
{
	CHECK(log_level_parse("error") == LOG_ERR);
	CHECK(log_level_parse("warning") == LOG_WARNING);
	CHECK(log_level_parse("notice") == LOG_NOTICE);
	CHECK(log_level_parse("info") == LOG_INFO);
	CHECK(log_level_parse("debug") == LOG_DEBUG);
	CHECK(log_level_parse("err") == -1);
	CHECK(log_level_parse("emerg") == -1);
	CHECK(log_level_parse("") == -1);
}

static void test_journal_stream(void)
{
	int fd = STDOUT_FILENO; /* any open file */
	struct stat st;
	char s[64];

	if (fstat(fd, &st) < 0) {
		CHECK(!"fstat");
		return;
	}
	snprintf(s, sizeof(s), "%" PRIu64 ":%" PRIu64, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
	CHECK(log_is_journal_stream(s, fd));
	CHECK(!log_is_journal_stream(NULL, fd));
	CHECK(!log_is_journal_stream("", fd));
	CHECK(!log_is_journal_stream(":", fd));
	snprintf(s, sizeof(s), "%" PRIu64 ":%" PRIu64, (uint64_t)st.st_dev, (uint64_t)st.st_ino + 1);
	CHECK(!log_is_journal_stream(s, fd));
	snprintf(s, sizeof(s), "%" PRIu64 ":%" PRIu64, (uint64_t)st.st_dev + 1, (uint64_t)st.st_ino);
	CHECK(!log_is_journal_stream(s, fd));
	snprintf(s, sizeof(s), "%" PRIu64 ":%" PRIu64 "x", (uint64_t)st.st_dev, (uint64_t)st.st_ino);
	CHECK(!log_is_journal_stream(s, fd));
	snprintf(s, sizeof(s), "%" PRIu64 ":-%" PRIu64, (uint64_t)st.st_dev, (uint64_t)st.st_ino);
	CHECK(!log_is_journal_stream(s, fd));
	snprintf(s, sizeof(s), "%" PRIu64, (uint64_t)st.st_ino);
	CHECK(!log_is_journal_stream(s, fd));
	CHECK(!log_is_journal_stream("1:2", -1));
}

/* Runs in a child: whether stderr is the journal is decided once per process, on the first
 * line. stderr is a fresh file; JOURNAL_STREAM names it (match) or a neighbour (!match). */
static int child_lines(const char *path, bool match)
{
	struct stat st;
	char env[64];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);

	if (fd < 0 || dup2(fd, STDERR_FILENO) < 0 || fstat(STDERR_FILENO, &st) < 0)
		return 2;
	snprintf(env, sizeof(env), "%" PRIu64 ":%" PRIu64, (uint64_t)st.st_dev,
		 (uint64_t)st.st_ino + !match);
	setenv("JOURNAL_STREAM", env, 1);
	log_set_level(LOG_INFO);
	log_err("e %d", 1);
	log_warn("w");
	log_notice("n");
	log_info("i");
	log_debug("d"); /* below the level: no line */
	return 0;
}

/* The lines of a child logging with JOURNAL_STREAM naming its stderr (match) or not. */
static void child_output(bool match, char *got, size_t len)
{
	char path[] = "/tmp/test-log-XXXXXX";
	int fd = mkstemp(path), status = -1;
	ssize_t n;
	pid_t pid;

	if (fd < 0) {
		CHECK(!"mkstemp");
		return;
	}
	fflush(NULL);
	pid = fork();
	if (pid == 0)
		_exit(child_lines(path, match));
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
	      WEXITSTATUS(status) == 0);
	n = pread(fd, got, len - 1, 0);
	got[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
}

static void check_lines(bool match, const char *want)
{
	char got[512];

	child_output(match, got, sizeof(got));
	CHECK_STR(got, want);
}

static void test_prefix_when_journal(void)
{
	check_lines(true, "<3>ktund: error: e 1\n<4>ktund: warning: w\n<5>ktund: notice: n\n"
			  "<6>ktund: info: i\n");
}

/* Not the journal, which stamps lines itself: each line starts with the UTC time. */
static void test_plain_otherwise(void)
{
	static const char pattern[] =
		"^([0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z ktund: "
		"(error: e 1|warning: w|notice: n|info: i)\n){4}$";
	char got[512];
	regex_t re;

	child_output(false, got, sizeof(got));
	CHECK(regcomp(&re, pattern, REG_EXTENDED) == 0);
	if (regexec(&re, got, 0, NULL, 0) != 0) {
		fprintf(stderr, "got: %s", got);
		CHECK(!"four lines, each timestamped");
	}
	CHECK(strstr(got, "error: e 1\n") < strstr(got, "info: i\n"));
	regfree(&re);
}

int main(void)
{
	RUN(test_level_names);
	RUN(test_journal_stream);
	RUN(test_prefix_when_journal);
	RUN(test_plain_otherwise);
	return check_result();
}
