#!/bin/sh
# jobs supervisor (DESIGN §5): the parent of one job's command, on every executor. POSIX sh, no Node needed.
# It starts the command in its own session and process group, sends its output to output.log, appends the
# Started and Exited events itself, forwards stop requests to the whole group (signal, grace, then KILL) and
# enforces the timeout.
#
# usage: supervisor.sh [--umask=MASK] [--tmux|--slurm] JOB_DIR JOB_ID TIMEOUT_SECS GRACE_SECS CWD -- CMD [ARGS...]
#    or: supervisor.sh [--umask=MASK] [--tmux|--slurm] JOB_DIR JOB_ID TIMEOUT_SECS GRACE_SECS - --   (cwd, command from
#        JOB_DIR/argv)
#   --umask=MASK: the umask the command and the hooks run under (the submitter's), else the one this script was
#   started with. The supervisor's own files are private (umask 077); the command gets MASK back right before exec.
#   TIMEOUT_SECS 0 means none. The command's environment is exactly what JOB_DIR/env exports, plus
#   JOBS_PROGRESS=JOB_DIR/progress (a program may append "DONE TOTAL [MESSAGE]" lines to it) and JOBS_ID=JOB_ID (which
#   also tells the job's processes from others that got its process group's number after it). It starts with every
#   signal at its default disposition and none blocked.
#   Signals: TERM/INT/HUP stop the job with the request in JOB_DIR/stop ("SIGNAL GRACE"), else TERM and GRACE.
#   --tmux: run as the process of a tmux pane. The command becomes the terminal's foreground process group (so
#   Ctrl+C reaches it), the pane is captured to output.log, and a done screen waits for a key at the end. The
#   shell is blocked in `fg` meanwhile and cannot run traps: stop requests are carried out by whoever makes them
#   (`jobs stop` signals the group itself), and the timeout by the watcher. The done screen stays while someone
#   is attached, else for the seconds JOB_DIR/done_screen gives (default 300), then the session closes.
#   --slurm: run as a Slurm batch job (the batch script execs this). A TERM without a stop request of ours is
#   Slurm's: its time limit or a scancel. scontrol says which, and it is recorded (TimedOut or StopRequested)
#   before the job is stopped as usual, so the job ends timed-out or stopped rather than failed.
# Variables start with _j so that nothing from a job's environment can collide with them.

_jtmux= _jwritermode= _jslurm= _jumask=
case $1 in --umask=*) _jumask=${1#--umask=} && shift ;; esac
if [ "$1" = "--tmux" ]; then
  _jtmux=1
  shift
elif [ "$1" = "--slurm" ]; then
  _jslurm=1
  shift
elif [ "$1" = "--writer" ]; then
  # supervisor.sh --writer JOB_DIR JOB_ID: copy stdin to the job's output with its limit (tmux's pipe-pane)
  _jwritermode=1
  shift
  set -- "$1" "$2" 0 0 - --
fi
_jd=$1 _jid=$2 _jtimeout=$3 _jgrace=$4 _jcwd=$5
shift 5
[ "$1" = "--" ] && shift
# without a command here, JOB_DIR/argv sets it (and _jcwd): a tmux command line must carry no user text
if [ "$#" -eq 0 ] && [ -f "$_jd/argv" ]; then
  . "$_jd/argv"
fi
# the queue (JOB_DIR/queue, written by jobs run): _jgroup, _jprio, _jafter (ids), _jafterany; and the output
# limit in bytes (JOB_DIR/limits): _jmaxlog
_jgroup= _jprio=0 _jafter= _jafterany= _jslot= _jentry= _jmaxlog=
[ -f "$_jd/queue" ] && . "$_jd/queue"
[ -f "$_jd/limits" ] && . "$_jd/limits"
_jhome=${_jd%/jobs/*}
_jgdir=$_jhome/groups/$_jgroup
_jconf=$_jhome/groups/$_jgroup.yaml
_jev=$_jd/events.jsonl
_jout=$_jd/output.log
_jpid=
_jwpid=
_jstopping=
_jtrapped=
_jkiller=
_jwatch=
_jdfl=
case $_jumask in '' | *[!0-7]*) _jumask=$(umask) ;; esac
umask 077

_jnow() {
  _jt=$(date -u +%Y-%m-%dT%H:%M:%S.%3NZ 2>/dev/null)
  case $_jt in *N*|'') _jt=$(date -u +%Y-%m-%dT%H:%M:%SZ) ;; esac
  printf '%s' "$_jt"
}

# _jemit TYPE ID_SUFFIX EXTRA_JSON: one whole line in one write (printf to an O_APPEND descriptor), then fsync.
_jemit() {
  _jline=$(printf '{"type":"%s","v":1,"id":"%s.%s","job":"%s","at":"%s"%s}' "$1" "$_jid" "$2" "$_jid" "$(_jnow)" "$3")
  printf '%s\n' "$_jline" >>"$_jev"
  sync "$_jev" 2>/dev/null || :
}

# _jstarttime PID: field 22 of /proc/PID/stat (the comm field may hold spaces and parentheses).
_jstarttime() {
  read -r _js </proc/"$1"/stat 2>/dev/null || return 1
  _js=${_js##*) }
  # shellcheck disable=SC2086
  set -- $_js
  shift 19
  printf '%s' "$1"
}

# _jours PGID LEADER START ID: does a process of job ID remain in process group PGID? Its leader (pid and start time)
# still runs, or a live member's environment names the job. A group number the kernel has handed on once the job's
# processes were all gone has neither, so what this says yes to may be signalled.
_jours() {
  _jlive "$2" "$3" && return 0
  _jopg=$1 _joid=$4
  for _jop in /proc/[0-9]*; do
    read -r _jos 2>/dev/null <"$_jop/stat" || continue
    _jos=${_jos##*) }
    # shellcheck disable=SC2086
    set -- $_jos
    [ "$3" = "$_jopg" ] && [ "$1" != Z ] && [ "$1" != X ] || continue
    tr '\0' '\n' <"$_jop/environ" 2>/dev/null | grep -qx "JOBS_ID=$_joid" && return 0
  done
  return 1
}

# _jgroup_alive: does a process of this job remain in its process group?
_jgroup_alive() {
  _jours "$_jpid" "$_jpid" "$_jst" "$_jid"
}

# _jlive PID START: does that very process (pid and start time) still run?
_jlive() {
  read -r _js </proc/"$1"/stat 2>/dev/null || return 1
  _jwant=$2
  _js=${_js##*) }
  # shellcheck disable=SC2086
  set -- $_js
  [ "$1" != Z ] && [ "$1" != X ] || return 1
  shift 19
  [ "$1" = "$_jwant" ]
}

# _jdeps: true when the dependencies let the job go on (all ended well, or ended at all with --after-any), with
# _jfaileddep set when one of them failed; false to keep waiting.
_jdeps() {
  for _jdep in $_jafter; do
    _jf=$_jhome/jobs/$_jdep/events.jsonl
    if grep -q '"type":"Exited"' "$_jf" 2>/dev/null; then
      if [ -z "$_jafterany" ]; then
        if ! grep '"type":"Exited"' "$_jf" | grep -q '"code":0,' ||
          grep -q '"type":"StopRequested"\|"type":"TimedOut"' "$_jf"; then
          _jfaileddep=$_jdep
          return 0
        fi
      fi
    elif [ ! -f "$_jf" ] || grep -q '"type":"Interrupted"\|"type":"DependencyFailed"' "$_jf"; then
      if [ -z "$_jafterany" ]; then
        _jfaileddep=$_jdep
        return 0
      fi
    else
      # still to come, unless its supervisor is gone without a word (then it will never end well)
      _jsv=$(grep -E '"type":"(Started|Queued)"' "$_jf" | tail -n 1 |
        sed -n 's/.*"supervisorPid":\([0-9]*\),"supervisorStartTime":\([0-9]*\).*/\1 \2/p')
      # shellcheck disable=SC2086
      if [ -n "$_jsv" ] && ! _jlive $_jsv && ! grep -q '"type":"Exited"' "$_jf"; then
        if [ -z "$_jafterany" ]; then
          _jfaileddep=$_jdep
          return 0
        fi
        continue
      fi
      return 1
    fi
  done
  return 0
}

# _jtake: true when the job may start now: its group is not paused, has a free slot (a file created with
# noclobber, holding "pid start" of its supervisor), and fewer live waiters are ahead of it (higher priority, then
# older: the order of the queue file names) than there are free slots. Entries and slots of dead supervisors
# are cleared on the way, so a waiter or a job killed with -9 never blocks the queue.
_jtake() {
  grep -q '^paused: *true' "$_jconf" 2>/dev/null && return 1
  _jn=$(sed -n 's/^parallel: *\([0-9][0-9]*\).*/\1/p' "$_jconf" 2>/dev/null)
  if [ -z "$_jn" ]; then
    # no limit: a slot of its own, so that running jobs are seen (a limit set later counts them)
    _jslot=$_jgdir/slots/u$$
    echo "$$ $_jself" >"$_jslot"
    return 0
  fi
  [ "$_jn" -gt 0 ] || return 1
  _jused=0
  for _jsf in "$_jgdir"/slots/*; do
    [ -f "$_jsf" ] || continue
    _jp= _jt= _jspg= _jsst= _jsid=
    read -r _jp _jt _jspg _jsst _jsid <"$_jsf" 2>/dev/null
    # an empty slot file is being written this instant: it counts as taken. A slot whose supervisor is gone stays
    # taken while its command runs on (the pgid, leader start time and job id that Started put in it)
    if [ -n "$_jp" ] && ! _jlive "$_jp" "$_jt" && { [ -z "$_jsid" ] || ! _jours "$_jspg" "$_jspg" "$_jsst" "$_jsid"; }; then
      mv "$_jsf" "$_jsf.stale.$$" 2>/dev/null && rm -f "$_jsf.stale.$$"
      continue
    fi
    _jused=$((_jused + 1))
  done
  _jfree=$((_jn - _jused))
  [ "$_jfree" -gt 0 ] || return 1
  _jahead=0
  for _jq in "$_jgdir"/queue/*; do
    [ "$_jq" = "$_jentry" ] && break
    [ -f "$_jq" ] || continue
    _jp= _jt=
    read -r _jp _jt <"$_jq" 2>/dev/null
    if [ -n "$_jp" ] && ! _jlive "$_jp" "$_jt"; then
      rm -f "$_jq"
      continue
    fi
    _jahead=$((_jahead + 1))
  done
  [ "$_jahead" -lt "$_jfree" ] || return 1
  _ji=1
  while [ "$_ji" -le "$_jn" ]; do
    if (
      set -C
      echo "$$ $_jself" >"$_jgdir/slots/$_ji"
    ) 2>/dev/null; then
      _jslot=$_jgdir/slots/$_ji
      return 0
    fi
    _ji=$((_ji + 1))
  done
  return 1
}

# _jrunhook NAME COMMAND: a completion hook, in the job's cwd and environment plus JOBS_ID, JOBS_STATUS,
# JOBS_EXIT_CODE, JOBS_NAME and JOBS_GROUP; its output goes to hooks.log, its exit code to a HookRan event.
_jrunhook() {
  [ -n "$2" ] || return 0
  (
    cd "$_jcwd" 2>/dev/null || cd /
    umask "$_jumask"
    env -i sh -c '. "$0" 2>/dev/null; JOBS_ID=$1 JOBS_STATUS=$2 JOBS_EXIT_CODE=$3 JOBS_NAME=$4 JOBS_GROUP=$5
      export JOBS_ID JOBS_STATUS JOBS_EXIT_CODE JOBS_NAME JOBS_GROUP; exec sh -c "$6"' \
      "$_jd/env" "$_jid" "$_jstatus" "$_jcode" "$_jname" "$_jgroup" "$2"
  ) </dev/null >>"$_jd/hooks.log" 2>&1
  _jemit HookRan "hook-$1" ",\"hook\":\"$1\",\"exitCode\":$?"
}

# _jhooks STATUS CODE: the job's hooks once it has ended, then the group's if it was the group's last job (nobody
# waiting, no slot held; done-fired makes it once per busy spell, and the next job to queue clears it).
_jhooks() {
  _jstatus=$1 _jcode=$2 _jname= _jhook_job= _jhook_config=
  [ -f "$_jd/hooks" ] && . "$_jd/hooks"
  _jrunhook job "$_jhook_job"
  _jrunhook config "$_jhook_config"
  [ -n "$_jgroup" ] && [ -f "$_jhome/groups/$_jgroup.on_done" ] || return 0
  for _jx in "$_jgdir"/queue/* "$_jgdir"/slots/*; do
    [ -e "$_jx" ] && return 0
  done
  mkdir "$_jgdir/done-fired" 2>/dev/null || return 0
  _jrunhook group "$(cat "$_jhome/groups/$_jgroup.on_done")"
}

# _jdrop STATUS: the copy of the output ended with STATUS: a write that failed (a full disk) or a copier killed by a
# signal (above 128). Free the space this job set aside, say which in the log, and keep reading so that the command
# never meets a closed pipe.
_jdrop() {
  rm -f "$_jd/.reserve"
  _jemit OutputDropped dropped ",\"reason\":\"$(_jdropwhy "$1"): the rest of the output is dropped\""
  cat >/dev/null
}

# _jdropwhy STATUS: why the output writer stopped, from its exit status.
_jdropwhy() {
  if [ "$1" -gt 128 ] 2>/dev/null; then
    _jsigname=$(kill -l "$(($1 - 128))" 2>/dev/null)
    case $_jsigname in
      '' | *[!A-Z0-9]*) printf 'the output writer died (exit %s)' "$1" ;;
      *) printf 'the output writer died (killed by SIG%s)' "${_jsigname#SIG}" ;;
    esac
  else
    printf 'writing output.log failed (exit %s: disk full?)' "$1"
  fi
}

# _jwriter: copies the command's output (from the fifo on stdin) to output.log. With a limit (_jmaxlog bytes),
# output.log keeps the head and never changes after it; the latest output goes to output.tail.N pieces of a
# quarter of the limit, of which the last two are kept, and an OutputTruncated event says so once.
_jwriter() {
  if [ -z "$_jmaxlog" ]; then
    cat >>"$_jout" 2>/dev/null || _jdrop $?
    return
  fi
  _jchunk=$((_jmaxlog / 4 + 1))
  # one process for the whole output, whatever its size: perl copies each read at once (nothing waits in a buffer),
  # cuts it at exact byte counts and rotates the pieces itself. It exits 1 when a write fails, as head and cat do.
  if command -v perl >/dev/null 2>&1; then
    perl -e '
      use strict; no warnings;
      my ($left, $chunk, $dir, $ev, $id) = @ARGV;
      my ($out, $k, $buf) = (\*STDOUT, -1);
      binmode STDIN; binmode STDOUT;
      sub stamp {
        my ($t, $ms) = (time, "");
        if (eval { require Time::HiRes; 1 }) {
          my $f = Time::HiRes::time();
          ($t, $ms) = (int $f, sprintf ".%03d", ($f - int $f) * 1000);
        }
        my @g = gmtime $t;
        sprintf "%04d-%02d-%02dT%02d:%02d:%02d%sZ", $g[5] + 1900, $g[4] + 1, $g[3], $g[2], $g[1], $g[0], $ms;
      }
      sub rotate {
        $k++;
        open my $piece, ">", "$dir/output.tail.$k" or exit 1;
        binmode $piece;
        ($out, $left) = ($piece, $chunk);
        if ($k == 0 && open my $log, ">>", $ev) {
          syswrite $log, qq({"type":"OutputTruncated","v":1,"id":"$id.truncated","job":"$id","at":") . stamp() .
            qq(","keptBytes":$ARGV[0]}\n);
          eval { require IO::Handle; $log->sync };
          close $log;
        }
        # the last two whole pieces stay, as with head below
        unlink "$dir/output.tail." . ($k - 3) if $k >= 3;
      }
      for (;;) {
        my $n = sysread STDIN, $buf, 65536;
        if (!defined $n) { next if $!{EINTR}; exit 1 }
        # at the end, the last two pieces stay (the growing one is whole now), as with head below
        if ($n == 0) { unlink "$dir/output.tail." . ($k - 2) if $k >= 2; last }
        for (my $at = 0; $at < $n;) {
          rotate() if $left == 0;
          my $take = $n - $at < $left ? $n - $at : $left;
          my $w = syswrite $out, $buf, $take, $at;
          if (!defined $w) { next if $!{EINTR}; exit 1 }
          ($at, $left) = ($at + $w, $left - $w);
        }
      }' "$_jmaxlog" "$_jchunk" "$_jd" "$_jev" "$_jid" >>"$_jout" 2>/dev/null || _jdrop $?
    return
  fi
  # without perl (busybox workers): one head per piece. Unbuffered (stdbuf), head writes each read at once; busybox's
  # head -c writes as it reads. (dd cannot stand in: with count_bytes, a short read from the pipe ends its count.)
  if command -v stdbuf >/dev/null 2>&1; then
    _jcopyn() { stdbuf -o0 head -c "$1"; }
  else
    _jcopyn() { head -c "$1"; }
  fi
  _jcopyn "$_jmaxlog" >>"$_jout" 2>/dev/null || {
    _jdrop $?
    return
  }
  _jk=0
  while :; do
    _jpiece=$_jd/output.tail.$_jk
    _jcopyn "$_jchunk" >"$_jpiece" 2>/dev/null || {
      _jdrop $?
      return
    }
    if [ ! -s "$_jpiece" ]; then
      rm -f "$_jpiece"
      return
    fi
    [ "$_jk" -eq 0 ] && _jemit OutputTruncated truncated ",\"keptBytes\":$_jmaxlog"
    rm -f "$_jd/output.tail.$((_jk - 2))"
    _jk=$((_jk + 1))
  done
}

# _jstop SIGNAL: send SIGNAL to the group, then KILL whatever is left once the grace period is over. Only a group that
# still holds a process of this job is signalled (never a number the kernel has handed on).
_jstop() {
  [ -n "$_jstopping" ] && return
  _jstopping=$1
  [ -n "$_jpid" ] || return
  _jgroup_alive && kill -s "$1" -- "-$_jpid" 2>/dev/null
  (
    _ji=0
    _jticks=$((_jgrace * 5))
    while [ "$_ji" -lt "$_jticks" ] && _jgroup_alive; do
      sleep 0.2 2>/dev/null || sleep 1
      _ji=$((_ji + 1))
    done
    _jgroup_alive && kill -s KILL -- "-$_jpid" 2>/dev/null
  ) &
  _jkiller=$!
}

_jon_stop() {
  _jtrapped=1
  _jsig=TERM
  [ -n "$_jslurm" ] && [ -z "$_jstopping" ] && [ ! -f "$_jd/stop" ] && _jslurm_why
  if [ -f "$_jd/stop" ]; then
    read -r _jsig _jg <"$_jd/stop" 2>/dev/null
    case $_jg in '' | *[!0-9]*) ;; *) _jgrace=$_jg ;; esac
    case $_jsig in '' | *[!A-Z0-9]*) _jsig=TERM ;; esac
  fi
  _jstop "$_jsig"
}

# _jslurm_secs LIMIT: Slurm's [DAYS-]HH:MM:SS in seconds (0 when unlimited or unreadable).
_jslurm_secs() {
  _jdays=0 _jlim=$1
  case $_jlim in *-*) _jdays=${_jlim%%-*} _jlim=${_jlim#*-} ;; esac
  case $_jdays:$_jlim in *[!0-9:]* | :*) printf 0 && return ;; esac
  _jifs=$IFS
  IFS=:
  # shellcheck disable=SC2086
  set -- $_jlim
  IFS=$_jifs
  _jsum=0
  for _jpart in "$@"; do
    _jpart=${_jpart#0}
    _jsum=$((_jsum * 60 + ${_jpart:-0}))
  done
  _jdays=${_jdays#0}
  printf '%s' $((${_jdays:-0} * 86400 + _jsum))
}

# _jslurm_why: a TERM under Slurm that jobs did not ask for. scontrol tells a time limit (TimedOut) from a scancel
# (StopRequested, and the stop request the hooks read); when it cannot be asked, nothing is claimed.
_jslurm_why() {
  _jinfo=$(scontrol show job -o "$SLURM_JOB_ID" 2>/dev/null) || return 0
  case $_jinfo in
    *JobState=TIMEOUT* | *JobState=DEADLINE* | *Reason=TimeLimit* | *Reason=DeadLine*)
      _jlim=${_jinfo##*TimeLimit=}
      _jemit TimedOut timedout ",\"timeoutSecs\":$(_jslurm_secs "${_jlim%% *}")"
      ;;
    *JobState=*)
      printf 'TERM %s\n' "$_jgrace" >"$_jd/stop"
      _jemit StopRequested slurmstop ",\"signal\":\"SIGTERM\",\"graceSecs\":$_jgrace"
      ;;
  esac
}

# _jclean CMD [ARGS...]: execs CMD with every signal at its default disposition and none blocked. A command put in the
# background (&) by a shell without job control starts with INT and QUIT ignored, which no sh can undo: coreutils'
# env resets them (--default-signal), else perl (busybox workers); with neither, the command runs as it is.
_jclean() {
  if [ -z "$_jdfl" ]; then
    if env --default-signal true 2>/dev/null; then
      _jdfl=env
    elif command -v perl >/dev/null 2>&1; then
      _jdfl=perl
    else
      _jdfl=none
    fi
  fi
  case $_jdfl in
    env) exec env --default-signal "$@" ;;
    perl)
      exec perl -MPOSIX -e 'no warnings; for (keys %SIG) { $SIG{$_} = "DEFAULT" unless /^(__|KILL$|STOP$)/ }
        sigprocmask(SIG_SETMASK, POSIX::SigSet->new); exec { $ARGV[0] } @ARGV or exit 127' "$@"
      ;;
    *) exec "$@" ;;
  esac
}

_jon_timeout() {
  _jtrapped=1
  [ -n "$_jstopping" ] && return
  _jemit TimedOut timedout ",\"timeoutSecs\":$_jtimeout"
  _jstop TERM
}

# the writer mode needs only the functions above
if [ -n "$_jwritermode" ]; then
  _jwriter
  exit 0
fi

if [ -n "$_jtmux" ]; then
  trap _jon_stop TERM
  # Ctrl+C in the pane goes to the command's group; when it kills the command, dash re-raises SIGINT on itself
  # (as shells do for a foreground job that died of it). A handler, not '' (which the command would inherit as
  # "ignored"), keeps the supervisor alive to record the exit.
  trap : INT QUIT
else
  trap _jon_stop TERM INT HUP
  trap _jon_timeout USR1
fi

read -r _jboot </proc/sys/kernel/random/boot_id 2>/dev/null || _jboot=unknown
_jhost=$(uname -n 2>/dev/null | tr -cd 'A-Za-z0-9._-')
_jself=$(_jstarttime $$) || _jself=0

# a queued job waits here, its supervisor being the waiter (no daemon): for its dependencies, then a slot
if [ -n "$_jgroup" ] || [ -n "$_jafter" ]; then
  _jemit Queued queued ",\"host\":\"$_jhost\",\"bootId\":\"$_jboot\",\"supervisorPid\":$$,\"supervisorStartTime\":$_jself"
  if [ -n "$_jgroup" ]; then
    mkdir -p "$_jgdir/queue" "$_jgdir/slots" 2>/dev/null
    _jentry=$_jgdir/queue/$(printf '%07d' $((1000000 - _jprio)))-$_jid
    echo "$$ $_jself" >"$_jentry"
    rmdir "$_jgdir/done-fired" 2>/dev/null
  fi
  while :; do
    [ -n "$_jstopping" ] || [ -f "$_jd/stop" ] && break
    _jfaileddep=
    if _jdeps; then
      if [ -n "$_jfaileddep" ]; then
        [ -n "$_jentry" ] && rm -f "$_jentry"
        _jemit DependencyFailed depfailed ",\"dependency\":\"$_jfaileddep\""
        _jhooks failed 125
        exit 0
      fi
      [ -z "$_jgroup" ] && break
      _jtake && break
    fi
    sleep 0.3
  done
  [ -n "$_jentry" ] && rm -f "$_jentry"
fi

if [ -n "$_jstopping" ] || [ -f "$_jd/stop" ]; then
  # stopped before it started: nothing ran
  [ -n "$_jslot" ] && rm -f "$_jslot"
  _jemit Exited exited ',"code":null,"signal":null'
  exit 0
fi
if ! cd "$_jcwd" 2>/dev/null; then
  printf 'jobs: cannot enter directory %s\n' "$_jcwd" >>"$_jout"
  [ -n "$_jslot" ] && rm -f "$_jslot"
  _jemit Exited exited ',"code":1,"signal":null'
  exit 1
fi

if [ -n "$_jtmux" ]; then
  # the pane is the job's terminal: capture it (not a tee, which would make stdout a pipe)
  # through the same writer as other jobs: the size limit, and a full disk that drops output but not the job
  head -c 16384 /dev/zero >"$_jd/.reserve" 2>/dev/null
  _jq() { printf "'%s'" "$(printf '%s' "$1" | sed "s/'/'\\\\''/g")"; }
  tmux pipe-pane -t "$TMUX_PANE" "exec /bin/sh $(_jq "$0") --writer $(_jq "$_jd") $(_jq "$_jid")" 2>/dev/null
  # job control gives the command its own process group, and `fg` below makes it the terminal's foreground.
  # The command stops itself first, so it cannot end before `fg` takes it (fg of a finished job fails). The
  # shell's own notices ("[1] + Stopped") would land in the pane and the log: its stderr goes to /dev/null,
  # the command's to the terminal.
  set -m
  exec 2>/dev/null
  umask "$_jumask"
  _jclean env -i sh -c 'kill -STOP $$; . "$0" && TERM=$1 TMUX=$2 TMUX_PANE=$3 JOBS_PROGRESS=$4 JOBS_ID=$5 &&
    export TERM TMUX TMUX_PANE JOBS_PROGRESS JOBS_ID && shift 5 && exec "$@"' \
    "$_jd/env" "${TERM:-screen}" "$TMUX" "$TMUX_PANE" "$_jd/progress" "$_jid" "$@" 2>&1 &
else
  # the output goes through a writer (a fifo, so that $! stays the command): a full disk or a size limit must
  # never reach the command as a failed write or a broken pipe. Some space is set aside, so that the event that
  # says the output was dropped, and Exited, still fit on a full disk.
  head -c 16384 /dev/zero >"$_jd/.reserve" 2>/dev/null
  _jfifo=$_jd/.output.fifo
  rm -f "$_jfifo"
  mkfifo -m 600 "$_jfifo"
  _jwriter <"$_jfifo" &
  _jwpid=$!
  # setsid execs in place when its caller is not a group leader (a background child never is), and so does every
  # step before the command, so $! is the command's pid, its process group and its session. Where setsid is
  # missing, perl's POSIX::setsid does the same.
  umask "$_jumask"
  if command -v setsid >/dev/null 2>&1; then
    _jclean setsid env -i sh -c '. "$0" && JOBS_PROGRESS=$1 JOBS_ID=$2 && export JOBS_PROGRESS JOBS_ID &&
      shift 2 && exec "$@"' "$_jd/env" "$_jd/progress" "$_jid" "$@" </dev/null >"$_jfifo" 2>&1 &
  else
    _jclean perl -MPOSIX -e 'POSIX::setsid(); exec @ARGV or exit 127' \
      env -i sh -c '. "$0" && JOBS_PROGRESS=$1 JOBS_ID=$2 && export JOBS_PROGRESS JOBS_ID && shift 2 && exec "$@"' \
      "$_jd/env" "$_jd/progress" "$_jid" "$@" </dev/null >"$_jfifo" 2>&1 &
  fi
fi
# everything the supervisor writes from here on is private again
umask 077
_jpid=$!
_jst=$(_jstarttime "$_jpid") || _jst=0
# the slot names the command too: should this supervisor vanish, the slot stays taken while the command runs on.
# Written before Started, so that no moment exists where the log says the job runs and its slot does not say what
# runs (a kill -9 in between freed the slot to the next job while this command ran on)
if [ -n "$_jslot" ]; then
  echo "$$ $_jself $_jpid $_jst $_jid" >"$_jslot.$$" && mv -f "$_jslot.$$" "$_jslot"
fi
_jemit Started started ",\"pid\":$_jpid,\"pgid\":$_jpid,\"host\":\"$_jhost\",\"bootId\":\"$_jboot\",\"startTime\":$_jst,\"supervisorPid\":$$,\"supervisorStartTime\":$_jself"
# a stop that arrived while starting is carried out now that there is a group to signal
if [ -n "$_jstopping" ]; then
  _jsig=$_jstopping
  _jstopping=
  _jstop "$_jsig"
fi

# the timeout's watcher. Its deadline is a time, not one sleep: a sleep killed early is slept again. The supervisor
# (this shell's pid, checked with its start time: never a pid handed on) carries the timeout out; when it cannot (in
# fg under tmux) or is gone (killed), the watcher stops the job's group itself.
if [ "$_jtimeout" -gt 0 ] 2>/dev/null; then
  (
    _jsl=
    trap 'kill "$_jsl" 2>/dev/null; exit 0' TERM
    _jend=$(($(date +%s) + _jtimeout))
    # slept in steps (a second, then at most a minute): the supervisor's TERM to a watcher that is still starting,
    # before its trap is set, is lost (a short job's supervisor sends it at once), and the watcher would outlive the
    # job by the whole timeout. After each step it leaves once the job has ended (its Exited is in the log) or its
    # folder is gone.
    _jstep=1
    while _jleft=$((_jend - $(date +%s))) && [ "$_jleft" -gt 0 ]; do
      [ "$_jleft" -gt "$_jstep" ] && _jleft=$_jstep
      _jstep=60
      sleep "$_jleft" &
      _jsl=$!
      wait "$_jsl"
      [ -d "$_jd" ] || exit 0
      grep -q "\"$_jid.exited\"" "$_jev" 2>/dev/null && exit 0
    done
    if [ -z "$_jtmux" ] && _jlive $$ "$_jself"; then
      kill -s USR1 $$ 2>/dev/null
    elif _jgroup_alive; then
      # and says so for the main shell
      : >"$_jd/timedout"
      _jemit TimedOut timedout ",\"timeoutSecs\":$_jtimeout"
      _jstop TERM
      wait "$_jkiller"
    fi
  ) &
  _jwatch=$!
fi

if [ -n "$_jtmux" ]; then
  # fg must find the command stopped: run before its `kill -STOP`, fg would resume it early and then return
  # with the stop itself (147) as if that were the exit. Linux shows the state in /proc; elsewhere, go on.
  _ji=0
  while [ "$_ji" -lt 300 ]; do
    _js=$(cat "/proc/$_jpid/stat" 2>/dev/null) || break
    _js=${_js##*) }
    [ "${_js%% *}" = T ] && break
    _ji=$((_ji + 1))
    sleep 0.01
  done
  fg %1 >/dev/null
  _jrc=$?
  if [ -f "$_jd/timedout" ]; then
    wait "$_jwatch"
  else
    [ -n "$_jwatch" ] && kill "$_jwatch" 2>/dev/null
  fi
  # after a stop, Exited means the whole group is gone (`jobs stop` sends KILL after the grace)
  _ji=0
  while [ -f "$_jd/stop" ] && [ "$_ji" -lt $(((_jgrace + 5) * 5)) ] && _jgroup_alive; do
    sleep 0.2
    _ji=$((_ji + 1))
  done
else
  # wait returns early (above 128) when a trapped signal arrives; only a wait that no trap cut short is the exit.
  # When the command ends as the signal arrives (a TERM to the supervisor and the group at once, as Slurm sends
  # it), the cut-short wait may have collected it already: the next wait finds no such job (127), and the status
  # before it was the command's.
  _jrc=
  while :; do
    _jtrapped=
    _jprev=$_jrc
    wait "$_jpid"
    _jrc=$?
    if [ "$_jrc" -eq 127 ] && [ -n "$_jprev" ]; then
      _jrc=$_jprev
      break
    fi
    [ -z "$_jtrapped" ] && break
  done
  [ -n "$_jwatch" ] && kill "$_jwatch" 2>/dev/null
  # after a stop, Exited means the whole group is gone: wait for the killer to see to it
  [ -n "$_jkiller" ] && wait "$_jkiller"
  # the output is complete in output.log before Exited says the job ended (readers drain it then); a child left
  # running in the background may hold the pipe open, so this waits two seconds at most
  _ji=0
  while [ "$_ji" -lt 200 ] && kill -0 "$_jwpid" 2>/dev/null; do
    sleep 0.01
    _ji=$((_ji + 1))
  done
  # a writer that was itself killed said nothing: say it here (unless a drop was said already)
  if ! kill -0 "$_jwpid" 2>/dev/null; then
    wait "$_jwpid"
    _jws=$?
    if [ "$_jws" -gt 128 ] && ! grep -q "\"$_jid.dropped\"" "$_jev"; then
      _jemit OutputDropped dropped ",\"reason\":\"$(_jdropwhy "$_jws"): the rest of the output is dropped\""
    fi
  fi
fi

if [ "$_jrc" -gt 128 ] && [ "$_jrc" -le 192 ]; then
  _jname=$(kill -l "$((_jrc - 128))" 2>/dev/null)
  case $_jname in
    '' | *[!A-Z0-9]*) _jemit Exited exited ",\"code\":$_jrc,\"signal\":null" ;;
    *) _jemit Exited exited ",\"code\":null,\"signal\":\"SIG${_jname#SIG}\"" ;;
  esac
else
  _jemit Exited exited ",\"code\":$_jrc,\"signal\":null"
fi
# the slot is free as soon as the job has ended (a tmux job's done screen holds none)
[ -n "$_jslot" ] && rm -f "$_jslot"
rm -f "$_jd/.reserve" "$_jd/.output.fifo"
if [ -f "$_jd/timedout" ] || grep -q '"type":"TimedOut"' "$_jev"; then
  _jhooks timed-out "$_jrc"
elif [ -f "$_jd/stop" ]; then
  _jhooks stopped "$_jrc"
elif [ "$_jrc" -eq 0 ]; then
  _jhooks completed 0
else
  _jhooks failed "$_jrc"
fi
if [ -n "$_jtmux" ]; then
  tmux pipe-pane -t "$TMUX_PANE" 2>/dev/null
  case $_jrc in
    0) _jdone="exit 0" ;;
    *) _jdone="exit $_jrc" ;;
  esac
  printf '\n--- Job done [%s]. Press any key to detach. ---\n' "$_jdone"
  # the done screen stays while someone is attached, else for _jdonesecs (JOB_DIR/done_screen, written from
  # config.yaml's done_screen:), then the session closes by itself: nothing of an ended job keeps running.
  # A read returns after a second without a key (stty min 0 time 10), so the wait is counted in seconds.
  _jdonesecs=300
  [ -f "$_jd/done_screen" ] && . "$_jd/done_screen"
  stty raw -echo min 0 time 10 2>/dev/null
  _jwaited=0
  while :; do
    _jkey=$(dd bs=1 count=1 2>/dev/null && echo .)
    [ "$_jkey" = . ] || break
    _jwaited=$((_jwaited + 1))
    if [ "$_jwaited" -ge "$_jdonesecs" ]; then
      _jatt=$(tmux display-message -p -t "$TMUX_PANE" '#{session_attached}' 2>/dev/null)
      [ "${_jatt:-0}" -gt 0 ] 2>/dev/null || break
    fi
  done
  stty -raw echo 2>/dev/null
fi
exit 0
