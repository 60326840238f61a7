#!/usr/bin/env bash
# A real single-node Apache Kafka (KRaft, combined broker+controller) for the tests.
#
#   kafka.sh fetch          resolve the Kafka jars with Maven into the cache (no-op when cached)
#   kafka.sh start DIR      format DIR (first time) and start the broker; print its bootstrap
#   kafka.sh stop DIR       stop the broker (SIGTERM, then SIGKILL after a deadline); keep data
#   kafka.sh down DIR       stop, then remove DIR
#   kafka.sh status DIR     exit 0 when the broker runs and answers a Metadata request
#
# DIR holds server.properties, log4j.properties, data/, kafka.log, kafka.pid and bootstrap
# ("127.0.0.1:PORT"). A second start of the same DIR reuses its data and ports, so a test can
# stop and restart "the same" broker. Environment: HERALD_CACHE (jar cache root, default
# ~/.cache/herald), JAVA (default java), KAFKA_START_TIMEOUT (s, default 120),
# KAFKA_STOP_TIMEOUT (s, default 60).
set -euo pipefail

KAFKA_VERSION=3.9.1
SCALA_VERSION=2.13
SLF4J_VERSION=1.7.36
DEP_PLUGIN=org.apache.maven.plugins:maven-dependency-plugin:3.6.1
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
PROBE="$HERE/kafka_probe.py"
CACHE_DIR="${HERALD_CACHE:-${HOME:?neither HERALD_CACHE nor HOME is set}/.cache/herald}/kafka-$KAFKA_VERSION"
LIBS="$CACHE_DIR/libs"
JAVA="${JAVA:-java}"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-120}"
LOG_OFFSET=0 # size of kafka.log before the last launch
STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-60}"

die() {
    echo "kafka.sh: $*" >&2
    exit 1
}

usage() {
    sed -n '3,8p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    exit 2
}

now_ms() {
    date +%s%3N
}

abspath() {
    mkdir -p "$1"
    (cd "$1" && pwd)
}

# ---- fetch ----------------------------------------------------------------------------------

write_pom() {
    cat >"$1" <<EOF
<project xmlns="http://maven.apache.org/POM/4.0.0">
  <modelVersion>4.0.0</modelVersion>
  <groupId>herald.test</groupId>
  <artifactId>kafka-jars</artifactId>
  <version>1</version>
  <packaging>pom</packaging>
  <dependencies>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka_$SCALA_VERSION</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.apache.kafka</groupId>
      <artifactId>kafka-tools</artifactId>
      <version>$KAFKA_VERSION</version>
    </dependency>
    <dependency>
      <groupId>org.slf4j</groupId>
      <artifactId>slf4j-reload4j</artifactId>
      <version>$SLF4J_VERSION</version>
    </dependency>
  </dependencies>
</project>
EOF
}

cmd_fetch() {
    [ -f "$LIBS/.complete" ] && return 0
    command -v mvn >/dev/null || die "fetch: mvn not found (apt-get install maven)"
    mkdir -p "$CACHE_DIR"
    exec 9>"$CACHE_DIR/.lock"
    flock 9 # another fetch may be running (ctest -j); wait for it
    if [ -f "$LIBS/.complete" ]; then
        exec 9>&-
        return 0
    fi
    local tmp
    tmp=$(mktemp -d "$CACHE_DIR/fetch.XXXXXX")
    # shellcheck disable=SC2064
    trap "rm -rf '$tmp'" EXIT
    write_pom "$tmp/pom.xml"
    echo "kafka.sh: fetching Kafka $KAFKA_VERSION jars with Maven into $LIBS" >&2
    if ! mvn -q -B -f "$tmp/pom.xml" "$DEP_PLUGIN:copy-dependencies" \
        -DincludeScope=runtime -DoutputDirectory="$tmp/libs" >"$tmp/mvn.log" 2>&1; then
        cat "$tmp/mvn.log" >&2
        die "fetch: mvn dependency:copy-dependencies failed (see above)"
    fi
    [ -f "$tmp/libs/kafka_$SCALA_VERSION-$KAFKA_VERSION.jar" ] ||
        die "fetch: Maven finished but kafka_$SCALA_VERSION-$KAFKA_VERSION.jar is missing"
    touch "$tmp/libs/.complete"
    rm -rf "$LIBS"
    mv "$tmp/libs" "$LIBS"
    rm -rf "$tmp"
    trap - EXIT
    exec 9>&-
    echo "kafka.sh: $(find "$LIBS" -name '*.jar' | wc -l) jars in $LIBS" >&2
}

# ---- process helpers ------------------------------------------------------------------------

# The broker's pid when it is alive and really ours (not a recycled pid), else nothing.
broker_pid() {
    local dir=$1 pid state
    [ -f "$dir/kafka.pid" ] || return 0
    pid=$(cat "$dir/kafka.pid")
    [ -n "$pid" ] && [ -r "/proc/$pid/cmdline" ] || return 0
    state=$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)
    [ "$state" = Z ] && return 0 # exited, not yet reaped
    if tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF "$dir/server.properties"; then
        echo "$pid"
    fi
}

answers() {
    python3 "$PROBE" ready "$(cat "$1/bootstrap")" 2>/dev/null
}

log_tail() {
    if [ -f "$1/kafka.log" ]; then
        echo "---- last lines of $1/kafka.log ----" >&2
        tail -n 40 "$1/kafka.log" >&2
    fi
}

# ---- start ----------------------------------------------------------------------------------

write_config() {
    local dir=$1 bport=$2 cport=$3
    cat >"$dir/server.properties" <<EOF
# Written by tests/kafka/kafka.sh: a single-node KRaft test broker, small and quick to start.
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$bport,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$bport
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT
log.dirs=$dir/data
num.partitions=4
default.replication.factor=1
min.insync.replicas=1
auto.create.topics.enable=true
delete.topic.enable=true
offsets.topic.replication.factor=1
offsets.topic.num.partitions=8
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
transaction.state.log.num.partitions=4
group.initial.rebalance.delay.ms=0
auto.leader.rebalance.enable=false
# A restart after kill -9 waits for the old registration's session to expire: keep it short.
broker.heartbeat.interval.ms=500
broker.session.timeout.ms=3000
num.network.threads=2
num.io.threads=4
background.threads=4
num.recovery.threads.per.data.dir=1
log.cleaner.threads=1
log.cleaner.dedupe.buffer.size=8388608
log.index.size.max.bytes=1048576
log.segment.bytes=67108864
log.retention.hours=24
EOF
    cat >"$dir/log4j.properties" <<'EOF'
# Broker log: warnings, plus the lines that say the servers started and stopped.
log4j.rootLogger=WARN, out
log4j.appender.out=org.apache.log4j.ConsoleAppender
log4j.appender.out.layout=org.apache.log4j.PatternLayout
log4j.appender.out.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka.server.KafkaRaftServer=INFO
log4j.logger.kafka.server.BrokerServer=INFO
log4j.logger.kafka.server.ControllerServer=INFO
log4j.logger.kafka.Kafka$=INFO
EOF
}

format_storage() {
    local dir=$1 cid
    cid=$(python3 "$PROBE" uuid)
    if ! "$JAVA" -Xmx256m -Dlog4j.configuration="file:$dir/log4j.properties" -cp "$LIBS/*" \
        kafka.tools.StorageTool format -t "$cid" -c "$dir/server.properties" \
        >"$dir/format.log" 2>&1; then
        cat "$dir/format.log" >&2
        die "start: formatting $dir/data failed"
    fi
}

launch() {
    local dir=$1
    LOG_OFFSET=$(stat -c %s "$dir/kafka.log" 2>/dev/null || echo 0)
    echo "==== kafka.sh start $(date '+%F %T') ====" >>"$dir/kafka.log"
    # setsid: the broker outlives this script and the test that ran it, in its own session.
    setsid "$JAVA" -Xms512m -Xmx512m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
        -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
        -Dlog4j.configuration="file:$dir/log4j.properties" -Dkafka.logs.dir="$dir" \
        -cp "$LIBS/*" kafka.Kafka "$dir/server.properties" \
        >>"$dir/kafka.log" 2>&1 </dev/null &
    echo $! >"$dir/kafka.pid"
}

# 0: answering; 1: failed; 2: failed because a port was taken.
wait_ready() {
    local dir=$1 deadline=$(($(now_ms) + START_TIMEOUT * 1000))
    while [ "$(now_ms)" -lt "$deadline" ]; do
        if [ -z "$(broker_pid "$dir")" ]; then
            if tail -c "+$((LOG_OFFSET + 1))" "$dir/kafka.log" |
                grep -qE 'BindException|Address already in use'; then
                return 2
            fi
            echo "kafka.sh: the broker exited during startup" >&2
            return 1
        fi
        answers "$dir" && return 0
        sleep 0.2
    done
    echo "kafka.sh: the broker did not answer within ${START_TIMEOUT}s" >&2
    return 1
}

cmd_start() {
    [ $# -eq 1 ] || usage
    local dir t0 rc attempt ports
    dir=$(abspath "$1")
    t0=$(now_ms)
    cmd_fetch
    command -v "$JAVA" >/dev/null || die "start: $JAVA not found (need Java 17)"
    if [ -n "$(broker_pid "$dir")" ]; then
        if answers "$dir"; then
            cat "$dir/bootstrap"
            return 0
        fi
        wait_ready "$dir" || {
            log_tail "$dir"
            die "start: a broker runs from $dir but does not answer"
        }
        cat "$dir/bootstrap"
        return 0
    fi
    if [ -f "$dir/data/meta.properties" ] && [ -f "$dir/server.properties" ] &&
        [ -f "$dir/bootstrap" ]; then
        # Restart of a stopped broker: same data, same ports.
        launch "$dir"
        rc=0
        wait_ready "$dir" || rc=$?
        if [ $rc -ne 0 ]; then
            log_tail "$dir"
            stop_pid "$dir" >/dev/null 2>&1 || true
            [ $rc -eq 2 ] && die "start: port $(cat "$dir/bootstrap") is taken; cannot restart on it"
            die "start: restart of the broker in $dir failed"
        fi
    else
        for attempt in 1 2 3; do
            rm -rf "$dir/data" "$dir/server.properties" "$dir/bootstrap" "$dir/kafka.pid"
            mapfile -t ports < <(python3 "$PROBE" ports 2)
            write_config "$dir" "${ports[0]}" "${ports[1]}"
            echo "127.0.0.1:${ports[0]}" >"$dir/bootstrap"
            format_storage "$dir"
            launch "$dir"
            rc=0
            wait_ready "$dir" || rc=$?
            [ $rc -eq 0 ] && break
            stop_pid "$dir" >/dev/null 2>&1 || true
            if [ $rc -ne 2 ] || [ $attempt -eq 3 ]; then
                log_tail "$dir"
                die "start: the broker in $dir did not start (attempt $attempt)"
            fi
            echo "kafka.sh: port taken between probe and bind; retrying with new ports" >&2
        done
    fi
    echo "kafka.sh: broker $(cat "$dir/bootstrap") up in $(($(now_ms) - t0)) ms (pid $(cat "$dir/kafka.pid"))" >&2
    cat "$dir/bootstrap"
}

# ---- stop / down / status -------------------------------------------------------------------

stop_pid() {
    local dir=$1 pid deadline
    pid=$(broker_pid "$dir")
    if [ -z "$pid" ]; then
        rm -f "$dir/kafka.pid"
        return 1
    fi
    kill -TERM "$pid" 2>/dev/null || true
    deadline=$(($(now_ms) + STOP_TIMEOUT * 1000))
    while [ -n "$(broker_pid "$dir")" ] && [ "$(now_ms)" -lt "$deadline" ]; do
        sleep 0.1
    done
    if [ -n "$(broker_pid "$dir")" ]; then
        echo "kafka.sh: broker pid $pid ignored SIGTERM for ${STOP_TIMEOUT}s; sending SIGKILL" >&2
        kill -KILL "$pid" 2>/dev/null || true
        deadline=$(($(now_ms) + 10000))
        while [ -n "$(broker_pid "$dir")" ] && [ "$(now_ms)" -lt "$deadline" ]; do
            sleep 0.1
        done
        [ -z "$(broker_pid "$dir")" ] || die "stop: broker pid $pid survives SIGKILL"
    fi
    rm -f "$dir/kafka.pid"
    return 0
}

cmd_stop() {
    [ $# -eq 1 ] || usage
    [ -d "$1" ] || die "stop: no such directory $1"
    local dir t0
    dir=$(cd "$1" && pwd)
    t0=$(now_ms)
    if stop_pid "$dir"; then
        echo "kafka.sh: broker in $dir stopped in $(($(now_ms) - t0)) ms" >&2
    else
        echo "kafka.sh: no broker running in $dir" >&2
    fi
}

cmd_down() {
    [ $# -eq 1 ] || usage
    [ -e "$1" ] || return 0
    local dir
    dir=$(cd "$1" && pwd)
    cmd_stop "$dir"
    # Remove only what looks like a broker dir of ours (or an empty one).
    if [ -f "$dir/server.properties" ] || [ -z "$(ls -A "$dir")" ]; then
        rm -rf "$dir"
    else
        die "down: $dir does not look like a kafka.sh broker directory; not removing it"
    fi
}

cmd_status() {
    [ $# -eq 1 ] || usage
    local dir pid
    [ -d "$1" ] || die "status: no such directory $1"
    dir=$(cd "$1" && pwd)
    pid=$(broker_pid "$dir")
    [ -n "$pid" ] || die "status: no broker running in $dir"
    answers "$dir" || die "status: broker pid $pid runs but does not answer on $(cat "$dir/bootstrap")"
    echo "running pid=$pid bootstrap=$(cat "$dir/bootstrap")"
}

[ $# -ge 1 ] || usage
cmd=$1
shift
case "$cmd" in
fetch) [ $# -eq 0 ] || usage && cmd_fetch ;;
start) cmd_start "$@" ;;
stop) cmd_stop "$@" ;;
down) cmd_down "$@" ;;
status) cmd_status "$@" ;;
*) usage ;;
esac
