/* prompt.c - questions on the terminal, and lines from standard input */
#include "cli/prompt.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <termios.h>
#include <unistd.h>

bool tsr_prompt_is_tty(void)
{
    return isatty(STDIN_FILENO) == 1;
}

enum tsr_err tsr_prompt_read_line(char *buf, size_t size)
{
    size_t n = 0;
    bool any = false, too_long = false;

    for (;;) {
        char c;
        ssize_t r = read(STDIN_FILENO, &c, 1);

        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return TSR_ERR_IO;
        if (r == 0) {
            if (!any)
                return TSR_ERR_MISSING;
            break;
        }
        any = true;
        if (c == '\n')
            break;
        if (n + 1 < size)
            buf[n++] = c;
        else
            too_long = true;
    }
    if (n > 0 && buf[n - 1] == '\r')
        n--;
    buf[n] = '\0';
    if (too_long) {
        memset(buf, 0, size);
        return TSR_ERR_INVALID;
    }
    return TSR_OK;
}

enum tsr_err tsr_prompt_ask(const char *prompt, char *buf, size_t size)
{
    fputs(prompt, stderr);
    fflush(stderr);
    return tsr_prompt_read_line(buf, size);
}

/* The settings to put back if the user presses Ctrl-C at a hidden prompt;
 * a signal handler can reach only what is static. */
static struct termios saved;
static volatile sig_atomic_t have_saved;

static void restore_and_die(int sig)
{
    if (have_saved)
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
    signal(sig, SIG_DFL);
    raise(sig);
}

enum tsr_err tsr_prompt_hidden(const char *prompt, char *buf, size_t size)
{
    struct termios quiet;
    struct sigaction sa, old_int, old_term, old_hup;
    enum tsr_err rc;

    if (tcgetattr(STDIN_FILENO, &saved) != 0)
        return TSR_ERR_IO;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = restore_and_die;
    sigemptyset(&sa.sa_mask);
    have_saved = 1;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGHUP, &sa, &old_hup);
    quiet = saved;
    quiet.c_lflag &= ~(tcflag_t)ECHO;
    quiet.c_lflag |= (tcflag_t)ECHONL;
    /* Echo goes off before the prompt is shown, so nothing typed after the
     * prompt appears can be echoed; TCSANOW keeps what was typed ahead. */
    if (tcsetattr(STDIN_FILENO, TCSANOW, &quiet) != 0) {
        rc = TSR_ERR_IO;
    } else {
        rc = tsr_prompt_ask(prompt, buf, size);
        tcsetattr(STDIN_FILENO, TCSANOW, &saved);
        if (rc == TSR_ERR_MISSING)
            fputc('\n', stderr);
    }
    have_saved = 0;
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    return rc;
}
