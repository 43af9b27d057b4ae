#!/bin/sh
# The instance-side guard of a GPU job (DESIGN §6): release must not depend on a laptop staying awake. Started
# detached next to the job on the instance, it ends the instance once the job has ended (plus a grace) or has run
# past its timeout, by the provider's own in-instance means where there is one (RunPod: the pod's own key deletes
# the pod; Vast: the instance's key destroys it), else by powering off.
#
# usage: guard.sh JOB_DIR   (settings in JOB_DIR/guard.env, mode 0600)
#   JOBS_GUARD_MEANS runpod-api | vast-api | poweroff; JOBS_GUARD_URL, JOBS_GUARD_ID, JOBS_GUARD_KEY (Vast's
#   instance key); JOBS_GUARD_GRACE seconds after the job's end; JOBS_GUARD_KEEP -1 (kept alive: never after the
#   end), 0, or seconds to keep it after the end; JOBS_GUARD_TIMEOUT the job's timeout (0: none) plus its kill
#   grace; JOBS_GUARD_HOLD seconds a touch of JOB_DIR/hold holds the instance (the keeper touches it while it
#   follows the job and downloads its results).
_gd=$1
. "$_gd/guard.env" || exit 1
_gev=$_gd/events.jsonl

_gend() {
  _gurl=
  case $JOBS_GUARD_MEANS in
  runpod-api)
    # RunPod gives a pod RUNPOD_POD_ID and a key of its own (in its environment, or in /etc/rp_environment)
    [ -f /etc/rp_environment ] && . /etc/rp_environment
    _gkey=${RUNPOD_API_KEY:-$JOBS_GUARD_KEY}
    _gurl=$JOBS_GUARD_URL/v2/pods/${RUNPOD_POD_ID:-$JOBS_GUARD_ID}
    ;;
  vast-api)
    _gkey=$JOBS_GUARD_KEY
    _gurl=$JOBS_GUARD_URL/api/v0/instances/$JOBS_GUARD_ID/
    ;;
  esac
  printf '%s guard: ending the instance (%s)\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$JOBS_GUARD_MEANS" >>"$_gd/guard.log"
  if [ -n "$_gurl" ]; then
    _gi=0
    while [ "$_gi" -lt 5 ]; do
      curl -fsS -X DELETE -H "Authorization: Bearer $_gkey" "$_gurl" >/dev/null 2>>"$_gd/guard.log" && exit 0
      wget -q -O /dev/null --method=DELETE --header="Authorization: Bearer $_gkey" "$_gurl" 2>/dev/null && exit 0
      sleep 5
      _gi=$((_gi + 1))
    done
  fi
  poweroff 2>/dev/null || shutdown -h now 2>/dev/null || halt -p 2>/dev/null
  exit 0
}

_gstarted= _gended=
while :; do
  _gnow=$(date +%s)
  if [ -z "$_gstarted" ] && grep -q '"type":"Started"' "$_gev" 2>/dev/null; then _gstarted=$_gnow; fi
  if [ -z "$_gended" ] && grep -q '"type":"Exited"\|"type":"Interrupted"' "$_gev" 2>/dev/null; then
    _gended=$_gnow
    # kept alive without a limit: the user (or a sweep) ends it
    [ "$JOBS_GUARD_KEEP" -lt 0 ] && exit 0
  fi
  _gheld=
  if [ -f "$_gd/hold" ]; then
    _gtouched=$(stat -c %Y "$_gd/hold" 2>/dev/null || echo 0)
    [ $((_gnow - _gtouched)) -lt "$JOBS_GUARD_HOLD" ] && _gheld=1
  fi
  if [ -n "$_gended" ] && [ -z "$_gheld" ]; then
    _gwait=$JOBS_GUARD_GRACE
    [ "$JOBS_GUARD_KEEP" -gt "$_gwait" ] && _gwait=$JOBS_GUARD_KEEP
    [ $((_gnow - _gended)) -ge "$_gwait" ] && _gend
  fi
  if [ -z "$_gended" ] && [ -n "$_gstarted" ] && [ "$JOBS_GUARD_TIMEOUT" -gt 0 ] &&
    [ $((_gnow - _gstarted)) -ge $((JOBS_GUARD_TIMEOUT + JOBS_GUARD_GRACE)) ]; then
    _gend
  fi
  sleep 1
done
