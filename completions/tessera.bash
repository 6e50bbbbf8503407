# bash completion for tessera, the Tessera command-line client.
# Install: copy to /usr/share/bash-completion/completions/tessera, or run
#   source <(tessera completion bash)
# Token ids are completed from `tessera list tokens --all --output json`, and
# scope names from `tessera list scopes --output json`.
# COMPREPLY=($(compgen ...)) is the completion idiom: its words hold no spaces.
# shellcheck disable=SC2207

_tessera_ids()
{
    tessera list tokens --all --output json 2>/dev/null |
        sed -n 's/^ *"id": "\([0-9a-f-]*\)".*/\1/p'
}

_tessera_scopes()
{
    tessera list scopes --output json 2>/dev/null |
        sed -n 's/^ *"name": "\([a-z0-9_.:-]*\)".*/\1/p'
}

_tessera()
{
    local cur prev words cword
    if declare -F _init_completion >/dev/null 2>&1; then
        # Scope names hold ':', which bash splits words at: keep them whole.
        _init_completion -n =: || return
    else
        cur="${COMP_WORDS[COMP_CWORD]}"
        prev="${COMP_WORDS[COMP_CWORD-1]}"
        words=("${COMP_WORDS[@]}")
        cword=$COMP_CWORD
    fi

    local global="--output --server --token --help"
    case "$prev" in
    --output | -o)
        COMPREPLY=($(compgen -W "table json" -- "$cur"))
        return
        ;;
    --sort)
        COMPREPLY=($(compgen -W "name -name created -created expires -expires last_used -last_used" -- "$cur"))
        return
        ;;
    --expires)
        COMPREPLY=($(compgen -W "1d 7d 15d 30d 90d 1y" -- "$cur"))
        return
        ;;
    --status)
        COMPREPLY=($(compgen -W "active expiring expired" -- "$cur"))
        return
        ;;
    --grace)
        COMPREPLY=($(compgen -W "0 15m 1h 24h" -- "$cur"))
        return
        ;;
    --scope)
        COMPREPLY=($(compgen -W "$(_tessera_scopes)" -- "$cur"))
        if declare -F __ltrim_colon_completions >/dev/null 2>&1; then
            __ltrim_colon_completions "$cur"
        fi
        return
        ;;
    --server | --token | --email | --name | --description | --search | --page | --page-size | \
        --allow-ip | --not-before)
        return
        ;;
    esac

    # The command words typed so far, options and their values left out.
    local verb="" noun="" nargs=0 i w
    for ((i = 1; i < cword; i++)); do
        w="${words[i]}"
        case "$w" in
        --output | -o | --server | --token | --email | --name | --description | --expires | \
            --search | --sort | --page | --page-size | --scope | --allow-ip | --not-before | \
            --grace | --status)
            ((i++))
            ;;
        -*) ;;
        *)
            if [[ -z $verb ]]; then
                verb="$w"
            elif [[ -z $noun && $verb =~ ^(create|list|describe|update|rotate|delete)$ ]]; then
                noun="$w"
            else
                ((nargs++))
            fi
            ;;
        esac
    done

    if [[ -z $verb ]]; then
        if [[ $cur == -* ]]; then
            COMPREPLY=($(compgen -W "$global --version" -- "$cur"))
        else
            COMPREPLY=($(compgen -W "login logout whoami create list describe update rotate delete completion help" -- "$cur"))
        fi
        return
    fi

    local opts=""
    case "$verb" in
    login) opts="--email --expires --token" ;;
    logout | whoami) opts="" ;;
    completion)
        [[ $nargs -eq 0 ]] && COMPREPLY=($(compgen -W "bash" -- "$cur"))
        return
        ;;
    help)
        COMPREPLY=($(compgen -W "login logout whoami create list describe update rotate delete completion" -- "$cur"))
        return
        ;;
    create | list | describe | update | rotate | delete)
        if [[ -z $noun ]]; then
            local nouns="token tokens personal-token personal-tokens"
            [[ $verb == list ]] && nouns="$nouns scope scopes"
            COMPREPLY=($(compgen -W "$nouns" -- "$cur"))
            return
        fi
        case "$verb" in
        create) opts="--name --description --expires --scope --allow-ip --not-before" ;;
        list)
            if [[ $noun == scope || $noun == scopes ]]; then
                opts="--page-size"
            else
                opts="--search --sort --page --page-size --all --expiring --status"
            fi
            ;;
        update)
            opts="--name --description --expires --scope --allow-ip --allow-anywhere"
            opts="$opts --not-before --clear-not-before"
            ;;
        rotate) opts="--grace --expires" ;;
        delete) opts="--yes" ;;
        esac
        if [[ $cur != -* && $nargs -eq 0 && $verb =~ ^(describe|update|rotate|delete)$ ]]; then
            COMPREPLY=($(compgen -W "$(_tessera_ids)" -- "$cur"))
            return
        fi
        ;;
    esac
    COMPREPLY=($(compgen -W "$opts $global" -- "$cur"))
}

complete -F _tessera tessera
