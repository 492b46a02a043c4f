#!/bin/sh
# Installs the build into a scratch DESTDIR, as a packager would, and checks
# what a user gets: the plugin in GStreamer's plugin folder for the prefix,
# found by gst-inspect-1.0 with all its elements; the private libdinoclip
# beside it, reached through the plugin's RUNPATH; the meta library's
# headers and pkg-config file compiling and linking the C example.
# Arguments: BUILD_DIR PREFIX LIBDIR SOURCE_ROOT
set -eu
build=$1 prefix=$2 libdir=$3 source=$4
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
dest=$tmp/dest
fail() { echo "FAIL: $*"; exit 1; }

meson install -C "$build" --destdir "$dest" --no-rebuild --quiet >"$tmp/install.log" 2>&1 ||
  { cat "$tmp/install.log"; fail "meson install failed"; }
root=$dest$prefix/$libdir
plugin=$root/gstreamer-1.0/libgstdinoclip.so
[ -f "$plugin" ] || fail "the plugin is not in $prefix/$libdir/gstreamer-1.0 (GStreamer's folder for this prefix)"
ls "$root"/dinoclip/libdinoclip.so* >/dev/null 2>&1 || fail "libdinoclip is not in $prefix/$libdir/dinoclip"
ls "$root"/libdinoclip.so* >/dev/null 2>&1 && fail "libdinoclip is private but was installed in $prefix/$libdir"
readelf -d "$plugin" | grep -E 'R(UN)?PATH' | grep -q "$prefix/$libdir/dinoclip" ||
  fail "the plugin's RUNPATH does not lead to $prefix/$libdir/dinoclip: $(readelf -d "$plugin" | grep -E 'R(UN)?PATH')"

# The installed plugin, alone: system plugins off, the DESTDIR's libraries
# standing in for $prefix (the RUNPATH names the final location).
export LD_LIBRARY_PATH="$root/dinoclip:$root${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
export GST_PLUGIN_SYSTEM_PATH_1_0="" GST_PLUGIN_PATH_1_0="$root/gstreamer-1.0" GST_REGISTRY_1_0="$tmp/registry.bin"
inspect=$(gst-inspect-1.0 dinoclip 2>&1) || { echo "$inspect"; fail "gst-inspect-1.0 does not load the installed plugin"; }
for element in dinofeatures attnoverlay dinoseg clipzeroshot dinometapublish; do
  echo "$inspect" | grep -q "^ *$element:" || { echo "$inspect"; fail "element $element missing"; }
done

# The public API: headers + pkg-config compile and link the C example.
# The sysroot maps the .pc file's $prefix paths into the DESTDIR; the system's
# own packages (gstreamer-app-1.0) are asked without it.
flags=$(PKG_CONFIG_PATH="$root/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$dest" \
  pkg-config --cflags --libs gstreamer-dinoclip-1.0) ||
  fail "pkg-config gstreamer-dinoclip-1.0 not found in $prefix/$libdir/pkgconfig"
system_flags=$(pkg-config --cflags --libs gstreamer-app-1.0 gstreamer-video-1.0)
c++ -std=c++17 "$source/examples/apps/dino_meta_reader.cpp" $flags $system_flags -o "$tmp/dino-meta-reader" ||
  fail "the C example does not compile against the installed headers"
"$tmp/dino-meta-reader" --no-such-option >/dev/null 2>&1 && fail "dino-meta-reader accepted a bad option"
[ -f "$root/girepository-1.0/GstDinoclip-1.0.typelib" ] || echo "note: no typelib installed (introspection disabled)"
echo "installed plugin found with 5 elements; C example built with pkg-config"
