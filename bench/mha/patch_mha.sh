#!/usr/bin/env bash
# Makes a PRIVATE patched copy of Debian's MHA 0.58 perl modules (mha4mysql-manager + -node) in
# DEST/MHA, for PERL5LIB=DEST. Nothing under /usr is touched and none of MHA's code lives in this
# repo: the copy is made from the installed package at run time and patched with sed.
#
#   patch_mha.sh DEST
#
# Two patches, both needed for MariaDB 10.11 (see /work/shared/MARIADB-NOTES.md, "Others' tools"):
#  1. The version parser: sprintf('%03d%03d%03d', $str =~ m/(\d+)/g) gets every number of
#     "10.11.19-MariaDB-0+deb12u1-log" (six of them), and MHA runs with `use warnings FATAL => 'all'`,
#     so "Redundant argument in sprintf" kills it. Take only major.minor.patch (major.minor).
#  2. super_read_only: MHA reads @@global.super_read_only before applying relay logs on the new
#     master; MariaDB has no such variable (error 1193), so report it as off.
# And one redirection, no change of behaviour: the node tools (save_binary_logs,
# apply_diff_relay_logs) run on the database hosts over SSH and load NodeUtil.pm there too, so the
# commands the manager sends are prefixed with PERL5LIB=DEST (the lab's hosts share this
# filesystem; on real machines DEST would have to be copied to each host).
set -euo pipefail
dest=${1:?usage: patch_mha.sh DEST}
src=/usr/share/perl5/MHA
[[ -f $src/NodeUtil.pm && -f $src/SlaveUtil.pm && -f $src/MasterFailover.pm ]] ||
  { echo "patch_mha: MHA is not installed under $src (apt-get install mha4mysql-manager mha4mysql-node)" >&2; exit 1; }
rm -rf "$dest/MHA"
mkdir -p "$dest"
cp -r "$src" "$dest/MHA"

sed -i -E \
  -e '/^sub parse_mysql_version/,/^}/ s#\$str =~ m/\(\\d\+\)/g#$str =~ m/^(\\d+)\\.(\\d+)\\.(\\d+)/#' \
  -e '/^sub parse_mysql_major_version/,/^}/ s#\$str =~ m/\(\\d\+\)/g#$str =~ m/^(\\d+)\\.(\\d+)/#' \
  "$dest/MHA/NodeUtil.pm"
sed -i -E -e "s#\"(apply_diff_relay_logs|save_binary_logs) --#\"PERL5LIB=$dest \\1 --#g" \
  "$dest/MHA/MasterFailover.pm" "$dest/MHA/MasterMonitor.pm" "$dest/MHA/ManagerUtil.pm"
sed -i -e 's#SELECT \\@\\@global.super_read_only as Value#SELECT 0 as Value#' "$dest/MHA/SlaveUtil.pm"

# A patch that no longer applies (another MHA version) must fail loudly, not run unpatched code.
grep -qF "'%03d%03d%03d', \$str =~ m/^(\\d+)\\.(\\d+)\\.(\\d+)/ )" "$dest/MHA/NodeUtil.pm" &&
  grep -qF "'%03d%03d', \$str =~ m/^(\\d+)\\.(\\d+)/ )" "$dest/MHA/NodeUtil.pm" ||
  { echo "patch_mha: the version-parser patch did not apply to $src/NodeUtil.pm" >&2; exit 1; }
grep -qF "PERL5LIB=$dest save_binary_logs --" "$dest/MHA/MasterFailover.pm" ||
  { echo "patch_mha: the node-tool PERL5LIB prefix did not apply to $src/MasterFailover.pm" >&2; exit 1; }
grep -q 'SELECT 0 as Value' "$dest/MHA/SlaveUtil.pm" ||
  { echo "patch_mha: the super_read_only patch did not apply to $src/SlaveUtil.pm" >&2; exit 1; }
