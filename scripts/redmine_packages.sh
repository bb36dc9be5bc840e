#!/bin/sh
# Install Debian 12's Redmine 5 (SQLite) for the service-desk adapter tests: the tests start a private
# copy of it per session on loopback (lab/redmine.py); nothing here starts a server.
# Idempotent and quiet: does nothing but a few dpkg/file checks when everything is already in place.
set -eu

REDMINE=/usr/share/redmine
# dbconfig-common's SQLite database of the package's only instance, "default": the seed the tests copy.
SEED=/var/lib/dbconfig-common/sqlite3/redmine/instances/default/redmine_default
# redmine-sqlite: dbconfig-common creates and seeds the SQLite production database at install time
# (default data: admin, roles, trackers, statuses), which every private instance copies.
# ruby-webrick: Ruby 3 no longer ships WEBrick and the bundle has no server; rackup needs one.
PACKAGES="redmine redmine-sqlite ruby-webrick"

missing=""
for pkg in $PACKAGES; do
    if ! dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed"; then
        missing="$missing $pkg"
    fi
done
bundle_ok=""
grep -qs '^gem "webrick"' "$REDMINE/Gemfile.local" && grep -qs '^  webrick' "$REDMINE/Gemfile.lock" && bundle_ok=1
[ -z "$missing" ] && [ -n "$bundle_ok" ] && [ -f "$SEED" ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
    echo "redmine_packages.sh: Redmine is not fully installed (missing:${missing:- no package}); run as root" >&2
    exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# Without the preseed, dbconfig-common asks (or, non-interactive, skips the database): no database.yml,
# no seeded database. The answers are for the package's only instance, "default".
debconf-set-selections <<'EOF'
redmine redmine/instances/default/dbconfig-install boolean true
redmine redmine/instances/default/database-type select sqlite3
EOF
if [ -n "$missing" ]; then
    # The lists may be stored compressed (…_Packages.lz4): match any suffix. Refresh once a day at most.
    if [ -z "$(find /var/lib/apt/lists -maxdepth 1 -name '*_Packages*' -mtime -1 2>/dev/null | head -n 1)" ]; then
        apt-get update -qq
    fi
    # --no-install-recommends: Redmine recommends Passenger (and through it a web server); the tests run
    # rackup on loopback instead, and no service of these packages may start on the control node.
    # shellcheck disable=SC2086  # word splitting of the package list is intended
    apt-get install -y -qq --no-install-recommends $missing >/dev/null
fi
# Installed earlier without a database (dbconfig declined): configure it again with the answers above.
# Its output (every migration) is shown only when that fails.
if [ ! -f "$SEED" ]; then
    log="$(mktemp)"
    if ! dpkg-reconfigure -f noninteractive redmine >"$log" 2>&1 || [ ! -f "$SEED" ]; then
        cat "$log" >&2
        rm -f "$log"
        echo "redmine_packages.sh: dbconfig-common created no SQLite database at $SEED" >&2
        exit 1
    fi
    rm -f "$log"
fi

# WEBrick into the bundle: Redmine's Gemfile reads Gemfile.local; --local resolves from the gems Debian
# installed (no network). It rewrites Redmine's Gemfile.lock (www-data's, and it stays so).
if ! grep -qs '^gem "webrick"' "$REDMINE/Gemfile.local"; then
    echo 'gem "webrick"' >> "$REDMINE/Gemfile.local"
fi
# As root on purpose, for the lock file; Bundler's warning against it does not apply.
(cd "$REDMINE" && BUNDLE_SILENCE_ROOT_WARNING=1 bundle install --local --quiet >/dev/null)
