#!/usr/bin/env sh
# Makes sure Graphviz's `dot` program is on PATH: installs Debian's package where it can,
# otherwise says in one line how to get it. Never fails the build: only the SVG needs `dot`.
command -v dot >/dev/null 2>&1 && exit 0
if command -v apt-get >/dev/null 2>&1; then
    SUDO=""
    [ "$(id -u)" = 0 ] || SUDO="sudo -n"
    echo "Installing Graphviz (Debian package graphviz) for the dot program..."
    { $SUDO apt-get update -qq && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq graphviz; } >/dev/null 2>&1
fi
command -v dot >/dev/null 2>&1 && exit 0
echo "Graphviz's dot program is missing and could not be installed here: install it with 'sudo apt-get install graphviz' (Debian/Ubuntu), 'brew install graphviz' (macOS) or from https://graphviz.org/download/ (SVG output needs it; everything else works without)."
exit 0
