# Sourced by the project's scripts (scripts/test, scripts/demo, scripts/emulator, bench/mask/*):
# exports where the project's private database servers listen, starting them when needed.
#
#   KIRIKAE_TEST_MYSQL=mysql://root@127.0.0.1:PORT      (as `scripts/db env` prints them)
#   KIRIKAE_TEST_PG=postgres://postgres@127.0.0.1:PORT
#   KIRIKAE_TEST_CA=<repo>/.kirikae-local/tls/ca.pem
#
# and sets, split for command-line clients (not exported): MY_HOST MY_PORT MY_USER PG_HOST
# PG_PORT PG_USER.
# When KIRIKAE_TEST_MYSQL and KIRIKAE_TEST_PG are already set they are used as they are (the
# servers are then someone else's to run).
kirikae_servers() {
  local root line rest
  root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
  if [ -z "${KIRIKAE_TEST_MYSQL:-}" ] || [ -z "${KIRIKAE_TEST_PG:-}" ]; then
    while IFS= read -r line; do
      export "${line?}"
    done < <("$root/scripts/db" start)
    [ -n "${KIRIKAE_TEST_MYSQL:-}" ] && [ -n "${KIRIKAE_TEST_PG:-}" ] || return 1
  fi
  rest=${KIRIKAE_TEST_MYSQL#*://}
  MY_USER=${rest%%@*}; rest=${rest#*@}; rest=${rest%/}; MY_HOST=${rest%:*}; MY_PORT=${rest##*:}
  rest=${KIRIKAE_TEST_PG#*://}
  PG_USER=${rest%%@*}; rest=${rest#*@}; rest=${rest%/}; PG_HOST=${rest%:*}; PG_PORT=${rest##*:}
}
kirikae_servers || { printf 'error: the private database servers did not start (scripts/db start)\n' >&2; exit 1; }
