require_relative "boot"

# Only the two frameworks the app uses: no Action Mailer, Active Storage, Action Cable, Sprockets.
require "rails"
require "active_record/railtie"
require "action_controller/railtie"
require_relative "../lib/secondhand/database_reloader"

module Secondhand
  class Application < Rails::Application
    config.load_defaults 6.1
    config.api_only = true

    # Nothing here is signed or encrypted (no cookies, no sessions), yet Rails insists on a key in
    # production: take it from the environment, or make one per boot.
    config.secret_key_base = ENV["SECRET_KEY_BASE"] || SecureRandom.hex(64)

    # Logs go to stdout, which the process manager (puma's log file in the lab) keeps.
    config.logger = ActiveSupport::Logger.new($stdout)
    config.log_level = :info

    # `touch tmp/restart.txt` reconnects to what config/database.yml says now, without a reboot:
    # what replplan's restart command for this app does after it repoints database.yml (see
    # lib/secondhand/database_reloader.rb). First in the stack, outside the executor, so the thread
    # that replaces the connection pool holds none of its connections. The baseline signature is
    # taken here, while this file loads, before Rails reads database.yml during boot.
    restart_txt = File.expand_path("../tmp/restart.txt", __dir__)
    config.middleware.insert_before 0, Secondhand::DatabaseReloader,
                                    trigger: restart_txt, baseline: Secondhand::DatabaseReloader.signature(restart_txt)
  end
end
