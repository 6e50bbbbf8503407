/* test_notify.c - webhooks and mail against real receivers: Python's http.server and aiosmtpd
 *
 * The group's setup starts tests/notify/http_receiver.py and
 * smtp_receiver.py (Debian's aiosmtpd), each on a port it picks and prints,
 * recording what arrives in a temporary folder; the teardown kills them. A
 * receiver also dies with this program however it ends: it is killed when
 * its parent dies (PR_SET_PDEATHSIG) and exits when its standard input, a
 * pipe only this program holds, closes.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include <sodium.h>

#include "core/validate.h"
#include "notify/notify.h"

#define FROM "tessera@example.com"

struct receiver {
    const char *script;
    pid_t pid;
    int stdin_fd; /* its standard input: closing it ends the receiver */
    int port;
};

static char dir[64];
static struct receiver http_rx = {"http_receiver.py", 0, -1, 0};
static struct receiver smtp_rx = {"smtp_receiver.py", 0, -1, 0};
static struct tsr_smtp relay;
/* What the helpers return, freed by the teardown: a failed check leaves
 * its test at once. */
static void *owned[64];
static size_t n_owned;

/* ---- receivers ---- */

static void stop_receiver(struct receiver *rx)
{
    if (rx->stdin_fd >= 0)
        close(rx->stdin_fd);
    rx->stdin_fd = -1;
    if (rx->pid > 0) {
        kill(rx->pid, SIGKILL);
        waitpid(rx->pid, NULL, 0);
    }
    rx->pid = 0;
}

static void stop_receivers(void)
{
    stop_receiver(&http_rx);
    stop_receiver(&smtp_rx);
}

static void exec_receiver(const struct receiver *rx, pid_t parent, int in[2], int out[2])
{
    char script[4096];

    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    dup2(in[0], STDIN_FILENO);
    dup2(out[1], STDOUT_FILENO);
    close(in[0]);
    close(in[1]);
    close(out[0]);
    close(out[1]);
    snprintf(script, sizeof(script), "%s/%s", TSR_NOTIFY_SCRIPTS, rx->script);
    execl(TSR_NOTIFY_PYTHON3, TSR_NOTIFY_PYTHON3, script, dir, (char *)NULL);
    fprintf(stderr, "test_notify: cannot run %s: %s\n", TSR_NOTIFY_PYTHON3, strerror(errno));
    _exit(127);
}

/* The port the receiver prints on its first line, or 0 when it printed
 * none within 20 seconds (it failed to start, and said why on stderr). */
static int read_port(int fd)
{
    char line[32];
    size_t len = 0;
    struct pollfd p = {fd, POLLIN, 0};

    while (len < sizeof(line) - 1 && poll(&p, 1, 20000) == 1) {
        ssize_t n = read(fd, line + len, 1);

        if (n <= 0)
            return 0;
        if (line[len] == '\n') {
            line[len] = '\0';
            return atoi(line);
        }
        len++;
    }
    return 0;
}

static bool start_receiver(struct receiver *rx)
{
    int in[2], out[2];
    pid_t parent = getpid();

    if (pipe2(in, O_CLOEXEC) != 0)
        return false;
    if (pipe2(out, O_CLOEXEC) != 0) {
        close(in[0]);
        close(in[1]);
        return false;
    }
    rx->pid = fork();
    if (rx->pid == 0)
        exec_receiver(rx, parent, in, out);
    close(in[0]);
    close(out[1]);
    rx->stdin_fd = in[1];
    rx->port = rx->pid > 0 ? read_port(out[0]) : 0;
    close(out[0]);
    if (rx->port <= 0) {
        fprintf(stderr,
                "test_notify: %s with %s did not start (needs Debian's python3-aiosmtpd: "
                "scripts/install-deps)\n",
                rx->script, TSR_NOTIFY_PYTHON3);
        return false;
    }
    return true;
}

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

static int group_setup(void **state)
{
    char why[256], url[64];

    (void)state;
    /* A proxy in the environment must not stand between us and 127.0.0.1. */
    setenv("NO_PROXY", "*", 1);
    snprintf(dir, sizeof(dir), "%s", "/tmp/test_notify.XXXXXX");
    if (!tsr_notify_global_init() || mkdtemp(dir) == NULL)
        return -1;
    atexit(stop_receivers);
    if (!start_receiver(&http_rx) || !start_receiver(&smtp_rx)) {
        stop_receivers();
        return -1;
    }
    snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", smtp_rx.port);
    if (!tsr_notify_smtp_config(&relay, url, FROM, NULL, why, sizeof(why))) {
        fprintf(stderr, "test_notify: %s\n", why);
        stop_receivers();
        return -1;
    }
    return 0;
}

static int group_teardown(void **state)
{
    (void)state;
    stop_receivers();
    while (n_owned > 0)
        free(owned[--n_owned]);
    if (getenv("KEEP"))
        return 0;
    nftw(dir, remove_entry, 8, FTW_DEPTH | FTW_PHYS);
    tsr_notify_global_cleanup();
    return 0;
}

/* ---- what arrived ---- */

static void *own(void *p)
{
    assert_non_null(p);
    assert_true(n_owned < sizeof(owned) / sizeof(owned[0]));
    owned[n_owned++] = p;
    return p;
}

/* The file name in the receivers' folder, NUL-terminated, or NULL when
 * there is none. */
static char *slurp(const char *name, size_t *len)
{
    char path[512];
    struct stat st;
    char *buf;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    f = fopen(path, "rb");
    if (f == NULL)
        return NULL;
    assert_int_equal(fstat(fileno(f), &st), 0);
    buf = own(malloc((size_t)st.st_size + 1));
    assert_int_equal(fread(buf, 1, (size_t)st.st_size, f), (size_t)st.st_size);
    fclose(f);
    buf[st.st_size] = '\0';
    if (len != NULL)
        *len = (size_t)st.st_size;
    return buf;
}

static bool arrived(const char *name)
{
    char path[512];

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    return access(path, F_OK) == 0;
}

static void assert_contains(const char *haystack, const char *needle)
{
    if (strstr(haystack, needle) == NULL)
        fail_msg("'%s' is not in:\n%s", needle, haystack);
}

static void assert_one_line(const struct tsr_send_result *out)
{
    assert_true(out->error[0] != '\0');
    assert_null(strpbrk(out->error, "\r\n"));
}

/* The header name of the message in file as Python's email package reads
 * it (RFC 2047 decoded, unfolded). */
static char *mail_header(const char *file, const char *name)
{
    char cmd[1024], value[1024];
    size_t len;
    FILE *p;

    snprintf(cmd, sizeof(cmd), "'%s' '%s/mail_header.py' '%s/%s' '%s'", TSR_NOTIFY_PYTHON3,
             TSR_NOTIFY_SCRIPTS, dir, file, name);
    p = popen(cmd, "r");
    assert_non_null(p);
    len = fread(value, 1, sizeof(value) - 1, p);
    assert_int_equal(pclose(p), 0);
    value[len] = '\0';
    value[strcspn(value, "\n")] = '\0';
    return own(strdup(value));
}

static double now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- webhooks ---- */

static bool post(const char *answer, const char *tag, const char *body, const char *const *headers,
                 size_t n, long timeout_s, struct tsr_send_result *out)
{
    char url[128];

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/%s/%s", http_rx.port, answer, tag);
    return tsr_notify_post(NULL, url, body, strlen(body), headers, n, timeout_s, out);
}

/* The body, every header given and our own arrive as sent; only len bytes
 * of the body go. A header with an empty value is sent, empty. */
static void test_post_arrives_intact(void **state)
{
    const char *body = "{\"event\":\"token.created\",\"name\":\"d\xc3\xa9ploiement\"}NOT-SENT";
    const char *headers[] = {"X-Tessera-Event: token.created",
                             "X-Tessera-Signature: t=1700000000,v1=0123abcd", "X-Empty:"};
    struct tsr_send_result out = {0};
    size_t len, sent = strlen(body) - strlen("NOT-SENT");
    char url[128], *head, *got;

    (void)state;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/204/intact", http_rx.port);
    assert_true(tsr_notify_post(NULL, url, body, sent, headers, 3, 5, &out));
    assert_int_equal(out.status, 204);
    assert_string_equal(out.error, "");
    head = slurp("intact.head", NULL);
    got = slurp("intact.body", &len);
    assert_non_null(head);
    assert_non_null(got);
    assert_int_equal(len, sent);
    assert_memory_equal(got, body, sent);
    assert_true(strncmp(head, "POST /204/intact HTTP/1.1\n", 26) == 0);
    assert_contains(head, "\nContent-Type: application/json\n");
    assert_contains(head, "\nUser-Agent: Tessera-Hookshot/" TSR_VERSION "\n");
    assert_contains(head, "\nX-Tessera-Event: token.created\n");
    assert_contains(head, "\nX-Tessera-Signature: t=1700000000,v1=0123abcd\n");
    assert_contains(head, "\nX-Empty: \n");
    assert_null(strstr(head, "Expect:"));
}

static void test_500_fails_with_its_status(void **state)
{
    struct tsr_send_result out = {0};

    (void)state;
    assert_false(post("500", "error", "{}", NULL, 0, 5, &out));
    assert_int_equal(out.status, 500);
    assert_string_equal(out.error, "answered 500");
    assert_true(arrived("error.body"));
}

/* A receiver that takes the request and never answers costs the timeout,
 * not more. */
static void test_silent_receiver_times_out(void **state)
{
    struct tsr_send_result out = {0};
    double start = now_s(), took;

    (void)state;
    assert_false(post("hang", "silent", "{}", NULL, 0, 2, &out));
    took = now_s() - start;
    assert_true(arrived("silent.head"));
    assert_int_equal(out.status, 0);
    assert_one_line(&out);
    if (took < 1.9 || took > 4.0)
        fail_msg("a 2 s timeout took %.2f s", took);
}

/* A port that is bound but not listening: refused at once. */
static void test_closed_port_fails_with_a_reason(void **state)
{
    struct sockaddr_in addr = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t addr_len = sizeof(addr);
    struct tsr_send_result out = {0};
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    char url[64];

    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&addr, &addr_len), 0);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/204/closed", ntohs(addr.sin_port));
    assert_false(tsr_notify_post(NULL, url, "{}", 2, NULL, 0, 5, &out));
    close(fd);
    assert_int_equal(out.status, 0);
    assert_one_line(&out);
    assert_contains(out.error, "onnect");
}

static void test_redirect_is_not_followed(void **state)
{
    struct tsr_send_result out = {0};

    (void)state;
    assert_false(post("302", "moved", "{}", NULL, 0, 5, &out));
    assert_int_equal(out.status, 302);
    assert_contains(out.error, "answered 302");
    assert_true(arrived("moved.head"));
    assert_false(arrived("moved-followed.head"));
}

/* A 2xx whose body goes on and on is still a 2xx; the rest is not read. */
static void test_endless_answer_is_cut_short(void **state)
{
    struct tsr_send_result out = {0};

    (void)state;
    assert_true(post("big", "endless", "{}", NULL, 0, 5, &out));
    assert_int_equal(out.status, 200);
    assert_string_equal(out.error, "");
}

static void test_other_protocols_are_refused(void **state)
{
    struct tsr_send_result out = {0};

    (void)state;
    assert_false(tsr_notify_post(NULL, "file:///etc/hostname", "{}", 2, NULL, 0, 5, &out));
    assert_int_equal(out.status, 0);
    assert_one_line(&out);
    assert_contains(out.error, "\"file\" not supported");
}

/* A header with a line break would add headers of its own: nothing is sent. */
static void test_header_injection_is_refused(void **state)
{
    const char *split[] = {"X-Tessera-Event: a\r\nX-Injected: 1"};
    const char *nameless[] = {": value"};
    struct tsr_send_result out = {0};

    (void)state;
    assert_false(post("204", "injected", "{}", split, 1, 5, &out));
    assert_int_equal(out.status, 0);
    assert_contains(out.error, "header 0");
    assert_false(post("204", "injected", "{}", nameless, 1, 5, &out));
    assert_false(arrived("injected.head"));
}

/* ---- mail ---- */

/* The message of recipient to as the relay received it, its headers and
 * its body apart. */
static void received_mail(const char *to, char **raw, char **body)
{
    char name[300];

    snprintf(name, sizeof(name), "%s.eml", to);
    *raw = slurp(name, NULL);
    if (*raw == NULL)
        fail_msg("no message for %s arrived", to);
    *body = strstr(*raw, "\r\n\r\n");
    assert_non_null(*body);
    (*body)[2] = '\0';
    *body += 4;
}

static void assert_date_is_now(const char *headers)
{
    const char *date = strstr(headers, "\r\nDate: ");
    struct tm tm = {0};
    const char *end;

    assert_non_null(date);
    end = strptime(date + 8, "%a, %d %b %Y %H:%M:%S +0000\r\n", &tm);
    assert_non_null(end);
    if (llabs((long long)(timegm(&tm) - time(NULL))) > 60)
        fail_msg("the Date is not now: %.40s", date + 8);
}

static void assert_message_id(const char *headers)
{
    const char *id = strstr(headers, "\r\nMessage-ID: <");

    assert_non_null(id);
    id += 15;
    assert_int_equal(strspn(id, "0123456789abcdef"), 32);
    assert_true(strncmp(id + 32, "@example.com>\r\n", 15) == 0);
}

static void test_mail_arrives(void **state)
{
    struct tsr_send_result out = {0};
    char *raw, *body, *env;

    (void)state;
    assert_true(tsr_notify_mail(&relay, "owner@example.org", "Your token expires soon",
                                "Hello,\n.a line that starts with a dot\r\n\nlast line", 5, &out));
    assert_int_equal(out.status, 250);
    assert_string_equal(out.error, "");
    env = slurp("owner@example.org.env", NULL);
    assert_non_null(env);
    assert_string_equal(env, "MAIL FROM:<" FROM ">\nRCPT TO:<owner@example.org>\n");
    received_mail("owner@example.org", &raw, &body);
    assert_true(strncmp(raw, "From: " FROM "\r\nTo: owner@example.org\r\n",
                        strlen("From: " FROM "\r\nTo: owner@example.org\r\n")) == 0);
    assert_contains(raw, "\r\nSubject: Your token expires soon\r\n");
    assert_contains(raw, "\r\nMIME-Version: 1.0\r\n");
    assert_contains(raw, "\r\nContent-Type: text/plain; charset=utf-8\r\n");
    assert_contains(raw, "\r\nContent-Transfer-Encoding: 8bit\r\n");
    assert_date_is_now(raw);
    assert_message_id(raw);
    assert_string_equal(body, "Hello,\r\n.a line that starts with a dot\r\n\r\nlast line\r\n");
}

/* RFC 2047 6.3: an encoded-word holds whole characters, whatever a lenient
 * reader would put back together. */
static void assert_word_is_whole(const char *word)
{
    unsigned char bytes[64];
    size_t b64_len, len, count;

    assert_non_null(word);
    word += strlen("=?UTF-8?B?");
    b64_len = strcspn(word, "?");
    assert_int_equal(sodium_base642bin(bytes, sizeof(bytes), word, b64_len, NULL, &len, NULL,
                                       sodium_base64_VARIANT_ORIGINAL),
                     0);
    if (!tsr_utf8_count((const char *)bytes, len, &count))
        fail_msg("the encoded-word %.*s splits a character", (int)b64_len, word);
}

/* A subject beyond ASCII goes as RFC 2047 encoded-words that a mail reader
 * puts back together, each line short enough, no character split. */
static void test_mail_non_ascii_subject(void **state)
{
    /* Byte 39, where a word of 39 bytes would end, is inside "\u672c" (本). */
    const char *subject = "Jeton \xc2\xab"
                          "d\xc3\xa9ploiement\xc2\xbb expire \xe2\x80\x94 "
                          "\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e\xe3\x81\xa7\xe3\x82\x82 "
                          "\xf0\x9f\x94\x91 \xc3\xa0 renouveler dans 7 jours";
    const char *text = "Le jeton \xc2\xab"
                       "d\xc3\xa9ploiement\xc2\xbb expire.\n";
    struct tsr_send_result out = {0};
    char *raw, *body, *decoded, *line;

    (void)state;
    assert_true(tsr_notify_mail(&relay, "accents@example.org", subject, text, 5, &out));
    assert_int_equal(out.status, 250);
    received_mail("accents@example.org", &raw, &body);
    assert_string_equal(body, "Le jeton \xc2\xab"
                              "d\xc3\xa9ploiement\xc2\xbb expire.\r\n");
    line = strstr(raw, "\r\nSubject: =?UTF-8?B?");
    assert_non_null(line);
    for (line += 2; *line == 'S' || *line == ' '; line = strstr(line, "\r\n") + 2) {
        assert_in_range(strcspn(line, "\r"), 1, 76);
        assert_word_is_whole(strstr(line, "=?UTF-8?B?"));
    }
    decoded = mail_header("accents@example.org.eml", "Subject");
    assert_string_equal(decoded, subject);
    decoded = mail_header("accents@example.org.eml", "To");
    assert_string_equal(decoded, "accents@example.org");
}

/* An ASCII subject too long for its line is folded as encoded-words too. */
static void test_mail_long_ascii_subject(void **state)
{
    const char *subject = "Your token deploy-production-eu-west-1 expires in 7 days; rotate it "
                          "before then, or the deploys that use it will stop working";
    struct tsr_send_result out = {0};
    char *raw, *body, *line;

    (void)state;
    assert_true(tsr_notify_mail(&relay, "long-subject@example.org", subject, "t", 5, &out));
    received_mail("long-subject@example.org", &raw, &body);
    line = strstr(raw, "\r\nSubject: ") + 2;
    assert_in_range(strcspn(line, "\r"), 1, 76);
    assert_string_equal(mail_header("long-subject@example.org.eml", "Subject"), subject);
}

static void test_mail_refused_recipient_gives_the_code(void **state)
{
    struct tsr_send_result out = {0};

    (void)state;
    assert_false(tsr_notify_mail(&relay, "refused@example.org", "Hi", "text", 5, &out));
    assert_int_equal(out.status, 550);
    assert_one_line(&out);
    assert_false(arrived("refused@example.org.eml"));
}

/* The relay offers AUTH over plain text; with credentials on smtp:// the
 * mail waits for a STARTTLS it never offers, and no password leaves. */
static void test_mail_credentials_never_in_clear(void **state)
{
    struct tsr_send_result out = {0};
    struct tsr_smtp login;
    char why[256], path[128], url[64];
    FILE *f;

    (void)state;
    snprintf(path, sizeof(path), "%s/credentials", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs("relay-user\nrelay-password\n", f);
    fclose(f);
    snprintf(url, sizeof(url), "smtp://127.0.0.1:%d", smtp_rx.port);
    assert_true(tsr_notify_smtp_config(&login, url, FROM, path, why, sizeof(why)));
    assert_string_equal(login.user, "relay-user");
    assert_string_equal(login.password, "relay-password");
    assert_false(tsr_notify_mail(&login, "secret@example.org", "Hi", "text", 5, &out));
    assert_one_line(&out);
    assert_contains(out.error, "STARTTLS");
    assert_false(arrived("auth-attempts"));
    assert_false(arrived("secret@example.org.eml"));
}

/* Nothing of the caller's can add a header or a recipient. */
static void test_mail_line_breaks_are_refused(void **state)
{
    static const char *const subjects[] = {"Hi\r\nBcc: victim@example.org", "Hi\nBcc: x@y.z",
                                           "Hi\r"};
    struct tsr_send_result out = {0};

    (void)state;
    for (size_t i = 0; i < sizeof(subjects) / sizeof(subjects[0]); i++) {
        assert_false(tsr_notify_mail(&relay, "inject@example.org", subjects[i], "t", 5, &out));
        assert_int_equal(out.status, 0);
        assert_contains(out.error, "subject");
    }
    assert_false(
        tsr_notify_mail(&relay, "inject@example.org\r\nBcc: v@example.org", "Hi", "t", 5, &out));
    assert_contains(out.error, "recipient");
    assert_false(tsr_notify_mail(&relay, "<inject@example.org>", "Hi", "t", 5, &out));
    assert_false(arrived("inject@example.org.eml"));
}

/* RFC 5322's 998 bytes a line: at the limit it goes, one past it does not. */
static void test_mail_line_longer_than_smtp_carries_is_refused(void **state)
{
    struct tsr_send_result out = {0};
    char text[1001];

    (void)state;
    memset(text, 'a', 999);
    text[999] = '\0';
    assert_false(tsr_notify_mail(&relay, "long@example.org", "Hi", text, 5, &out));
    assert_contains(out.error, "998");
    assert_false(arrived("long@example.org.eml"));
    text[998] = '\0';
    assert_true(tsr_notify_mail(&relay, "long@example.org", "Hi", text, 5, &out));
}

static void test_mail_without_a_relay_is_refused(void **state)
{
    struct tsr_send_result out = {0};

    (void)state;
    assert_false(tsr_notify_mail(NULL, "nobody@example.org", "Hi", "text", 5, &out));
    assert_one_line(&out);
}

/* ---- the relay's settings ---- */

/* A refused setting leaves smtp as it was. */
static void assert_refused(const char *url, const char *from, const char *credentials,
                           const char *expect)
{
    struct tsr_smtp smtp, before;
    char why[512] = "";

    memset(&smtp, 0x5a, sizeof(smtp));
    before = smtp;
    if (tsr_notify_smtp_config(&smtp, url, from, credentials, why, sizeof(why)))
        fail_msg("accepted url '%s', from '%s', credentials %s", url, from,
                 credentials != NULL ? credentials : "none");
    assert_memory_equal(&smtp, &before, sizeof(smtp));
    assert_contains(why, expect);
}

static void test_smtp_urls(void **state)
{
    static const char *const bad[] = {
        "http://mail.example.com",
        "smtp://",
        "smtp://mail.example.com/path",
        "smtp://user@mail",
        "smtp://mail:0",
        "smtp://mail:65536",
        "smtp://mail:25x",
        "smtp://mail?x=1",
        "smtps://[::1",
        "smtp://-mail",
        "smtp://mail:",
        " smtp://mail",
        "smtp://mail example",
        "smtp://mail#frag",
        "smtp://[]:25",
    };
    static const char *const good[] = {"smtp://mail.example.com", "smtps://mail.example.com:465",
                                       "smtp://[::1]:2525", "SMTP://127.0.0.1:25"};
    struct tsr_smtp smtp;
    char why[256];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_refused(bad[i], FROM, NULL, "SMTP URL");
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        if (!tsr_notify_smtp_config(&smtp, good[i], FROM, NULL, why, sizeof(why)))
            fail_msg("refused %s: %s", good[i], why);
        assert_string_equal(smtp.url, good[i]);
        assert_string_equal(smtp.from, FROM);
        assert_string_equal(smtp.user, "");
    }
}

static void test_smtp_senders(void **state)
{
    static const char *const bad[] = {
        "no-at-sign",
        "two@@example.com",
        "a@b@c",
        "",
        "x@",
        "@example.com",
        "Tessera <t@example.com>",
        "a b@c.d",
        "t\xc3\xabssera@example.com",
        "t@example.com\r\nBcc: v@x.y",
    };

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_refused("smtp://mail", bad[i], NULL, "mail sender");
}

static void write_credentials(const char *name, const char *content, char *path, size_t size)
{
    FILE *f;

    snprintf(path, size, "%s/%s", dir, name);
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(content, f);
    fclose(f);
}

static void test_smtp_credentials_files(void **state)
{
    static const struct {
        const char *content, *expect;
    } bad[] = {
        {"", "user name"},
        {"relay-\xff\nrelay-password\n", "user name"},
        {"\nrelay-password\n", "user name"},
        {"relay-user\n", "password"},
        {"relay-user\nrelay\r-password\n", "NUL"},
        {"relay-user", "password"},
        {"relay-user\n\n", "password"},
        {"relay-user\nrelay-password\nthird\n", "more than two lines"},
    };
    struct tsr_smtp smtp;
    char path[128], why[512];

    (void)state;
    snprintf(path, sizeof(path), "%s/no-such-file", dir);
    assert_refused("smtp://mail", FROM, path, "no-such-file");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        write_credentials("bad-credentials", bad[i].content, path, sizeof(path));
        assert_refused("smtp://mail", FROM, path, bad[i].expect);
    }
    write_credentials("crlf-credentials", "relay-user\r\nrelay password\r\n", path, sizeof(path));
    assert_true(tsr_notify_smtp_config(&smtp, "smtps://mail", FROM, path, why, sizeof(why)));
    assert_string_equal(smtp.user, "relay-user");
    assert_string_equal(smtp.password, "relay password");
    write_credentials("bare-credentials", "relay-user\nrelay-password", path, sizeof(path));
    assert_true(tsr_notify_smtp_config(&smtp, "smtps://mail", FROM, path, why, sizeof(why)));
    assert_string_equal(smtp.password, "relay-password");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_post_arrives_intact),
        cmocka_unit_test(test_500_fails_with_its_status),
        cmocka_unit_test(test_silent_receiver_times_out),
        cmocka_unit_test(test_closed_port_fails_with_a_reason),
        cmocka_unit_test(test_redirect_is_not_followed),
        cmocka_unit_test(test_endless_answer_is_cut_short),
        cmocka_unit_test(test_other_protocols_are_refused),
        cmocka_unit_test(test_header_injection_is_refused),
        cmocka_unit_test(test_mail_arrives),
        cmocka_unit_test(test_mail_non_ascii_subject),
        cmocka_unit_test(test_mail_long_ascii_subject),
        cmocka_unit_test(test_mail_refused_recipient_gives_the_code),
        cmocka_unit_test(test_mail_credentials_never_in_clear),
        cmocka_unit_test(test_mail_line_breaks_are_refused),
        cmocka_unit_test(test_mail_line_longer_than_smtp_carries_is_refused),
        cmocka_unit_test(test_mail_without_a_relay_is_refused),
        cmocka_unit_test(test_smtp_urls),
        cmocka_unit_test(test_smtp_senders),
        cmocka_unit_test(test_smtp_credentials_files),
    };

    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
