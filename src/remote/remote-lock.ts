/**
 * A real host's measurement lock, taken and judged on the host itself in one shell script per call:
 * the same rules as this machine's (src/local/lock.ts). The lock appears whole or not at all (written
 * aside, then hard-linked to its name: `ln` fails if the name exists), an unreadable lock moments old
 * is held, and a stale one (its owner dead, or unreadable and old) is judged again and replaced only
 * under a takeover mutex (`mkdir`, atomic), so two controllers that find the same dead owner cannot
 * remove each other's fresh lock. Exit codes: 0 taken (or removed), 3 held (the holder on stdout),
 * 4 busy (another process is taking it over: try again).
 */

/** Shell functions both scripts use: whether a lock's text names a live owner, and whether it is young. */
const JUDGE =
  `alive() {
  pid=$(printf '%s' "$1" | sed -n 's/.*"pid":\\([0-9][0-9]*\\).*/\\1/p')
  st=$(printf '%s' "$1" | sed -n 's/.*"pidStart":"\\([0-9][0-9]*\\)".*/\\1/p')
  [ -n "$pid" ] && [ -n "$st" ] || return 1
  s=$(cat "/proc/$pid/stat" 2>/dev/null) || return 1
  [ "$(printf '%s' "\${s##*) }" | cut -d' ' -f20)" = "$st" ]
}
held() {
  cur=$(cat "$f" 2>/dev/null) || return 1
  if [ -n "$(printf '%s' "$cur" | sed -n '/"pid":/p')" ]; then alive "$cur"; return; fi
  m=$(stat -c %Y "$f" 2>/dev/null) || return 1
  [ $(( $(date +%s) - m )) -lt 10 ]
}
takeover() {
  mkdir "$f.takeover" 2>/dev/null || { d=$(stat -c %Y "$f.takeover" 2>/dev/null) && [ $(( $(date +%s) - d ` +
  `)) -gt 10 ] && rmdir "$f.takeover"; return 4; }
  rc=4; held || { rm -f "$f"; "$@" && rc=0; }
  rmdir "$f.takeover"; return $rc
}`;

/** $1 the lock file, $2 the owner's JSON. */
export const TAKE_LOCK = `umask 077; f=$1; tmp="$f.$$"
${JUDGE}
printf '%s' "$2" > "$tmp" || exit 1
trap 'rm -f "$tmp"' EXIT
ln "$tmp" "$f" 2>/dev/null && exit 0
if held; then cat "$f"; exit 3; fi
takeover ln "$tmp" "$f"; rc=$?
[ $rc = 4 ] && held && { cat "$f"; exit 3; }
exit $rc`;

/** $1 the lock file: removed if its owner is dead (exit 0), kept if held (3), busy (4), none (5). */
export const REMOVE_STALE_LOCK = `f=$1
${JUDGE}
[ -e "$f" ] || exit 5
if held; then cat "$f"; exit 3; fi
cat "$f"; takeover true`;

/** $1 the lock file, $2 the owner's JSON: removed only if it is still this owner's. */
export const RELEASE_LOCK = '[ "$(cat "$1" 2>/dev/null)" = "$2" ] && rm -f "$1"; true';
