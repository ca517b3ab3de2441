#!/usr/bin/env bash
# Installs the Debian packages Rob'O's browser and desktop robots are tested with, only when they are missing:
# chromium (driven by Playwright through its executable path; Playwright's own browser downloads are not used)
# xvfb and xdotool (a virtual screen for desktop automation tests, and the keyboard and mouse the tests drive the
# legacy client of tests/mock_desktop with), dovecot-imapd (the IMAP server the email robot's
# tests start on 127.0.0.1), libreoffice-writer-nogui (the word robot's to_pdf, tested for real) and postgresql
# (the run store's tests start a throwaway server on 127.0.0.1 with its initdb and pg_ctl; no service is enabled),
# chromium-driver (`make bench` drives the same Chromium with Robot Framework + SeleniumLibrary, a peer).
# chromium-headless-shell, where the distribution has it: the same Chromium built for headless runs only, which a
# headless run launches when present (robots/browser/launch.py); without it the full chromium is used.
# The desktop robot also uses xdotool (windows by title, accented typing), tesseract-ocr with its French and English data
# (reading the screen), scrot (pyautogui's own screenshots), x11-utils (xwininfo, xprop) and xterm, the real X
# application its tests type into.
set -euo pipefail

missing=()
command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1 \
  || command -v google-chrome >/dev/null 2>&1 || missing+=(chromium)
# Debian's chromedriver for the same Chromium: the benchmark's Robot Framework + SeleniumLibrary peer (make bench).
command -v chromedriver >/dev/null 2>&1 || missing+=(chromium-driver)
command -v Xvfb >/dev/null 2>&1 || missing+=(xvfb)
command -v xauth >/dev/null 2>&1 || missing+=(xauth)
command -v xdotool >/dev/null 2>&1 || missing+=(xdotool)
command -v tesseract >/dev/null 2>&1 || missing+=(tesseract-ocr)
for lang in fra eng; do
  compgen -G "/usr/share/tesseract-ocr/*/tessdata/$lang.traineddata" >/dev/null || missing+=("tesseract-ocr-$lang")
done
command -v scrot >/dev/null 2>&1 || missing+=(scrot)
command -v xwininfo >/dev/null 2>&1 || missing+=(x11-utils)
command -v xterm >/dev/null 2>&1 || missing+=(xterm)
# Tk for the Python the virtualenv is made from (tests/mock_desktop's legacy client); Debian's own python3 needs
# python3-tk, other builds (pyenv) bring their own.
"${PYTHON:-python3}" -c 'import _tkinter' >/dev/null 2>&1 || missing+=(python3-tk)
# (grep reads the whole list: with -q it would stop early, fc-list would die of SIGPIPE and pipefail fail the test)
fc-list 2>/dev/null | grep -i dejavu >/dev/null || missing+=(fonts-dejavu-core)
command -v dovecot >/dev/null 2>&1 || missing+=(dovecot-imapd)
command -v soffice >/dev/null 2>&1 || missing+=(libreoffice-writer-nogui)
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || missing+=(postgresql)
# Optional packages: asked for only when this machine's package lists offer them, and never fatal.
optional_wanted() {
  command -v chromium-headless-shell >/dev/null 2>&1 && return 0
  # (not grep -q: apt-cache would die of SIGPIPE and pipefail make the package look unavailable)
  apt-cache policy chromium-headless-shell 2>/dev/null | grep 'Candidate: [0-9]' >/dev/null && echo chromium-headless-shell
  return 0
}
mapfile -t optional < <(optional_wanted)

if [ ${#missing[@]} -eq 0 ] && [ ${#optional[@]} -eq 0 ]; then
  exit 0
fi
if [ ${#missing[@]} -eq 0 ] && [ "$(id -u)" -ne 0 ] && ! sudo -n true >/dev/null 2>&1; then
  exit 0  # only optional packages are missing, and nothing can install them
fi

echo "installing Debian packages: ${missing[*]} ${optional[*]}"
if [ "$(id -u)" -eq 0 ]; then
  run_as_root=()
elif command -v sudo >/dev/null 2>&1; then
  run_as_root=(sudo -n)
else
  echo "error: these Debian packages are missing: ${missing[*]}" >&2
  echo "  install them as root: apt-get update && apt-get install -y ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
if [ ${#missing[@]} -gt 0 ]; then
  "${run_as_root[@]}" apt-get update -qq
  "${run_as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  mapfile -t optional < <(optional_wanted)  # the lists are fresh now
fi
for package in "${optional[@]}"; do
  "${run_as_root[@]}" apt-get install -y -qq --no-install-recommends "$package" >/dev/null \
    || echo "note: $package could not be installed: the full browser is used"
done
