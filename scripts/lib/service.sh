# shellcheck shell=bash
# gpt-oss-fast.sh --print-service [systemd|launchd]: a user service that keeps the server
# running (the guide's "keep a persistent server"): it runs `gpt-oss-fast.sh --foreground`
# with the settings of this invocation resolved (flags > environment > defaults, the
# model picked now, the llama-server binary found now), and restarts it on failure.
# Sourced by gpt-oss-fast.sh after its knobs are read; uses its find_server_binary,
# resolve_model and knob variables.
# shellcheck disable=SC2154 # the knobs (host, port, ...) are set by gpt-oss-fast.sh
#
# The API key is never written into the unit: the service reads GPT_OSS_API_KEY from an
# optional environment file (chmod 600) instead.

service_env_file() { printf '%s\n' "${XDG_CONFIG_HOME:-$HOME/.config}/gpt-oss/service.env"; }

# service_argv → fills `service_args`: bash, this script and its resolved options.
service_argv() {
  resolve_model
  [[ "$model" == /* ]] || model=$PWD/$model
  # The running bash, first: a service's PATH may find an older one (macOS: bash 3.2).
  service_args=("$BASH" "$SUITE_ROOT/scripts/gpt-oss-fast.sh" --foreground --restart
    --model "$model" --host "$host" --port "$port" --parallel "$parallel"
    --batch "$batch" --ubatch "$ubatch" --kv-type "$kv_type" --kv-unified "$kv_unified"
    --keepalive "$keepalive" --timeout "$start_timeout")
  [[ -z "$ctx" ]] || service_args+=(--ctx "$ctx")
  ((warmup)) || service_args+=(--no-warmup)
}

# service_env → fills `service_vars` (NAME=value): what the script reads from the
# environment besides its flags, resolved now.
service_env() {
  local binary
  local path=/usr/local/bin:/usr/bin:/bin
  binary=$(find_server_binary)
  [[ ":$path:" == *":${BASH%/*}:"* ]] || path=${BASH%/*}:$path
  service_vars=("LLAMA_SERVER=$binary" "PATH=$path"
    "XDG_STATE_HOME=${XDG_STATE_HOME:-$HOME/.local/state}"
    "XDG_CACHE_HOME=${XDG_CACHE_HOME:-$HOME/.cache}" NO_COLOR=1)
  [[ -z "${GPT_OSS_EXTRA_ARGS:-}" ]] || service_vars+=("GPT_OSS_EXTRA_ARGS=$GPT_OSS_EXTRA_ARGS")
  [[ -z "$rpc" ]] || service_vars+=("GPT_OSS_RPC=$rpc")
}

# systemd_word ARG → ARG as one word of a unit file line: quoted when needed, with `%`
# (a specifier) and `$` (a variable) doubled, as systemd.service(5) asks.
systemd_word() {
  local word=${1//%/%%}
  word=${word//\$/\$\$}
  if [[ "$word" =~ ^[A-Za-z0-9_./:=,+@-]+$ ]]; then
    printf '%s' "$word"
  else
    word=${word//\\/\\\\}
    printf '"%s"' "${word//\"/\\\"}"
  fi
}

xml_text() { # xml_text TEXT → TEXT with &, < and > escaped
  local text=${1//&/&amp;}
  text=${text//</&lt;}
  printf '%s' "${text//>/&gt;}"
}

print_systemd_unit() {
  local arg line="" var
  for arg in "${service_args[@]}"; do line+="${line:+ }$(systemd_word "$arg")"; done
  cat <<EOF
# $(print_version): a systemd user unit, written by --print-service.
# Install: make install-service, or save this as
#   ${XDG_CONFIG_HOME:-$HOME/.config}/systemd/user/gpt-oss-fast.service
# then: systemctl --user daemon-reload && systemctl --user enable --now gpt-oss-fast.service
# Logs: journalctl --user -u gpt-oss-fast (llama-server's own: its state dir, server.log).
[Unit]
Description=gpt-oss llama-server kept warm (gpt-oss-fast.sh)
Documentation=$(systemd_word "file://$SUITE_ROOT/docs/usage.md")
After=network.target

[Service]
Type=simple
ExecStart=$line
EOF
  for var in "${service_vars[@]}"; do printf 'Environment=%s\n' "$(systemd_word "$var")"; done
  cat <<EOF
# GPT_OSS_API_KEY=... goes here (chmod 600), never into this file.
EnvironmentFile=-$(systemd_word "$(service_env_file)")
# gpt-oss-fast.sh stops its server and keepalive itself on SIGTERM (exit 143).
KillMode=mixed
SuccessExitStatus=143
TimeoutStartSec=$((start_timeout + 60))
TimeoutStopSec=30
Restart=on-failure
RestartSec=5

[Install]
WantedBy=default.target
EOF
}

print_launchd_plist() {
  local arg var
  cat <<EOF
<?xml version="1.0" encoding="UTF-8"?>
<!DOCTYPE plist PUBLIC "-//Apple//DTD PLIST 1.0//EN" "http://www.apple.com/DTDs/PropertyList-1.0.dtd">
<!-- $(xml_text "$(print_version)"): a launchd agent, written by print-service.
     Install: save as ~/Library/LaunchAgents/gpt-oss-suite.gpt-oss-fast.plist, then
     launchctl load -w ~/Library/LaunchAgents/gpt-oss-suite.gpt-oss-fast.plist
     GPT_OSS_API_KEY is not written here: add it to EnvironmentVariables yourself. -->
<plist version="1.0">
<dict>
  <key>Label</key>
  <string>gpt-oss-suite.gpt-oss-fast</string>
  <key>ProgramArguments</key>
  <array>
EOF
  for arg in "${service_args[@]}"; do printf '    <string>%s</string>\n' "$(xml_text "$arg")"; done
  printf '  </array>\n  <key>EnvironmentVariables</key>\n  <dict>\n'
  for var in "${service_vars[@]}"; do
    printf '    <key>%s</key>\n    <string>%s</string>\n' "$(xml_text "${var%%=*}")" "$(xml_text "${var#*=}")"
  done
  cat <<EOF
  </dict>
  <key>RunAtLoad</key>
  <true/>
  <!-- Restart on failure: again whenever it did not exit successfully. -->
  <key>KeepAlive</key>
  <dict>
    <key>SuccessfulExit</key>
    <false/>
  </dict>
  <key>StandardErrorPath</key>
  <string>$(xml_text "$HOME/Library/Logs/gpt-oss-fast.log")</string>
</dict>
</plist>
EOF
}

# run_print_service → the unit or plist of service_kind on stdout (default: this OS's)
run_print_service() {
  local kind=${service_kind:-systemd}
  local -a service_args service_vars
  [[ -n "${service_kind:-}" || "$(uname -s)" != Darwin ]] || kind=launchd
  service_argv
  service_env
  if [[ "$kind" == systemd ]]; then
    [[ -z "${GPT_OSS_API_KEY:+set}" ]] \
      || warn "GPT_OSS_API_KEY is not written into the unit; put GPT_OSS_API_KEY=... in $(service_env_file) (chmod 600)"
    print_systemd_unit
  else
    [[ -z "${GPT_OSS_API_KEY:+set}" ]] \
      || warn "GPT_OSS_API_KEY is not written into the plist; add it to its EnvironmentVariables yourself"
    print_launchd_plist
  fi
}
