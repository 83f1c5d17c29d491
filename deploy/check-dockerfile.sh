#!/usr/bin/env bash
# check-dockerfile.sh runs the Dockerfile's build command and HEALTHCHECK
# outside Docker, with the same flags, so neither can rot unnoticed:
#
#   1. the `go build` line of the RUN instruction is extracted and run with
#      its output redirected into a temporary directory;
#   2. the image's default command (ENTRYPOINT + CMD) is started with the
#      baked config (deploy/docker/nexus.toml, on loopback): it must start
#      and, having no backend, the HEALTHCHECK must fail against it;
#   3. `nexus demo` (simulated backends) is started on a free loopback port
#      and the HEALTHCHECK command must succeed against it;
#   4. once demo is stopped the HEALTHCHECK must fail again.
#
# Only the binary path (/nexus) and the port of the HEALTHCHECK URL are
# rewritten. Usage: deploy/check-dockerfile.sh [Dockerfile]
# (default: the repository's Dockerfile). Needs go, jq and bash.
set -euo pipefail
cd "$(dirname "$0")/.."
dockerfile="${1:-Dockerfile}"

tmp="$(mktemp -d)"
pids=()
cleanup() {
	for pid in "${pids[@]}"; do
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
	done
	rm -rf "$tmp"
}
trap cleanup EXIT

fail() {
	echo "check-dockerfile: FAIL: $*" >&2
	exit 1
}

# instruction NAME prints the arguments of the Dockerfile's instructions
# NAME (one per line; continuation lines are joined).
instruction() {
	sed -e ':a' -e '/\\$/N; s/\\\n//; ta' "$dockerfile" |
		sed -n "s/^[[:space:]]*$1[[:space:]]\{1,\}//p"
}

# --- 1. the build command -------------------------------------------------
build_line="$(instruction RUN | grep -E '(^|[[:space:]])go build ' || true)"
[ "$(printf '%s\n' "$build_line" | grep -c .)" = 1 ] || fail "want exactly one RUN with 'go build', got: $build_line"
# Drop RUN's own flags (--mount=...); what is left is the shell command.
build_cmd="$(printf '%s\n' "$build_line" | sed -E 's/^(--[^[:space:]]+[[:space:]]+)*//')"
case "$build_cmd" in
*" -o /nexus "*) ;;
*) fail "the build command does not write -o /nexus: $build_cmd" ;;
esac
for flag in 'CGO_ENABLED=0' '-trimpath' '-ldflags "-s -w"' './cmd/nexus'; do
	case "$build_cmd" in *"$flag"*) ;; *) fail "build command lacks $flag: $build_cmd" ;; esac
done
local_cmd="${build_cmd/ -o \/nexus / -o $tmp/nexus }"
echo "== build: $local_cmd"
start=$SECONDS
TARGETOS="$(go env GOOS)" TARGETARCH="$(go env GOARCH)" sh -c "$local_cmd"
echo "   built in $((SECONDS - start)) s, $(du -k "$tmp/nexus" | cut -f1) KiB"
file_out="$(file "$tmp/nexus" 2>/dev/null || true)"
case "$file_out" in
*"dynamically linked"*) fail "the binary is not static: $file_out" ;;
esac
grep -q '^COPY --from=build /nexus /nexus$' "$dockerfile" || fail "the final stage must COPY --from=build /nexus /nexus"

# --- the HEALTHCHECK command, port and default command --------------------
hc_json="$(instruction HEALTHCHECK | sed -n 's/.*CMD[[:space:]]\{1,\}\(\[.*\]\)[[:space:]]*$/\1/p')"
[ -n "$hc_json" ] || fail "no HEALTHCHECK ... CMD [exec form] in $dockerfile"
jq -e 'type == "array" and length > 0 and all(type == "string")' >/dev/null 2>&1 <<<"$hc_json" ||
	fail "HEALTHCHECK CMD is not a JSON array of strings: $hc_json"
mapfile -t hc < <(jq -r '.[]' <<<"$hc_json")
[ "${hc[0]}" = /nexus ] || fail "HEALTHCHECK must run /nexus, runs ${hc[0]}"
expose="$(instruction EXPOSE | head -1 | cut -d/ -f1)"
[ -n "$expose" ] || fail "no EXPOSE"
case " ${hc[*]} " in
*"127.0.0.1:$expose"*) ;;
*) fail "HEALTHCHECK does not target 127.0.0.1:$expose (EXPOSE): ${hc[*]}" ;;
esac
grep -Eq "^port = $expose$" deploy/docker/nexus.toml || fail "deploy/docker/nexus.toml does not listen on $expose"
grep -q '^COPY deploy/docker/nexus.toml /etc/nexus/nexus.toml$' "$dockerfile" || fail "the image must bake deploy/docker/nexus.toml as /etc/nexus/nexus.toml"
mapfile -t entry < <(instruction ENTRYPOINT | jq -r '.[]')
mapfile -t defcmd < <(instruction CMD | grep '^\[' | jq -r '.[]')
[ "${entry[*]}" = /nexus ] || fail "ENTRYPOINT must be [\"/nexus\"], is ${entry[*]}"

# healthcheck PORT runs the HEALTHCHECK command against 127.0.0.1:PORT.
healthcheck() {
	local args=("$tmp/nexus")
	local a
	for a in "${hc[@]:1}"; do
		args+=("${a//127.0.0.1:$expose/127.0.0.1:$1}")
	done
	timeout 10 "${args[@]}" >"$tmp/hc.out" 2>&1
}

# wait_listening PID LOG prints the host:port the gateway PID logged in
# LOG, waiting up to 20 s; it fails at once if PID exits.
wait_listening() {
	local i addr
	for i in $(seq 1 80); do
		addr="$(grep -oE '(running on http://|"addr":"|addr=)[0-9.]+:[0-9]+' "$2" | head -1 | grep -oE '[0-9.]+:[0-9]+$' || true)"
		if [ -n "$addr" ]; then
			echo "$addr"
			return 0
		fi
		kill -0 "$1" 2>/dev/null || return 1
		sleep 0.25
	done
	return 1
}

# start NAME ARGS... starts the built binary with ARGS plus --host 127.0.0.1
# --port P on a free port P (a few tries: a port can be taken between the
# check and the bind), logging to $tmp/NAME.log. It sets pid and port.
start() {
	local name="$1"
	shift
	for _ in 1 2 3 4 5; do
		port="$(free_port)" || fail "no free port"
		"$tmp/nexus" "$@" --host 127.0.0.1 --port "$port" >"$tmp/$name.log" 2>&1 &
		pid=$!
		pids+=("$pid")
		if wait_listening "$pid" "$tmp/$name.log" >/dev/null; then
			return 0
		fi
		kill "$pid" 2>/dev/null || true
		wait "$pid" 2>/dev/null || true
		grep -q 'address already in use' "$tmp/$name.log" || break
	done
	fail "nexus $* did not start:
$(cat "$tmp/$name.log")"
}

# free_port prints a loopback port nobody listens on right now.
free_port() {
	local p
	for _ in $(seq 1 50); do
		p=$((20000 + RANDOM % 12000)) # below Linux's ephemeral ports
		if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then
			echo "$p"
			return 0
		fi
	done
	return 1
}

# --- 2. the image's default command with the baked config -----------------
args=()
for a in "${defcmd[@]}"; do
	args+=("${a//\/etc\/nexus\/nexus.toml/deploy/docker/nexus.toml}")
done
echo "== default command: nexus ${args[*]} --host 127.0.0.1 --port <free>"
start serve "${args[@]}"
if healthcheck "$port"; then
	fail "HEALTHCHECK passed against a gateway with no backend: $(cat "$tmp/hc.out")"
fi
echo "   started on port $port; HEALTHCHECK without backends exits non-zero, as it should"
kill "$pid"
wait "$pid" 2>/dev/null || true
pids=()

# --- 3. demo: the HEALTHCHECK must pass ------------------------------------
start demo demo
demo=$pid
echo "== demo on 127.0.0.1:$port"
echo "== HEALTHCHECK: ${hc[*]} (port $expose -> $port)"
ok=0
for _ in $(seq 1 40); do # like Docker's --start-period: retry while starting
	if healthcheck "$port"; then
		ok=1
		break
	fi
	sleep 0.25
done
[ "$ok" = 1 ] || fail "HEALTHCHECK never passed against demo:
$(cat "$tmp/hc.out")
demo log:
$(cat "$tmp/demo.log")"
echo "   exit 0 while demo runs"

# --- 4. stopped: the HEALTHCHECK must fail ---------------------------------
kill "$demo"
wait "$demo" 2>/dev/null || true
pids=()
if healthcheck "$port"; then
	fail "HEALTHCHECK passed with the server stopped: $(cat "$tmp/hc.out")"
fi
echo "   exit non-zero once demo is stopped"
echo "check-dockerfile: OK"
