# Puma in single mode (no forked workers): one process, a few threads. `kill -USR2` restarts it in
# place (re-exec, same PID, listening socket kept, so requests queue instead of being refused).
# Everything host-specific comes from the environment tests/lab/app.sh (or a unit file) sets.
threads 2, 5
environment ENV.fetch("RAILS_ENV", "production")
bind "tcp://#{ENV.fetch('SECONDHAND_BIND', '127.0.0.1:3000')}"
pidfile ENV.fetch("SECONDHAND_PIDFILE", "tmp/puma.pid")
# The title names the app root: scripts find their puma by it, and it tells apart copies on one box.
tag "secondhand #{File.expand_path("..", __dir__)}"
