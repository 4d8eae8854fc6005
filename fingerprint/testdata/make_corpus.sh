#!/usr/bin/env bash
# make_corpus.sh builds fingerprint/testdata/corpus.json: Chromaprint
# fingerprints of real recordings, and of copies of them made the way music
# libraries hold them. Only the fingerprints are kept, never the audio.
#
# On a Debian machine, as root (it installs what it needs):
#
#	bash fingerprint/testdata/make_corpus.sh
#
# Recordings: the Ogg Vorbis music of the wesnoth-1.16-music package (CC BY-SA
# / GPL, shipped by Debian). RECORDINGS get every variant below; every other
# track of the package gets its "orig" fingerprint only, as extra negatives.
#
# Variants (each fingerprinted with fpcalc, default length 120 s):
#   orig         the packaged .ogg file itself
#   mp3_128      MP3, 128 kbit/s (LAME, stereo)
#   mp3_64_mono  MP3, 64 kbit/s, mono
#   aac          AAC (ffmpeg's encoder), 128 kbit/s, in .m4a
#   trim3        start trimmed by 3 s, then MP3 128 kbit/s
#   quiet6       6 dB quieter, then MP3 128 kbit/s
#
# Output: one JSON object {"fpcalc": version, "items": [...]}, one item per
# line, each {"recording", "variant", "duration", "fingerprint" (compressed,
# as fpcalc prints it), "raw" (fpcalc -raw, unsigned)} and, for "orig" items,
# "raw_signed" (fpcalc -raw -signed).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/corpus.json}

if ! command -v fpcalc >/dev/null || ! command -v ffmpeg >/dev/null ||
	! dpkg -s wesnoth-1.16-music >/dev/null 2>&1; then
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y wesnoth-1.16-music ffmpeg libchromaprint-tools
fi

music=$(dirname "$(dpkg -L wesnoth-1.16-music | grep -m1 '/music/.*\.ogg$')")
RECORDINGS=(battle-epic revelation frantic-old love_theme underground frantic
	loyalists elvish-theme northerners wanderer battle knalgan_theme)

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

enc() { ffmpeg -nostdin -hide_banner -loglevel error -y -i "$@"; }

# variant NAME SRC → path of the audio file of that variant
variant() {
	local name=$1 src=$2 dst
	case $name in
	orig) echo "$src"; return ;;
	mp3_128) dst=$tmp/v.mp3; enc "$src" -map_metadata -1 -c:a libmp3lame -b:a 128k "$dst" ;;
	mp3_64_mono) dst=$tmp/v.mp3; enc "$src" -map_metadata -1 -ac 1 -c:a libmp3lame -b:a 64k "$dst" ;;
	aac) dst=$tmp/v.m4a; enc "$src" -map_metadata -1 -c:a aac -b:a 128k "$dst" ;;
	trim3) dst=$tmp/v.mp3; enc "$src" -map_metadata -1 -ss 3 -c:a libmp3lame -b:a 128k "$dst" ;;
	quiet6) dst=$tmp/v.mp3; enc "$src" -map_metadata -1 -af volume=-6dB -c:a libmp3lame -b:a 128k "$dst" ;;
	*) echo "unknown variant $name" >&2; exit 1 ;;
	esac
	echo "$dst"
}

# field NAME JSON → the value of NAME in fpcalc's one-line JSON output
field() { sed -E 's/.*"'"$1"'": ("[^"]*"|\[[^]]*\]|[0-9.]+).*/\1/' <<<"$2"; }

item() { # item RECORDING VARIANT FILE
	local j r line
	j=$(fpcalc -json "$3")
	r=$(fpcalc -json -raw "$3")
	line=$(printf '{"recording":"%s","variant":"%s","duration":%s,"fingerprint":%s,"raw":%s' \
		"$1" "$2" "$(field duration "$j")" "$(field fingerprint "$j")" "$(field fingerprint "$r")")
	if [ "$2" = orig ]; then
		line+=$(printf ',"raw_signed":%s' "$(field fingerprint "$(fpcalc -json -raw -signed "$3")")")
	fi
	printf '%s}' "$line"
}

{
	printf '{"fpcalc":"%s","source":"Debian package wesnoth-1.16-music %s","items":[\n' \
		"$(fpcalc -version | sed 's/"/\\"/g')" "$(dpkg-query -W -f='${Version}' wesnoth-1.16-music)"
	sep=""
	for rec in "${RECORDINGS[@]}"; do
		for v in orig mp3_128 mp3_64_mono aac trim3 quiet6; do
			f=$(variant "$v" "$music/$rec.ogg")
			printf '%s%s' "$sep" "$(item "$rec" "$v" "$f")"
			sep=$',\n'
			echo "  $rec $v" >&2
		done
	done
	for f in "$music"/*.ogg; do
		rec=$(basename "$f" .ogg)
		[[ " ${RECORDINGS[*]} " == *" $rec "* ]] && continue
		printf '%s%s' "$sep" "$(item "$rec" orig "$f")"
		echo "  $rec orig (extra)" >&2
	done
	printf '\n]}\n'
} >"$out.tmp"
mv "$out.tmp" "$out"
echo "wrote $out ($(wc -c <"$out") bytes)" >&2
