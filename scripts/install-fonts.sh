#!/usr/bin/env bash
# The Japanese font the certificates' PDF embeds (app/certificates/pdf.py): IPAex Gothic,
# a TrueType font reportlab can embed, from Debian. Installed only when missing.
set -euo pipefail
if ! dpkg -s fonts-ipaexfont-gothic >/dev/null 2>&1; then
  echo "installing from Debian: fonts-ipaexfont-gothic"
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends fonts-ipaexfont-gothic >/dev/null
fi
