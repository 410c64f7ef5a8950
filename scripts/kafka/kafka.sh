#!/usr/bin/env bash
# A local single-node Apache Kafka (KRaft, broker+controller in one JVM) built from Apache's own
# jars on Maven Central, for machines without Docker. Used by `npm run start:dev` and the tests.
#
#   kafka.sh start    fetch jars (first time), format storage (first time), start, wait until ready
#   kafka.sh stop     stop the broker this script started
#   kafka.sh status   exit 0 when the broker answers
#   kafka.sh fetch    only download the jars
#
# Settings (environment):
#   KAFKA_VERSION     Apache Kafka version from Maven Central      (default 4.1.1)
#   KAFKA_PORT        client listener on 127.0.0.1                 (default 9092)
#   KAFKA_CTRL_PORT   controller listener on 127.0.0.1             (default KAFKA_PORT+1)
#   KAFKA_CACHE_DIR   jars and data, ignored by git                (default <repo>/.cache/kafka)
#   KAFKA_FRESH=1     wipe this port's data before starting (tests use it for a clean broker)
#   KAFKA_HEAP        JVM heap                                     (default 512m)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)
version=${KAFKA_VERSION:-4.1.1}
port=${KAFKA_PORT:-9092}
ctrl_port=${KAFKA_CTRL_PORT:-$((port + 1))}
cache=${KAFKA_CACHE_DIR:-$root/.cache/kafka}
libs=$cache/libs-$version
node_dir=$cache/node-$port
pid_file=$node_dir/kafka.pid

log() { printf '[kafka] %s\n' "$*" >&2; }

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

fetch() {
  if [ -f "$libs/.complete" ]; then return 0; fi
  command -v mvn >/dev/null || { log "Maven (mvn) is needed to fetch Kafka $version from Maven Central"; exit 1; }
  command -v java >/dev/null || { log "Java 17+ is needed to run Kafka $version"; exit 1; }
  log "downloading Apache Kafka $version jars from Maven Central into ${libs#"$root"/} (first run only, ~60 MB)..."
  rm -rf "$libs.tmp"
  mvn -B -q -f "$here/pom.xml" -Dkafka.version="$version" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$libs.tmp" >&2
  rm -rf "$libs" && mv "$libs.tmp" "$libs" && touch "$libs/.complete"
  log "jars ready ($(find "$libs" -name '*.jar' | wc -l) files)"
}

write_config() {
  mkdir -p "$node_dir/data" "$node_dir/logs"
  cat >"$node_dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$ctrl_port
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$ctrl_port
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$node_dir/data
num.partitions=3
# The app creates its topics itself, with explicit partition counts.
auto.create.topics.enable=false
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
# A consumer joining a group should not wait 3 s for others (tests start many groups).
group.initial.rebalance.delay.ms=0
log.retention.hours=168
EOF
}

jvm=(-Xms128m -Xmx"${KAFKA_HEAP:-512m}" -XX:+UseG1GC -Djava.awt.headless=true
  -Dlog4j2.configurationFile="$here/log4j2.properties" -Dkafka.logs.dir="$node_dir/logs" -cp "$libs/*")
java_cmd() { java "${jvm[@]}" "$@"; }

format() {
  if [ -f "$node_dir/data/meta.properties" ]; then return 0; fi
  log "formatting KRaft storage in ${node_dir#"$root"/}"
  java_cmd kafka.tools.StorageTool format --standalone --ignore-formatted \
    --cluster-id "$(java_cmd kafka.tools.StorageTool random-uuid)" \
    --config "$node_dir/server.properties" >"$node_dir/logs/format.log" 2>&1 ||
    { cat "$node_dir/logs/format.log" >&2; exit 1; }
}

wait_ready() {
  local deadline=$((SECONDS + ${KAFKA_START_TIMEOUT:-90}))
  while ! answers "$port"; do
    if [ -f "$pid_file" ] && ! kill -0 "$(cat "$pid_file")" 2>/dev/null; then
      log "broker exited during start-up; last lines of its log:"
      tail -n 30 "$node_dir/logs/server.log" "$node_dir/logs/stdout.log" 2>/dev/null >&2 || true
      exit 1
    fi
    if [ $SECONDS -ge $deadline ]; then log "broker did not answer on 127.0.0.1:$port in time"; exit 1; fi
    sleep 0.2
  done
}

start() {
  if answers "$port"; then
    log "a broker already answers at 127.0.0.1:$port; reusing it"
    return 0
  fi
  fetch
  if [ "${KAFKA_FRESH:-0}" = 1 ]; then rm -rf "$node_dir"; fi
  write_config
  format
  log "starting Kafka $version (KRaft) at 127.0.0.1:$port"
  # setsid: the broker outlives the shell that started it (npm, jest global setup).
  setsid java "${jvm[@]}" kafka.Kafka "$node_dir/server.properties" >"$node_dir/logs/stdout.log" 2>&1 </dev/null &
  echo $! >"$pid_file"
  wait_ready
  log "ready at 127.0.0.1:$port (pid $(cat "$pid_file"))"
}

stop() {
  if [ ! -f "$pid_file" ]; then log "no broker started by this script on port $port"; return 0; fi
  local pid
  pid=$(cat "$pid_file")
  if kill -0 "$pid" 2>/dev/null; then
    kill -s "${KAFKA_STOP_SIGNAL:-TERM}" "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + 30))
    while kill -0 "$pid" 2>/dev/null && [ $SECONDS -lt $deadline ]; do sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    log "stopped broker pid $pid"
  fi
  rm -f "$pid_file"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) answers "$port" ;;
  fetch) fetch ;;
  *) echo "usage: $0 start|stop|status|fetch" >&2; exit 2 ;;
esac
