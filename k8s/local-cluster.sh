#!/usr/bin/env bash
# A three-node Sagaflow cluster on this machine: one PostgreSQL, the demo participants, and three
# node JVMs on loopback ports, formed by Cluster Bootstrap over a static list of contact points
# (the `config` discovery). Ctrl+C stops everything gracefully.
#
#   mvn -B -q -DskipTests package && k8s/local-cluster.sh
#
# Node i (0, 1, 2): HTTP API on 8090+i, Pekko remoting on 25520+i, management (health, cluster)
# on 7626+i. PostgreSQL on 5433, demo participants on 8081. Logs and data under ./data/local-cluster.
set -euo pipefail

jar=${SAGAFLOW_JAR:-sagas/target/sagaflow.jar}
dir=${SAGAFLOW_LOCAL_DIR:-./data/local-cluster}
pg_port=${SAGAFLOW_LOCAL_PG_PORT:-5433}
demo_port=${SAGAFLOW_DEMO_PORT:-8081}
nodes=${SAGAFLOW_LOCAL_NODES:-3}

[ -f "$jar" ] || { echo "no $jar: build it with 'mvn -B -q -DskipTests package'" >&2; exit 1; }
mkdir -p "$dir"
pids=()

stop_all() {
  trap - INT TERM EXIT
  echo "stopping: nodes first (they leave the cluster and hand their sagas over), then the rest"
  for ((i = ${#pids[@]} - 1; i >= 0; i--)); do kill -TERM "${pids[$i]}" 2>/dev/null || true; done
  wait || true
}
trap stop_all INT TERM EXIT

await_port() { # host port what
  for _ in $(seq 1 360); do
    (exec 3<>"/dev/tcp/$1/$2") 2>/dev/null && return 0
    sleep 0.5
  done
  echo "$3 did not come up on $1:$2; see $dir" >&2
  exit 1
}

java -Dsagaflow.db.embedded.data-dir="$dir" -Dsagaflow.db.embedded.port="$pg_port" \
  -jar "$jar" postgres >"$dir/postgres.log" 2>&1 &
pids+=($!)
await_port 127.0.0.1 "$pg_port" PostgreSQL

SAGAFLOW_DEMO_PORT="$demo_port" java -jar "$jar" participants >"$dir/participants.log" 2>&1 &
pids+=($!)
await_port 127.0.0.1 "$demo_port" "the demo participants"

contact_points=""
for ((i = 0; i < nodes; i++)); do contact_points+="${contact_points:+,}127.0.0.1:$((7626 + i))"; done

for ((i = 0; i < nodes; i++)); do
  env \
    SAGAFLOW_DB_URL="jdbc:postgresql://127.0.0.1:$pg_port/postgres" \
    SAGAFLOW_DB_USER=postgres \
    SAGAFLOW_HTTP_PORT=$((8090 + i)) \
    SAGAFLOW_REMOTE_PORT=$((25520 + i)) \
    SAGAFLOW_MANAGEMENT_PORT=$((7626 + i)) \
    SAGAFLOW_CLUSTER_FORMATION=config \
    SAGAFLOW_CLUSTER_CONTACT_POINTS="$contact_points" \
    SAGAFLOW_REQUIRED_CONTACT_POINTS="$nodes" \
    SAGAFLOW_PARTICIPANTS_INVENTORY_URL="http://127.0.0.1:$demo_port/inventory" \
    SAGAFLOW_PARTICIPANTS_PAYMENTS_URL="http://127.0.0.1:$demo_port/payments" \
    SAGAFLOW_PARTICIPANTS_SHIPPING_URL="http://127.0.0.1:$demo_port/shipping" \
    SAGAFLOW_PARTICIPANTS_FLIGHTS_URL="http://127.0.0.1:$demo_port/flights" \
    SAGAFLOW_PARTICIPANTS_HOTELS_URL="http://127.0.0.1:$demo_port/hotels" \
    SAGAFLOW_PARTICIPANTS_NOTIFICATIONS_URL="http://127.0.0.1:$demo_port/notifications" \
    java -jar "$jar" >"$dir/node-$i.log" 2>&1 &
  pids+=($!)
done
for ((i = 0; i < nodes; i++)); do await_port 127.0.0.1 $((8090 + i)) "node $i"; done

echo "cluster up: APIs on http://127.0.0.1:8090..$((8090 + nodes - 1)), health on http://127.0.0.1:7626/ready .."
echo "members:   curl -s http://127.0.0.1:7626/cluster/members"
echo "logs in $dir; Ctrl+C stops everything"
wait
