#!/usr/bin/env bash
# Debian packages the synthetic corpora need: espeak-ng (phonemes) and MBROLA with four voices (speech and
# singing with exact phone timing); Chromium and its driver for the browser test of the HTML reports; xvfb
# (virtual display) and libportaudio2 (sounddevice) for the realtime_ae synth window and its tests; strace for
# the test that an offline run sends nothing over the network; fluid-soundfont-gm and csound-soundfont (GM
# soundfonts FluidR3_GM and sf_GMbank) for the pianos of the MAPS stand-in; fluidsynth and
# musescore-general-soundfont-small for the held-out inputs of the reports' "On new inputs" sections (an engine and
# a soundfont no corpus uses, common/heldout.py).
# MBROLA lives in Debian's contrib/non-free components, which the default sources don't enable: we read the
# machine's own Debian source (mirror + suite) and point apt at a private sources file with those components,
# leaving /etc untouched.
set -euo pipefail

PACKAGES=(espeak-ng mbrola mbrola-us1 mbrola-us2 mbrola-us3 mbrola-en1 sox chromium chromium-driver xvfb libportaudio2 strace
          fluid-soundfont-gm csound-soundfont fluidsynth musescore-general-soundfont-small)
STATE=/var/lib/musicrep-apt

have_all() {
    command -v espeak-ng >/dev/null && command -v mbrola >/dev/null && command -v sox >/dev/null \
        && command -v chromium >/dev/null && command -v chromedriver >/dev/null \
        && command -v Xvfb >/dev/null && ldconfig -p | grep libportaudio.so.2 >/dev/null && command -v strace >/dev/null \
        && [ -d /usr/share/mbrola/us1 ] && [ -d /usr/share/mbrola/us2 ] \
        && [ -d /usr/share/mbrola/us3 ] && [ -d /usr/share/mbrola/en1 ] \
        && [ -f /usr/share/sounds/sf2/FluidR3_GM.sf2 ] && [ -f /usr/share/sounds/sf2/sf_GMbank.sf2 ] \
        && command -v fluidsynth >/dev/null && [ -f /usr/share/sounds/sf3/MuseScore_General.sf3 ]
}

if have_all; then
    echo "system packages: already installed (${PACKAGES[*]})"
    exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null || [ ! -f /etc/debian_version ]; then
    echo "error: the synthetic corpora need these Debian packages: ${PACKAGES[*]}" >&2
    echo "  (mbrola and its voices are in the contrib and non-free components)." >&2
    echo "  Install them as root (e.g. 'sudo bash scripts/install_system.sh' on Debian/Ubuntu)," >&2
    echo "  or your system's equivalents of espeak-ng, mbrola (voices us1 us2 us3 en1) and sox." >&2
    exit 1
fi

# The machine's Debian mirror and suite, from deb822 sources or the one-line format.
uri=""; suite=""
if [ -f /etc/apt/sources.list.d/debian.sources ]; then
    uri=$(awk '/^URIs:/ && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources)
    suite=$(awk -v u="$uri" '/^URIs:/ {cur=$2} /^Suites:/ && cur==u {print $2; exit}' \
        /etc/apt/sources.list.d/debian.sources)
fi
if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    read -r uri suite < <(awk '$1=="deb" && $2 !~ /security/ {print $2, $3; exit}' /etc/apt/sources.list)
fi
if [ -z "$uri" ] || [ -z "$suite" ]; then
    echo "error: could not read the Debian mirror from /etc/apt/sources.list{,.d/debian.sources};" \
         "install ${PACKAGES[*]} by hand (contrib + non-free)" >&2
    exit 1
fi

mkdir -p "$STATE/sources.list.d" "$STATE/lists/partial"
cat > "$STATE/sources.list.d/musicrep.sources" <<SRC
Types: deb
URIs: $uri
Suites: $suite
Components: main contrib non-free
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SRC
APT_OPTS=(-o "Dir::Etc::SourceParts=$STATE/sources.list.d" -o "Dir::Etc::SourceList=/dev/null"
          -o "Dir::State::Lists=$STATE/lists")
echo "system packages: installing ${PACKAGES[*]} from $uri $suite (main contrib non-free)"
apt-get "${APT_OPTS[@]}" update -qq
DEBIAN_FRONTEND=noninteractive apt-get "${APT_OPTS[@]}" install -y -qq --no-install-recommends "${PACKAGES[@]}" \
    >/dev/null
have_all || { echo "error: ${PACKAGES[*]} did not install" >&2; exit 1; }
echo "system packages: ok"
