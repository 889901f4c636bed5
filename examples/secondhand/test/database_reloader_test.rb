# Unit tests of the app's in-process reload (lib/secondhand/database_reloader.rb), without Rails: the
# reload itself is replaced by a generation counter, and what matters is which generation serves a
# request sent after the touch returned. Run by CTest (unit.app_database_reloader); the lab's
# app_test covers the real reload against real servers.
require "minitest/autorun"
require "tmpdir"
require_relative "../lib/secondhand/database_reloader"

class DatabaseReloaderTest < Minitest::Test
  # The middleware with its reload counted instead of done: each reload is a new "pool".
  class Counted < Secondhand::DatabaseReloader
    attr_reader :generation

    def initialize(*args, **kw)
      super
      @generation = 0
    end

    private

    def reload
      @generation += 1
    end
  end

  # The lock the requests share, with the reload's wait for it slowed down: the time a reload
  # spends waiting for the requests in flight to drain, made long enough to be certain.
  class SlowWriteLock
    def initialize(inner, delay)
      @inner = inner
      @delay = delay
    end

    def with_write_lock(&block)
      sleep @delay
      @inner.with_write_lock(&block)
    end

    def acquire_read_lock = @inner.acquire_read_lock
    def release_read_lock = @inner.release_read_lock
  end

  def setup
    @dir = Dir.mktmpdir
    @trigger = File.join(@dir, "restart.txt")
    File.write(@trigger, "")
    File.utime(Time.at(1_800_000_000), Time.at(1_800_000_000), @trigger)
  end

  def teardown
    FileUtils.remove_entry(@dir)
  end

  def middleware
    served = nil
    reloader = Counted.new(->(_env) { [200, {}, ["gen #{served.call}"]] },
                           trigger: @trigger, baseline: Secondhand::DatabaseReloader.signature(@trigger))
    served = -> { reloader.generation }
    reloader
  end

  def request(app)
    _status, _headers, body = app.call({})
    text = body.to_enum(:each).to_a.join
    body.close
    text
  end

  def touch(seconds)
    File.utime(Time.at(seconds), Time.at(seconds), @trigger)
  end

  def test_a_touch_is_reloaded_once_by_the_next_request
    app = middleware
    assert_equal "gen 0", request(app)
    touch(1_800_000_001)
    assert_equal "gen 1", request(app)
    assert_equal "gen 1", request(app)
  end

  # A request that arrives while another request's reload waits for the write lock is served
  # after that reload, never by the old pool ahead of it.
  def test_a_request_during_another_requests_reload_is_served_by_the_new_pool
    app = middleware
    app.instance_variable_set(:@requests, SlowWriteLock.new(app.instance_variable_get(:@requests), 0.3))
    touch(1_800_000_002)
    first = Thread.new { request(app) }
    sleep 0.1 # the first request is now waiting for the write lock
    assert_equal "gen 1", request(app)
    assert_equal "gen 1", first.value
    assert_equal 1, app.generation
  end

  def test_restart_txt_removed_reloads_nothing
    app = middleware
    File.delete(@trigger)
    assert_equal "gen 0", request(app)
    File.write(@trigger, "")
    assert_equal "gen 1", request(app)
  end
end
