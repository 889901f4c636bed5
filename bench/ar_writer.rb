#!/usr/bin/env ruby
# frozen_string_literal: true

# A client replplan does not control: Active Record 6.1 + mysql2 (Debian's ruby-activerecord and
# ruby-mysql2, no Rails boot), writing through an app's config/database.yml the way a Rails
# process reads it, for bench/silent_failover.sh.
#
#   ar_writer.rb APP_ROOT [--interval-ms 20] [--seconds 600] [--seq-base 0] [--pinned]
#
# - The configuration is the Rails way: ActiveSupport::ConfigurationFile.parse (ERB, then YAML,
#   what Rails::Application::Configuration#database_configuration calls), assigned to
#   ActiveRecord::Base.configurations, then establish_connection with no argument (the RAILS_ENV
#   section). Its timeouts are the file's (the benchmark writes connect_timeout 1, read_timeout 2,
#   write_timeout 2 into the section's defaults).
# - Each attempt checks a connection out of the pool and gives it back (with_connection), as each
#   request of a Rails app does; Active Record 6.1 verifies it at every checkout: a ping bounded by
#   read_timeout, and when that fails a reconnect to the SAME host bounded by connect_timeout. So the
#   attempt that meets a silent primary fails after read_timeout + connect_timeout (one already in
#   flight after read_timeout alone): the client's floor, docs/failover.md. Nothing here shortens it;
#   `reconnect` stays unset, as in a Rails app's database.yml (true would add a connect_timeout).
# - One INSERT of the items table (examples/secondhand/db/schema.rb) every --interval-ms, on a
#   fixed grid: an attempt that fails or takes longer moves the next one to the next tick, never a
#   burst to catch up. Each insert carries a sequence number the client chose (seq, unique), since
#   a promoted replica that missed rows hands auto-increment ids out again.
# - On each error: the pool's idle connections are closed without a round trip (a ping to a frozen
#   server would wait out read_timeout), database.yml is read again and establish_connection
#   called, so the next attempt goes where the file says now. --pinned: never re-read (a client
#   left on the old primary after a failover, reconnecting to it).
#
# One line per attempt on stdout, flushed, wall clock in ms:
#   ack SEQ ID SENT_MS ACK_MS HOST     the INSERT was acknowledged (committed) by HOST
#   err SEQ SENT_MS FAILED_MS HOST CLASS
# Loopback only: a database.yml whose host is outside 127.0.0.0/8 stops it before any connection.
require "active_record"
require "active_support/configuration_file"
require "ipaddr"
require "optparse"

options = { interval_ms: 20, seconds: 600, seq_base: 0, pinned: false }
OptionParser.new do |o|
  o.banner = "usage: ar_writer.rb APP_ROOT [options]"
  o.on("--interval-ms N", Integer) { |v| options[:interval_ms] = v }
  o.on("--seconds N", Float) { |v| options[:seconds] = v }
  o.on("--seq-base N", Integer) { |v| options[:seq_base] = v }
  o.on("--pinned") { options[:pinned] = true }
end.parse!
abort("usage: ar_writer.rb APP_ROOT [options]") unless ARGV.size == 1
YML = File.join(ARGV[0], "config", "database.yml")
ENV["RAILS_ENV"] ||= "production"
LOOPBACK = IPAddr.new("127.0.0.0/8")

class Item < ActiveRecord::Base; end

def now_ms
  Process.clock_gettime(Process::CLOCK_REALTIME, :millisecond)
end

def connect
  ActiveRecord::Base.configurations = ActiveSupport::ConfigurationFile.parse(YML)
  host = ActiveRecord::Base.configurations.configs_for(env_name: ENV["RAILS_ENV"]).first&.configuration_hash&.fetch(:host, nil)
  abort("ar_writer: #{YML}: #{ENV['RAILS_ENV']} host #{host.inspect} is not a loopback address") unless
    host && (LOOPBACK.include?(IPAddr.new(host)) rescue false)
  ActiveRecord::Base.establish_connection
  host
end

# Closes what the pool holds without asking the server anything (establish_connection's own
# disconnect would check each connection out and verify it: a ping).
def drop_connections
  ActiveRecord::Base.connection_pool.flush!
rescue StandardError
  nil
end

$stdout.sync = true
# SIGTERM ends the loop between two attempts (a write in flight finishes or fails first, so its
# line is written): the benchmark reads every line up to the last.
stopping = false
Signal.trap("TERM") { stopping = true }
host = connect
deadline = Process.clock_gettime(Process::CLOCK_MONOTONIC) + options[:seconds]
interval = options[:interval_ms] / 1000.0
tick = Process.clock_gettime(Process::CLOCK_MONOTONIC)
seq = options[:seq_base]
while !stopping && Process.clock_gettime(Process::CLOCK_MONOTONIC) < deadline
  seq += 1
  sent = now_ms
  begin
    id = ActiveRecord::Base.connection_pool.with_connection do
      Item.create!(seq: seq, created_at: Time.now.utc).id
    end
    puts "ack #{seq} #{id} #{sent} #{now_ms} #{host}"
  rescue StandardError => e
    puts "err #{seq} #{sent} #{now_ms} #{host} #{e.class}"
    drop_connections
    begin
      host = connect unless options[:pinned]
    rescue StandardError => e
      # A half-written file cannot happen (replplan renames a complete one); anything else: log, retry.
      puts "err #{seq} #{sent} #{now_ms} #{host} config:#{e.class}"
    end
  end
  tick += interval
  now = Process.clock_gettime(Process::CLOCK_MONOTONIC)
  tick = now + interval - ((now - tick) % interval) if tick < now
  sleep(tick - now) if tick > now
end
