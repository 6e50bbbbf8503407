/* config.h - tessera's files: the server in `config`, the token in `credentials`
 *
 * Both live in $XDG_CONFIG_HOME/tessera (by default ~/.config/tessera), a
 * folder created 0700. Each file is lines of `key = value`, with `#`
 * comments, at most TSR_CONFIG_FILE_MAX bytes; each is written whole to a
 * temporary file (0600) in the same folder, flushed to disk, then renamed
 * over the old one, so a crash leaves the old file or the new, never half.
 *
 * `config` holds `server`. `credentials` holds `server` (the server the token
 * belongs to: a stored token is never sent anywhere else), `token`, and
 * `origin`: `login` for a token that `tessera login` made (and so may revoke
 * when it is replaced), `token` for one the user gave with `login --token`.
 * A credentials file that another user could read or change, or that
 * someone else owns, is refused, not used.
 */
#ifndef TSR_CLI_CONFIG_H
#define TSR_CLI_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "core/err.h"
#include "core/secret.h"

#define TSR_CONFIG_PATH_MAX 4096
#define TSR_CONFIG_FILE_MAX 8192
#define TSR_SERVER_MAX      2048 /* the longest server URL taken */

struct tsr_paths {
    char dir[TSR_CONFIG_PATH_MAX];
    char config[TSR_CONFIG_PATH_MAX];
    char credentials[TSR_CONFIG_PATH_MAX];
};

struct tsr_creds {
    char server[TSR_SERVER_MAX + 1];
    char token[TSR_SECRET_LEN + 1];
    bool from_login; /* origin = login */
};

/* Finds the folder from XDG_CONFIG_HOME (when it is an absolute path), else
 * HOME, else the password database. Returns TSR_OK, or TSR_ERR_INVALID with
 * why when no home can be found or the paths are too long. Creates nothing. */
enum tsr_err tsr_paths_find(struct tsr_paths *p, char *why, size_t why_size) TSR_MUST_CHECK;

/* Reads `server` from the config file into server (size bytes). Returns
 * TSR_OK (*found false when the file or the key is absent), or an error with
 * why (unreadable, malformed, too long). */
enum tsr_err tsr_config_read(const struct tsr_paths *p, char *server, size_t size, bool *found,
                             char *why, size_t why_size) TSR_MUST_CHECK;

/* Writes the config file with server, creating the folder if need be.
 * Returns TSR_OK or TSR_ERR_IO with why. */
enum tsr_err tsr_config_write(const struct tsr_paths *p, const char *server, char *why,
                              size_t why_size) TSR_MUST_CHECK;

/* Reads the credentials file into c (wiped first). Returns TSR_OK (*found
 * false when there is no file), TSR_ERR_UNAUTHORIZED with why when strict
 * and the file is open to others or owned by someone else (why says how to
 * fix it), or another error with why. Only a command that is about to
 * revoke the token and replace or remove the file reads it without strict.
 * The caller wipes c when done (tsr_creds_wipe). */
enum tsr_err tsr_creds_read(const struct tsr_paths *p, struct tsr_creds *c, bool strict,
                            bool *found, char *why, size_t why_size) TSR_MUST_CHECK;

/* Writes c as the credentials file (0600), creating the folder if need be.
 * Returns TSR_OK or TSR_ERR_IO with why. */
enum tsr_err tsr_creds_write(const struct tsr_paths *p, const struct tsr_creds *c, char *why,
                             size_t why_size) TSR_MUST_CHECK;

/* Removes the credentials file; an absent one is fine. Returns TSR_OK or
 * TSR_ERR_IO with why. */
enum tsr_err tsr_creds_remove(const struct tsr_paths *p, char *why, size_t why_size) TSR_MUST_CHECK;

/* Overwrites c with zeros. Cannot fail. */
void tsr_creds_wipe(struct tsr_creds *c);

#endif
