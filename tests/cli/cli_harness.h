/* cli_harness.h - running the built `tessera` in end-to-end tests
 *
 * Built on tests/api/harness.h, which starts the real tesserad servers and
 * checks, when the program ends, that each exits 0 on SIGTERM and that no
 * secret reached any of their files. This adds what a command-line client
 * needs: a private HOME (and XDG_CONFIG_HOME) per test, runs of `tessera`
 * with chosen environment variables and standard input, and runs through a
 * pseudo-terminal for the interactive prompts.
 *
 * Every secret that `tessera` prints is recorded with tsr_h_record_secret,
 * so the harness searches the servers' files for it too. As in harness.h,
 * helpers fail the running test instead of returning errors, and what they
 * return belongs to the harness.
 */
#ifndef TSR_TESTS_CLI_HARNESS_H
#define TSR_TESTS_CLI_HARNESS_H

#include "harness.h"

#define TSR_C_MAX_VARS 8
#define TSR_C_PATH     4096

/* The user's side: a home folder, where the config folder is, and extra
 * environment variables. */
struct tsr_c_env {
    char home[TSR_C_PATH];            /* a fresh temporary folder */
    char xdg[TSR_C_PATH];             /* XDG_CONFIG_HOME when use_xdg, else unset */
    bool use_xdg;                     /* default true */
    char dir[TSR_C_PATH];             /* the tessera config folder that follows */
    char config[TSR_C_PATH];          /* <dir>/config */
    char creds[TSR_C_PATH];           /* <dir>/credentials */
    const char *vars[TSR_C_MAX_VARS]; /* "NAME=value", NULL-ended */
};

/* A fresh env: a new temporary home (removed when the program ends) with
 * XDG_CONFIG_HOME=<home>/xdg. */
struct tsr_c_env *tsr_c_env_new(void);

/* Stops using XDG_CONFIG_HOME: the config folder becomes <home>/.config/tessera. */
void tsr_c_env_no_xdg(struct tsr_c_env *e);

/* Adds "NAME=value" to the environment of later runs (value copied). */
void tsr_c_env_set(struct tsr_c_env *e, const char *name, const char *value);

/* Removes every variable added with tsr_c_env_set. */
void tsr_c_env_clear(struct tsr_c_env *e);

struct tsr_c_run {
    int status; /* exit status, or -1 when killed by a signal */
    char *out;
    char *err;
};

/* Runs `tessera ARGS...` (NULL-ended) with env e and stdin_text on standard
 * input (NULL: /dev/null); waits at most 30 s. The child's environment is
 * the test's own without any TESSERA_ variable, HOME or XDG_CONFIG_HOME,
 * plus e's. */
struct tsr_c_run *tsr_c_run(const struct tsr_c_env *e, const char *stdin_text, ...)
    __attribute__((sentinel));

/* The same with the arguments in an array (NULL-ended). */
struct tsr_c_run *tsr_c_runv(const struct tsr_c_env *e, const char *stdin_text,
                             const char *const *args);

/* Asserts r's exit status, printing its output when it differs. */
#define tsr_c_assert_status(r, want) tsr__c_assert_status(r, want, __FILE__, __LINE__)
void tsr__c_assert_status(const struct tsr_c_run *r, int want, const char *file, int line);

/* Asserts that haystack holds needle, printing both when not. */
#define tsr_c_assert_has(haystack, needle)                                                         \
    tsr__c_assert_has(haystack, needle, true, __FILE__, __LINE__)
#define tsr_c_assert_lacks(haystack, needle)                                                       \
    tsr__c_assert_has(haystack, needle, false, __FILE__, __LINE__)
void tsr__c_assert_has(const char *haystack, const char *needle, bool want, const char *file,
                       int line);

/* ---- a pseudo-terminal ---- */

struct tsr_c_pty {
    pid_t pid;
    int master;
    char *buf; /* everything the terminal showed so far, NUL-terminated */
    size_t len, cap;
    size_t mark; /* where the next expect starts looking */
    int status;
};

/* Starts `tessera ARGS...` on a new pseudo-terminal (standard input and
 * error on it; standard output too unless stdout_path names a file to send
 * it to). */
struct tsr_c_pty *tsr_c_pty_start(const struct tsr_c_env *e, const char *stdout_path, ...)
    __attribute__((sentinel));

/* Waits at most 10 s for text to appear on the terminal after the last match;
 * fails the test, showing the screen, when it does not. */
void tsr_c_pty_expect(struct tsr_c_pty *p, const char *text);

/* Types text. */
void tsr_c_pty_send(struct tsr_c_pty *p, const char *text);

/* Reads the terminal until the program ends (at most 20 s) and returns its
 * exit status (-1 when killed by a signal); p->buf then holds everything. */
int tsr_c_pty_finish(struct tsr_c_pty *p);

/* ---- checks ---- */

/* The mode bits (07777) of path; fails when it does not exist. */
unsigned tsr_c_mode(const char *path);

/* Whether path exists. */
bool tsr_c_exists(const char *path);

/* The value of `key = value` in the file at path, or NULL. */
const char *tsr_c_file_value(const char *path, const char *key);

/* Fails when any file under e->home other than the credentials file holds a
 * well-formed secret, or when a temporary file is left in the config folder. */
void tsr_c_assert_no_stray_secrets(const struct tsr_c_env *e);

/* How many well-formed secrets text holds. */
int tsr_c_count_secrets(const char *text);

/* Records every well-formed secret in text with tsr_h_record_secret. */
void tsr_c_record_secrets(const char *text);

/* The number of session tokens in srv's database not yet revoked. */
long tsr_c_live_sessions(const struct tsr_h_server *srv);

/* This machine's host name, as `tessera login` names its token. */
const char *tsr_c_hostname(void);

/* Logs env e in to srv as the harness's admin, with the password on
 * standard input and --server; must exit 0. */
void tsr_c_login(struct tsr_c_env *e, const struct tsr_h_server *srv);

/* The token stored in e's credentials file (fails when there is none). */
const char *tsr_c_stored_token(const struct tsr_c_env *e);

#endif
