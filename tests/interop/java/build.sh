#!/usr/bin/env bash
# Builds the Java interop peers (JavaProvider, JavaConsumer) for each Dubbo line into
# target/interop-java/<line>/ at the workspace root (or $INTEROP_JAVA_OUT/<line>/):
#   mvn/classes/   the compiled peers
#   classpath.txt  their dependencies (mvn dependency:build-classpath)
#   java.args      a java @argfile: classpath, logging and, for 2.7 on Java 17, --add-opens
# Run a peer with:  java @target/interop-java/3.3/java.args interop.JavaProvider 0
#                   java @target/interop-java/3.3/java.args interop.JavaConsumer 127.0.0.1 PORT
# A line is rebuilt only when pom.xml, src/ or this script is newer than its output; Maven's
# ~/.m2 cache keeps the downloads. Needs Java 17 and Maven (and Maven Central the first time).
# usage: build.sh [LINE...]   (lines: 3.3 2.7; default both)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
out_root="${INTEROP_JAVA_OUT:-$root/target/interop-java}"

for tool in java mvn; do
  command -v "$tool" >/dev/null || { echo "build.sh: $tool not found (install Java 17 and Maven)" >&2; exit 3; }
done

lines=("$@")
[ ${#lines[@]} -gt 0 ] || lines=(3.3 2.7)

profile_of() {
  case "$1" in
    3.3) echo dubbo33 ;;
    2.7) echo dubbo27 ;;
    *) echo "build.sh: unknown Dubbo line $1 (3.3 or 2.7)" >&2; exit 2 ;;
  esac
}

# JVM options for every peer: quick start-up on a small machine, Dubbo logging through slf4j
# to stderr at WARN.
common_opts=(
  -XX:TieredStopAtLevel=1
  -XX:+UseSerialGC
  -Ddubbo.application.logger=slf4j
  -Dorg.slf4j.simpleLogger.defaultLogLevel=warn
  -Dorg.slf4j.simpleLogger.logFile=System.err
)
# Dubbo 2.7 (javassist proxies, hessian-lite reflection) on Java 17.
opens_27=(
  java.base/java.lang java.base/java.lang.reflect java.base/java.lang.invoke
  java.base/java.util java.base/java.util.concurrent java.base/java.util.concurrent.atomic
  java.base/java.math java.base/java.net java.base/java.nio java.base/java.io
  java.base/java.text java.base/java.time java.base/sun.nio.ch java.base/java.security
)

for line in "${lines[@]}"; do
  profile="$(profile_of "$line")"
  out="$out_root/$line"
  stamp="$out/.built"
  if [ -f "$stamp" ] && [ -f "$out/java.args" ] && [ -f "$out/classpath.txt" ] \
     && [ -z "$(find "$here/pom.xml" "$here/src" "$here/build.sh" -newer "$stamp" -print -quit)" ]; then
    echo "interop-java $line: up to date ($out)"
    continue
  fi
  echo "interop-java $line: building with Maven (profile $profile) into $out"
  started=$(date +%s)
  mkdir -p "$out"
  rm -f "$stamp"
  log="$out/mvn.log"
  if ! (cd "$here" && mvn -q -B --no-transfer-progress -P "$profile" "-Dinterop.out=$out" compile) >"$log" 2>&1; then
    sed -e 's/\x1b\[[0-9;]*m//g' "$log" >&2
    echo "interop-java $line: Maven failed (log: $log)" >&2
    exit 1
  fi
  # Warnings, if any (Maven 3.8 prints colour resets even in batch mode: stripped).
  sed -e 's/\x1b\[[0-9;]*m//g' "$log" | grep -v '^[[:space:]]*$' || true
  [ -s "$out/classpath.txt" ] || { echo "interop-java $line: no classpath.txt" >&2; exit 1; }
  {
    echo "-cp"
    printf '"%s:%s"\n' "$out/mvn/classes" "$(cat "$out/classpath.txt")"
    printf '%s\n' "${common_opts[@]}"
    if [ "$line" = 2.7 ]; then
      for m in "${opens_27[@]}"; do printf -- '--add-opens\n%s=ALL-UNNAMED\n' "$m"; done
    fi
  } > "$out/java.args"
  touch "$stamp"
  echo "interop-java $line: built in $(( $(date +%s) - started )) s ($out/java.args)"
done
