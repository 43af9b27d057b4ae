#!/usr/bin/env bash
# Follows every job of the home (JOBS_HOME, else ~/.jobs), new ones included, and prints one tab-separated line per
# event: job short id, the job's status after it, the event type, and an exit code or signal when it has one.
# Starts at "now"; pass a saved cursor or a time to replay: ./follow.sh --since 1h
# (`env jobs`: in bash, a bare `jobs` is the shell's job-control builtin; `job` is the same program.)
set -euo pipefail
env jobs events --all --follow "$@" |
  jq --unbuffered -r '[.job.shortId, .job.status, .event.type, (.event.code // .event.signal // "")] | @tsv'
