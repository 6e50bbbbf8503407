/* limits.h - the limits of what a client may send, shared by the server and the CLI
 *
 * The server enforces them; the CLI and its help quote them from here and
 * the web consoles read them from GET /v4/console/config, so that no client
 * keeps a copy of its own.
 */
#ifndef TSR_CORE_LIMITS_H
#define TSR_CORE_LIMITS_H

#define TSR_NAME_MAX_CHARS 100 /* a token's name, in code points */
#define TSR_DESC_MAX_CHARS 500 /* a token's description, in code points */
#define TSR_PAGE_SIZE_MAX  100 /* tokens in one page of a list */
/* How long a rotation may keep the old secret good, in seconds: a day, time
 * enough to roll the new one out everywhere, short enough that a leaked old
 * secret does not outlive its replacement by much. */
#define TSR_GRACE_MAX_SECONDS 86400
/* A token expires soon, for lists filtered by status=expiring and for the
 * marks that the CLI and the consoles put on such tokens, when it expires
 * within this many days. */
#define TSR_EXPIRING_SOON_DAYS 7
/* In seconds, spelled out token for token as service/service.h spells its
 * own: a C compiler refuses two definitions of one macro that differ, so
 * neither can change alone while both exist. */
#define TSR_EXPIRING_SOON (7 * 86400)
_Static_assert(TSR_EXPIRING_SOON == TSR_EXPIRING_SOON_DAYS * 86400,
               "the expiring window in days and in seconds must agree");

/* The numbers as text, for messages and help written at compile time. */
#define TSR_STR_(x)                 #x
#define TSR_STR(x)                  TSR_STR_(x)
#define TSR_NAME_MAX_CHARS_TEXT     TSR_STR(TSR_NAME_MAX_CHARS)
#define TSR_DESC_MAX_CHARS_TEXT     TSR_STR(TSR_DESC_MAX_CHARS)
#define TSR_PAGE_SIZE_MAX_TEXT      TSR_STR(TSR_PAGE_SIZE_MAX)
#define TSR_EXPIRING_SOON_DAYS_TEXT TSR_STR(TSR_EXPIRING_SOON_DAYS)

#endif
