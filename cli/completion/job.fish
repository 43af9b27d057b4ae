# fish completion for job and jobs (written by "jobs completions fish")
function __job_complete
    set -l bin (command -s job; or command -s jobs)
    test -n "$bin"; or return
    set -l tokens (commandline -opc)
    set -l current (commandline -ct)
    set -l out ($bin[1] __complete $tokens[2..-1] "$current" 2>/dev/null)
    switch "$out[1]"
        case values
            printf '%s\n' $out[2..-1]
        case files
            __fish_complete_path "$current"
        case dirs
            __fish_complete_directories "$current"
        case 'command *'
            # the job's own command line: complete it as that command's
            set -l offset (string replace 'command ' '' -- $out[1])
            set -l rest $tokens[(math $offset + 2)..-1] "$current"
            complete -C (string join ' ' -- (string escape -- $rest[1..-2]) "$current")
    end
end
complete -c job -e
complete -c jobs -e
complete -c job -f -k -a '(__job_complete)'
complete -c jobs -f -k -a '(__job_complete)'
