#!/bin/bash
# -----------------------------------------------------------------------------
# User data of one ephemeral, single-use GitHub Actions runner
# (Amazon Linux 2023, x64 or arm64; runs as root from cloud-init).
#
# This file is a Terraform templatefile() template. The template variables are
# listed in modules/runners/user-data.ts and assigned once, below. A literal
# dollar-brace in bash is written with a doubled dollar in this source.
#
# Flow. Every step fails closed: whatever way this script ends, the EXIT trap
# powers the instance off, and the launch template's
# instance_initiated_shutdown_behavior=terminate turns that into termination.
#   0. validate the inputs and pick a JSON parser
#   1. read the instance id and region from IMDSv2
#      (then, optionally, start the CloudWatch agent)
#   2. run the type's userdata_pre_install snippet, if any
#   3. unless the AMI is prebaked, in parallel (background jobs, each waited
#      for and checked: a failed job fails the boot):
#        a. dnf install the runner's libraries, the workflow packages (git,
#           docker, jq, unzip, tar; curl is AL2023's curl-minimal) unless
#           enable_runner_packages is false, and runner_extra_packages;
#           then start Docker (systemctl enable --now docker)
#        b. download and extract the runner into RUNNER_DIR
#      make sure the 'runner' user exists (in the docker group when Docker is
#      set up) and owns RUNNER_DIR
#   4. run the type's userdata_post_install snippet, if any
#   5. poll SSM for <ssm_config_path>/<instance-id>, which scale-up writes
#   6. delete that parameter, then parse it
#   7. run the runner once, as 'runner' (with GITHUB_ACTIONS_RUNNER_TLS_NO_VERIFY=1
#      when ghes_ssl_verify is false)
#   8. shut down when it exits, whatever its status
#      A prebaked AMI installs nothing; a Docker baked into it is started and
#      opened to 'runner' unless enable_runner_packages is false.
# The slow steps log how long they took ("... in N s"): the user-data log of a
# real boot is where the costs in docs/ARCHITECTURE.md can be measured.
# Boot metrics: each step's duration also goes to BOOT_METRICS_LOG as one EMF
# line, which the CloudWatch agent ships (modules/runners/user-data.ts).
#
# Snippets. userdata_pre_install / userdata_post_install arrive base64-encoded
# (so any text fits between the single quotes below), are decoded to a file and
# run with `bash -e` as root in a child process, with RUNNER_DIR, RUNNER_USER,
# INSTANCE_ID and REGION in the environment. A non-zero exit fails the boot.
# A child cannot change this script's variables; to give the runner's jobs an
# environment variable, append NAME=value to $RUNNER_DIR/.env (post-install).
#
# Environment overrides. cloud-init sets none of them; they exist for the tests:
#   RUNNER_DIR     runner installation directory   (default /opt/actions-runner)
#   USER_DATA_LOG  this script's log file           (default /var/log/runner-user-data.log)
#   BOOT_METRICS_LOG  the boot metrics (EMF) file   (default /var/log/runner-boot-metrics.log)
#   TMPDIR         where mktemp stages the download and the agent config (default /tmp)
#
# JSON parser. The runner config is parsed with jq when jq is on PATH, and with
# python3 otherwise (AL2023 always ships python3). The choice is made once, at
# start, before anything is fetched, and logged; the same AMI therefore always
# takes the same path. Without either the script stops before touching SSM.
#
# Secrets. The SSM value is never printed and there is no `set -x`; parser
# errors are discarded rather than logged because they may quote the input.
# The JIT config and the registration token reach the runner through the
# ACTIONS_RUNNER_INPUT_JITCONFIG / ACTIONS_RUNNER_INPUT_TOKEN environment
# variables, which the runner reads and then removes from its environment, not
# through argv: argv is readable by every local user in /proc/<pid>/cmdline,
# while /proc/<pid>/environ is readable only by root and the process's own uid.
# Trade-off: job steps run as the same uid as run.sh, so in JIT mode a job
# could read run.sh's initial environment. It could equally read the runner's
# own credential files, so a same-uid runner cannot hide its identity from its
# job, and the JIT config is single-use. In token mode the token is given only
# to config.sh, which has exited before any job starts.
# -----------------------------------------------------------------------------
set -euo pipefail

# --- template inputs (validated in validate_inputs) --------------------------
readonly PREFIX='${prefix}'
readonly SSM_CONFIG_PATH='${ssm_config_path}'
readonly RUNNER_ARCHITECTURE='${runner_architecture}'
readonly RUNNER_VERSION='${runner_version}'
readonly RUNNER_BINARIES_S3_LOCATION='${runner_binaries_s3_location}'
readonly ENABLE_PREBAKED_AMI='${enable_prebaked_ami}'
readonly ENABLE_CLOUDWATCH_AGENT='${enable_cloudwatch_agent}'
readonly CLOUDWATCH_LOG_GROUP='${cloudwatch_log_group}'
readonly CONFIG_POLL_ATTEMPTS='${config_poll_attempts}'
readonly CONFIG_POLL_INTERVAL_SECONDS='${config_poll_interval_seconds}'
readonly ENABLE_RUNNER_PACKAGES='${enable_runner_packages}'
readonly RUNNER_EXTRA_PACKAGES='${runner_extra_packages}'
readonly USERDATA_PRE_INSTALL_BASE64='${userdata_pre_install_base64}'
readonly USERDATA_POST_INSTALL_BASE64='${userdata_post_install_base64}'
readonly GHES_SSL_VERIFY='${ghes_ssl_verify}'
readonly RUNNER_TYPE='${runner_type}'
readonly METRICS_NAMESPACE='${metrics_namespace}'
readonly BOOT_METRIC_NAME='${boot_metric_name}'

# --- environment overrides (see header) --------------------------------------
readonly RUNNER_DIR="$${RUNNER_DIR:-/opt/actions-runner}"
readonly USER_DATA_LOG="$${USER_DATA_LOG:-/var/log/runner-user-data.log}"
readonly BOOT_METRICS_LOG="$${BOOT_METRICS_LOG:-/var/log/runner-boot-metrics.log}"

# --- constants -----------------------------------------------------------------
readonly RUNNER_USER=runner
readonly IMDS_URL=http://169.254.169.254/latest
readonly IMDS_TOKEN_TTL_SECONDS=300 # only needed while booting
readonly CONFIG_DELETE_ATTEMPTS=3
readonly CLOUDWATCH_AGENT_CTL_PATH=/opt/aws/amazon-cloudwatch-agent/bin/amazon-cloudwatch-agent-ctl
readonly CLOUDWATCH_FLUSH_SECONDS=10 # > force_flush_interval in the agent config
# What ./bin/installdependencies.sh would install on a dnf system; that script
# fails on AL2023, so the libraries are installed here, in the same dnf run.
readonly RUNNER_LIBRARIES=(lttng-ust openssl-libs krb5-libs zlib libicu)
# What a typical Linux workflow expects (actions/checkout needs git, container
# jobs and Docker actions need docker). curl is already there: AL2023 ships
# curl-minimal, and installing the full curl package would conflict with it.
readonly WORKFLOW_PACKAGES=(git docker jq unzip tar)

# --- state -------------------------------------------------------------------
JSON_PARSER=''
INSTANCE_ID=''
REGION=''
CONFIG_PARAMETER=''
RUNNER_CONFIG='' # secret: never print
CLOUDWATCH_AGENT_STARTED=false
SCRIPT_STARTED_MS=0
PACKAGES=()         # what install_packages installs; set by plan_packages
DOCKER_ENABLED=false # start Docker and put the runner user in the docker group

# ms since the epoch; EPOCHREALTIME's digits are microseconds in any locale.
now_ms() {
  local t=$${EPOCHREALTIME//[!0-9]/}
  printf '%s' "$((10#$t / 1000))"
}

# ms since the kernel started.
uptime_ms() {
  local up
  read -r up _ </proc/uptime
  printf '%s' "$(((10#$${up%.*} * 1000) + (10#$${up#*.} * 10)))"
}

# boot_metric STEP MS: one EMF line (best effort; values validated or numbers).
boot_metric() {
  local step=$1 ms=$2
  printf '{"_aws":{"Timestamp":%s,"CloudWatchMetrics":[{"Namespace":"%s","Dimensions":[["RunnerType","Step"]],"Metrics":[{"Name":"%s","Unit":"Seconds"}]}]},"RunnerType":"%s","Step":"%s","%s":%d.%03d}\n' \
    "$(now_ms)" "$METRICS_NAMESPACE" "$BOOT_METRIC_NAME" "$RUNNER_TYPE" "$step" "$BOOT_METRIC_NAME" "$((ms / 1000))" "$((ms % 1000))" \
    >>"$BOOT_METRICS_LOG" 2>/dev/null || true
}

# boot_step STEP START_MS: a step that began at START_MS.
boot_step() {
  boot_metric "$1" "$(($(now_ms) - $2))"
}

# Log to stderr so that a log line inside $(…) is not captured as a value.
log() {
  printf '%s %s user-data: %s\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$PREFIX" "$*" >&2
}

die() {
  log "ERROR: $*"
  exit 1
}

# Runs on every exit, including errexit and the signals trapped below.
on_exit() {
  local rc=$?
  set +e
  trap - EXIT HUP INT TERM
  if [ "$rc" -eq 0 ]; then
    log "done; shutting down"
  else
    log "exiting with status $rc; shutting down"
  fi
  if [ "$CLOUDWATCH_AGENT_STARTED" = true ]; then
    log "waiting $CLOUDWATCH_FLUSH_SECONDS s for the CloudWatch agent to ship the last lines"
    sleep "$CLOUDWATCH_FLUSH_SECONDS"
  fi
  shutdown -h now
  exit "$rc"
}
trap on_exit EXIT
# Turn these signals into an exit so the EXIT trap runs for them too.
trap 'exit 129' HUP
trap 'exit 130' INT
trap 'exit 143' TERM

setup_logging() {
  mkdir -p "$${USER_DATA_LOG%/*}"
  : >>"$USER_DATA_LOG"
  chmod 600 "$USER_DATA_LOG"
  { mkdir -p "$${BOOT_METRICS_LOG%/*}" && : >>"$BOOT_METRICS_LOG" && chmod 600 "$BOOT_METRICS_LOG"; } 2>/dev/null || true
  # Keep stdout too: cloud-init copies it to cloud-init-output.log and the console.
  exec > >(tee -a "$USER_DATA_LOG") 2>&1
}

# Collects every problem and fails once, listing them all.
validate_inputs() {
  local errors=()
  local re

  case "$RUNNER_ARCHITECTURE" in
    x64 | arm64) ;;
    *) errors+=("runner_architecture must be x64 or arm64, got '$RUNNER_ARCHITECTURE'") ;;
  esac
  re='^[0-9]+\.[0-9]+\.[0-9]+$'
  [[ $RUNNER_VERSION =~ $re ]] || errors+=("runner_version must look like 2.329.0, got '$RUNNER_VERSION'")
  re='^(/[A-Za-z0-9_.-]+)+/?$'
  [[ $SSM_CONFIG_PATH =~ $re ]] || errors+=("ssm_config_path must be an absolute SSM path, got '$SSM_CONFIG_PATH'")
  re='^s3://[^/]+/.+$'
  [[ -z $RUNNER_BINARIES_S3_LOCATION || $RUNNER_BINARIES_S3_LOCATION =~ $re ]] ||
    errors+=("runner_binaries_s3_location must be empty or s3://bucket/key, got '$RUNNER_BINARIES_S3_LOCATION'")
  case "$ENABLE_PREBAKED_AMI" in
    true | false) ;;
    *) errors+=("enable_prebaked_ami must be true or false, got '$ENABLE_PREBAKED_AMI'") ;;
  esac
  case "$ENABLE_CLOUDWATCH_AGENT" in
    true | false) ;;
    *) errors+=("enable_cloudwatch_agent must be true or false, got '$ENABLE_CLOUDWATCH_AGENT'") ;;
  esac
  re='^[A-Za-z0-9_./#-]{1,512}$'
  if [ "$ENABLE_CLOUDWATCH_AGENT" = true ] && ! [[ $CLOUDWATCH_LOG_GROUP =~ $re ]]; then
    errors+=("cloudwatch_log_group must be a log group name, got '$CLOUDWATCH_LOG_GROUP'")
  fi
  re='^[1-9][0-9]*$'
  [[ $CONFIG_POLL_ATTEMPTS =~ $re ]] || errors+=("config_poll_attempts must be >= 1, got '$CONFIG_POLL_ATTEMPTS'")
  re='^[0-9]+$'
  [[ $CONFIG_POLL_INTERVAL_SECONDS =~ $re ]] ||
    errors+=("config_poll_interval_seconds must be >= 0, got '$CONFIG_POLL_INTERVAL_SECONDS'")
  case "$ENABLE_RUNNER_PACKAGES" in
    true | false) ;;
    *) errors+=("enable_runner_packages must be true or false, got '$ENABLE_RUNNER_PACKAGES'") ;;
  esac
  case "$GHES_SSL_VERIFY" in
    true | false) ;;
    *) errors+=("ghes_ssl_verify must be true or false, got '$GHES_SSL_VERIFY'") ;;
  esac
  # Written into the boot metrics' JSON unescaped.
  re='^[a-z0-9][a-z0-9-]*$'
  [[ $RUNNER_TYPE =~ $re ]] || errors+=("runner_type must be a runner type name, got '$RUNNER_TYPE'")
  re='^[A-Za-z0-9._/#:-]{1,255}$'
  [[ $METRICS_NAMESPACE =~ $re ]] || errors+=("metrics_namespace must be a CloudWatch namespace, got '$METRICS_NAMESPACE'")
  re='^[A-Za-z0-9]+$'
  [[ $BOOT_METRIC_NAME =~ $re ]] || errors+=("boot_metric_name must be letters and digits, got '$BOOT_METRIC_NAME'")
  re='^([A-Za-z0-9_@][A-Za-z0-9._+:@-]*( |$))*$'
  [[ $RUNNER_EXTRA_PACKAGES =~ $re ]] ||
    errors+=("runner_extra_packages must be space-separated dnf package names, got '$RUNNER_EXTRA_PACKAGES'")
  re='^[A-Za-z0-9+/]*={0,2}$'
  [[ $USERDATA_PRE_INSTALL_BASE64 =~ $re ]] || errors+=("userdata_pre_install_base64 must be base64")
  [[ $USERDATA_POST_INSTALL_BASE64 =~ $re ]] || errors+=("userdata_post_install_base64 must be base64")
  [[ $RUNNER_DIR == /* ]] || errors+=("RUNNER_DIR must be an absolute path, got '$RUNNER_DIR'")

  if command -v jq >/dev/null 2>&1; then
    JSON_PARSER=jq
  elif command -v python3 >/dev/null 2>&1; then
    JSON_PARSER=python3
  else
    errors+=("neither jq nor python3 is available to parse the runner config")
  fi

  if [ "$${#errors[@]}" -gt 0 ]; then
    local e
    for e in "$${errors[@]}"; do
      log "invalid input: $e"
    done
    exit 2
  fi
  log "inputs valid; runner $RUNNER_VERSION ($RUNNER_ARCHITECTURE); JSON parser: $JSON_PARSER"
}

# --- 1. instance identity (IMDSv2) ----------------------------------------------
readonly CURL_IMDS_OPTS=(-fsS --connect-timeout 2 --max-time 5 --retry 5 --retry-delay 1 --retry-connrefused)
IMDS_TOKEN=''

imds_get() {
  curl "$${CURL_IMDS_OPTS[@]}" -H "X-aws-ec2-metadata-token: $IMDS_TOKEN" "$IMDS_URL/meta-data/$1"
}

read_instance_identity() {
  local re
  IMDS_TOKEN=$(curl "$${CURL_IMDS_OPTS[@]}" -X PUT \
    -H "X-aws-ec2-metadata-token-ttl-seconds: $IMDS_TOKEN_TTL_SECONDS" "$IMDS_URL/api/token")
  [ -n "$IMDS_TOKEN" ] || die "IMDS returned an empty token"
  INSTANCE_ID=$(imds_get instance-id)
  REGION=$(imds_get placement/region)
  re='^i-[0-9a-f]+$'
  [[ $INSTANCE_ID =~ $re ]] || die "unexpected instance id from IMDS: '$INSTANCE_ID'"
  re='^[a-z0-9-]+$'
  [[ $REGION =~ $re ]] || die "unexpected region from IMDS: '$REGION'"
  CONFIG_PARAMETER="$${SSM_CONFIG_PATH%/}/$INSTANCE_ID"
  log "instance $INSTANCE_ID in $REGION"
}

# --- optional: CloudWatch agent -------------------------------------------------
# Called in an `||` context, where errexit is off: every step checks itself.
start_cloudwatch_agent() {
  local ctl config
  if command -v amazon-cloudwatch-agent-ctl >/dev/null 2>&1; then
    ctl=amazon-cloudwatch-agent-ctl
  else
    if [ ! -x "$CLOUDWATCH_AGENT_CTL_PATH" ]; then
      log "installing amazon-cloudwatch-agent"
      dnf install -y -q amazon-cloudwatch-agent || return 1
    fi
    ctl=$CLOUDWATCH_AGENT_CTL_PATH
  fi
  config=$(mktemp --suffix=.json) || return 1
  cat >"$config" <<EOF || return 1
{
  "agent": { "run_as_user": "root" },
  "logs": {
    "force_flush_interval": 5,
    "logs_collected": {
      "files": {
        "collect_list": [
          {
            "file_path": "$USER_DATA_LOG",
            "log_group_name": "$CLOUDWATCH_LOG_GROUP",
            "log_stream_name": "$INSTANCE_ID/user-data"
          },
          {
            "file_path": "$BOOT_METRICS_LOG",
            "log_group_name": "$CLOUDWATCH_LOG_GROUP",
            "log_stream_name": "$INSTANCE_ID/boot-metrics"
          },
          {
            "file_path": "$RUNNER_DIR/_diag/Runner_*.log",
            "log_group_name": "$CLOUDWATCH_LOG_GROUP",
            "log_stream_name": "$INSTANCE_ID/runner"
          },
          {
            "file_path": "$RUNNER_DIR/_diag/Worker_*.log",
            "log_group_name": "$CLOUDWATCH_LOG_GROUP",
            "log_stream_name": "$INSTANCE_ID/worker"
          }
        ]
      }
    }
  }
}
EOF
  "$ctl" -a fetch-config -m ec2 -s -c "file:$config" || return 1
  CLOUDWATCH_AGENT_STARTED=true
  log "CloudWatch agent shipping logs to $CLOUDWATCH_LOG_GROUP"
}

# --- 2 and 4. the type's own snippets ---------------------------------------------
# run_userdata_snippet NAME BASE64: decodes and runs one snippet (see header).
run_userdata_snippet() {
  local name=$1 encoded=$2 file start=$SECONDS started
  [ -n "$encoded" ] || return 0
  started=$(now_ms)
  file=$(mktemp --suffix=".userdata_$name.sh")
  printf '%s' "$encoded" | base64 -d >"$file" || die "userdata_$name is not valid base64"
  log "running userdata_$name"
  env RUNNER_DIR="$RUNNER_DIR" RUNNER_USER="$RUNNER_USER" INSTANCE_ID="$INSTANCE_ID" REGION="$REGION" \
    bash -e "$file" || die "userdata_$name failed with status $?"
  rm -f "$file"
  log "userdata_$name done in $((SECONDS - start)) s"
  boot_step "$name" "$started"
}

# --- 3. packages and runner, in parallel ------------------------------------------
# Decides, in this shell (background jobs cannot set its variables), what
# install_packages installs and whether Docker is set up.
plan_packages() {
  local extra=()
  read -r -a extra <<<"$RUNNER_EXTRA_PACKAGES"
  if [ "$ENABLE_PREBAKED_AMI" = true ]; then
    # Nothing is installed on a prebaked AMI; Docker is used if it was baked in.
    if [ "$ENABLE_RUNNER_PACKAGES" = true ] && command -v dockerd >/dev/null 2>&1; then
      DOCKER_ENABLED=true
    fi
    return 0
  fi
  PACKAGES=("$${RUNNER_LIBRARIES[@]}")
  if [ "$ENABLE_RUNNER_PACKAGES" = true ]; then
    PACKAGES+=("$${WORKFLOW_PACKAGES[@]}")
  fi
  PACKAGES+=("$${extra[@]}")
  local p
  for p in "$${PACKAGES[@]}"; do
    if [ "$p" = docker ]; then
      DOCKER_ENABLED=true
    fi
  done
}

# Runs as a background job (errexit applies), or in the foreground when prebaked.
install_packages() {
  local start=$SECONDS started
  started=$(now_ms)
  if [ "$${#PACKAGES[@]}" -gt 0 ]; then
    log "dnf installing: $${PACKAGES[*]}"
    dnf install -y -q "$${PACKAGES[@]}"
    log "packages installed in $((SECONDS - start)) s"
    boot_step packages "$started"
  fi
  if [ "$DOCKER_ENABLED" = true ]; then
    start=$SECONDS
    started=$(now_ms)
    systemctl enable --now docker
    log "docker started in $((SECONDS - start)) s"
    boot_step docker "$started"
  fi
}

# Runs as a background job (errexit applies).
download_runner() {
  local work tarball url start=$SECONDS started
  started=$(now_ms)
  work=$(mktemp -d)
  tarball="$work/actions-runner.tar.gz"
  local from_s3=false
  if [ -n "$RUNNER_BINARIES_S3_LOCATION" ]; then
    log "downloading the runner from $RUNNER_BINARIES_S3_LOCATION"
    # The syncer fills the bucket; until its first run (or if it fails) the
    # release on GitHub is the fallback, so a fresh install still serves jobs.
    if aws s3 cp --only-show-errors --region "$REGION" "$RUNNER_BINARIES_S3_LOCATION" "$tarball"; then
      from_s3=true
    else
      log "the runner is not in S3 yet; falling back to the GitHub release"
    fi
  fi
  if [ "$from_s3" != true ]; then
    url="https://github.com/actions/runner/releases/download/v$RUNNER_VERSION/actions-runner-linux-$RUNNER_ARCHITECTURE-$RUNNER_VERSION.tar.gz"
    log "downloading $url"
    curl -fsSL --connect-timeout 10 --max-time 600 --retry 5 --retry-delay 5 --retry-connrefused \
      -o "$tarball" "$url"
  fi
  mkdir -p "$RUNNER_DIR"
  tar -xzf "$tarball" -C "$RUNNER_DIR" --no-same-owner
  rm -rf "$work"
  log "runner downloaded and extracted into $RUNNER_DIR in $((SECONDS - start)) s"
  boot_step download "$started"
}

install_runner() {
  local started
  started=$(now_ms)
  plan_packages
  if [ "$ENABLE_PREBAKED_AMI" = true ]; then
    [ -x "$RUNNER_DIR/run.sh" ] || die "prebaked AMI expected, but $RUNNER_DIR/run.sh is missing"
    log "using the runner prebaked in $RUNNER_DIR; installing no packages"
    install_packages
    boot_step install "$started"
    return 0
  fi

  # Independent steps run side by side; each is waited for and its status
  # checked, and both are waited for before failing, so none is left running.
  local packages_pid runner_pid failures=()
  install_packages &
  packages_pid=$!
  download_runner &
  runner_pid=$!
  wait "$packages_pid" || failures+=("installing packages failed with status $?")
  wait "$runner_pid" || failures+=("downloading the runner failed with status $?")
  if [ "$${#failures[@]}" -gt 0 ]; then
    die "$(printf '%s; ' "$${failures[@]}")not starting the runner"
  fi
  log "runner installed in $RUNNER_DIR"
  boot_step install "$started"
}

# No password, no sudo rights. With Docker set up the user joins the docker
# group, which is root-equivalent on the instance (jobs can start privileged
# containers); enable_runner_packages = false opts out. The instance is
# single-use and terminated after one job.
ensure_runner_user() {
  if id -u "$RUNNER_USER" >/dev/null 2>&1; then
    log "user $RUNNER_USER already exists"
  else
    log "creating the unprivileged user $RUNNER_USER"
    useradd --create-home --user-group --shell /bin/bash "$RUNNER_USER"
  fi
  if [ "$DOCKER_ENABLED" = true ]; then
    usermod -a -G docker "$RUNNER_USER"
    log "user $RUNNER_USER added to the docker group"
  fi
  chown -R "$RUNNER_USER:$RUNNER_USER" "$RUNNER_DIR"
}

# --- 5. fetch the runner config -------------------------------------------------
fetch_runner_config() {
  local attempt=1 started
  started=$(now_ms)
  while :; do
    # aws's own stderr (e.g. ParameterNotFound) goes to the log; the value does not.
    if RUNNER_CONFIG=$(aws ssm get-parameter --name "$CONFIG_PARAMETER" --with-decryption \
      --query Parameter.Value --output text --region "$REGION"); then
      [ -n "$RUNNER_CONFIG" ] || die "runner config $CONFIG_PARAMETER is empty"
      log "runner config found (attempt $attempt/$CONFIG_POLL_ATTEMPTS)"
      boot_step config_wait "$started"
      return 0
    fi
    if [ "$attempt" -ge "$CONFIG_POLL_ATTEMPTS" ]; then
      die "no runner config at $CONFIG_PARAMETER after $attempt attempts; giving up"
    fi
    log "runner config not readable yet (attempt $attempt/$CONFIG_POLL_ATTEMPTS); next try in $CONFIG_POLL_INTERVAL_SECONDS s"
    attempt=$((attempt + 1))
    sleep "$CONFIG_POLL_INTERVAL_SECONDS"
  done
}

# --- 6. delete it before anything uses it ----------------------------------------
# If it cannot be deleted the runner is not started: fail closed rather than
# leave a usable credential behind in Parameter Store.
delete_runner_config() {
  local attempt started
  started=$(now_ms)
  for ((attempt = 1; attempt <= CONFIG_DELETE_ATTEMPTS; attempt++)); do
    if aws ssm delete-parameter --name "$CONFIG_PARAMETER" --region "$REGION"; then
      log "runner config deleted from SSM"
      boot_step config_delete "$started"
      return 0
    fi
    log "could not delete $CONFIG_PARAMETER (attempt $attempt/$CONFIG_DELETE_ATTEMPTS)"
    if [ "$attempt" -lt "$CONFIG_DELETE_ATTEMPTS" ]; then
      sleep 2
    fi
  done
  die "could not delete $CONFIG_PARAMETER; not starting the runner"
}

# Prints the string value of top-level key $1 of the JSON object on stdin;
# prints nothing when the key is missing or not a string; fails when stdin is
# not a JSON object.
json_field() {
  case "$JSON_PARSER" in
    jq)
      jq -r --arg key "$1" 'if type == "object" then (.[$key] | strings) else error("not an object") end'
      ;;
    python3)
      python3 -c '
import json, sys
doc = json.load(sys.stdin)
if not isinstance(doc, dict):
    sys.exit(1)
value = doc.get(sys.argv[1])
if isinstance(value, str):
    sys.stdout.write(value)
' "$1"
      ;;
  esac
}

# Parser stderr is discarded: it may quote the secret input.
config_field() {
  printf '%s' "$RUNNER_CONFIG" | json_field "$1" 2>/dev/null || die "runner config is not a JSON object"
}

# --- 7. run the runner, once -------------------------------------------------------
# Reports the runner's status in RUNNER_EXIT_STATUS rather than its return
# value: a caller writing `run_runner || rc=$?` would turn errexit off for the
# whole function body.
# Just before run.sh.
boot_done() {
  boot_step user_data "$SCRIPT_STARTED_MS"
  boot_metric runner_start "$(uptime_ms)"
}

RUNNER_EXIT_STATUS=0
run_runner() {
  local mode rc=0
  mode=$(config_field mode)
  cd "$RUNNER_DIR"
  # ghes_ssl_verify = false: the runner's documented switch (GitHub docs,
  # "Disabling TLS certificate verification"), set for config.sh and run.sh
  # (runuser keeps the environment). Only the runner process and what it
  # starts see it; the snippets and the AWS CLI above still verify.
  if [ "$GHES_SSL_VERIFY" = false ]; then
    export GITHUB_ACTIONS_RUNNER_TLS_NO_VERIFY=1
    log "WARNING: ghes_ssl_verify is false: the runner does not verify the GitHub server's TLS certificate"
  else
    unset GITHUB_ACTIONS_RUNNER_TLS_NO_VERIFY
  fi

  case "$mode" in
    jit)
      local jit_config
      jit_config=$(config_field jit_config)
      RUNNER_CONFIG=''
      [ -n "$jit_config" ] || die "runner config has mode jit but no jit_config"
      log "starting the runner (JIT) as $RUNNER_USER"
      boot_done
      ACTIONS_RUNNER_INPUT_JITCONFIG="$jit_config" runuser -u "$RUNNER_USER" -- ./run.sh || rc=$?
      ;;
    token)
      local token url labels name group re='^https://[^[:space:]]+$'
      token=$(config_field token)
      url=$(config_field url)
      labels=$(config_field labels)
      name=$(config_field name)
      group=$(config_field runner_group)
      RUNNER_CONFIG=''
      [ -n "$token" ] || die "runner config has mode token but no token"
      [[ $url =~ $re ]] || die "runner config has an invalid url: '$url'"
      name=$${name:-$PREFIX-$INSTANCE_ID}
      local args=(--unattended --ephemeral --disableupdate --url "$url" --name "$name")
      if [ -n "$labels" ]; then
        args+=(--labels "$labels")
      fi
      # Organisation runners join their runner group; repository runners have none.
      if [ -n "$group" ]; then
        args+=(--runnergroup "$group")
      fi
      log "registering runner $name at $url as $RUNNER_USER"
      ACTIONS_RUNNER_INPUT_TOKEN="$token" runuser -u "$RUNNER_USER" -- ./config.sh "$${args[@]}" || rc=$?
      [ "$rc" -eq 0 ] || die "config.sh failed with status $rc"
      log "starting the runner as $RUNNER_USER"
      boot_done
      runuser -u "$RUNNER_USER" -- ./run.sh || rc=$?
      ;;
    *)
      die "runner config has an unknown mode: '$mode'"
      ;;
  esac

  log "runner exited with status $rc"
  RUNNER_EXIT_STATUS=$rc
}

main() {
  SCRIPT_STARTED_MS=$(now_ms)
  local started os_boot_ms
  os_boot_ms=$(uptime_ms)
  setup_logging
  log "starting"

  validate_inputs
  boot_metric os_boot "$os_boot_ms"
  started=$(now_ms)
  read_instance_identity
  boot_step imds "$started"
  if [ "$ENABLE_CLOUDWATCH_AGENT" = true ]; then
    start_cloudwatch_agent || log "WARNING: could not start the CloudWatch agent; continuing without it"
  fi
  run_userdata_snippet pre_install "$USERDATA_PRE_INSTALL_BASE64"
  install_runner
  ensure_runner_user
  run_userdata_snippet post_install "$USERDATA_POST_INSTALL_BASE64"
  fetch_runner_config
  delete_runner_config

  run_runner
  return "$RUNNER_EXIT_STATUS"
}

# The script exits with main's status (the runner's, when it got that far);
# 8. the EXIT trap then shuts the instance down, whatever that status is.
# (No explicit trailing `exit`: shellcheck 0.9 then flags the trap handler as
# unreachable, SC2317.)
main "$@"
