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
#   KAFKA_SECURE=1    a SASL_SSL broker instead, on its own KAFKA_PORT (see "Secure mode" below)
#
# Secure mode (KAFKA_SECURE=1; the default plaintext broker is unchanged), docs/security.md:
#   clients connect with SASL_SSL to 127.0.0.1:KAFKA_PORT using SCRAM-SHA-256 or SCRAM-SHA-512; the
#   broker's certificate is signed by a CA generated into <node dir>/secure (openssl + keytool), whose
#   ca.pem is the clients' KAFKA_SSL_CA_FILE. SCRAM users admin (super user, and the broker's own
#   inter-broker identity), order, warehouse, email and analytics get random passwords in
#   <node dir>/secure/credentials.env; they are written into the metadata log when the storage is
#   formatted, because the broker must authenticate to itself before anyone could add them. The
#   controller listener uses SASL PLAIN over TLS (KRaft controllers cannot use SCRAM).
#   StandardAuthorizer denies what no ACL allows: `KAFKA_SECURE=1 kafka.sh acls` creates the topics and
#   each module's least-privilege ACLs (names prefixed with KAFKA_TOPIC_PREFIX / KAFKA_GROUP_PREFIX).
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
  log "downloading Apache Kafka $version jars from Maven Central into ${libs#"$root"/} (first run only, ~45 MB)..."
  rm -rf "$libs.tmp"
  mkdir -p "$cache"
  mvn -B -q -Dstyle.color=never -f "$here/pom.xml" -Dkafka.version="$version" \
    dependency:copy-dependencies -DincludeScope=runtime -DoutputDirectory="$libs.tmp" >"$cache/fetch.log" 2>&1 ||
    { cat "$cache/fetch.log" >&2; log "could not fetch Kafka $version from Maven Central"; exit 1; }
  rm -rf "$libs" && mv "$libs.tmp" "$libs" && touch "$libs/.complete"
  log "jars ready ($(find "$libs" -name '*.jar' | wc -l) files)"
}

# Settings every local node shares, plain or secure: one node, RF 1, fast group joins, 7-day retention.
storage_and_group_settings() {
  cat <<EOF
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
$(storage_and_group_settings)
EOF
}

secure=${KAFKA_SECURE:-0}
secure_dir=$node_dir/secure
secure_users=(admin order warehouse email analytics)

# A CA; a broker certificate for 127.0.0.1/localhost signed by it (PKCS12 keystore); a truststore with
# the CA (the broker connects to itself); a random SCRAM password per user. Once per node dir.
secure_material() {
  if [ -f "$secure_dir/.complete" ]; then return 0; fi
  command -v openssl >/dev/null || { log "openssl is needed for KAFKA_SECURE=1"; exit 1; }
  command -v keytool >/dev/null || { log "keytool (from the JDK) is needed for KAFKA_SECURE=1"; exit 1; }
  log "generating a CA, the broker certificate and SCRAM passwords in ${secure_dir#"$root"/}"
  rm -rf "$secure_dir" && mkdir -p "$secure_dir" && chmod 700 "$secure_dir"
  (
    cd "$secure_dir"
    umask 077
    store_pw=$(openssl rand -hex 16)
    openssl req -x509 -newkey rsa:2048 -nodes -days 825 -subj "/CN=shop local Kafka CA" \
      -keyout ca.key -out ca.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" -keyout broker.key -out broker.csr 2>/dev/null
    printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n' >broker.ext
    openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 825 -extfile broker.ext \
      -out broker.pem 2>/dev/null
    openssl pkcs12 -export -name broker -in broker.pem -inkey broker.key -certfile ca.pem \
      -passout "pass:$store_pw" -out broker.p12
    keytool -importcert -noprompt -alias ca -file ca.pem -storetype PKCS12 \
      -keystore truststore.p12 -storepass "$store_pw" >/dev/null 2>&1
    {
      echo "# Passwords of the local secure broker (generated; never commit)."
      echo "KAFKA_SECURE_STORE_PASSWORD=$store_pw"
      for user in "${secure_users[@]}"; do
        echo "KAFKA_SECURE_PASSWORD_$(echo "$user" | tr '[:lower:]' '[:upper:]')=$(openssl rand -hex 16)"
      done
    } >credentials.env
    rm -f broker.csr broker.ext ca.srl
  )
  touch "$secure_dir/.complete"
}

secret() { sed -n "s/^$1=//p" "$secure_dir/credentials.env"; }

write_secure_config() {
  mkdir -p "$node_dir/data" "$node_dir/logs"
  local admin_pw store_pw
  admin_pw=$(secret KAFKA_SECURE_PASSWORD_ADMIN)
  store_pw=$(secret KAFKA_SECURE_STORE_PASSWORD)
  (umask 077 && cat >"$node_dir/server.properties" <<EOF
process.roles=broker,controller
node.id=1
controller.quorum.bootstrap.servers=127.0.0.1:$ctrl_port
listeners=SASL_SSL://127.0.0.1:$port,CONTROLLER://127.0.0.1:$ctrl_port
advertised.listeners=SASL_SSL://127.0.0.1:$port
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:SASL_SSL,SASL_SSL:SASL_SSL
inter.broker.listener.name=SASL_SSL
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
sasl.mechanism.controller.protocol=PLAIN
listener.name.sasl_ssl.sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512
listener.name.sasl_ssl.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin_pw";
listener.name.sasl_ssl.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="admin" password="$admin_pw";
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="admin" password="$admin_pw" user_admin="$admin_pw";
ssl.keystore.type=PKCS12
ssl.keystore.location=$secure_dir/broker.p12
ssl.keystore.password=$store_pw
ssl.key.password=$store_pw
ssl.truststore.type=PKCS12
ssl.truststore.location=$secure_dir/truststore.p12
ssl.truststore.password=$store_pw
ssl.client.auth=none
authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
super.users=User:admin
allow.everyone.if.no.acl.found=false
$(storage_and_group_settings)
EOF
  )
}

# --add-scram for every user and both mechanisms, one argument per line (for mapfile).
scram_args() {
  local user pw
  for user in "${secure_users[@]}"; do
    pw=$(secret "KAFKA_SECURE_PASSWORD_$(echo "$user" | tr '[:lower:]' '[:upper:]')")
    printf '%s\n' --add-scram "SCRAM-SHA-256=[name=$user,password=$pw]" --add-scram "SCRAM-SHA-512=[name=$user,password=$pw]"
  done
}

jvm=(-Xms128m -Xmx"${KAFKA_HEAP:-512m}" -XX:+UseG1GC -Djava.awt.headless=true
  -Dlog4j2.configurationFile="$here/log4j2.properties" -Dkafka.logs.dir="$node_dir/logs" -cp "$libs/*")
java_cmd() { java "${jvm[@]}" "$@"; }

format() {
  if [ -f "$node_dir/data/meta.properties" ]; then return 0; fi
  log "formatting KRaft storage in ${node_dir#"$root"/}"
  local extra=()
  if [ "$secure" = 1 ]; then mapfile -t extra < <(scram_args); fi
  java_cmd kafka.tools.StorageTool format --standalone --ignore-formatted \
    --cluster-id "$(java_cmd kafka.tools.StorageTool random-uuid)" \
    --config "$node_dir/server.properties" ${extra[@]+"${extra[@]}"} >"$node_dir/logs/format.log" 2>&1 ||
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
    if [ "$secure" = 1 ] && [ ! -f "$secure_dir/.complete" ]; then
      log "a broker already answers at 127.0.0.1:$port and it is not a secure one started here; give the secure one its own port (KAFKA_PORT=29092)"
      exit 1
    fi
    log "a broker already answers at 127.0.0.1:$port; reusing it"
    return 0
  fi
  fetch
  if [ "${KAFKA_FRESH:-0}" = 1 ]; then rm -rf "$node_dir"; fi
  if [ "$secure" = 1 ] && [ -f "$node_dir/data/meta.properties" ] && [ ! -f "$secure_dir/.complete" ]; then
    log "${node_dir#"$root"/} holds a plain broker's data (no SCRAM users): use another port (KAFKA_PORT=29092) or KAFKA_FRESH=1"
    exit 1
  fi
  if [ "$secure" = 1 ]; then
    secure_material
    write_secure_config
  else
    write_config
  fi
  format
  log "starting Kafka $version (KRaft) at 127.0.0.1:$port"
  # setsid: the broker outlives the shell that started it (npm, jest global setup).
  setsid java "${jvm[@]}" kafka.Kafka "$node_dir/server.properties" >"$node_dir/logs/stdout.log" 2>&1 </dev/null &
  echo $! >"$pid_file"
  wait_ready
  log "ready at 127.0.0.1:$port (pid $(cat "$pid_file"))"
  if [ "$secure" = 1 ]; then
    log "SASL_SSL: KAFKA_SSL_CA_FILE=$secure_dir/ca.pem; SCRAM users ${secure_users[*]}; passwords in $secure_dir/credentials.env"
  fi
}

# Creates the topics and each module's least-privilege ACLs on the secure broker, as the admin user.
acls() {
  if [ "$secure" != 1 ] || [ ! -f "$secure_dir/credentials.env" ]; then
    log "acls needs KAFKA_SECURE=1 and a secure broker started on port $port"
    exit 1
  fi
  KAFKA_SECURE_BROKERS="127.0.0.1:$port" KAFKA_SECURE_CA_FILE="$secure_dir/ca.pem" \
    KAFKA_SECURE_ADMIN_PASSWORD="$(secret KAFKA_SECURE_PASSWORD_ADMIN)" \
    node -r ts-node/register/transpile-only "$here/grant-acls.ts"
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
  acls) acls ;;
  *) echo "usage: $0 start|stop|status|fetch|acls" >&2; exit 2 ;;
esac
