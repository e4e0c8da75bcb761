# build.sh: configure and build the checkout out of tree, run the unit tests (sourced, bash).

# autotools_current SRCDIR: configure and Makefile.in are there and newer than
# what they are made from, so autoreconf has nothing to do.  The stages of
# tests/run that build at the same time (the side lane) then leave SRCDIR alone
# instead of regenerating files another build is reading.
autotools_current() {
  local src=$1
  [ -x "$src/configure" ] && [ -f "$src/Makefile.in" ] && [ -f "$src/build-aux/tap-driver.sh" ] &&
    [ "$src/configure" -nt "$src/configure.ac" ] && [ "$src/Makefile.in" -nt "$src/Makefile.am" ] &&
    [ "$src/Makefile.in" -nt "$src/configure.ac" ]
}

# build_project SRCDIR BUILDDIR [configure args...]: autoreconf -fi in SRCDIR
# (unless autotools_current), then configure and make in BUILDDIR.  Output goes
# to BUILDDIR/build.log; its tail is shown when a step fails.
build_project() {
  local src=$1 build=$2 log; shift 2
  mkdir -p "$build" && log=$build/build.log && : >"$log"
  # configure refuses to build out of tree from a tree configured in place; leave
  # that tree alone and build from a copy of its files (tracked and untracked).
  if [ -f "$src/config.status" ]; then
    git -C "$src" rev-parse --git-dir >/dev/null 2>&1 ||
      { warn "$src is configured in place; run 'make distclean' there first"; return 1; }
    note "$src is configured in place; building from a copy in $build.src"
    rm -rf "$build.src" && mkdir -p "$build.src" &&
      (cd "$src" && git ls-files -co --exclude-standard -z | tar --null -T - -cf -) |
      tar -C "$build.src" -xf - || { warn "cannot copy $src"; return 1; }
    src=$build.src
  fi
  note "building in $build"
  if ! autotools_current "$src" && ! (cd "$src" && autoreconf -fi) >>"$log" 2>&1 ||
     ! (cd "$build" && "$src/configure" "$@") >>"$log" 2>&1 ||
     ! make -C "$build" -j"$(nproc)" >>"$log" 2>&1; then
    tail -n 40 "$log"
    warn "build failed; whole log: $log"
    return 1
  fi
  APP_PROGRAM=$build/src/autional-admin.fcgi
  [ -x "$APP_PROGRAM" ] || { warn "built, but $APP_PROGRAM is missing"; return 1; }
}

# unit_tests BUILDDIR [TIMEOUT]: make check; sets UNIT_PASSED and UNIT_FAILED from
# automake's summaries ("# PASS: n" ...; one per directory with tests).  PASS
# counts as passed; FAIL, XPASS and ERROR as failed; XFAIL (a known failure) and
# SKIP as neither, but they are shown.  A make check that fails without a counted
# failure (a test that does not compile) counts one.
unit_tests() {
  local build=$1 limit=${2:-600} log=$1/check.log rc=0 xfail skip
  note "unit tests: make check"
  timeout --foreground -k 10 "$limit" make -C "$build" -j"$(nproc)" check AM_COLOR_TESTS=no >"$log" 2>&1 || rc=$?
  # one line per program; with automake's TAP driver, only what did not pass per check
  grep -E '^(PASS|FAIL|XPASS|ERROR|SKIP|XFAIL):' "$log" | grep -v '^PASS: .* [0-9]'
  read -r UNIT_PASSED UNIT_FAILED xfail skip < <(awk '
    /^# PASS: / { p += $3 }
    /^# (FAIL|XPASS|ERROR): / { f += $3 }
    /^# XFAIL: / { x += $3 }
    /^# SKIP: / { s += $3 }
    END { print p + 0, f + 0, x + 0, s + 0 }' "$log")
  if ((rc != 0 && UNIT_FAILED == 0)); then
    tail -n 40 "$log"
    warn "make check failed (exit $rc) without a test result; whole log: $log"
    UNIT_FAILED=1
  fi
  if ((UNIT_FAILED)); then
    find "$build" -name test-suite.log -exec sh -c 'echo "--- $1"; tail -n 60 "$1"' sh {} \;
  fi
  say "unit tests: $UNIT_PASSED passed, $UNIT_FAILED failed" \
    "(not counted: $xfail expected failures, $skip skipped)"
}
