# bash completion for job and jobs (written by "jobs completions bash")
_job_complete() {
  local bin
  bin=$(type -P job || type -P jobs) || return 0
  # bash splits "--group=gpu" and "A100:2" at = and : (COMP_WORDBREAKS): glue them back, minding where each word was
  local -a words=() at=()
  local i w glue=0
  for ((i = 1; i <= COMP_CWORD; i++)); do
    w=${COMP_WORDS[i]}
    if ((${#words[@]} > 0)) && [[ $glue == 1 || $w =~ ^[=:]+$ ]]; then
      words[${#words[@]} - 1]+=$w
    else
      words+=("$w")
      at+=("$i")
    fi
    [[ $w =~ ^[=:]+$ ]] && glue=1 || glue=0
  done
  local out
  out=$("$bin" __complete "${words[@]}" 2>/dev/null) || return 0
  local directive=${out%%$'\n'*} cur=${words[${#words[@]} - 1]}
  # readline replaces only what follows the last word-break character of the word: candidates lose what precedes it
  local breaks=${COMP_WORDBREAKS//[^=:]/} strip=
  [[ -n $breaks ]] && strip=${cur%"${cur##*[$breaks]}"}
  case $directive in
  values)
    [[ $out == *$'\n'* ]] || return 0
    compopt -o nosort 2>/dev/null
    local line value
    while IFS= read -r line; do
      value=${line%%$'\t'*}
      value=${value#"$strip"}
      [[ $value == *[[:space:]\'\"\\\$\&\;\|\<\>\(\)\*\?\[\]\#\~\!]* ]] && printf -v value '%q' "$value"
      COMPREPLY+=("$value")
    done <<<"${out#*$'\n'}"
    ;;
  files | dirs)
    compopt -o filenames 2>/dev/null
    local what=-f
    [[ $directive == dirs ]] && what=-d
    mapfile -t COMPREPLY < <(compgen "$what" -- "${cur#"$strip"}")
    ;;
  command\ *)
    # the job's own command line: complete it as that command's
    local offset=${directive#command }
    if ((offset < ${#at[@]})) && declare -F _command_offset >/dev/null; then
      _command_offset "${at[offset]}"
    elif ((offset == ${#words[@]} - 1)); then
      mapfile -t COMPREPLY < <(compgen -c -- "$cur")
    else
      compopt -o filenames 2>/dev/null
      mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    fi
    ;;
  esac
  return 0
}
complete -F _job_complete job jobs
