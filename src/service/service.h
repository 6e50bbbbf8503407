/* service.h - what Tessera does: log in, authenticate, manage tokens and users
 *
 * No HTTP and no SQL here: callers hand in plain values, the service applies
 * the product's rules (lifetimes, limits, who may see what), records the
 * audit trail and talks to the store. Every call is safe from many threads.
 */
#ifndef TSR_SERVICE_SERVICE_H
#define TSR_SERVICE_SERVICE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/err.h"
#include "core/limits.h"
#include "store/store.h"

#define TSR_PASSWORD_MIN            8
#define TSR_PASSWORD_MAX            1024
#define TSR_SESSION_LIFETIME        (24 * 3600)
#define TSR_DEFAULT_MAX_LIFETIME    366 /* days */
#define TSR_DEFAULT_MAX_TOKENS      1000
#define TSR_DEFAULT_LOGIN_FAILURES  10
#define TSR_DEFAULT_LOGIN_WINDOW    (15 * 60)
#define TSR_DEFAULT_ACCOUNT_FAILS   50
#define TSR_DEFAULT_ACCOUNT_WINDOW  (15 * 60)
#define TSR_DEFAULT_TOKEN_RETENTION 30  /* days */
#define TSR_DEFAULT_AUDIT_RETENTION 365 /* days */

/* What one attempt at sending a delivery came to. */
struct tsr_send_result {
    int64_t status; /* the receiver's HTTP status or the relay's SMTP reply code; 0: none */
    char error[TSR_DELIVERY_ERROR_MAX + 1]; /* for people; "" when it worked */
};

/* How deliveries leave the service: the program gives the transports (the
 * notify adapter), the service keeps the rules (what is sent, signed,
 * retried). Each call runs on the service's delivery thread and returns
 * within its timeout. */
struct tsr_senders {
    /* POSTs the JSON body of len bytes to url with the n headers ("Name:
     * value"); true when the receiver answered 2xx. NULL: no webhooks. */
    bool (*post)(void *ctx, const char *url, const char *body, size_t len,
                 const char *const *headers, size_t n, long timeout_s, struct tsr_send_result *out);
    /* Sends a plain-text mail; true when the relay took it. NULL: no e-mail
     * (owners are not mailed, and no e-mail delivery is made). */
    bool (*mail)(void *ctx, const char *to, const char *subject, const char *text, long timeout_s,
                 struct tsr_send_result *out);
    void *ctx;
};

#define TSR_NOTIFY_WINDOWS_MAX 8

struct tsr_service_config {
    int64_t max_lifetime_days;    /* 0: no limit */
    int64_t max_tokens;           /* unrevoked personal tokens a user holds; 0: no limit */
    int flush_interval_ms;        /* how often usage and audit records are written */
    int sync_interval_ms;         /* how often the index looks for other processes' changes */
    int64_t login_max_failures;   /* failed logins an address may make in a window; 0: no limit */
    int64_t login_window;         /* seconds */
    int64_t token_retention_days; /* expired and revoked tokens kept this long; 0: forever */
    int64_t audit_retention_days; /* audit records kept this long; 0: forever */
    unsigned hash_threads;        /* threads that check passwords; 0: half the cores, >= 1 */
    unsigned hash_queue;          /* logins that may wait for them; 0: TSR_HASH_QUEUE_DEFAULT */
    /* Failed logins for one email text (whether or not such a user exists),
     * from any address, in a window of seconds; 0: no limit. */
    int64_t login_account_max_failures;
    int64_t login_account_window;
    /* Expiry notices: token.expiring this many seconds before expires_at
     * (ascending, positive; 7 and 1 days by default), looked for every
     * notice_interval_ms. */
    int64_t notify_before[TSR_NOTIFY_WINDOWS_MAX];
    size_t notify_windows;
    int notice_interval_ms;
    /* Deliveries: the first retry after retry_first_s seconds, each next
     * one after twice as long (at most an hour), until give_up_s after the
     * event; then the delivery is failed. */
    int64_t retry_first_s;
    int64_t give_up_s;
    struct tsr_senders senders;
    /* Where people log in, for the links in e-mails ("" for none). */
    char console_url[TSR_HOOK_URL_MAX + 1];
};

/* Fills cfg with the documented defaults. Cannot fail. */
void tsr_service_config_defaults(struct tsr_service_config *cfg);

struct tsr_service;

/* Creates the service over store (which stays the caller's and must outlive
 * it) and starts its background writer and its password-hashing threads. */
enum tsr_err tsr_service_new(struct tsr_store *store, const struct tsr_service_config *cfg,
                             struct tsr_service **out) TSR_MUST_CHECK;

/* Finishes the logins still queued, writes what the service holds in
 * memory, stops its threads and frees it; NULL is a no-op. */
void tsr_service_free(struct tsr_service *svc);

/* Brings the index in step with changes made by other processes now (the
 * background writer does it every sync_interval_ms). */
enum tsr_err tsr_service_sync(struct tsr_service *svc) TSR_MUST_CHECK;

/* How many live tokens the in-memory index holds. */
size_t tsr_service_indexed(struct tsr_service *svc);

/* Writes pending last-used times and audit records now. */
enum tsr_err tsr_service_flush(struct tsr_service *svc) TSR_MUST_CHECK;

/* Deletes what the retention settings no longer keep (the background writer
 * does it hourly); *tokens and *audits (may be NULL) count what went. */
enum tsr_err tsr_service_housekeep(struct tsr_service *svc, int64_t *tokens,
                                   int64_t *audits) TSR_MUST_CHECK;

/* TSR_OK when the store answers. */
enum tsr_err tsr_service_ping(struct tsr_service *svc) TSR_MUST_CHECK;

/* ---- authentication ---- */

/* What a token may do and from where; opaque outside the service. */
struct tsr_grant;

/* Who made a request: the user and the token that authenticated it. */
struct tsr_principal {
    char user_id[TSR_UUID_LEN + 1];
    char token_id[TSR_UUID_LEN + 1];
    enum tsr_token_kind kind;
    int64_t expires_at;
    uint8_t secret_hash[TSR_HASH_LEN];
    /* NULL: every scope, from anywhere (a global token without an address
     * list, a session token). Held until tsr_principal_release. */
    struct tsr_grant *grant;
};

/* Gives back what p holds (its grant); p may then be reused or dropped.
 * Safe on a principal that holds nothing, and twice. Cannot fail. */
void tsr_principal_release(struct tsr_principal *p);

/* p's scopes as the API shows them: "global", or the names sorted and one
 * space apart; *len is the length. Valid while p holds its grant. */
const char *tsr_principal_scopes(const struct tsr_principal *p, size_t *len);

/* TSR_OK when p holds scope (a built-in scope's name), else TSR_ERR_SCOPE. */
enum tsr_err tsr_auth_require(struct tsr_service *svc, const struct tsr_principal *p,
                              const char *scope) TSR_MUST_CHECK;

/* Whether p holds every one of the n scopes (names[i] of lens[i] bytes,
 * each well-formed: tsr_scope_name_valid); when not, *missing is the index
 * of the first it lacks. A name that is no scope is held by nobody, and is
 * logged as a warning (a gateway's typo), at most once a second. Never
 * reads the store. */
bool tsr_auth_holds_all(struct tsr_service *svc, const struct tsr_principal *p,
                        const char *const *names, const size_t *lens, size_t n, size_t *missing);

/* Kinds of secret a caller accepts, or-ed. */
enum {
    TSR_ACCEPT_PERSONAL = 1,
    TSR_ACCEPT_SESSION = 2,
};

/* Checks the secret (len bytes at secret, not NUL-terminated) against the
 * kinds in accept; notes its use (remote: the client address, may be "").
 * TSR_ERR_UNAUTHORIZED when it is malformed, unknown, expired, revoked, not
 * yet valid (not_before) or of a kind not accepted, TSR_ERR_ADDRESS when its
 * address list does not hold remote (a failure is audited); *out filled on
 * TSR_OK, to be released with tsr_principal_release. */
enum tsr_err tsr_auth_secret(struct tsr_service *svc, const char *secret, size_t len,
                             unsigned accept, const char *remote,
                             struct tsr_principal *out) TSR_MUST_CHECK;

struct tsr_session {
    char secret[TSR_SECRET_LEN + 1];
    int64_t created;
    int64_t expires_at;
    /* When the login was refused with TSR_ERR_RATE: the seconds to wait, and
     * whether the email's limit refused it (else the address's). */
    int64_t retry_after;
    bool account_limited;
};

/* Logs in with email and password (not NUL-terminated) and creates a session
 * token valid TSR_SESSION_LIFETIME. TSR_ERR_UNAUTHORIZED for an unknown email
 * or a wrong password, after the same work in both cases; TSR_ERR_RATE,
 * without checking any password, when remote's address (tsr_addr_key) or the
 * email has failed too often in its window (out->retry_after and
 * out->account_limited say which and how long). Each attempt is counted
 * before its password is checked and given back if it succeeds, so parallel
 * attempts never get past a limit. Audited. */
enum tsr_err tsr_auth_login(struct tsr_service *svc, const char *email, size_t email_len,
                            const char *password, size_t password_len, const char *remote,
                            struct tsr_session *out) TSR_MUST_CHECK;

/* tsr_auth_login off the caller's thread, for a caller that must not wait
 * for Argon2id (an event loop): the password is checked, and the session
 * created, by one of the service's few hashing threads. The caller owns op
 * until op->done(op) has been called. */
struct tsr_login_op {
    struct tsr_session session; /* on TSR_OK: the new session (the only copy) */
    enum tsr_err rc;            /* as tsr_auth_login returns it; set before done is called */
    void (*done)(struct tsr_login_op *op);
    void *ctx; /* the caller's */
    /* the service's own: copies of the credentials, wiped once checked */
    struct tsr_service *svc;
    struct tsr_login_op *next;
    char email[TSR_EMAIL_MAX + 1];
    size_t email_len; /* TSR_EMAIL_MAX + 1 stands for any longer email */
    char password[TSR_PASSWORD_MAX];
    size_t password_len;
    char remote[TSR_ADDR_MAX + 1];
};

/* Starts a login of email and password (not NUL-terminated), copied into
 * op with remote. TSR_OK: op->done(op) will be called once, from another
 * thread, with op->rc and op->session as tsr_auth_login would give them.
 * Otherwise done is never called: TSR_ERR_RATE when remote or the email has
 * failed too often (checked here, before anything is queued), TSR_ERR_BUSY when as many
 * logins as the queue holds already wait (try again in a moment). */
enum tsr_err tsr_auth_login_submit(struct tsr_service *svc, const char *email, size_t email_len,
                                   const char *password, size_t password_len, const char *remote,
                                   struct tsr_login_op *op) TSR_MUST_CHECK;

/* Seconds that remote's address must wait before its next login attempt:
 * not 0 after too many failures in the window (tsr_auth_login then refuses
 * with TSR_ERR_RATE). Cannot fail. */
int64_t tsr_auth_login_wait(struct tsr_service *svc, const char *remote);

/* Revokes the session token that authenticated p. TSR_ERR_NOT_FOUND when p
 * came with a personal token. */
enum tsr_err tsr_auth_logout(struct tsr_service *svc, const struct tsr_principal *p,
                             const char *remote) TSR_MUST_CHECK;

/* ---- personal tokens ---- */

/* A field of a create or update request; has is false when absent, null
 * true when it was given as null (only not_before may be). */
struct tsr_field {
    bool has;
    bool null;
    const char *s;
    size_t len;
};

/* A list of strings of a request: n is how many it had, and the first
 * TSR_LIST_INPUT_MAX of them are in items (more are refused by count). */
#define TSR_LIST_INPUT_MAX 51
struct tsr_list_field {
    bool has;
    size_t n;
    struct tsr_field items[TSR_LIST_INPUT_MAX];
};

struct tsr_token_input {
    struct tsr_field name;
    struct tsr_field description;
    struct tsr_field expires_at;
    struct tsr_field not_before;
    struct tsr_list_field scopes;
    struct tsr_list_field allowed_ips;
};

/* Why a request was refused: the field at fault as a JSON Pointer without
 * its leading slash ("name", "scopes/2"; "" when none), a sentence for
 * people that names it, and for TSR_ERR_SCOPE the scope that was lacking. */
struct tsr_problem {
    char field[48];
    char detail[200];
    char scope[TSR_SCOPE_NAME_MAX + 1];
};

/* Creates a personal token for p's user. On TSR_OK, *out is the new token and
 * secret holds its secret (the only copy). TSR_ERR_MISSING or TSR_ERR_INVALID
 * with *why for a field that breaks the rules; TSR_ERR_SCOPE with *why when
 * it would give the token more than p holds (scopes, a later expiry, other
 * addresses); TSR_ERR_LIMIT when the user holds the maximum of live tokens.
 * Audited. */
enum tsr_err tsr_tokens_create(struct tsr_service *svc, const struct tsr_principal *p,
                               const struct tsr_token_input *in, const char *remote,
                               struct tsr_token_row *out, char secret[TSR_SECRET_LEN + 1],
                               struct tsr_problem *why) TSR_MUST_CHECK;

/* tsr_tokens_create in two halves, for a caller that must not wait for the
 * disk (an event loop): prepare checks and builds, submit queues the write.
 * The caller owns op until op->done(op) has been called. */
struct tsr_create_op {
    struct tsr_token_row token;      /* the new token */
    char secret[TSR_SECRET_LEN + 1]; /* its only copy; wiped when refused */
    struct tsr_problem why;
    enum tsr_err rc; /* the outcome, set before done is called */
    void (*done)(struct tsr_create_op *op);
    void *ctx; /* the caller's */
    /* the service's own */
    struct tsr_service *svc;
    struct tsr_audit_row audit;
    char user_id[TSR_UUID_LEN + 1];
};

/* Checks in and builds the token in op, as tsr_tokens_create does; nothing
 * is written yet. Returns its errors for input that breaks the rules. */
enum tsr_err tsr_tokens_create_prepare(struct tsr_service *svc, const struct tsr_principal *p,
                                       const struct tsr_token_input *in, const char *remote,
                                       struct tsr_create_op *op) TSR_MUST_CHECK;

/* Queues the write of a prepared op. TSR_OK: op->done(op) will be called
 * once, from another thread, with op->rc as tsr_tokens_create would return
 * it. Otherwise (out of memory) done is never called. */
enum tsr_err tsr_tokens_create_submit(struct tsr_create_op *op) TSR_MUST_CHECK;

/* Which tokens a list shows by their expiry: all; the active ones (not
 * expired); those of them that expire soon; the expired ones. */
enum tsr_list_status {
    TSR_LIST_ALL,
    TSR_LIST_ACTIVE,
    TSR_LIST_EXPIRING,
    TSR_LIST_EXPIRED,
};

/* Lists p's personal tokens of the given status (q->user_id and q's expiry
 * bounds are set here). See tsr_store_token_list. */
enum tsr_err tsr_tokens_list(struct tsr_service *svc, const struct tsr_principal *p,
                             struct tsr_token_query *q, enum tsr_list_status status,
                             enum tsr_err (*each)(const struct tsr_token_row *, void *), void *ctx,
                             int64_t *total) TSR_MUST_CHECK;

/* Finds p's personal token id; id NULL means the token p came with.
 * TSR_ERR_NOT_FOUND when it is not p's, revoked, or (id NULL) p came with a
 * session token. */
enum tsr_err tsr_tokens_get(struct tsr_service *svc, const struct tsr_principal *p, const char *id,
                            struct tsr_token_row *out) TSR_MUST_CHECK;

/* Changes the fields present in in (at least one) of p's token id, with the
 * rules of create. TSR_ERR_MISSING/INVALID with *why, TSR_ERR_NOT_FOUND,
 * TSR_ERR_EXPIRED when the token has expired, TSR_ERR_SCOPE with *why when p
 * lacks a scope of the token or would give it more than p holds. Audited. */
enum tsr_err tsr_tokens_update(struct tsr_service *svc, const struct tsr_principal *p,
                               const char *id, const struct tsr_token_input *in, const char *remote,
                               struct tsr_token_row *out, struct tsr_problem *why) TSR_MUST_CHECK;

/* Revokes p's personal token id (NULL: the one p came with). TSR_ERR_NOT_FOUND
 * as for tsr_tokens_get, TSR_ERR_SCOPE with *why when p lacks a scope of
 * the token. Audited. */
enum tsr_err tsr_tokens_revoke(struct tsr_service *svc, const struct tsr_principal *p,
                               const char *id, const char *remote,
                               struct tsr_problem *why) TSR_MUST_CHECK;

/* A rotation's optional body: a new expiry (the rules of create's), and how
 * long the old secret stays good (has false: 0). */
struct tsr_rotate_input {
    struct tsr_field expires_at;
    bool has_grace;
    int64_t grace_period; /* seconds, 0..TSR_GRACE_MAX_SECONDS; others are refused */
};

/* Gives p's personal token id (NULL: the one p came with) a new secret,
 * keeping its id, name, description, scopes, restrictions, created and
 * last_used_at; expires_at as in->expires_at gives it (create's rules,
 * bounded like an update's) or unchanged. The old secret is refused from
 * the next request, or in->grace_period seconds later (never after its old
 * expiry); a rotation ends any grace period a previous one started. On
 * TSR_OK *out is the token and secret its new secret (the only copy).
 * TSR_ERR_NOT_FOUND as for tsr_tokens_get; TSR_ERR_EXPIRED when the token
 * has expired; TSR_ERR_INVALID with *why for a grace period out of range or
 * a bad expiry; TSR_ERR_SCOPE with *why when p lacks a scope of the token,
 * or (id NULL) asks for a new expiry without tokens:write. Audited as
 * token.rotate. */
enum tsr_err tsr_tokens_rotate(struct tsr_service *svc, const struct tsr_principal *p,
                               const char *id, const struct tsr_rotate_input *in,
                               const char *remote, struct tsr_token_row *out,
                               char secret[TSR_SECRET_LEN + 1],
                               struct tsr_problem *why) TSR_MUST_CHECK;

/* ---- leaked secrets ---- */

/* How many secrets one report may hold. */
#define TSR_LEAK_REPORT_MAX       1000
#define TSR_LEAK_REPORTS_PER_HOUR 60

/* Counts one report from remote against the limit of reports an address
 * may make (TSR_LEAK_REPORTS_PER_HOUR in a sliding hour): 0 when it may go
 * ahead, else the seconds until it may. Cannot fail. */
int64_t tsr_leaks_take(struct tsr_service *svc, const char *remote);

/* Revokes each of the n secrets (secrets[i] of lens[i] bytes, of any shape)
 * that is the secret, or the previous secret of a rotation, of a personal
 * or session token that is not revoked (expired and not-yet-valid ones
 * included), records token.leaked in its owner's activity with remote
 * (where it was reported from) and notifies the owner. found[i] (found may
 * be NULL) says whether secrets[i] was such a secret. The store's errors
 * only; nothing is refused by content. */
enum tsr_err tsr_leaks_revoke(struct tsr_service *svc, const char *const *secrets,
                              const size_t *lens, size_t n, const char *remote,
                              bool *found) TSR_MUST_CHECK;

/* "active" or "expired" for t at now. Cannot fail. */
const char *tsr_token_status(const struct tsr_token_row *t, int64_t now);

/* ---- scopes ---- */

/* Adds an operator scope (description may be NULL for ""). TSR_ERR_INVALID
 * with *why for a malformed or reserved name or a description that breaks
 * the rules of a token's; TSR_ERR_EXISTS when the name is taken. A running
 * server learns of it within a second. */
enum tsr_err tsr_scopes_add(struct tsr_service *svc, const char *name, const char *description,
                            struct tsr_problem *why) TSR_MUST_CHECK;

/* Removes an operator scope. TSR_ERR_INVALID with *why for a built-in or
 * reserved name, TSR_ERR_NOT_FOUND when there is none, TSR_ERR_IN_USE with
 * *why (saying how many) while a live token lists it by name. */
enum tsr_err tsr_scopes_remove(struct tsr_service *svc, const char *name,
                               struct tsr_problem *why) TSR_MUST_CHECK;

/* Calls each(scope, builtin, ctx) for every scope a token can be given:
 * Tessera's own first (tsr_builtin_scopes' order, created 0), then the
 * operator's by name; at most limit of them after skipping offset. *total
 * is how many there are. */
enum tsr_err tsr_scopes_list(struct tsr_service *svc, int64_t offset, int64_t limit,
                             enum tsr_err (*each)(const struct tsr_scope_row *, bool builtin,
                                                  void *),
                             void *ctx, int64_t *total) TSR_MUST_CHECK;

/* ---- webhooks and deliveries (tesserad webhook) ---- */

/* The event types, one space apart, as a webhook's --events names them. */
#define TSR_EVENT_TYPES                                                                            \
    "token.created token.updated token.rotated token.revoked token.leaked token.expiring "         \
    "token.expired"

/* Adds a webhook that receives the events named in events (types one
 * comma or space apart; NULL or "" for every one), signed with key (1 to
 * TSR_HOOK_KEY_MAX bytes of printable ASCII). url is http:// or https://
 * with a host, and no credentials in it. TSR_ERR_INVALID with *why for
 * what breaks these rules, TSR_ERR_EXISTS when a webhook has that url. On
 * TSR_OK, *out (may be NULL) is the webhook. A running server posts to it
 * from its next event on. */
enum tsr_err tsr_webhooks_add(struct tsr_service *svc, const char *url, const char *key,
                              const char *events, struct tsr_webhook_row *out,
                              struct tsr_problem *why) TSR_MUST_CHECK;

/* Removes webhook id; what it had still to receive is dropped.
 * TSR_ERR_NOT_FOUND when none, TSR_ERR_INVALID with *why for an id that is
 * not a UUID. */
enum tsr_err tsr_webhooks_remove(struct tsr_service *svc, const char *id,
                                 struct tsr_problem *why) TSR_MUST_CHECK;

/* Calls each(hook, ctx) for every webhook, oldest first (keys left empty). */
enum tsr_err tsr_webhooks_list(struct tsr_service *svc,
                               enum tsr_err (*each)(const struct tsr_webhook_row *, void *),
                               void *ctx) TSR_MUST_CHECK;

/* Calls each(delivery, ctx) for the newest deliveries, at most limit, of
 * webhook_id (NULL: every channel) in state (0: any). */
enum tsr_err tsr_deliveries_list(struct tsr_service *svc, const char *webhook_id,
                                 enum tsr_delivery_state state, int64_t limit,
                                 enum tsr_err (*each)(const struct tsr_delivery_row *, void *),
                                 void *ctx) TSR_MUST_CHECK;

/* ---- the audit log ---- */

/* Calls each for p's user's own audit records, newest first, at most limit
 * after skipping offset; *total is how many there are. A user never sees
 * another user's records. See tsr_store_audit_list. */
enum tsr_err tsr_activity_list(struct tsr_service *svc, const struct tsr_principal *p,
                               int64_t offset, int64_t limit,
                               enum tsr_err (*each)(const struct tsr_audit_entry *, void *),
                               void *ctx, int64_t *total) TSR_MUST_CHECK;

/* ---- users ---- */

/* p's own account. */
enum tsr_err tsr_users_me(struct tsr_service *svc, const struct tsr_principal *p,
                          struct tsr_user_row *out) TSR_MUST_CHECK;

/* Adds a user. TSR_ERR_INVALID with *why for a malformed email or a password
 * of fewer than TSR_PASSWORD_MIN characters; TSR_ERR_EXISTS when taken. */
enum tsr_err tsr_users_add(struct tsr_service *svc, const char *email, const char *password,
                           struct tsr_user_row *out, struct tsr_problem *why) TSR_MUST_CHECK;

/* Sets a user's password and signs them out of every session. */
enum tsr_err tsr_users_passwd(struct tsr_service *svc, const char *email, const char *password,
                              struct tsr_problem *why) TSR_MUST_CHECK;

/* Removes a user and revokes all their tokens. TSR_ERR_NOT_FOUND when none. */
enum tsr_err tsr_users_remove(struct tsr_service *svc, const char *email) TSR_MUST_CHECK;

#define TSR_ADMIN_EMAIL      "admin@localhost"
#define TSR_GENERATED_PW_LEN 24

/* When the store has no users, adds TSR_ADMIN_EMAIL with password, or with a
 * random password of TSR_GENERATED_PW_LEN characters written to generated
 * (and a NUL) when password is NULL; *created says whether it did. */
enum tsr_err tsr_users_ensure_admin(struct tsr_service *svc, const char *password,
                                    char generated[TSR_GENERATED_PW_LEN + 1],
                                    bool *created) TSR_MUST_CHECK;

/* Calls each for every user, oldest first. */
enum tsr_err tsr_users_each(struct tsr_service *svc,
                            enum tsr_err (*each)(const struct tsr_user_row *, void *),
                            void *ctx) TSR_MUST_CHECK;

/* ---- introspection (RFC 7662) ---- */

/* What an introspection tells of a secret. When active is false (the secret
 * is malformed, unknown, expired or revoked, or its user is gone) nothing
 * else is set. */
struct tsr_introspection {
    bool active;
    char user_id[TSR_UUID_LEN + 1];
    char email[TSR_EMAIL_MAX + 1];
    char token_id[TSR_UUID_LEN + 1];
    enum tsr_token_kind kind;
    int64_t created;
    int64_t expires_at;
    char scope[TSR_SCOPES_TEXT_MAX + 1]; /* its scopes, space-separated ("global") */
};

/* Authenticates an OAuth 2.0 client by HTTP Basic (RFC 6749's
 * client_secret_basic): the client's id is the id of the personal token
 * whose secret it presents. As tsr_auth_secret with TSR_ACCEPT_PERSONAL, and
 * TSR_ERR_UNAUTHORIZED (audited as a refusal of that token) when the id_len
 * bytes at id are not that token's id. */
enum tsr_err tsr_auth_client(struct tsr_service *svc, const char *id, size_t id_len,
                             const char *secret, size_t len, const char *remote,
                             struct tsr_principal *out) TSR_MUST_CHECK;

/* Tells caller (an authenticated principal) about the secret of len bytes
 * at secret, of either kind. Any caller may introspect any secret it
 * presents: holding the secret is the proof, and the answer says no more
 * than the secret itself would get from the API. Like tsr_auth_secret it
 * notes the secret's use or audits its refusal (remote: the caller's
 * address, may be ""). Reads the store for the email and creation time.
 * TSR_OK with out->active true or false; the store's errors otherwise. */
enum tsr_err tsr_auth_introspect(struct tsr_service *svc, const struct tsr_principal *caller,
                                 const char *secret, size_t len, const char *remote,
                                 struct tsr_introspection *out) TSR_MUST_CHECK;

#endif
