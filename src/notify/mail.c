/* mail.c - a plain-text mail through the operator's SMTP relay, over libcurl */
#include "notify/notify.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "core/dynbuf.h"
#include "core/validate.h"
#include "notify/transfer.h"

/* The whole message, headers and text, as the relay gets it. */
#define MAIL_MAX (1024 * 1024)
/* RFC 5322 2.1.1: a line of a message, without its CRLF. */
#define MAIL_LINE_MAX 998
/* Bytes of subject in one RFC 2047 encoded-word: 52 characters of base64,
 * so that "Subject: " and one word stay within the 76 that RFC 2047 allows
 * a line holding encoded-words. */
#define WORD_BYTES 39
/* A plain subject at most this long fits on its header line as it is. */
#define PLAIN_SUBJECT_MAX (78 - 9)
/* The credentials file: a user name, a password, their line breaks. */
#define CREDENTIALS_MAX (TSR_EMAIL_MAX + sizeof(((struct tsr_smtp *)0)->password) + 4)

#define HOST_CHARS "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-."

/* ---- the relay's settings ---- */

/* smtp://host[:port] or smtps://host[:port], the host a name or an address
 * (an IPv6 one in brackets): no user, path or query, which libcurl would
 * otherwise read as login, EHLO name or nothing at all. */
static bool smtp_url_valid(const char *url)
{
    size_t scheme = strncasecmp(url, "smtp://", 7) == 0    ? 7
                    : strncasecmp(url, "smtps://", 8) == 0 ? 8
                                                           : 0;
    const char *p = url + scheme;
    size_t n;

    if (scheme == 0 || strlen(url) > TSR_HOOK_URL_MAX)
        return false;
    if (*p == '[') {
        n = strspn(p + 1, "0123456789abcdefABCDEF:.");
        if (n == 0 || p[n + 1] != ']')
            return false;
        p += n + 2;
    } else {
        n = strspn(p, HOST_CHARS);
        if (n == 0 || *p == '-' || *p == '.')
            return false;
        p += n;
    }
    if (*p == ':') {
        n = strspn(p + 1, "0123456789");
        if (n == 0 || n > 5 || atol(p + 1) < 1 || atol(p + 1) > 65535)
            return false;
        p += n + 1;
    }
    return *p == '\0';
}

/* An address that can stand in "<...>" on an SMTP command and alone in a
 * header: tsr_email_valid's rules, and no angle brackets. */
static bool address_valid(const char *a)
{
    return tsr_email_valid(a, strlen(a)) && strpbrk(a, "<>") == NULL;
}

/* The operator's From: printable ASCII, so that it needs no SMTPUTF8 and
 * its domain can end a Message-ID. */
static bool from_valid(const char *from)
{
    for (const char *p = from; *p != '\0'; p++)
        if (*p <= ' ' || *p >= 0x7f)
            return false;
    return address_valid(from);
}

/* The line of len bytes at s without its trailing CR; false when it holds
 * a NUL or another CR. */
static bool take_line(const char *s, size_t len, char *dst, size_t size)
{
    if (len > 0 && s[len - 1] == '\r')
        len--;
    if (len >= size || memchr(s, '\0', len) != NULL || memchr(s, '\r', len) != NULL)
        return false;
    memcpy(dst, s, len);
    dst[len] = '\0';
    return true;
}

/* A user name: UTF-8 text, not empty, without control characters. */
static bool user_valid(const char *user)
{
    size_t count;

    return user[0] != '\0' && tsr_utf8_count(user, strlen(user), &count) &&
           !tsr_has_control(user, strlen(user), false);
}

/* Splits the n bytes of buf into cfg's user and password. */
static bool parse_credentials(const char *buf, size_t n, const char *path, struct tsr_smtp *cfg,
                              char *err, size_t err_size)
{
    const char *nl = memchr(buf, '\n', n);
    const char *pw = nl != NULL ? nl + 1 : buf + n;
    const char *pw_end = memchr(pw, '\n', (size_t)(buf + n - pw));
    const char *rest = pw_end != NULL ? pw_end : buf + n;

    if (pw_end == NULL)
        pw_end = buf + n;
    if (!take_line(buf, (size_t)(pw - buf - (nl != NULL)), cfg->user, sizeof(cfg->user)) ||
        !take_line(pw, (size_t)(pw_end - pw), cfg->password, sizeof(cfg->password))) {
        snprintf(err, err_size,
                 "the SMTP credentials file %s has a line too long, or with a NUL or CR inside",
                 path);
        return false;
    }
    if (!user_valid(cfg->user)) {
        snprintf(err, err_size, "the SMTP credentials file %s must start with a user name", path);
        return false;
    }
    if (cfg->password[0] == '\0') {
        snprintf(err, err_size, "the SMTP credentials file %s must hold a password on line 2",
                 path);
        return false;
    }
    if (strspn(rest, "\r\n") != (size_t)(buf + n - rest)) {
        snprintf(err, err_size, "the SMTP credentials file %s holds more than two lines", path);
        return false;
    }
    return true;
}

/* Reads path with read(2), not stdio, so that no buffer but ours (wiped by
 * the caller) ever holds the password. *n is how many bytes came. */
static bool read_secret_file(const char *path, char *buf, size_t size, size_t *n, char *err,
                             size_t err_size)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t got = 1;

    if (fd < 0) {
        snprintf(err, err_size, "cannot open the SMTP credentials file %s: %s", path,
                 strerror(errno));
        return false;
    }
    *n = 0;
    while (*n < size && (got = read(fd, buf + *n, size - *n)) > 0)
        *n += (size_t)got;
    close(fd);
    if (got < 0) {
        snprintf(err, err_size, "cannot read the SMTP credentials file %s: %s", path,
                 strerror(errno));
        return false;
    }
    if (*n == size) {
        snprintf(err, err_size,
                 "the SMTP credentials file %s is longer than a user name and a "
                 "password can be",
                 path);
        return false;
    }
    return true;
}

static bool read_credentials(const char *path, struct tsr_smtp *cfg, char *err, size_t err_size)
{
    char buf[CREDENTIALS_MAX + 1];
    size_t n = 0;
    bool ok = read_secret_file(path, buf, sizeof(buf), &n, err, err_size);

    if (ok) {
        buf[n] = '\0';
        ok = parse_credentials(buf, n, path, cfg, err, err_size);
    }

    sodium_memzero(buf, sizeof(buf));
    return ok;
}

bool tsr_notify_smtp_config(struct tsr_smtp *smtp, const char *url, const char *from,
                            const char *credentials_file, char *err, size_t err_size)
{
    struct tsr_smtp cfg = {0};
    bool ok = false;

    if (url == NULL || !smtp_url_valid(url))
        snprintf(err, err_size, "the SMTP URL '%.64s' must be smtp[s]://HOST[:PORT], nothing more",
                 url != NULL ? url : "");
    else if (from == NULL || !from_valid(from))
        snprintf(err, err_size, "the mail sender '%.64s' must be one ASCII address: a@example.com",
                 from != NULL ? from : "");
    else if (credentials_file == NULL || read_credentials(credentials_file, &cfg, err, err_size)) {
        memcpy(cfg.url, url, strlen(url) + 1);
        memcpy(cfg.from, from, strlen(from) + 1);
        *smtp = cfg;
        ok = true;
    }
    sodium_memzero(&cfg, sizeof(cfg));
    return ok;
}

/* ---- the message ---- */

static bool add(struct tsr_dynbuf *b, const char *s, size_t len)
{
    return tsr_dynbuf_add(b, s, len) == TSR_OK;
}

static bool add_str(struct tsr_dynbuf *b, const char *s)
{
    return add(b, s, strlen(s));
}

static bool add_header(struct tsr_dynbuf *b, const char *name, const char *value)
{
    return add_str(b, name) && add_str(b, ": ") && add_str(b, value) && add_str(b, "\r\n");
}

/* RFC 5322 3.3, in English whatever the locale. */
static bool add_date(struct tsr_dynbuf *b)
{
    static const char days[7][4] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
    static const char months[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                       "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
    time_t now = time(NULL);
    struct tm tm;
    char date[80]; /* as wide as -Wformat-truncation counts each field */

    if (gmtime_r(&now, &tm) == NULL)
        return false;
    snprintf(date, sizeof(date), "%s, %02d %s %04d %02d:%02d:%02d +0000", days[tm.tm_wday % 7],
             tm.tm_mday, months[tm.tm_mon % 12], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
             tm.tm_sec);
    return add_header(b, "Date", date);
}

/* <128 random bits in hex @ the sender's domain>: unique without a counter
 * shared between processes. */
static bool add_message_id(struct tsr_dynbuf *b, const char *from)
{
    unsigned char random[16];
    char hex[sizeof(random) * 2 + 1];

    randombytes_buf(random, sizeof(random));
    sodium_bin2hex(hex, sizeof(hex), random, sizeof(random));
    return add_str(b, "Message-ID: <") && add_str(b, hex) && add_str(b, "@") &&
           add_str(b, strchr(from, '@') + 1) && add_str(b, ">\r\n");
}

/* Whether subject can go out as it is: short printable ASCII, and nothing
 * a reader would take for the start of an encoded-word. */
static bool subject_plain(const char *subject)
{
    for (const char *p = subject; *p != '\0'; p++)
        if (*p < ' ' || *p >= 0x7f)
            return false;
    return strlen(subject) <= PLAIN_SUBJECT_MAX && strstr(subject, "=?") == NULL;
}

/* RFC 2047's B encoding, in words of at most WORD_BYTES bytes that each end
 * on a character's end, one to a folded line. */
static bool add_subject(struct tsr_dynbuf *b, const char *subject)
{
    size_t len = strlen(subject);
    char b64[sodium_base64_ENCODED_LEN(WORD_BYTES, sodium_base64_VARIANT_ORIGINAL)];

    if (subject_plain(subject))
        return add_header(b, "Subject", subject);
    if (!add_str(b, "Subject:"))
        return false;
    for (size_t at = 0, cut; at < len; at += cut) {
        cut = len - at < WORD_BYTES ? len - at : WORD_BYTES;
        while (at + cut < len && cut > 1 && ((unsigned char)subject[at + cut] & 0xc0) == 0x80)
            cut--;
        sodium_bin2base64(b64, sizeof(b64), (const unsigned char *)subject + at, cut,
                          sodium_base64_VARIANT_ORIGINAL);
        if (!add_str(b, at == 0 ? " =?UTF-8?B?" : "\r\n =?UTF-8?B?") || !add_str(b, b64) ||
            !add_str(b, "?="))
            return false;
    }
    return add_str(b, "\r\n");
}

/* Whether each line of text fits in a line of a message. */
static bool lines_fit(const char *text)
{
    size_t line = strcspn(text, "\r\n");

    while (line <= MAIL_LINE_MAX) {
        text += line;
        if (*text == '\0')
            return true;
        text++;
        line = strcspn(text, "\r\n");
    }
    return false;
}

/* The text with each line ending CRLF, whichever of LF, CR or CRLF ended it,
 * and the last one ended too. */
static bool add_text(struct tsr_dynbuf *b, const char *text)
{
    while (*text != '\0') {
        size_t line = strcspn(text, "\r\n");

        if (!add(b, text, line) || !add_str(b, "\r\n"))
            return false;
        text += line;
        text += text[0] == '\r' && text[1] == '\n' ? 2 : text[0] != '\0';
    }
    return true;
}

static bool build_message(struct tsr_dynbuf *b, const struct tsr_smtp *smtp, const char *to,
                          const char *subject, const char *text, struct tsr_send_result *out)
{
    if (add_header(b, "From", smtp->from) && add_header(b, "To", to) && add_subject(b, subject) &&
        add_date(b) && add_message_id(b, smtp->from) && add_header(b, "MIME-Version", "1.0") &&
        add_header(b, "Content-Type", "text/plain; charset=utf-8") &&
        add_header(b, "Content-Transfer-Encoding", "8bit") && add_str(b, "\r\n") &&
        add_text(b, text))
        return true;
    return tsr__notify_fail(out, 0, "the message is larger than %d bytes, or memory ran out",
                            MAIL_MAX);
}

/* What the caller gives is checked before anything is built, so that no
 * text of theirs can add a header or a recipient. */
static bool mail_input_valid(const struct tsr_smtp *smtp, const char *to, const char *subject,
                             const char *text, struct tsr_send_result *out)
{
    size_t count;

    if (smtp == NULL || smtp->url[0] == '\0')
        return tsr__notify_fail(out, 0, "no SMTP relay is set up");
    if (to == NULL || subject == NULL || text == NULL)
        return tsr__notify_fail(out, 0, "a mail needs a recipient, a subject and a text");
    if (strpbrk(to, "\r\n") != NULL)
        return tsr__notify_fail(out, 0, "the recipient holds a line break");
    if (strpbrk(subject, "\r\n") != NULL)
        return tsr__notify_fail(out, 0, "the subject holds a line break");
    if (!address_valid(to))
        return tsr__notify_fail(out, 0, "the recipient is not an address");
    if (!tsr_utf8_count(subject, strlen(subject), &count) ||
        !tsr_utf8_count(text, strlen(text), &count))
        return tsr__notify_fail(out, 0, "the subject or the text is not valid UTF-8");
    if (!lines_fit(text))
        return tsr__notify_fail(out, 0, "a line of the text is longer than %d bytes",
                                MAIL_LINE_MAX);
    return true;
}

/* ---- the transfer ---- */

struct upload {
    const char *p;
    size_t left;
};

static size_t supply(char *dst, size_t size, size_t nmemb, void *userdata)
{
    struct upload *u = userdata;
    size_t n = size * nmemb < u->left ? size * nmemb : u->left;

    memcpy(dst, u->p, n);
    u->p += n;
    u->left -= n;
    return n;
}

/* Credentials go only over TLS: smtps://, or smtp:// after STARTTLS, which
 * is then required; without them STARTTLS is taken when offered. */
static CURLcode set_transfer(CURL *curl, const struct tsr_smtp *smtp, const char *from_path,
                             struct curl_slist *rcpt, struct upload *u)
{
    bool login = smtp->user[0] != '\0';
    CURLcode rc = curl_easy_setopt(curl, CURLOPT_URL, smtp->url);

    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_MAIL_FROM, from_path);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_MAIL_RCPT, rcpt);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_UPLOAD, 1L);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_READFUNCTION, supply);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_READDATA, u);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_INFILESIZE_LARGE, (curl_off_t)u->left);
    if (rc == CURLE_OK)
        rc = curl_easy_setopt(curl, CURLOPT_USE_SSL,
                              login ? (long)CURLUSESSL_ALL : (long)CURLUSESSL_TRY);
    if (rc == CURLE_OK && login)
        rc = curl_easy_setopt(curl, CURLOPT_USERNAME, smtp->user);
    if (rc == CURLE_OK && login)
        rc = curl_easy_setopt(curl, CURLOPT_PASSWORD, smtp->password);
    return rc;
}

static bool send_message(const struct tsr_smtp *smtp, const char *to, const struct tsr_dynbuf *msg,
                         long timeout_s, struct tsr_send_result *out)
{
    char errbuf[CURL_ERROR_SIZE], from_path[TSR_EMAIL_MAX + 3], to_path[TSR_EMAIL_MAX + 3];
    struct upload u = {msg->p, msg->len};
    struct curl_slist *rcpt;
    long status = 0;
    CURL *curl;
    CURLcode rc;

    snprintf(from_path, sizeof(from_path), "<%s>", smtp->from);
    snprintf(to_path, sizeof(to_path), "<%s>", to);
    rcpt = curl_slist_append(NULL, to_path);
    curl = tsr__notify_handle("smtp,smtps", timeout_s, errbuf);
    if (rcpt == NULL || curl == NULL) {
        curl_slist_free_all(rcpt);
        curl_easy_cleanup(curl);
        return tsr__notify_fail(out, 0, "out of memory");
    }
    rc = set_transfer(curl, smtp, from_path, rcpt, &u);
    if (rc == CURLE_OK)
        rc = curl_easy_perform(curl);
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_cleanup(curl);
    curl_slist_free_all(rcpt);
    if (rc != CURLE_OK)
        return tsr__notify_curl_fail(out, status, rc, errbuf);
    return tsr__notify_ok(out, status);
}

bool tsr_notify_mail(void *ctx, const char *to, const char *subject, const char *text,
                     long timeout_s, struct tsr_send_result *out)
{
    const struct tsr_smtp *smtp = ctx;
    struct tsr_dynbuf msg;
    bool sent;

    if (timeout_s < 1)
        return tsr__notify_fail(out, 0, "the timeout must be at least a second");
    if (!mail_input_valid(smtp, to, subject, text, out))
        return false;
    tsr_dynbuf_init(&msg, MAIL_MAX);
    sent = build_message(&msg, smtp, to, subject, text, out) &&
           send_message(smtp, to, &msg, timeout_s, out);
    tsr_dynbuf_release(&msg);
    return sent;
}
