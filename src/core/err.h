/* err.h - the one error type every fallible Tessera function returns */
#ifndef TSR_CORE_ERR_H
#define TSR_CORE_ERR_H

/* Marks a function whose result must be looked at. */
#define TSR_MUST_CHECK __attribute__((warn_unused_result))

enum tsr_err {
    TSR_OK = 0,
    TSR_ERR_NOMEM,        /* out of memory */
    TSR_ERR_INVALID,      /* a value breaks a rule (bad format, too long, out of range) */
    TSR_ERR_MISSING,      /* a required value is absent */
    TSR_ERR_NOT_FOUND,    /* no such thing, or not visible to the caller */
    TSR_ERR_EXISTS,       /* a unique value is taken (an email, say) */
    TSR_ERR_UNAUTHORIZED, /* missing, wrong, expired or revoked credentials */
    TSR_ERR_EXPIRED,      /* the token has expired and cannot be changed */
    TSR_ERR_LIMIT,        /* a per-user limit is reached (too many tokens) */
    TSR_ERR_RATE,         /* too many attempts: wait before the next one */
    TSR_ERR_FULL,         /* the disk or database is full */
    TSR_ERR_BUSY,         /* the store is locked by someone else for too long */
    TSR_ERR_STORE,        /* any other failure of the store (corrupt, gone, I/O) */
    TSR_ERR_IO,           /* a file or system call failed */
    TSR_ERR_TOOBIG,       /* more than a buffer's cap, or than its destination holds */
    TSR_ERR_TIMEOUT,      /* the time given ran out first */
    TSR_ERR_IN_USE,       /* still referred to by something live (a scope a token lists) */
    TSR_ERR_SCOPE,        /* the credential lacks a scope the action needs (403) */
    TSR_ERR_ADDRESS,      /* the token may not be used from the client's address (403) */
};

/* A short lower-case phrase for err; never NULL, cannot fail. */
const char *tsr_strerror(enum tsr_err err);

#endif
