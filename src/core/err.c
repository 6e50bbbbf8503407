/* err.c - phrases for the error type */
#include "core/err.h"

const char *tsr_strerror(enum tsr_err err)
{
    switch (err) {
    case TSR_OK:
        return "success";
    case TSR_ERR_NOMEM:
        return "out of memory";
    case TSR_ERR_INVALID:
        return "invalid value";
    case TSR_ERR_MISSING:
        return "missing value";
    case TSR_ERR_NOT_FOUND:
        return "not found";
    case TSR_ERR_EXISTS:
        return "already exists";
    case TSR_ERR_UNAUTHORIZED:
        return "not authorized";
    case TSR_ERR_EXPIRED:
        return "expired";
    case TSR_ERR_LIMIT:
        return "limit reached";
    case TSR_ERR_RATE:
        return "too many attempts";
    case TSR_ERR_FULL:
        return "disk full";
    case TSR_ERR_BUSY:
        return "database busy";
    case TSR_ERR_STORE:
        return "database error";
    case TSR_ERR_IO:
        return "input/output error";
    case TSR_ERR_TOOBIG:
        return "too large";
    case TSR_ERR_TIMEOUT:
        return "timed out";
    case TSR_ERR_IN_USE:
        return "in use";
    case TSR_ERR_SCOPE:
        return "insufficient scope";
    case TSR_ERR_ADDRESS:
        return "address not allowed";
    }
    return "unknown error";
}
