# Rack middleware: `touch tmp/restart.txt` makes the running app connect to whatever
# config/database.yml now says, in process, without rebooting Rails.
#
# Why: after a failover replplan rewrites database.yml and runs the app's `restart` command. A
# reboot of Rails (even puma's hot restart) takes about a second, longer than the rest of the
# failover; re-reading one file and replacing the connection pool takes milliseconds. The trigger
# is the file Passenger watches for the same purpose (tmp/restart.txt), so the topology says
# `restart = "touch /var/www/secondhand/tmp/restart.txt"` and needs no access to the app's process.
#
# How:
# - Before each request, one stat(2) of tmp/restart.txt (microseconds). Its signature is the mtime
#   to the nanosecond plus device, inode and size: a second touch within the same second, or a file
#   deleted and created again, both count as a change.
# - The baseline is taken when config/application.rb loads, i.e. before Rails reads database.yml
#   during boot: a touch that lands during the boot is seen by the first request, not lost. A
#   missing file is a valid baseline; its appearance is a change.
# - The reload does what Active Record's railtie does at boot ("active_record.initialize_database"):
#   configurations = Rails.application.config.database_configuration (ERB, then YAML, every
#   environment), then establish_connection, which takes the RAILS_ENV section.
# - Requests in flight are drained first. establish_connection removes the old pool from Active
#   Record's handler, then waits (up to 2 x checkout_timeout, 10 s) for every connection of that
#   pool to be checked in. But a request that already holds one gives it back only through the
#   executor, which releases connections of the pools the handler has NOW, so it never gives it
#   back: the reload would stall for 10 s, and a request that asks for its first connection in the
#   meantime finds no pool at all (ConnectionNotEstablished). So every request holds a read lock
#   until its body is closed, and the reload takes the write lock: it waits for the requests in
#   flight (their database timeouts in database.yml bound that), new requests wait for it, and the
#   old pool is closed with nothing checked out. Its idle connections are closed first, without the
#   reconnect that establish_connection's own disconnect would try (see close_idle_connections).
# - One reload for many threads: the check is repeated under a Mutex, so puma threads that saw the
#   same touch wait for the first one's reload instead of reloading again.
# - The state lives in this process only. Puma's hot restart (SIGUSR2, re-exec) boots a new Rails
#   that reads database.yml itself and takes a new baseline.
# - A failed reload (bad YAML, an ERB error, no section for RAILS_ENV) logs the error class only
#   (messages can quote the file: hosts, users), keeps the old configuration and pool, and the
#   request is served as usual. That touch is spent: fix the file and touch again.
#
# Placed first in the middleware stack (config/application.rb), outside ActionDispatch::Executor:
# the thread that reloads holds no database connection there (the executor gives it back at the
# end of every request), and its read lock spans everything the request does with the database.
require "concurrent/atomic/read_write_lock"
require "rack/body_proxy"

module Secondhand
  class DatabaseReloader
    # The file's identity and last modification, or nil when it does not exist.
    def self.signature(path)
      stat = File.stat(path)
      [stat.dev, stat.ino, stat.size, stat.mtime.tv_sec, stat.mtime.tv_nsec]
    rescue Errno::ENOENT, Errno::ENOTDIR
      nil
    end

    def initialize(app, trigger:, baseline:)
      @app = app
      @trigger = trigger.to_s
      @seen = baseline
      @mutex = Mutex.new
      # Writer-preferring: once a reload waits, new requests queue behind it instead of starving it.
      @requests = Concurrent::ReadWriteLock.new
    end

    def call(env)
      # Unlocked fast path: reading an instance variable is atomic in Ruby, and a stale read only
      # sends this thread to the locked check below. Before the read lock: the write lock must
      # never be asked for by a thread holding a read lock (deadlock).
      reload_if_touched unless self.class.signature(@trigger) == @seen
      @requests.acquire_read_lock
      begin
        status, headers, body = @app.call(env)
      rescue Exception
        # Whatever it is (even a non-StandardError), this request is over: let a reload proceed.
        @requests.release_read_lock
        raise
      end
      # Held until the server closes the body: the executor releases the request's connection then.
      [status, headers, Rack::BodyProxy.new(body) { @requests.release_read_lock }]
    end

    private

    def reload_if_touched
      @mutex.synchronize do
        current = self.class.signature(@trigger)
        next if current == @seen
        # restart.txt removed (a deploy cleaning tmp/, say): nothing to reload.
        next @seen = current if current.nil?
        @requests.with_write_lock do
          # Recorded under the write lock, never before it: a request that finds the touch already
          # seen (the unlocked fast path) then asks for its read lock while this reload holds the
          # write lock, and is served by the new pool. Recorded before it, a request arriving while
          # the requests in flight drain took its read lock ahead of the reload and wrote to the old
          # server after the touch had returned (app_test's default restart command, 1 run in
          # many). Before reading database.yml: a touch during the reload is a new change, and the
          # next request reloads again rather than missing the later edit.
          @seen = current
          reload
        end
      end
    end

    def reload
      previous = ActiveRecord::Base.configurations
      begin
        ActiveRecord::Base.configurations = Rails.application.config.database_configuration
        close_idle_connections
        # No argument: the RAILS_ENV section, the way the railtie connects at boot.
        ActiveRecord::Base.establish_connection
      rescue StandardError, ScriptError => e
        # ScriptError too: a Ruby syntax error in the file's ERB is a SyntaxError, and an adapter
        # that cannot be required a LoadError. Those fail before establish_connection removes the
        # old pool, which then keeps serving with the old configuration.
        ActiveRecord::Base.configurations = previous
        Rails.logger.error("database configuration NOT reloaded (#{e.class}); keeping the previous connection")
        restore_pool
        return
      end
      config = ActiveRecord::Base.connection_db_config.configuration_hash
      # Host and port only: never the password or anything else of the section.
      Rails.logger.info("database configuration reloaded: host #{config[:host] || '(none)'} " \
                        "port #{config[:port] || '(default)'}")
    end

    # Closes the old pool's connections (all idle: the requests are drained) without checking them
    # out. establish_connection's own disconnect checks out every connection and VERIFIES it, i.e.
    # reconnects to the old server, which raises when that server is dead (the failover case) -
    # after the pool was removed from the handler. With the pool empty there is nothing to verify.
    # Best effort: the connections leave the pool before they are closed, so a failure to close
    # one (a socket to a dead host) changes nothing for what follows.
    def close_idle_connections
      ActiveRecord::Base.connection_pool.flush!
    rescue StandardError => e
      Rails.logger.warn("closing the previous database connections: #{e.class}")
    end

    # Should anything fail after the old pool was removed, the app would have no pool at all
    # (ConnectionNotEstablished on every request): connect again with the previous configuration.
    def restore_pool
      ActiveRecord::Base.connection_pool
    rescue ActiveRecord::ConnectionNotEstablished
      begin
        ActiveRecord::Base.establish_connection
      rescue StandardError, ScriptError => e
        Rails.logger.error("database connection NOT restored (#{e.class})")
      end
    end
  end
end
