#!/usr/bin/env bash
# Installs the real servers the registry tests (test/registry/) run on 127.0.0.1:
#   docker-registry (CNCF distribution 2.8.2), skopeo, htpasswd (apache2-utils), openssl;
# OpenSSH (sshd, ssh-keygen) for the runner's SSH host tests (packages/runner/test/sshd-harness.ts);
# Slurm (slurmctld, slurmd, sbatch) and munge for the Slurm backend tests (packages/runner/test/slurm-harness.ts).
# Idempotent: installs only what is missing. Fails (non-zero) if anything is still missing afterwards.
set -euo pipefail

# binary -> Debian package
declare -A PKG=(
  [docker-registry]=docker-registry
  [skopeo]=skopeo
  [htpasswd]=apache2-utils
  [openssl]=openssl
  # absolute: /usr/sbin is not on every user's PATH, and sshd must be started by absolute path
  [/usr/sbin/sshd]=openssh-server
  [ssh-keygen]=openssh-client
  [/usr/sbin/slurmctld]=slurm-wlm
  [/usr/sbin/slurmd]=slurm-wlm
  [sbatch]=slurm-client
  [/usr/sbin/munged]=munge
)

missing_pkgs=()
for bin in "${!PKG[@]}"; do
  if ! command -v "$bin" >/dev/null 2>&1; then
    missing_pkgs+=("${PKG[$bin]}")
  fi
done

if [ "${#missing_pkgs[@]}" -gt 0 ]; then
  echo "install-servers: installing ${missing_pkgs[*]}" >&2
  if ! command -v apt-get >/dev/null 2>&1; then
    echo "error: apt-get not found; install ${missing_pkgs[*]} by hand" >&2
    exit 1
  fi
  SUDO=()
  if [ "$(id -u)" -ne 0 ]; then
    if command -v sudo >/dev/null 2>&1; then SUDO=(sudo); else
      echo "error: need root (or sudo) to install ${missing_pkgs[*]}" >&2
      exit 1
    fi
  fi
  "${SUDO[@]}" apt-get update
  "${SUDO[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing_pkgs[@]}"
fi

still_missing=()
for bin in "${!PKG[@]}"; do
  command -v "$bin" >/dev/null 2>&1 || still_missing+=("$bin (package ${PKG[$bin]})")
done
if [ "${#still_missing[@]}" -gt 0 ]; then
  echo "error: still missing after install: ${still_missing[*]}" >&2
  exit 1
fi

# sshd's privilege-separation directory (the package's service, which would create it, is not started
# in containers); without it sshd exits with "Missing privilege separation directory".
if [ ! -d /run/sshd ]; then
  if [ "$(id -u)" -eq 0 ]; then mkdir -p /run/sshd
  elif command -v sudo >/dev/null 2>&1; then sudo mkdir -p /run/sshd
  else echo "error: /run/sshd is missing and needs root to create" >&2; exit 1
  fi
fi

# munge authenticates Slurm's daemons and clients; the package's postinst may not create a key in a
# container, and the harness starts munged itself (it runs as the munge user, so this needs root).
if [ ! -s /etc/munge/munge.key ]; then
  if [ "$(id -u)" -ne 0 ]; then echo "error: /etc/munge/munge.key is missing and needs root to create" >&2; exit 1; fi
  mungekey --create --force
  chown munge:munge /etc/munge/munge.key && chmod 0400 /etc/munge/munge.key
fi

# The htpasswd must support bcrypt (-B); distribution only accepts bcrypt entries.
if ! htpasswd -Bbn probe probe 2>/dev/null | grep -q '^probe:\$2'; then
  echo "error: htpasswd does not produce bcrypt entries (-B)" >&2
  exit 1
fi

echo "install-servers: ok: $(command -v docker-registry) ($(docker-registry --version 2>/dev/null || echo '?')), $(skopeo --version), $(command -v htpasswd), $(openssl version), $(/usr/sbin/sshd -V 2>&1 | head -n1), slurm $(dpkg-query -W -f='${Version}' slurm-wlm 2>/dev/null || echo ?)"
