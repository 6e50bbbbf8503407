/* completion.c - tessera completion bash: print the completion script
 *
 * The script itself is completions/tessera.bash, compiled in by the build
 * (see src/CMakeLists.txt) so that the installed file and what this command
 * prints can never differ.
 */
#include <stdio.h>
#include <string.h>

#include "cli/commands.h"

int tsr_cmd_completion(struct tsr_cli *cli)
{
    if (strcmp(cli->params[0], "bash") != 0)
        return tsr_cli_usage(cli, "no completion for '%.32s': only bash is supported",
                             cli->params[0]);
    if (fputs(tsr_bash_completion, stdout) == EOF || fflush(stdout) != 0)
        return tsr_cli_write_failed();

    return TSR_EXIT_OK;
}
